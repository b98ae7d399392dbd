/**
 * The live customer profiles in Redis (issue 13, item 2), against the real broker and Redis: the
 * retail job runs in a worker process (`runtime/kafka/worker.ts`) that is killed with SIGKILL
 * mid-stream and restarted. At every look, each profile in Redis is exactly the rendering of the
 * checkpointed state it was committed with (never ahead, never behind), its segment index agrees,
 * and after the restart has read everything the profiles read back through redis-om equal the
 * in-process reference's.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient, createCluster } from '@redis/client';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { fromPlain, type Json } from '../../engine/plain.js';
import { PROFILE_DEFAULTS, renderProfile, type LiveProfile, type ProfileState } from '../../pipelines/profile.js';
import { RETAIL_SINKS } from '../../pipelines/retail.js';
import { RFM_SEGMENTS } from '../../pipelines/rfm.js';
import { generateEvents, type SimRecord } from '../../simulator/life.js';
import { generateWorld } from '../../simulator/world.js';
import { createTopics, produceRecords, referenceRun, testKafka, uniqueId, waitFor } from '../../testkit/kafka.js';
import { allCheckpointed, WorkerProcess } from '../../testkit/workers.js';
import { startRedis } from '../../testkit/cli.js';
import { loadServiceConfig } from '../config.js';
import { retailJobOptions } from '../retailJob.js';
import { CheckpointStore, type RedisCommands } from './checkpoints.js';
import { profileToHash, RedisProfileStore, segmentKey, type LiveProfilesClient } from './liveProfiles.js';

const PARTITIONS = 3;
const INPUTS = ['clickstream', 'pos', 'location'] as const;
const IDLE_MS = 3_600_000;
const STATE_FIELD = 'profile/customers\u0000';
const SERVICES = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));

/** What the test reads of Redis: the single-node and the cluster client both have it. */
interface Reader extends RedisCommands, LiveProfilesClient {
  hGetAll(key: string): Promise<Record<string, string>>;
  zRange(key: string, min: number, max: number): Promise<string[]>;
}

const retailOptions = (prefix: string) => retailJobOptions({ kafka: testKafka('unused'), redis: { eval: async () => null, hScan: async () => ({ cursor: 0, tuples: [] }) }, topicsPrefix: prefix, idleTimeoutMs: IDLE_MS });

/** The last profile of each customer the in-process reference emitted. */
function referenceProfiles(records: readonly SimRecord[]): Map<string, LiveProfile> {
  const { outputs } = referenceRun(retailOptions('').graph, records, PARTITIONS);
  const last = new Map<string, LiveProfile>();
  for (const v of (outputs.get(RETAIL_SINKS.profiles) ?? []) as LiveProfile[]) last.set(v.customerId, v);
  return last;
}

/**
 * Checks, partition by partition, that Redis holds for each customer of the checkpointed profile
 * state exactly the profile rendered from it, no profile without state, and segment indexes that
 * list exactly the customers whose profile names that segment. Returns how many profiles there are.
 */
async function expectProfilesMatchCheckpoints(r: Reader, job: string): Promise<number> {
  let n = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const [stateKey] = new CheckpointStore(r, job).keys(p);
    const states = new Map<string, ProfileState>();
    let cursor = 0;
    do {
      const reply = await r.hScan(stateKey, cursor, { COUNT: 2000 });
      cursor = reply.cursor;
      for (const { field, value } of reply.tuples) {
        if (!field.startsWith(STATE_FIELD)) continue;
        states.set(field.slice(STATE_FIELD.length), fromPlain((JSON.parse(value) as [Json, number | null])[0]) as ProfileState);
      }
    } while (cursor !== 0);
    const bySegment = new Map<string, string[]>();
    for (const [customerId, s] of states) {
      const want = renderProfile(customerId, s, PROFILE_DEFAULTS);
      const got = await r.hGetAll(`ss:{ss:${job}:${p}}:profile:${customerId}`);
      expect(got, `profile of ${customerId} (partition ${p}) is the checkpointed state's`).toEqual(profileToHash(want));
      if (want.segment !== undefined) bySegment.set(want.segment, [...(bySegment.get(want.segment) ?? []), customerId]);
      n++;
    }
    for (const segment of RFM_SEGMENTS) {
      expect((await r.zRange(segmentKey(job, p, segment), 0, -1)).sort(), `segment ${segment} of partition ${p}`).toEqual((bySegment.get(segment) ?? []).sort());
    }
  }
  return n;
}

async function profileKeys(r: { scanIterator(o: { MATCH: string; COUNT: number }): AsyncIterable<string> }, job: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of r.scanIterator({ MATCH: `ss:{ss:${job}:*`, COUNT: 1000 })) keys.push(k);
  return keys;
}

describe('live profiles in Redis, written with the checkpoint (real Kafka and Redis, worker processes)', () => {
  let kafka: Kafka;
  let admin: Admin;
  const redis = createClient({ url: loadServiceConfig().redisUrl });
  let records: SimRecord[];
  let reference: Map<string, LiveProfile>;
  const workers = new Set<WorkerProcess>();
  const topics: string[] = [];
  const jobs: string[] = [];

  beforeAll(async () => {
    redis.on('error', () => undefined);
    await redis.connect();
    kafka = testKafka(uniqueId('profiles'));
    admin = kafka.admin();
    await admin.connect();
    records = [...generateEvents(generateWorld({ seed: 'profiles', customers: 120 }), { days: 2 })];
    reference = referenceProfiles(records);
    expect(reference.size).toBeGreaterThan(50);
    expect(new Set([...reference.values()].map((p) => p.segment)).size, 'several segments').toBeGreaterThan(1);
  });

  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await Promise.all([...workers].map((w) => w.exited));
    for (const job of jobs) for (const k of await profileKeys(redis, job)) await redis.del(k);
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect();
    await redis.quit();
  });

  function worker(label: string, args: readonly string[]): WorkerProcess {
    const w = new WorkerProcess(label, args);
    onTestFailed(() => console.error(`--- worker ${label}: last progress ${JSON.stringify(w.progress)}, exit ${JSON.stringify(w.exit)}\n${w.logs(60)}`));
    workers.add(w);
    void w.exited.then(() => workers.delete(w));
    return w;
  }

  async function setup(prefix: string): Promise<void> {
    const names = [...INPUTS.map((t) => `${prefix}${t}`), ...Object.values(retailOptions(prefix).sinks).map((k) => k.topic)];
    topics.push(...names);
    await createTopics(admin, names, PARTITIONS);
    await produceRecords(kafka, records, prefix);
  }

  const args = (name: string, prefix: string, redisArgs: readonly string[]) => ['--name', name, '--prefix', prefix, '--tick-ms', '200', '--idle-timeout-ms', String(IDLE_MS), '--checkpoint-interval-ms', '100', ...redisArgs];

  it(
    'kill -9 mid-stream: every profile in Redis equals its checkpointed state; after a restart they equal the reference, read back through redis-om',
    async () => {
      const prefix = `${uniqueId('prof')}.`;
      const name = uniqueId('prof-job');
      jobs.push(name);
      await setup(prefix);
      const store = new CheckpointStore(redis, name);
      const a = args(name, prefix, ['--redis', loadServiceConfig().redisUrl]);

      const first = worker('first', a);
      // Killed once some profiles are in Redis (the scenes hold records until every input's watermark passes them).
      await waitFor(async () => (await profileKeys(redis, name)).some((k) => k.includes(':profile:')) || !first.alive, 90_000, 'the first run to write profiles');
      first.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      expect(await allCheckpointed(admin, store, redis, INPUTS.map((t) => `${prefix}${t}`), PARTITIONS), 'the kill interrupted the work').toBe(false);
      const atCrash = await expectProfilesMatchCheckpoints(redis, name);
      expect(atCrash, 'profiles were written before the crash').toBeGreaterThan(0);

      const second = worker('second', a);
      await waitFor(() => allCheckpointed(admin, store, redis, INPUTS.map((t) => `${prefix}${t}`), PARTITIONS), 120_000, 'every input checkpointed by the restarted run');
      await second.stop();
      expect(await expectProfilesMatchCheckpoints(redis, name)).toBe(reference.size);

      const profiles = new RedisProfileStore(redis, name, async () => PARTITIONS);
      for (const [id, want] of reference) expect(await profiles.get(id), `profile of ${id}`).toEqual(want);
      expect(await profiles.get('nobody')).toBeUndefined();
      const sizes = await profiles.segmentSizes();
      for (const s of RFM_SEGMENTS) expect(sizes[s], s).toBe([...reference.values()].filter((p) => p.segment === s).length);
      const biggest = RFM_SEGMENTS.reduce((x, y) => (sizes[y] > sizes[x] ? y : x));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await profiles.segmentMembers(biggest, cursor, 7);
        expect(page.customerIds.length).toBeLessThanOrEqual(7);
        seen.push(...page.customerIds);
        cursor = page.next;
      } while (cursor !== null);
      expect(seen).toEqual([...reference.values()].filter((p) => p.segment === biggest).map((p) => p.customerId).sort());
    },
    300_000,
  );

  it(
    'Redis restarted empty: the job writes its state and every profile again, each equal to its state',
    async () => {
      const own = await startRedis();
      const r = createClient({ url: own.url });
      r.on('error', () => undefined);
      await r.connect();
      try {
        const prefix = `${uniqueId('profe')}.`;
        const name = uniqueId('profe-job');
        await setup(prefix);
        const store = new CheckpointStore(r, name);
        const w = worker('empty', args(name, prefix, ['--redis', own.url]));
        await waitFor(() => allCheckpointed(admin, store, r, INPUTS.map((t) => `${prefix}${t}`), PARTITIONS), 120_000, 'every input checkpointed');
        expect(await expectProfilesMatchCheckpoints(r, name)).toBe(reference.size);
        await r.flushAll();
        // The next checkpoint (on the tick) finds the task missing and writes everything again.
        await waitFor(async () => (await profileKeys(r, name)).filter((k) => k.includes(':profile:')).length === reference.size, 60_000, 'every profile written again');
        await w.stop();
        expect(await expectProfilesMatchCheckpoints(r, name)).toBe(reference.size);
        const profiles = new RedisProfileStore(r, name, async () => PARTITIONS);
        for (const [id, want] of reference) expect(await profiles.get(id), `profile of ${id}`).toEqual(want);
      } finally {
        await r.quit();
        own.process.child.kill('SIGKILL');
      }
    },
    300_000,
  );

  it(
    'on a Redis Cluster: a profile shares its checkpoint slot (hash tag of the partition) and reads back',
    async () => {
      const script = (action: string) => spawnSync('bash', [SERVICES, 'redis-cluster', action], { encoding: 'utf8', timeout: 120_000 });
      const startedHere = script('status').status !== 0;
      const status = script('start');
      expect(status.status, `${status.stdout}${status.stderr}`).toBe(0);
      const nodes = loadServiceConfig().redisClusterNodes;
      const cluster = createCluster({ rootNodes: nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })) });
      cluster.on('error', () => undefined);
      await cluster.connect();
      const prefix = `${uniqueId('profc')}.`;
      const name = uniqueId('profc-job');
      try {
        await setup(prefix);
        const store = new CheckpointStore(cluster, name);
        const w = worker('cluster', args(name, prefix, ['--redis-cluster', nodes.map((n) => `${n.host}:${n.port}`).join(',')]));
        await waitFor(() => allCheckpointed(admin, store, cluster, INPUTS.map((t) => `${prefix}${t}`), PARTITIONS), 120_000, 'every input checkpointed on the cluster');
        await w.stop();
        const slot = (key: string) => cluster.sendCommand<number>(key, true, ['CLUSTER', 'KEYSLOT', key]);
        const profiles = new RedisProfileStore(cluster, name, async () => PARTITIONS);
        for (const [id, want] of [...reference].slice(0, 20)) {
          expect(await profiles.get(id), `profile of ${id}`).toEqual(want);
        }
        for (let p = 0; p < PARTITIONS; p++) {
          const [stateKey] = store.keys(p);
          expect(await slot(`ss:{ss:${name}:${p}}:profile:anyone`)).toBe(await slot(stateKey));
        }
        const sizes = await profiles.segmentSizes();
        expect(Object.values(sizes).reduce((x, y) => x + y, 0)).toBe([...reference.values()].filter((p) => p.segment !== undefined).length);
      } finally {
        for (const master of cluster.masters) {
          const client = await cluster.nodeClient(master);
          for await (const k of client.scanIterator({ MATCH: `ss:{ss:${name}:*`, COUNT: 1000 })) await client.del(k);
        }
        await cluster.quit();
        if (startedHere) script('stop');
      }
    },
    300_000,
  );
});
