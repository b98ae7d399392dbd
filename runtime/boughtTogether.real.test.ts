/**
 * The global bought-together against the real broker and Redis: `scenestream run --instances 3`
 * (the compiled CLI, production mode) creates its topics, the repartition and changelog topics
 * included, and shares six partitions over three instances. Every instance then serves, over HTTP,
 * the bought-together table of the whole input, equal to the `bought_together` table of a
 * single-process replay of the same input, although each instance counted only a third of the
 * products. Then the rest of the input, with one instance killed (SIGKILL) half-way, so that tasks
 * replay batches whose basket members and changelog records they had already produced; after a
 * restart of all three (state and offsets from Redis, the table read back from the compacted
 * changelog) the table equals the replay of all the input: nothing counted twice, nothing lost.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient } from '@redis/client';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basketOf } from '../pipelines/boughtTogether.js';
import type { BoughtTogether, RecommendationUpdate } from '../schemas/index.js';
import { generateEvents, type SimRecord } from '../simulator/life.js';
import { generateWorld } from '../simulator/world.js';
import { produceRecords, testKafka, uniqueId, waitFor } from '../testkit/kafka.js';
import { allCheckpointed, healthz } from '../testkit/workers.js';
import type { BoughtTogetherRow, BoughtTogetherTableBody } from './boughtTogetherView.js';
import { loadServiceConfig } from './config.js';
import { CheckpointStore } from './redis/checkpoints.js';
import { replayRecords } from './replay.js';
import { retailTopics } from './retailJob.js';
import { readWholeTopic } from './kafka/broadcast.js';
import { RETAIL_SINKS } from '../pipelines/retail.js';
import { freePorts } from '../testkit/cli.js';

const PARTITIONS = 6;
/**
 * Short, so that the end of each round's input is announced soon (the replay flushes at its end), and
 * longer than any pause of the test's producer: a partition read to its end and quiet for this long
 * while its tills are still being produced announces its watermark on, and those tills are then late
 * for the table (docs/runtime.md, "What it does not promise"). With 5 s, one run on a loaded CI
 * machine (2 cores, the test 2.7 times slower than alone) had 300 of 1,220 updates read from a table
 * that lacked baskets, as such a pause would make; 15 s leaves the test's producer room to pause.
 */
const IDLE_MS = 15_000;
const INSTANCES = 3;
const CLI = fileURLToPath(new URL('../dist/runtime/cli.js', import.meta.url));

interface Health {
  readonly pid: number;
  readonly assigned: number[];
  readonly stores: number;
  readonly stats: { readonly eventsIn: number };
}

async function getJson<T>(port: number, path: string): Promise<T | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** The replay's `bought_together` table over `records`, in one process. */
function replayTable(records: readonly SimRecord[]): readonly BoughtTogether[] {
  return replayRecords(records.map((r, i) => ({ topic: r.topic, value: r.value, line: i + 1 })), { stores: [], profiles: new Map() }).boughtTogether;
}

/** The id of a recommendation update, as the job's sink gives it (a batch replayed after a crash produces it again, the same). */
const updateId = (u: RecommendationUpdate): string => `${u.customerId}|${u.storeId ?? ''}|${u.ts}`;

/** The replay's recommendation updates over `records`, by id. */
function replayUpdates(records: readonly SimRecord[]): Map<string, string> {
  const out = replayRecords(records.map((r, i) => ({ topic: r.topic, value: r.value, line: i + 1 })), { stores: [], profiles: new Map() }).outputs[RETAIL_SINKS.recommendations] as RecommendationUpdate[];
  return new Map(out.map((u) => [updateId(u), JSON.stringify(u)]));
}

/**
 * Where to split the input in two rounds: at the widest quiet gap in its middle fifth, so that the
 * event time a quiet job moves on by (idleness, after the first round's input is read) stays
 * behind the second round's first record, as it would in a real day's night.
 */
function splitAtGap(records: readonly SimRecord[]): number {
  let best = Math.floor(records.length / 2);
  for (let i = Math.floor(records.length * 0.4); i < records.length * 0.6; i++) {
    if (records[i]!.value.ts - records[i - 1]!.value.ts > records[best]!.value.ts - records[best - 1]!.value.ts) best = i;
  }
  return best;
}

/** `scenestream run --instances 3` as a child process, its output kept for failure messages. */
function supervise(env: Record<string, string>): { readonly lines: string[]; readonly exited: Promise<number | null>; kill(signal: NodeJS.Signals): void } {
  const child = spawn(process.execPath, [CLI, 'run', '--instances', String(INSTANCES)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) stream.setEncoding('utf8').on('data', (c: string) => lines.push(...c.split('\n').filter((l) => l !== '')));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { lines, exited, kill: (signal) => void child.kill(signal) };
}

describe('global bought-together: three instances (real Kafka and Redis)', () => {
  const redis = createClient({ url: loadServiceConfig().redisUrl });
  let kafka: Kafka;
  let admin: Admin;
  let records: SimRecord[];
  const prefix = `${uniqueId('bt')}.`;
  const topics = retailTopics(prefix);

  beforeAll(async () => {
    await redis.connect();
    kafka = testKafka(uniqueId('bt'));
    admin = kafka.admin();
    await admin.connect();
    records = [...generateEvents(generateWorld({ seed: 'bought-together-global', customers: 120 }), { days: 2 })];
  });

  afterAll(async () => {
    const existing = new Set(await admin.listTopics());
    const ours = [...existing].filter((t) => t.startsWith(prefix));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours, timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect();
    await redis.quit();
  });

  it('every instance serves the replay table over HTTP, before and after a restart with more input', async () => {
    const name = uniqueId('bt-job');
    const store = new CheckpointStore(redis, name);
    const port = await freePorts(INSTANCES);
    const ports = Array.from({ length: INSTANCES }, (_, i) => port + i);
    const env = { SCENESTREAM_MODE: 'kafka', JOB_NAME: name, TOPICS_PREFIX: prefix, TOPICS_PARTITIONS: String(PARTITIONS), CHECKPOINT_INTERVAL_MS: '100', HTTP_PORT: String(port), BOUGHT_TOGETHER_READS: 'exact', IDLE_TIMEOUT_MS: String(IDLE_MS) };
    const half = splitAtGap(records);
    const gap = records[half]!.value.ts - records[half - 1]!.value.ts;
    console.log(`split at record ${half} of ${records.length}, after a quiet gap of ${Math.round(gap / 60_000)} min of event time`);
    expect(gap, 'a gap wider than a round can move event time on by idleness').toBeGreaterThan(20 * 60_000);
    const first = records.slice(0, half);
    const inputs = topics.inputs;
    const internal = topics.repartitions;

    /** Starts three instances, waits for them to share the partitions, produces `batch`, and checks every instance's table against the replay of `upTo`. */
    const split = async () => {
      const hs = await Promise.all(ports.map((p) => healthz<Health>(p)));
      return hs.every((h) => h !== undefined && h.assigned.length > 0) && new Set(hs.flatMap((h) => h!.assigned)).size === PARTITIONS;
    };
    const round = async (batch: readonly SimRecord[], upTo: readonly SimRecord[], before: () => Promise<void> = async () => {}) => {
      const expected = replayTable(upTo);
      expect(expected.length).toBeGreaterThan(20);
      const sup = supervise(env);
      let code: number | null = null;
      try {
        await waitFor(split, 120_000, 'three instances to join the group and share the partitions');
        if (batch.length > 0) await produceRecords(kafka, batch, prefix);
        // The inputs first: they are checkpointed only once their basket members are produced.
        await waitFor(() => allCheckpointed(admin, store, redis, inputs, PARTITIONS), 180_000, 'every input checkpointed');
        await waitFor(() => allCheckpointed(admin, store, redis, internal, PARTITIONS), 60_000, 'the repartition topic counted and checkpointed');
        const hs = await Promise.all(ports.map((p) => healthz<Health>(p)));
        // A round that produced input gives every instance some. The restart round produces none: an
        // instance there reads only what the crash left uncheckpointed on its partitions, which may be nothing.
        if (batch.length > 0) for (const h of hs) expect(h!.stats.eventsIn, 'every instance worked').toBeGreaterThan(0);
        for (const p of ports) {
          // Eventually consistent: the changelog reaches each instance on its own time.
          await waitFor(async () => JSON.stringify((await getJson<BoughtTogetherTableBody>(p, '/bought-together'))?.table) === JSON.stringify(expected), 60_000, `the table of the instance on ${p}`);
          const body = await getJson<BoughtTogetherTableBody>(p, '/bought-together');
          expect(body!.table).toEqual(expected);
          expect(body!.products).toBe(expected.length);
          for (const row of [expected[0]!, expected[Math.floor(expected.length / 2)]!]) {
            const one = await getJson<BoughtTogetherRow>(p, `/bought-together/${encodeURIComponent(row.productId)}`);
            expect(one).toMatchObject({ productId: row.productId, items: row.items });
            expect(one!.ts).toBeGreaterThan(0);
          }
          expect(await getJson<BoughtTogetherRow>(p, '/bought-together/no-such-product')).toEqual({ productId: 'no-such-product', ts: null, items: [] });
        }
        await before();
        sup.kill('SIGTERM');
        code = await sup.exited;
      } catch (e) {
        throw new Error(`${e instanceof Error ? e.message : String(e)}\n${sup.lines.slice(-60).join('\n')}`, { cause: e });
      } finally {
        if (code === null) sup.kill('SIGKILL');
      }
      expect(code, sup.lines.slice(-40).join('\n')).toBe(0);
      return sup.lines;
    };

    try {
      const lines = await round(first, first);
      // The project created its own topics, the internal ones with them.
      const created = new Set(await admin.listTopics());
      for (const t of [...inputs, ...topics.outputs, ...internal, ...topics.changelogs]) expect(created.has(t), t).toBe(true);
      const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topics.changelogs[0]!, configNames: ['cleanup.policy'] }], includeSynonyms: false });
      expect(configs.resources[0]!.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue).toBe('compact');
      const meta = await admin.fetchTopicMetadata({ topics: internal });
      expect(meta.topics[0]!.partitions.length).toBe(PARTITIONS);
      expect(lines.some((l) => l.includes('bought-together: 0 products read from the changelog'))).toBe(true);

      // The rest of the input; one instance killed half-way through it, checkpoints 2 s apart so that
      // it has produced outputs it has not checkpointed. The supervisor then stops the other two.
      const rest = records.slice(half);
      const crashing = supervise({ ...env, CHECKPOINT_INTERVAL_MS: '2000' });
      try {
        await waitFor(split, 120_000, 'three instances to join again');
        await produceRecords(kafka, rest, prefix);
        const consumed = async () => (await Promise.all(ports.map((p) => healthz<Health>(p)))).reduce((n, h) => n + (h?.stats.eventsIn ?? 0), 0);
        await waitFor(async () => (await consumed()) > rest.length / 3, 120_000, 'a third of the rest consumed');
        const victim = await healthz<Health>(ports[1]!);
        process.kill(victim!.pid, 'SIGKILL');
        expect(await crashing.exited).toBe(1);
      } catch (e) {
        crashing.kill('SIGKILL');
        throw new Error(`${e instanceof Error ? e.message : String(e)}\n${crashing.lines.slice(-60).join('\n')}`, { cause: e });
      }

      // Every customer's suggestions equal the replay's: the same updates (ids), each with the same
      // content in every copy the job produced (a batch replayed after the kill produces its own again).
      const expected = replayUpdates(records);
      const topic = `${prefix}${RETAIL_SINKS.recommendations}`;
      let diff = '';
      const equal = async (): Promise<boolean> => {
        const got = new Map<string, Set<string>>();
        for (const u of await readWholeTopic(kafka, topic, 'RecommendationUpdate', 60_000)) {
          const id = updateId(u);
          (got.get(id) ?? got.set(id, new Set()).get(id)!).add(JSON.stringify(u));
        }
        const wrong = [...expected].filter(([id, json]) => !(got.get(id)?.size === 1 && got.get(id)!.has(json)));
        const extra = [...got.keys()].filter((id) => !expected.has(id));
        diff = `${expected.size} updates in the replay, ${got.size} ids produced; ${wrong.length} missing or different, ${extra.length} extra; first: ${JSON.stringify(wrong.slice(0, 3).map(([id, json]) => ({ id, replay: json, job: [...(got.get(id) ?? [])] })))} ${JSON.stringify(extra.slice(0, 3).map((id) => [...got.get(id)!]))}`;
        return wrong.length === 0 && extra.length === 0;
      };

      // Restarted: state and offsets from Redis, the table from the changelog; the rest of the input finished.
      const again = await round([], records, async () => {
        // The end of the input is announced once every task has been quiet for IDLE_MS: then every update is out.
        await waitFor(equal, 180_000, 'the recommendations to equal the replay').catch((e: unknown) => {
          throw new Error(`${e instanceof Error ? e.message : String(e)}: ${diff}`);
        });
        console.log(`recommendations: ${diff}`);
      });
      expect(expected.size).toBeGreaterThan(100);
      expect(again.some((l) => /bought-together: [1-9]\d* products read from the changelog/.test(l)), again.slice(-40).join('\n')).toBe(true);
      const members = records.reduce((n, r) => (r.topic === 'pos' && basketOf(r.value).length > 1 ? n + basketOf(r.value).length : n), 0);
      const produced = (await admin.fetchTopicOffsets(internal[0]!)).reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
      console.log(`basket members: ${members}, produced to the repartition topic: ${produced}`);
      expect(produced).toBeGreaterThanOrEqual(members);
    } finally {
      for (let p = 0; p < PARTITIONS; p++) await redis.del(store.keys(p));
    }
  }, 600_000);
});
