/**
 * End-to-end benchmark (issue 5, part 8): Kafka -> KafkaJob (state checkpointed in Redis) -> Kafka,
 * on the real local broker and Redis (started with scripts/services.sh if they are down).
 *
 *   (a) ceiling: a plain kafkajs consumer whose `eachBatch` does nothing reads N pre-produced events;
 *   (b) the same N events through the retail job (decode, pipeline, triggers produced, checkpoint
 *       per batch), in the same run; the ratio b/a;
 *   (c) event-to-output latency at a fixed input rate (10k events/s), run first, before this process
 *       holds the other phases' input and outputs: a pipeline of our own, a keyed
 *       stateful step that emits per input (a per-customer running count), so every input has an
 *       output; latency = the output message's timestamp (set by the job's producer when it sends)
 *       minus the input message's timestamp (set by the paced producer when it sends);
 *   (d) Redis round trips per event (`job.store.roundTrips / events`);
 *   (e) RSS of this process (it also holds the generated events).
 * Besides: the retail graph in process without Kafka (what the pipeline alone costs), and (a2, b2)
 * raw consume against the running-count job over the same pre-produced clicks (the runtime's own
 * cost on a trivial keyed stateful pipeline); the job's CPU µs per event by phase in (b) and (b2)
 * (its `phaseSeconds` observer) beside the process's CPU per event; and (f) the compiled CLI with
 * `--instances 1` and `--instances 2` over an input three times (b)'s, one after the other, events/s and ratio.
 * Topics are created with unlimited retention (`retention.ms` and `retention.bytes` -1): the input
 * is produced with old event timestamps, which time-based retention would delete.
 *
 * Prints a markdown table and writes it into BENCHMARKS.md under "## End to end".
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createClient } from '@redis/client';
import type { Admin, Message } from 'kafkajs';
import { Kafka, logLevel, Partitioners } from '../runtime/kafka/kafkajs.js';
import { keyedProcess } from '../operators/keyedProcess.js';
import { loadServiceConfig } from '../runtime/config.js';
import { pipeline } from '../stream/stream.js';
import { KafkaJob, type JobObserver, type JobPhase } from '../runtime/kafka/job.js';
import { CheckpointStore } from '../runtime/redis/checkpoints.js';
import type { RedisCommands } from '../runtime/redis/checkpoints.js';
import { retailJobOptions } from '../runtime/retailJob.js';
import { encodeConfluent, type ClickEvent } from '../schemas/index.js';
import { toKafkaMessage } from '../simulator/kafka.js';
import { generateEvents, type SimRecord } from '../simulator/life.js';
import { generateWorld } from '../simulator/world.js';
import { allCheckpointed, healthz, referenceRun } from '../testkit/workers.js';
import { KEEP_FOREVER } from '../testkit/kafka.js';
import { fmt, machine } from './machine.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PARTITIONS = 6;
const INPUTS = ['clickstream', 'pos', 'location'] as const;

export interface E2eOptions {
  /** 1 for the full run; smaller for a smoke run. */
  readonly scale: number;
  /** Write the figures into BENCHMARKS.md (default: only for a full run). */
  readonly write?: boolean;
}

/** How the benchmarked jobs run (printed with the figures). */
const JOB_TUNING = {
  checkpointIntervalMs: Number(process.env['SS_BENCH_CHECKPOINT_MS'] ?? 100),
  partitionsConsumedConcurrently: Number(process.env['SS_BENCH_CONCURRENCY'] ?? 3),
} as const;

interface Row {
  readonly measure: string;
  readonly value: string;
  readonly target: string;
  readonly verdict: string;
}

/** Unlimited retention: the pre-produced input carries old timestamps, which retention.ms would delete. */
async function createBenchTopics(admin: Admin, topics: readonly string[]): Promise<void> {
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1, configEntries: [...KEEP_FOREVER] })), waitForLeaders: true });
}

const PHASES: readonly JobPhase[] = ['decode', 'pipeline', 'encode', 'produce', 'checkpoint'];

/** The job's CPU by phase (its observer) and the whole process's CPU, over one job run. */
class CpuByPhase {
  readonly seconds = new Map<JobPhase, number>(PHASES.map((p) => [p, 0]));
  private cpu0 = process.cpuUsage();
  private processSeconds = 0;
  readonly observer: JobObserver = { phaseSeconds: (phase, s) => void this.seconds.set(phase, this.seconds.get(phase)! + s) };

  start(): void {
    this.cpu0 = process.cpuUsage();
  }

  stop(): void {
    const d = process.cpuUsage(this.cpu0);
    this.processSeconds = (d.user + d.system) / 1e6;
  }

  /** `decode 0.6, pipeline 20.1, ..., rest 12.0 / total 40.2 µs` per event. */
  describe(events: number): string {
    const us = (s: number) => ((s * 1e6) / events).toFixed(1);
    const measured = [...this.seconds.values()].reduce((a, b) => a + b, 0);
    return `${PHASES.map((p) => `${p} ${us(this.seconds.get(p)!)}`).join(', ')}; rest ${us(this.processSeconds - measured)}; process total ${us(this.processSeconds)} µs/event`;
  }
}

function ensureServices(): void {
  for (const service of ['kafka', 'redis']) {
    const r = spawnSync('bash', [`${ROOT}scripts/services.sh`, service, 'start'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`scripts/services.sh ${service} start failed:\n${r.stdout}${r.stderr}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number, what: string, pollMs = 2): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

async function produce(kafka: Kafka, batches: Iterable<Array<{ topic: string; message: Message }>>): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (const batch of batches) {
    const byTopic = new Map<string, Message[]>();
    for (const { topic, message } of batch) (byTopic.get(topic) ?? byTopic.set(topic, []).get(topic)!).push(message);
    await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
  }
  await producer.disconnect();
}

/**
 * (a) A consumer that does nothing with its batches: seconds from joining the group (fetching
 * starts) to the last event. Both (a) and (b) are timed from the join, so both include fetching.
 */
async function rawConsume(kafka: Kafka, topics: readonly string[], n: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-raw-${randomUUID()}` });
  await consumer.connect();
  for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let first = 0;
  let last = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => void (first = performance.now()));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      seen += batch.messages.length;
      if (seen >= n) last = performance.now();
    },
  });
  await until(() => seen >= n, 120_000, 'the raw consumer to read every event');
  await consumer.disconnect();
  return (last - first) / 1000;
}

/** (b) The retail job over the same events: seconds from joining the group to the last event consumed. */
async function jobThroughput(job: KafkaJob, n: number): Promise<number> {
  await job.start();
  await until(() => job.assignment().length > 0, 120_000, 'the job to join its group', 1);
  const first = performance.now();
  await until(() => job.stats.eventsIn >= n, 300_000, 'the job to consume every event', 1);
  return (performance.now() - first) / 1000;
}

/** The latency pipeline: per-customer running count, one output per input (the click, quantity = count). */
function countGraph() {
  const p = pipeline('bench-latency');
  p.source<ClickEvent>('clicks', { timestamp: (e) => e.ts, idleTimeoutMs: 3_600_000 })
    .keyBy((e) => e.customerId)
    .pipeKeyed(
      keyedProcess<ClickEvent, ClickEvent>('running_count', (state) => {
        const count = state.value<number>('count');
        return {
          onElement(e, ctx) {
            const c = (count.get(ctx.key) ?? 0) + 1;
            count.set(ctx.key, c);
            ctx.emit({ ...e, quantity: c });
          },
        };
      }),
    )
    .to('counts');
  return p.build();
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function countJob(kafka: Kafka, redis: RedisCommands, input: string, output: string, observer?: JobObserver): KafkaJob {
  return new KafkaJob({
    ...(observer !== undefined ? { observer } : {}),
    name: `bench-count-${randomUUID().slice(0, 8)}`,
    graph: countGraph,
    sources: { clicks: { topic: input, schema: 'ClickEvent' } },
    sinks: { counts: { topic: output, schema: 'ClickEvent', key: (v) => (v as ClickEvent).customerId, id: (v) => (v as ClickEvent).eventId } },
    kafka,
    redis,
    ...JOB_TUNING,
  });
}

function click(i: number, now: number): Message {
  const e: ClickEvent = { eventId: `lat-${i}`, customerId: `cust-${i % 2000}`, sessionId: null, ts: now, type: 'page_view', productId: null, category: null, price: null, quantity: null, channel: 'web' };
  return { key: e.customerId, value: encodeConfluent('ClickEvent', e), timestamp: String(now) };
}

/** (a2, b2) Raw consume and the running-count job over the same n pre-produced clicks. */
async function countThroughput(kafka: Kafka, admin: Admin, redis: RedisCommands & { del(keys: string[]): Promise<number> }, prefix: string, n: number): Promise<{ rawS: number; jobS: number; roundTrips: number; cpu: CpuByPhase }> {
  const input = `${prefix}tp.clicks`;
  const output = `${prefix}tp.counts`;
  await createBenchTopics(admin, [input, output]);
  const t0 = Date.now();
  const batches = function* () {
    for (let i = 0; i < n; i += 2000) yield Array.from({ length: Math.min(2000, n - i) }, (_, j) => ({ topic: input, message: click(i + j, t0 + i + j) }));
  };
  await produce(kafka, batches());
  const raws: number[] = [];
  for (let r = 0; r < 3; r++) raws.push(await rawConsume(kafka, [input], n));
  const cpu = new CpuByPhase();
  const job = countJob(kafka, redis, input, output, cpu.observer);
  cpu.start();
  const jobS = await jobThroughput(job, n);
  cpu.stop();
  const roundTrips = job.store.roundTrips;
  await job.stop();
  for (let p = 0; p < PARTITIONS; p++) await redis.del(job.store.keys(p));
  await admin.deleteTopics({ topics: [input, output] }).catch(() => undefined);
  return { rawS: raws.sort((x, y) => x - y)[1]!, jobS, roundTrips, cpu };
}

/** (c) Paced input at `rate`/s for `seconds`; latency per event from the output topic. */
async function latency(kafka: Kafka, admin: Admin, redisUrl: string, prefix: string, rate: number, seconds: number): Promise<{ p50: number; p99: number; max: number; events: number; roundTrips: number; rss: number; achievedRate: number }> {
  const input = `${prefix}lat.clicks`;
  const output = `${prefix}lat.counts`;
  await createBenchTopics(admin, [input, output]);
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  const job = countJob(kafka, redis, input, output);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await job.start();
  // Warm-up: the group joins, every task loads, the code paths get compiled.
  const warm = 2_000;
  let i = 0;
  for (; i < warm; i += 100) await producer.send({ topic: input, acks: -1, messages: Array.from({ length: 100 }, (_, j) => click(i + j, Date.now())) });
  await until(() => job.stats.eventsIn >= warm, 60_000, 'the warm-up events', 5);
  const sentAt = new Map<string, number>();
  const rt0 = job.store.roundTrips;
  const in0 = job.stats.eventsIn;
  const total = rate * seconds;
  const t0 = Date.now();
  let sent = 0;
  // Paced: every 5 ms send what is due, each message stamped with its send time.
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate)) - sent;
    if (due > 0) {
      const now = Date.now();
      const messages = Array.from({ length: due }, (_, j) => {
        const m = click(warm + sent + j, now);
        sentAt.set(`lat-${warm + sent + j}`, now);
        return m;
      });
      sent += due;
      await producer.send({ topic: input, acks: -1, messages });
    }
    await sleep(5);
  }
  const achievedRate = sent / ((Date.now() - t0) / 1000);
  await until(() => job.stats.eventsIn - in0 >= total, 60_000, 'the job to consume the paced events', 5);
  const roundTrips = job.store.roundTrips - rt0;
  const rss = process.memoryUsage().rss;
  await job.stop();
  await producer.disconnect();

  const lat: number[] = [];
  const reader = kafka.consumer({ groupId: `bench-lat-reader-${randomUUID()}` });
  await reader.connect();
  await reader.subscribe({ topic: output, fromBeginning: true });
  const seen = new Set<string>();
  await reader.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const id = m.headers?.['ss-id']?.toString();
        const at = id === undefined ? undefined : sentAt.get(id);
        if (id === undefined || at === undefined || seen.has(id)) continue;
        seen.add(id);
        lat.push(Number(m.timestamp) - at);
      }
    },
  });
  await until(() => seen.size >= total, 60_000, 'every output read back', 20);
  await reader.disconnect();
  await admin.deleteTopics({ topics: [input, output] }).catch(() => undefined);
  for (let p = 0; p < PARTITIONS; p++) await redis.del(job.store.keys(p));
  await redis.quit();
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), max: lat[lat.length - 1]!, events: total, roundTrips, rss, achievedRate };
}

/** What (f) reads from each instance's `/healthz`. */
interface InstanceHealth {
  readonly assigned: number[];
  readonly stats: { readonly eventsIn: number };
}

const healthOf = (port: number) => healthz<InstanceHealth>(port);

/**
 * (f) The compiled CLI, `scenestream run --instances k` in production mode, in a group of its own,
 * over an input of its own, pre-produced to topics of its own: events/s from the moment the group
 * has settled (every instance holds partitions, together all) until every input partition is
 * checkpointed. Events consumed before the group settled (a rebalance when the second instance
 * joins) are not counted, so the input is three times (b)'s: over (b)'s, the first instance had
 * read most of it before the second joined, and the settled window was about a second.
 */
async function instancesThroughput(k: number, kafka: Kafka, admin: Admin, redis: RedisCommands & { del(keys: string[]): Promise<number>; hGet(key: string, field: string): Promise<string | undefined | null> }, basePrefix: string, records: readonly SimRecord[], basePort: number): Promise<{ rate: number; seconds: number; events: number }> {
  const prefix = `${basePrefix}f${k}-`;
  const inputs = INPUTS.map((t) => `${prefix}${t}`);
  await createBenchTopics(admin, [...inputs, `${prefix}triggers`]);
  await produceFast(kafka, records.map((r) => ({ topic: `${prefix}${r.topic}`, message: toKafkaMessage(r) })));
  const name = `bench-inst${k}-${randomUUID().slice(0, 8)}`;
  const store = new CheckpointStore(redis, name);
  const child = spawn(process.execPath, [`${ROOT}dist/runtime/cli.js`, 'run', '--instances', String(k)], {
    env: {
      ...process.env,
      SCENESTREAM_MODE: 'kafka',
      JOB_NAME: name,
      TOPICS_PREFIX: prefix,
      IDLE_TIMEOUT_MS: '3600000',
      CHECKPOINT_INTERVAL_MS: String(JOB_TUNING.checkpointIntervalMs),
      PARTITIONS_CONSUMED_CONCURRENTLY: String(JOB_TUNING.partitionsConsumedConcurrently),
      HTTP_PORT: String(basePort),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (c: string) => void log.push(c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ports = Array.from({ length: k }, (_, i) => basePort + i);
  const eventsIn = (hs: ReadonlyArray<InstanceHealth | undefined>) => hs.reduce((a, h) => a + (h?.stats.eventsIn ?? 0), 0);
  try {
    const deadline = Date.now() + 300_000;
    let start: { t: number; events: number } | undefined;
    for (;;) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`--instances ${k}: no result (exit ${child.exitCode}):\n${log.join('').slice(-2000)}`);
      const hs = await Promise.all(ports.map(healthOf));
      if (start === undefined) {
        const settled = hs.every((h) => h !== undefined && h.assigned.length > 0) && new Set(hs.flatMap((h) => h!.assigned)).size === PARTITIONS;
        if (settled) start = { t: performance.now(), events: eventsIn(hs) };
      } else if (await allCheckpointed(admin, store, redis, inputs, PARTITIONS)) {
        const end = eventsIn(await Promise.all(ports.map(healthOf)));
        const seconds = (performance.now() - start.t) / 1000;
        return { rate: (end - start.events) / seconds, seconds, events: end - start.events };
      }
      await sleep(50);
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
    for (let p = 0; p < PARTITIONS; p++) await redis.del(store.keys(p));
    await admin.deleteTopics({ topics: [...inputs, `${prefix}triggers`] }).catch(() => undefined);
  }
}

/** Produces as fast as one kafkajs producer goes: large batches, every topic's at once, five requests in flight. */
async function produceFast(kafka: Kafka, messages: ReadonlyArray<{ topic: string; message: Message }>): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, maxInFlightRequests: 5 });
  await producer.connect();
  const sends: Array<Promise<unknown>> = [];
  for (let i = 0; i < messages.length; i += 10_000) {
    const byTopic = new Map<string, Message[]>();
    for (const { topic, message } of messages.slice(i, i + 10_000)) (byTopic.get(topic) ?? byTopic.set(topic, []).get(topic)!).push(message);
    sends.push(producer.sendBatch({ topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })), acks: -1 }));
    if (sends.length >= 5) await sends.shift();
  }
  await Promise.all(sends);
  await producer.disconnect();
}

function writeBenchmarks(section: string): void {
  const file = `${ROOT}BENCHMARKS.md`;
  const heading = '## End to end';
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = text.indexOf(`${heading}\n`);
  if (start >= 0) {
    const next = text.indexOf('\n## ', start + heading.length);
    text = text.slice(0, start) + section + (next >= 0 ? text.slice(next + 1) : '');
  } else {
    text = `${text.trimEnd()}\n\n${section}`;
  }
  writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
}

export async function runE2e(opts: E2eOptions): Promise<void> {
  const loadBefore = loadavg();
  ensureServices();
  const config = loadServiceConfig();
  const kafka = new Kafka({ clientId: 'bench-e2e', brokers: config.kafkaBrokers, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  const admin = kafka.admin();
  await admin.connect();
  const prefix = `bench-e2e-${randomUUID().slice(0, 8)}.`;
  const topics = [...INPUTS.map((t) => `${prefix}${t}`), `${prefix}triggers`];
  const redis = createClient({ url: config.redisUrl });
  await redis.connect();
  let job: KafkaJob | undefined;
  try {
    // (c) first, while this process holds nothing else: later phases keep the generated input and
    // the in-process run's outputs (about 800 MiB RSS), and the major collections of that heap,
    // which a job process does not have, were most of the measured tail (p99 290 ms then, against
    // 16-19 ms in a process of its own, 2026-12-07).
    process.stderr.write('e2e: (c) latency at 10k events/s\n');
    const rate = 10_000;
    const lat = await latency(kafka, admin, config.redisUrl, prefix, rate, Math.max(3, Math.round(20 * opts.scale)));

    await createBenchTopics(admin, topics);
    const days = Math.max(1, Math.round(5 * opts.scale));
    const records = [...generateEvents(generateWorld({ seed: 'bench-e2e', customers: 400 }), { days })];
    const n = records.length;
    process.stderr.write(`e2e: producing ${fmt(n)} events to ${prefix}*\n`);
    const batches = function* () {
      for (let i = 0; i < n; i += 2000) yield records.slice(i, i + 2000).map((r) => ({ topic: `${prefix}${r.topic}`, message: toKafkaMessage(r) }));
    };
    await produce(kafka, batches());

    process.stderr.write('e2e: the same graph in process (no Kafka, no Redis)\n');
    const graph = retailJobOptions({ kafka, redis, idleTimeoutMs: 3_600_000 }).graph;
    const t0 = performance.now();
    referenceRun(graph, records, PARTITIONS);
    const inProcessS = (performance.now() - t0) / 1000;

    process.stderr.write('e2e: (a) raw consume (median of 3)\n');
    const raws: number[] = [];
    for (let r = 0; r < 3; r++) raws.push(await rawConsume(kafka, INPUTS.map((t) => `${prefix}${t}`), n));
    const rawS = raws.sort((x, y) => x - y)[1]!;

    process.stderr.write('e2e: (b) retail job\n');
    const name = `bench-e2e-${randomUUID().slice(0, 8)}`;
    const cpuB = new CpuByPhase();
    job = new KafkaJob({ ...retailJobOptions({ kafka, redis, name, topicsPrefix: prefix, idleTimeoutMs: 3_600_000 }), ...JOB_TUNING, observer: cpuB.observer });
    cpuB.start();
    const jobS = await jobThroughput(job, n);
    cpuB.stop();
    const rssJob = process.memoryUsage().rss;
    const rtPerEvent = job.store.roundTrips / n;
    const batches_ = job.stats.batches;
    await job.stop();
    for (let p = 0; p < PARTITIONS; p++) await redis.del(job.store.keys(p));
    job = undefined;

    process.stderr.write('e2e: (f) the compiled CLI, --instances 1 then 2, over an input of its own\n');
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
    const basePort = Number(process.env['SS_BENCH_HTTP_PORT'] ?? 19464);
    const fInput = [...generateEvents(generateWorld({ seed: 'bench-e2e-f', customers: 1_200 }), { days })];
    const one = await instancesThroughput(1, kafka, admin, redis, prefix, fInput, basePort);
    const two = await instancesThroughput(2, kafka, admin, redis, prefix, fInput, basePort);

    process.stderr.write('e2e: (a2, b2) running count, raw consume and job\n');
    const count = await countThroughput(kafka, admin, redis, prefix, n);


    const rawRate = n / rawS;
    const jobRate = n / jobS;
    const ratio = jobRate / rawRate;
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    const ok = (b: boolean) => (b ? 'met' : '**missed**');
    const rows: Row[] = [
      { measure: `(a) raw kafkajs consume, ${fmt(n)} events (eachBatch does nothing)`, value: `${fmt(rawRate)} events/s (${rawS.toFixed(2)} s)`, target: 'ceiling', verdict: '' },
      { measure: `(b) retail job, same events -> outputs (${batches_} batches)`, value: `${fmt(jobRate)} events/s (${jobS.toFixed(2)} s)`, target: '', verdict: '' },
      { measure: '(b0) the same graph in process, one executor per partition, record by record (no Kafka, no decoding, no Redis)', value: `${fmt(n / inProcessS)} events/s (${inProcessS.toFixed(2)} s)`, target: '', verdict: '' },
      { measure: '(b/a) retail job / raw consume', value: ratio.toFixed(2), target: '>= 0.30', verdict: ok(ratio >= 0.3) },
      { measure: '(b) retail job, CPU per event by phase (the job\'s own timers; rest = the process\'s CPU minus them: kafkajs fetch and produce, Redis client, GC, the bench\'s polling)', value: cpuB.describe(n), target: '', verdict: '' },
      { measure: `(f) compiled CLI, --instances 1 (child process), ${fmt(fInput.length)} events of 1,200 customers, after the group settled`, value: `${fmt(one.rate)} events/s (${fmt(one.events)} events in ${one.seconds.toFixed(2)} s)`, target: '', verdict: '' },
      { measure: `(f) compiled CLI, --instances 2, the same events, after the group settled`, value: `${fmt(two.rate)} events/s (${fmt(two.events)} events in ${two.seconds.toFixed(2)} s)`, target: '', verdict: '' },
      { measure: '(f) two instances / one', value: `${(two.rate / one.rate).toFixed(2)}x`, target: '>= 1.6x', verdict: ok(two.rate / one.rate >= 1.6) },
      { measure: `(a2) raw kafkajs consume, ${fmt(n)} clicks on one topic (eachBatch does nothing)`, value: `${fmt(n / count.rawS)} events/s (${count.rawS.toFixed(2)} s)`, target: 'ceiling', verdict: '' },
      { measure: '(b2) running count per customer (keyed stateful step, one output per input), same clicks', value: `${fmt(n / count.jobS)} events/s (${count.jobS.toFixed(2)} s)`, target: '', verdict: '' },
      { measure: '(b2/a2) running-count job / raw consume', value: (count.rawS / count.jobS).toFixed(2), target: '>= 0.30', verdict: ok(count.rawS / count.jobS >= 0.3) },
      { measure: '(b2) running-count job, CPU per event by phase (as for b)', value: count.cpu.describe(n), target: '', verdict: '' },
      { measure: '(d) Redis round trips per event, running-count run (b2)', value: (count.roundTrips / n).toFixed(4), target: '<= 0.05', verdict: ok(count.roundTrips / n <= 0.05) },
      {
        measure: `(c) event-to-output latency, running count per customer, ${fmt(lat.achievedRate)} events/s for ${fmt(lat.events)} events`,
        value: `p50 ${lat.p50} ms, p99 ${lat.p99} ms (max ${lat.max} ms)`,
        target: 'p99 <= 25 ms',
        verdict: ok(lat.p99 <= 25),
      },
      { measure: '(d) Redis round trips per event, retail job run (b)', value: rtPerEvent.toFixed(4), target: '<= 0.05', verdict: ok(rtPerEvent <= 0.05) },
      { measure: '(d) Redis round trips per event, paced run (c)', value: (lat.roundTrips / lat.events).toFixed(4), target: '<= 0.05', verdict: ok(lat.roundTrips / lat.events <= 0.05) },
      { measure: '(e) RSS after (b) (process holds the generated events)', value: mib(rssJob), target: '', verdict: '' },
      { measure: '(e) RSS after (c)', value: mib(lat.rss), target: '', verdict: '' },
    ];
    const table = ['| measure | value | target | verdict |', '|---|---:|---:|---|', ...rows.map((r) => `| ${r.measure} | ${r.value} | ${r.target} | ${r.verdict} |`)].join('\n');
    const context = [
      `${machine()}, load average before the run ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} (1 / 5 / 15 min)${opts.scale < 1 ? ` (quick run: scale ${opts.scale})` : ''}`,
      `Kafka: one local KRaft broker (scripts/services.sh), ${PARTITIONS} partitions per topic (retention.ms and retention.bytes -1), acks=all, idempotent producers; Redis: one local redis-server, no persistence. Everything, the bench included, shares the machine's cores.`,
      `The job and the raw consumer are kafkajs consumers with default fetch sizes; the raw one takes one batch at a time and does nothing with it; the job (partitionsConsumedConcurrently ${JOB_TUNING.partitionsConsumedConcurrently}, checkpointIntervalMs ${JOB_TUNING.checkpointIntervalMs}) decodes Confluent-framed Avro, runs the pipeline, produces its outputs after every batch and checkpoints state + offsets to Redis in one Lua call per task at most every ${JOB_TUNING.checkpointIntervalMs} ms. The retail job is the whole retail graph of pipelines/retail.ts (five scenes, decisions, offers, attribution, recommendations) with no stores and no profiles.`,
    ].join('\n\n');
    const notes = [
      'How to read the CPU rows: the phases are the job\'s synchronous work, its CPU time (process.cpuUsage) summed per batch (`JobObserver.phaseSeconds`); produce counts only what runs before kafkajs\' first await, and checkpoint only the serialisation up to the Redis call; the rest of the process\'s CPU (user + system, over the whole job run, its group join included) is kafkajs fetching, decoding record batches and producing, the Redis client, garbage collection and the bench\'s own polling.',
      '(f) runs the compiled CLI (plain node, not tsx) as production does; its instances are child processes, so this process\'s CPU figures do not cover them.',
    ].join('\n\n');
    const section = `## End to end\n\n\`npm run bench -- --e2e\` (bench/e2e.ts): Kafka -> KafkaJob -> Kafka with state in Redis.\n\n${context}\n\n${table}\n\n${notes}\n`;
    console.log(`\n${section}`);
    if (opts.write ?? opts.scale >= 1) writeBenchmarks(section);
  } finally {
    if (job !== undefined) await job.stop().catch(() => undefined);
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    await redis.quit();
  }
}
