/**
 * Proofs under faults (issue 5, part 7), against the real broker and Redis: the retail job runs in
 * worker processes (`runtime/kafka/worker.ts`) that are killed with SIGKILL, lose their Redis,
 * scale out mid-stream and checkpoint to a Redis Cluster. Each time the result must equal the
 * in-process reference (one executor per partition, fed without interruption): the triggers on the
 * output topic deduplicated by id, the per-customer state in the checkpoints, and the webhook
 * (a person-facing sink) must never have received an id twice.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, createCluster } from '@redis/client';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import avsc from 'avsc';
import { Partitioners } from 'kafkajs';
import { avroSchema, decodeConfluent, defaultRegistry, encodeConfluent, type SchemaName } from '../../schemas/index.js';
import { generateEvents, type SimRecord } from '../../simulator/life.js';
import { createRng } from '../../simulator/prng.js';
import { generateWorld } from '../../simulator/world.js';
import { createTopics, produceRecords, readToEnd, readTopic, testKafka, uniqueId, waitFor } from '../../testkit/kafka.js';
import { allCheckpointed as checkpointedToEnd, canonicalJson, CountingWebhook, referenceRun, visibleState, WorkerProcess } from '../../testkit/workers.js';
import { loadServiceConfig } from '../config.js';
import type { Executor } from '../../engine/executor.js';
import { retailJobOptions } from '../retailJob.js';
import { CheckpointStore, type RedisCommands } from '../redis/checkpoints.js';
import { KafkaJob } from './job.js';

const PARTITIONS = 6;
const INPUTS = ['clickstream', 'pos', 'location'] as const;
/** Processing-time idleness never fires during a run, so the result cannot depend on timing. */
const IDLE_MS = 3_600_000;
/** The kill -9 and scale-out runs use the job's throughput settings (the bench's), the others its defaults. */
const CONCURRENCY = 3;
const TUNED = ['--checkpoint-interval-ms', '100', '--concurrency', String(CONCURRENCY)];
const SERVICES = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));

/** What the assertions read from Redis: the single-node and the cluster client both have it. */
interface RedisReader extends RedisCommands {
  hGet(key: string, field: string): Promise<string | undefined>;
  exists(key: string): Promise<number>;
  del(keys: string[]): Promise<number>;
}

/** The retail job's options as the workers build them (for its graph, sinks and ids). */
const retailOptions = (prefix = '') =>
  retailJobOptions({ kafka: testKafka('unused'), redis: { eval: async () => null, hScan: async () => ({ cursor: 0, tuples: [] }) }, topicsPrefix: prefix, idleTimeoutMs: IDLE_MS });

/** The sinks whose outputs are compared with the reference (offers: none without customer profiles). */
const COMPARED_SINKS = ['triggers', 'decisions', 'offers'] as const;

/**
 * State that is a cache of processing progress, not a function of the input: bought-together keeps
 * the top lists it replaced while a reader may still ask for them, pruned against its index's
 * `horizon` (the latest time read, an in-process variable outside the state), so what it holds
 * depends on how reads interleave with writes (record by record in the reference, batch by batch on
 * Kafka) and on restarts. Reads as of a time give the same answers either way.
 */
const PROGRESS_CACHES = new Set(['bought_together_counts/history']);

/**
 * Lists that buffer records until the watermark passes them and are read sorted by ts: their order
 * is arrival order, which across topics depends on how Kafka interleaves batches (see
 * {@link visibleState}). `attribute/purchases` holds the purchases of two topics (checkout clicks,
 * till purchases) that way. `bought_together_counts/products` is a set of products in a map (its
 * reader, `table()`, sorts them): a basket behind the watermark is applied on arrival, and whether
 * it is behind depends on batch boundaries, so the first-seen order of products does too.
 */
const isBuffer = (table: string) => table.endsWith('/pending') || table === 'attribute/purchases' || table === 'bought_together_counts/products';

interface Reference {
  /** Per compared sink: output id -> canonical JSON of the output. */
  readonly outputs: Map<string, Map<string, string>>;
  readonly triggers: Map<string, string>;
  readonly executors: Executor[];
}

function reference(records: readonly SimRecord[]): Reference {
  const options = retailOptions();
  const { outputs, executors } = referenceRun(options.graph, records, PARTITIONS);
  const bySink = new Map<string, Map<string, string>>();
  for (const sink of COMPARED_SINKS) {
    const m = new Map<string, string>();
    for (const v of outputs.get(sink) ?? []) m.set(options.sinks[sink]!.id(v), canonicalJson(v));
    bySink.set(sink, m);
  }
  return { outputs: bySink, triggers: bySink.get('triggers')!, executors };
}

function decode(messages: readonly KafkaMessage[], schema: SchemaName): unknown[] {
  return messages.map((m) => {
    const r = decodeConfluent(m.value!, defaultRegistry, schema);
    if (!r.ok) throw r.error;
    return r.value.value;
  });
}

function servicesScript(service: string, action: string): { status: number; output: string } {
  const r = spawnSync('bash', [SERVICES, service, action], { encoding: 'utf8', timeout: 120_000 });
  if (r.error !== undefined) throw r.error;
  return { status: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
}

describe('KafkaJob under faults (real Kafka and Redis, worker processes)', () => {
  let kafka: Kafka;
  let admin: Admin;
  const redis = createClient({ url: loadServiceConfig().redisUrl });
  let records: SimRecord[];
  let ref: Reference;
  const workers = new Set<WorkerProcess>();
  /** redis-server processes this file started. */
  const servers = new Set<ChildProcess>();
  const topics: string[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    redis.on('error', () => undefined);
    await redis.connect();
    kafka = testKafka(uniqueId('faults'));
    admin = kafka.admin();
    await admin.connect();
    // 400 customers over 3 days: about 111k events, about 420 triggers.
    records = [...generateEvents(generateWorld({ seed: 'faults', customers: 400 }), { days: 3 })];
    expect(records.length).toBeGreaterThanOrEqual(100_000);
    ref = reference(records);
    expect(ref.triggers.size).toBeGreaterThan(200);
  });

  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await Promise.all([...workers].map((w) => w.exited));
    for (const s of servers) s.kill('SIGKILL');
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect();
    await redis.quit();
  });

  let small: SimRecord[] | undefined;
  /** 200 customers over 2 days: about 37k events. */
  const smallData = () => (small ??= [...generateEvents(generateWorld({ seed: 'faults-small', customers: 200 }), { days: 2 })]);

  function worker(label: string, args: readonly string[]): WorkerProcess {
    const w = new WorkerProcess(label, args);
    onTestFailed(() => console.error(`--- worker ${label}: last progress ${JSON.stringify(w.progress)}, exit ${JSON.stringify(w.exit)}\n${w.logs(60)}`));
    workers.add(w);
    void w.exited.then(() => workers.delete(w));
    return w;
  }

  async function setupTopics(prefix: string, data: readonly SimRecord[]): Promise<void> {
    const names = [...INPUTS.map((t) => `${prefix}${t}`), ...Object.values(retailOptions(prefix).sinks).map((k) => k.topic)];
    topics.push(...names);
    await createTopics(admin, names, PARTITIONS);
    await produceRecords(kafka, data, prefix);
  }

  /** True when every task's checkpoint has consumed every input partition to its end. */
  const allCheckpointed = (store: CheckpointStore, r: RedisReader, prefix: string): Promise<boolean> => checkpointedToEnd(admin, store, r, INPUTS.map((t) => `${prefix}${t}`), PARTITIONS);

  /** One sink's outputs on its topic: how many messages, and deduplicated by id (id -> canonical JSON). */
  async function outputsById(prefix: string, sink: string, expected: number): Promise<{ raw: number; byId: Map<string, string> }> {
    const { topic, schema, id } = retailOptions(prefix).sinks[sink]!;
    const messages = await readTopic(kafka, topic, (m) => new Set(decode(m, schema).map(id)).size >= expected, expected === 0 ? 3_000 : 60_000);
    const byId = new Map<string, string>();
    for (const v of decode(messages, schema)) {
      const json = canonicalJson(v);
      // A replay must produce the same output under the same id.
      if (byId.has(id(v))) expect(byId.get(id(v)), `${sink} ${id(v)} replayed with other content`).toBe(json);
      byId.set(id(v), json);
    }
    return { raw: messages.length, byId };
  }

  /** Every compared sink's outputs, deduplicated by id, equal the reference's; returns the triggers' counts. */
  async function expectOutputsEqualReference(prefix: string, expected: Reference): Promise<{ raw: number; unique: number }> {
    let triggers = { raw: 0, unique: 0 };
    for (const sink of COMPARED_SINKS) {
      const want = expected.outputs.get(sink)!;
      const got = await outputsById(prefix, sink, want.size);
      expect(got.byId.size, `${sink}: distinct ids`).toBe(want.size);
      expect(got.byId, sink).toEqual(want);
      if (sink === 'triggers') triggers = { raw: got.raw, unique: got.byId.size };
    }
    return triggers;
  }

  /** The final checkpoint of every task equals the state and watermarks of the reference executors. */
  async function expectStateEqualsReference(store: CheckpointStore, expected: Reference): Promise<void> {
    for (let p = 0; p < PARTITIONS; p++) {
      const loaded = await store.claim(p, uniqueId('verifier'));
      const exec = expected.executors[p]!;
      const wm = exec.state.time.watermark;
      expect(canonicalJson(loaded.meta), `watermarks of task ${p}`).toBe(canonicalJson(exec.metaSnapshot()));
      const drop = (v: Record<string, unknown>) => Object.fromEntries(Object.entries(v).filter(([t]) => !PROGRESS_CACHES.has(t)));
      const got = drop(visibleState(loaded.state, wm, isBuffer));
      const want = drop(visibleState(exec.state.snapshot(), wm, isBuffer));
      expect(Object.keys(got).sort(), `state tables of task ${p}`).toEqual(Object.keys(want).sort());
      for (const table of Object.keys(want)) {
        expect(canonicalJson(got[table]), `state table ${table} of task ${p}`).toBe(canonicalJson(want[table]));
      }
    }
  }

  function cleanupRedis(r: RedisReader, store: CheckpointStore, ledgerPrefix?: string): void {
    cleanups.push(async () => {
      const keys = Array.from({ length: PARTITIONS }, (_, p) => store.keys(p)).flat();
      for (const k of keys) await r.del([k]);
      if (ledgerPrefix !== undefined) {
        const ledgerKeys: string[] = [];
        for await (const k of redis.scanIterator({ MATCH: `${ledgerPrefix}*`, COUNT: 1000 })) ledgerKeys.push(k);
        for (let i = 0; i < ledgerKeys.length; i += 500) await redis.del(ledgerKeys.slice(i, i + 500));
      }
    });
  }

  function baseArgs(name: string, prefix: string): string[] {
    return ['--name', name, '--prefix', prefix, '--tick-ms', '200', '--idle-timeout-ms', String(IDLE_MS)];
  }

  it(
    'kill -9 at seeded random points, at least 5 times, while it processes: triggers, state and deliveries as if uninterrupted',
    async () => {
      const prefix = `${uniqueId('kill9')}.`;
      const name = uniqueId('kill9-job');
      const ledgerPrefix = `ss:delivered:${name}:`;
      const store = new CheckpointStore(redis, name);
      cleanupRedis(redis, store, ledgerPrefix);
      const webhook = new CountingWebhook();
      await webhook.start();
      cleanups.push(() => webhook.close());
      await setupTopics(prefix, records);

      // Three partitions' batches at once and checkpoints at most every 100 ms: longer replays.
      const args = [...baseArgs(name, prefix), '--redis', loadServiceConfig().redisUrl, '--webhook', webhook.url, '--ledger-prefix', ledgerPrefix, ...TUNED];
      const rng = createRng('faults-kill9');
      // Alternate: an outside SIGKILL when the run's eventsIn passes a random threshold, and a
      // SIGKILL the worker sends itself right after its k-th new delivery (between deliver and
      // checkpoint). Bounded so that six runs use well under the input: clickstream and till
      // topics are read ahead of location, and once they are at their end few triggers remain to
      // be released (a self kill at 16 once found none left, CI of cae8928).
      const plan = Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? { kind: 'outside' as const, at: rng.int(3_000, 9_000) } : { kind: 'self' as const, at: rng.int(2, 8) }));
      let dropped = 0;
      for (const [i, step] of plan.entries()) {
        const w = worker(`kill9-${i}`, step.kind === 'self' ? [...args, '--crash-after-deliveries', String(step.at)] : args);
        if (step.kind === 'outside') {
          await waitFor(() => w.progress.eventsIn >= step.at || !w.alive, 90_000, `run ${i} to consume ${step.at} events`, () => `${JSON.stringify(w.progress)}\n${w.logs(80)}`);
          expect(w.alive, `run ${i} died before its kill:\n${w.logs()}`).toBe(true);
          w.kill('SIGKILL');
        }
        const exit = await Promise.race([w.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 90_000).unref())]);
        if (exit === undefined) {
          const finished = await allCheckpointed(store, redis, prefix);
          expect.fail(`run ${i} (${step.kind} kill at ${step.at}) not ended by SIGKILL in 90 s (${finished ? 'its input all checkpointed: nothing left to kill' : 'input left'}):\n${JSON.stringify(w.progress)}\n${w.logs(80)}`);
        }
        expect(exit?.signal, `run ${i} (${step.kind} kill at ${step.at}) ended by SIGKILL:\n${JSON.stringify(w.progress)}\n${w.logs(80)}`).toBe('SIGKILL');
        dropped += w.progress.duplicatesDropped;
        // The kill came while there was work left: it interrupted processing.
        expect(await allCheckpointed(store, redis, prefix), `run ${i} had finished before its kill`).toBe(false);
      }
      const last = worker('kill9-final', args);
      await waitFor(() => allCheckpointed(store, redis, prefix), 180_000, 'every input checkpointed by the last run');
      await last.stop();
      dropped += last.progress.duplicatesDropped;
      expect(last.progress.eventsIn).toBeGreaterThan(0);

      const out = await expectOutputsEqualReference(prefix, ref);
      // The crashes between produce and checkpoint replayed batches: duplicates on the topic, same ids.
      expect(out.raw).toBeGreaterThan(out.unique);
      await expectStateEqualsReference(store, ref);

      // The webhook: no id twice, only ids of the reference; the replays' deliveries were dropped by the ledger.
      expect(webhook.duplicates()).toEqual([]);
      for (const id of webhook.counts.keys()) expect(ref.triggers.has(id), `delivered unknown id ${id}`).toBe(true);
      expect(dropped, 'deliveries the ledger dropped on replays').toBeGreaterThan(0);
      // At most once: a delivery is lost only when an outside kill lands between its claim and its
      // POST; every id missing at the webhook was claimed, and there are at most as many as such kills
      // times the deliveries that may be in flight at once (a batch per concurrent partition, a tick).
      const missing = [...ref.triggers.keys()].filter((id) => !webhook.counts.has(id));
      for (const id of missing) expect(await redis.exists(`${ledgerPrefix}{${id}}`), `missing delivery ${id} was never claimed`).toBe(1);
      expect(missing.length).toBeLessThanOrEqual((CONCURRENCY + 1) * plan.filter((s) => s.kind === 'outside').length);
    },
    300_000,
  );

  it(
    'Redis unreachable, then back empty: the job pauses with backoff, rewrites its state, and loses nothing',
    async () => {
      const port = 6390;
      const url = `redis://127.0.0.1:${port}`;
      const probe = createClient({ url, socket: { reconnectStrategy: false } });
      probe.on('error', () => undefined);
      const inUse = await probe.connect().then(
        () => true,
        () => false,
      );
      if (inUse) await probe.quit();
      expect(inUse, `port ${port} is taken; this test needs it for a Redis of its own`).toBe(false);

      const dir = mkdtempSync(join(tmpdir(), 'ss-redis-'));
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      const server = (): ChildProcess => {
        const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
        servers.add(child);
        child.once('exit', () => servers.delete(child));
        return child;
      };
      // No offline queue: while the server is down, a read fails instead of waiting for it.
      const client = createClient({ url, disableOfflineQueue: true });
      client.on('error', () => undefined);
      const ping = () => client.ping().then((r) => r === 'PONG', () => false);

      let redisServer = server();
      await client.connect();
      await waitFor(ping, 10_000, `redis-server on ${port}`);
      const prefix = `${uniqueId('redisdown')}.`;
      const name = uniqueId('redisdown-job');
      const store = new CheckpointStore(client, name);
      await setupTopics(prefix, records);

      const w = worker('redisdown', [...baseArgs(name, prefix), '--redis', url]);
      await waitFor(() => w.progress.eventsIn >= 25_000 || !w.alive, 90_000, 'a quarter of the events consumed');
      expect(w.alive, w.logs()).toBe(true);

      // Redis goes away abruptly.
      const retriesBefore = w.progress.retries;
      redisServer.kill('SIGKILL');
      await new Promise((r) => redisServer.once('exit', r));
      await waitFor(() => w.progress.retries > retriesBefore, 15_000, 'the worker to notice and retry');
      // Paused: while Redis is down nothing more is consumed.
      const pausedAt = w.progress.eventsIn;
      const outageMs = 3_000;
      const outageEnd = Date.now() + outageMs;
      await waitFor(() => Date.now() >= outageEnd || w.progress.eventsIn !== pausedAt, outageMs + 1_000, 'the outage');
      expect(w.progress.eventsIn, 'events consumed while Redis was down').toBe(pausedAt);
      expect(w.progress.retries).toBeGreaterThan(retriesBefore + 1);
      expect(w.alive, w.logs()).toBe(true);
      expect(await allCheckpointed(store, client, prefix)).toBe(false);

      // Back, empty (no persistence): the tasks find their checkpoints MISSING and write them whole.
      redisServer = server();
      await waitFor(ping, 10_000, `redis-server on ${port} again`);
      expect(await client.dbSize()).toBe(0);
      await waitFor(() => allCheckpointed(store, client, prefix), 120_000, 'every input checkpointed after the outage');
      // The worker reports its counters every 250 ms: the last report may still be on its way.
      await waitFor(() => w.progress.eventsIn > pausedAt, 5_000, 'events consumed after the outage');
      expect(w.logged('Redis lost its checkpoint'), w.logs()).toBe(true);
      await w.stop();

      await expectOutputsEqualReference(prefix, ref);
      await expectStateEqualsReference(store, ref);
      await client.quit();
      redisServer.kill('SIGTERM');
    },
    180_000,
  );

  it(
    'scale-out: a second and a third instance join mid-stream, partitions move with their state',
    async () => {
      const prefix = `${uniqueId('scale')}.`;
      const name = uniqueId('scale-job');
      const ledgerPrefix = `ss:delivered:${name}:`;
      const store = new CheckpointStore(redis, name);
      cleanupRedis(redis, store, ledgerPrefix);
      const webhook = new CountingWebhook();
      await webhook.start();
      cleanups.push(() => webhook.close());
      // The input arrives in three slices. B joins after A has built state from the first; the
      // second and third stream in (in chunks) while C joins, so partitions move while data flows,
      // and every instance that takes a partition goes on from the state its previous owner built.
      const cut = Math.floor(records.length * 0.4);
      await setupTopics(prefix, records.slice(0, cut));
      const args = [...baseArgs(name, prefix), '--redis', loadServiceConfig().redisUrl, '--webhook', webhook.url, '--ledger-prefix', ledgerPrefix, ...TUNED];
      const assigned = (...ws: WorkerProcess[]) => ws.flatMap((w) => w.progress.assigned);
      const disjointCover = (...ws: WorkerProcess[]) => {
        const all = assigned(...ws);
        return all.length === PARTITIONS && new Set(all).size === PARTITIONS && ws.every((w) => w.progress.assigned.length > 0);
      };

      const a = worker('scale-a', args);
      await waitFor(() => a.progress.eventsIn >= 10_000 || !a.alive, 90_000, 'instance A to consume 10k events');
      expect(a.progress.assigned).toHaveLength(PARTITIONS);
      const b = worker('scale-b', args);
      await waitFor(() => disjointCover(a, b) || !b.alive, 60_000, 'A and B to share the partitions');
      expect(b.alive, b.logs()).toBe(true);

      let produced = false;
      const streaming = (async () => {
        const rest = records.slice(cut);
        for (let i = 0; i < rest.length; i += 5_000) {
          await produceRecords(kafka, rest.slice(i, i + 5_000), prefix);
          await new Promise((r) => setTimeout(r, 150));
        }
        produced = true;
      })();
      const c = worker('scale-c', args);
      await waitFor(() => disjointCover(a, b, c) || !c.alive, 60_000, 'A, B and C to share the partitions');
      expect(c.alive, c.logs()).toBe(true);
      const movedWhileStreaming = !produced;
      await streaming;
      await waitFor(() => allCheckpointed(store, redis, prefix), 120_000, 'every input checkpointed by the three instances');
      for (const w of [a, b, c]) {
        expect(w.progress.assigned, `${w.label} holds two partitions`).toHaveLength(2);
        expect(w.progress.eventsIn, `${w.label} consumed`).toBeGreaterThan(0);
      }
      await Promise.all([c.stop(), b.stop(), a.stop()]);
      console.info(`scale-out: C joined ${movedWhileStreaming ? 'while' : 'after'} the rest of the input was produced`);

      await expectOutputsEqualReference(prefix, ref);
      await expectStateEqualsReference(store, ref);
      // No crash: every trigger reached the webhook, and exactly once, whichever instance sent it.
      expect(webhook.duplicates()).toEqual([]);
      expect([...webhook.counts.keys()].sort()).toEqual([...ref.triggers.keys()].sort());
    },
    180_000,
  );

  it(
    'every class of bad input mid-stream goes to its dead-letter topic with its own reason, and the outputs equal the reference of the good input',
    async () => {
      const data = smallData();
      const expected = reference(data);
      const prefix = `${uniqueId('bad')}.`;
      const name = uniqueId('bad-job');
      const store = new CheckpointStore(redis, name);
      cleanupRedis(redis, store);
      const half = Math.floor(data.length / 2);
      await setupTopics(prefix, data.slice(0, half));
      // Raw Avro, bypassing our encoder's checks: values the schemas allow and the contracts do not.
      const raw = (name: SchemaName, value: unknown): Buffer => {
        const body = avsc.Type.forSchema(avroSchema(name) as Parameters<typeof avsc.Type.forSchema>[0]).toBuffer(value);
        const header = Buffer.alloc(5);
        header.writeUInt32BE(defaultRegistry.idOf(name), 1);
        return Buffer.concat([header, body]);
      };
      const click = data.find((r) => r.topic === 'clickstream')!.value as { customerId: string; eventId: string; ts: number };
      const ping = data.find((r) => r.topic === 'location')!.value as { customerId: string; eventId: string };
      const till = data.find((r) => r.topic === 'pos' && (r.value as { customerId: string | null }).customerId !== null)!.value as {
        customerId: string;
        items: Array<{ unitPrice: number }>;
      };
      const framed = (name: SchemaName, v: unknown) => encodeConfluent(name, v as never);
      const magic = Buffer.from(framed('ClickEvent', click));
      magic[0] = 0x05;
      const unknownId = Buffer.from(framed('PosEvent', till));
      unknownId.writeUInt32BE(4242, 1);
      const bad: Array<{ topic: string; key: string | null; value: Buffer | null; code: string; says: RegExp }> = [
        { topic: 'clickstream', key: click.customerId, value: Buffer.from('not avro at all'), code: 'SS_ERR_DECODE', says: /nor plain Avro/ },
        { topic: 'clickstream', key: click.customerId, value: magic, code: 'SS_ERR_DECODE', says: /wrong magic byte 0x05/ },
        { topic: 'pos', key: till.customerId, value: unknownId, code: 'SS_ERR_DECODE', says: /unknown schema id 4242/ },
        { topic: 'location', key: ping.customerId, value: raw('LocationEvent', { ...ping, eventId: 'bad-lat', lat: 95 }), code: 'SS_ERR_VALIDATION', says: /lat: expected a latitude/ },
        { topic: 'pos', key: till.customerId, value: raw('PosEvent', { ...till, eventId: 'bad-price', items: [{ ...till.items[0]!, unitPrice: -3 }] }), code: 'SS_ERR_VALIDATION', says: /unitPrice: expected a price >= 0/ },
        { topic: 'clickstream', key: click.customerId, value: framed('ClickEvent', { ...click, eventId: 'year-3000', ts: Date.UTC(3000, 0, 1) }), code: 'SS_ERR_EVENT_TIME', says: /event time 3000-01-01T00:00:00\.000Z is \d+ d ahead of the clock/ },
        { topic: 'clickstream', key: null, value: framed('ClickEvent', { ...click, eventId: 'no-key' }), code: 'SS_ERR_INPUT_KEY', says: /key null is not the record's customer/ },
        { topic: 'location', key: ping.customerId, value: null, code: 'SS_ERR_DECODE', says: /no value \(tombstone\)/ },
      ];
      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      for (const b of bad) await producer.send({ topic: `${prefix}${b.topic}`, messages: [{ key: b.key, value: b.value }] });
      await producer.disconnect();
      await produceRecords(kafka, data.slice(half), prefix);

      // The job's warnings and errors, shown if it read less than it should (seeks, gaps, rebalances).
      const said: string[] = [];
      const log = (level: 'info' | 'warn' | 'error', msg: string) => void (level !== 'info' && said.push(`${level}: ${msg}`));
      const job = new KafkaJob({ ...retailJobOptions({ kafka, redis, name, topicsPrefix: prefix, tickMs: 200, idleTimeoutMs: IDLE_MS }), maxEventAheadMs: 300_000, log });
      await job.start();
      await waitFor(() => allCheckpointed(store, redis, prefix), 90_000, 'everything checkpointed');
      await job.stop();
      // Read: the good records, and the one from the future (it decodes; the engine refuses it).
      expect(job.stats.eventsIn, said.join('\n')).toBe(data.length + 1);
      await expectOutputsEqualReference(prefix, expected);
      await expectStateEqualsReference(store, expected);
      // Each bad record in its input's dead-letter topic, with its own code and a message naming the cause.
      const letters = (await Promise.all(INPUTS.map((t) => readToEnd(kafka, `${prefix}${t}.dlq`)))).flat();
      topics.push(...INPUTS.map((t) => `${prefix}${t}.dlq`));
      const seen = letters.map((m) => ({ code: m.headers!['ss-error-code']!.toString(), message: m.headers!['ss-error-message']!.toString(), topic: m.headers!['ss-source-topic']!.toString() }));
      expect(seen).toHaveLength(bad.length);
      for (const b of bad) {
        const match = seen.find((l) => l.topic === `${prefix}${b.topic}` && l.code === b.code && b.says.test(l.message));
        expect(match, `${b.code} ${b.says} in ${b.topic}.dlq; got ${JSON.stringify(seen)}`).toBeDefined();
      }
    },
    180_000,
  );

  it(
    'Redis lost every checkpoint while no instance ran: the next one starts over from the log start, not from the offsets committed to Kafka',
    async () => {
      const data = smallData();
      const expected = reference(data);
      const prefix = `${uniqueId('lost')}.`;
      const name = uniqueId('lost-job');
      const store = new CheckpointStore(redis, name);
      cleanupRedis(redis, store);
      const half = Math.floor(data.length / 2);
      await setupTopics(prefix, data.slice(0, half));
      const job = () => new KafkaJob({ ...retailJobOptions({ kafka, redis, name, topicsPrefix: prefix, tickMs: 200, idleTimeoutMs: IDLE_MS }), consumer: { sessionTimeout: 6_000, heartbeatInterval: 1_000 } });
      const first = job();
      await first.start();
      await waitFor(() => allCheckpointed(store, redis, prefix), 60_000, 'the first half checkpointed');
      await first.stop(); // its offsets are committed to Kafka too (for lag monitoring)
      for (let p = 0; p < PARTITIONS; p++) await redis.del(store.keys(p));

      await produceRecords(kafka, data.slice(half), prefix);
      const second = job();
      await second.start();
      await waitFor(() => allCheckpointed(store, redis, prefix), 60_000, 'everything checkpointed');
      await second.stop();
      // The state came back only by consuming the first half again.
      expect(second.stats.eventsIn).toBe(data.length);
      await expectOutputsEqualReference(prefix, expected);
      await expectStateEqualsReference(store, expected);
    },
    120_000,
  );

  it(
    'Redis Cluster (3 masters): tasks checkpoint on their own slots, a kill -9 and a restart, the result equals the reference',
    async () => {
      const startedHere = servicesScript('redis-cluster', 'status').status !== 0;
      const started = servicesScript('redis-cluster', 'start');
      if (startedHere) cleanups.push(async () => void servicesScript('redis-cluster', 'stop'));
      expect(started.status, `scripts/services.sh redis-cluster start failed:\n${started.output}`).toBe(0);
      const nodes = loadServiceConfig().redisClusterNodes;
      const cluster = createCluster({ rootNodes: nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })) });
      cluster.on('error', () => undefined);
      await cluster.connect();
      cleanups.push(() => cluster.quit().then(() => undefined));

      const data = smallData();
      const expected = reference(data);
      expect(expected.triggers.size).toBeGreaterThan(50);
      const prefix = `${uniqueId('cluster')}.`;
      const name = uniqueId('cluster-job');
      const store = new CheckpointStore(cluster, name);
      cleanups.push(async () => {
        for (let p = 0; p < PARTITIONS; p++) for (const k of store.keys(p)) await cluster.del(k);
      });
      // The tasks' hash tags spread over more than one master.
      const masters = new Set<string>();
      for (let p = 0; p < PARTITIONS; p++) {
        const key = store.keys(p)[0];
        const slot = await cluster.sendCommand<number>(key, true, ['CLUSTER', 'KEYSLOT', key]);
        masters.add(cluster.slots[slot]!.master.address);
      }
      expect(masters.size).toBeGreaterThan(1);
      await setupTopics(prefix, data);

      const args = [...baseArgs(name, prefix), '--redis-cluster', nodes.map((n) => `${n.host}:${n.port}`).join(',')];
      const first = worker('cluster-1', args);
      const killAt = Math.floor(data.length / 3);
      await waitFor(() => first.progress.eventsIn >= killAt || !first.alive, 90_000, `${killAt} events consumed`);
      expect(first.alive, first.logs()).toBe(true);
      first.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      expect(await allCheckpointed(store, cluster, prefix)).toBe(false);

      const second = worker('cluster-2', args);
      await waitFor(() => allCheckpointed(store, cluster, prefix), 120_000, 'every input checkpointed on the cluster');
      await second.stop();
      // No assertion on second.progress: its progress lines come every 250 ms and it may finish the
      // rest before printing one (a race that failed a CI run). That work remained after the kill is
      // proven above (not all checkpointed), and that the restart did it right, by the checks below.

      await expectOutputsEqualReference(prefix, expected);
      await expectStateEqualsReference(store, expected);
    },
    150_000,
  );
});

