/**
 * `scenestream run --instances 2` against the real broker and Redis: the compiled CLI forks two
 * instances of the retail job into one consumer group over a 6-partition input; together they must
 * compute what the in-process reference computes (one executor per partition, fed without
 * interruption, as runtime/kafka/faults.real.test.ts compares), each serving HTTP on its own port.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient } from '@redis/client';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEvents, type SimRecord } from '../simulator/life.js';
import { generateWorld } from '../simulator/world.js';
import { createTopics, produceRecords, referenceRun, testKafka, uniqueId, waitFor } from '../testkit/kafka.js';
import { allCheckpointed, healthz, readOutputsById, referenceOutputsById } from '../testkit/workers.js';
import { loadServiceConfig } from './config.js';
import { CheckpointStore } from './redis/checkpoints.js';
import { retailJobOptions } from './retailJob.js';
import { freePorts } from '../testkit/cli.js';

const PARTITIONS = 6;
const INPUTS = ['clickstream', 'pos', 'location'] as const;
/** Processing-time idleness never fires during the run, so the result cannot depend on timing. */
const IDLE_MS = 3_600_000;
/** As the fault tests: the sinks a function of the input alone (recommendations read bought-together caches that depend on batch timing). */
const COMPARED_SINKS = ['triggers', 'decisions', 'offers'] as const;
const CLI = fileURLToPath(new URL('../dist/runtime/cli.js', import.meta.url));

interface Health {
  readonly assigned: number[];
  readonly partitions: number[];
  readonly stores: number;
  readonly profiles: number;
  readonly stats: { readonly eventsIn: number };
}

const health = (port: number) => healthz<Health>(port);

describe('scenestream run --instances 2 (real Kafka and Redis)', () => {
  const redis = createClient({ url: loadServiceConfig().redisUrl });
  let kafka: Kafka;
  let admin: Admin;
  let records: SimRecord[];
  const topics: string[] = [];

  beforeAll(async () => {
    await redis.connect();
    kafka = testKafka(uniqueId('instances'));
    admin = kafka.admin();
    await admin.connect();
    // 200 customers over 2 days: about 37k events.
    records = [...generateEvents(generateWorld({ seed: 'instances', customers: 200 }), { days: 2 })];
  });

  afterAll(async () => {
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect();
    await redis.quit();
  });

  it('two instances share the partitions and together compute exactly the reference', async () => {
    const prefix = `${uniqueId('inst')}.`;
    const name = uniqueId('inst-job');
    const options = retailJobOptions({ kafka, redis, name, topicsPrefix: prefix, idleTimeoutMs: IDLE_MS });
    const inputs = INPUTS.map((t) => `${prefix}${t}`);
    topics.push(...inputs, ...Object.values(options.sinks).map((s) => s.topic));
    await createTopics(admin, topics, PARTITIONS);
    const expected = referenceOutputsById(referenceRun(options.graph, records, PARTITIONS).outputs, options.sinks, COMPARED_SINKS);
    expect(expected.get('triggers')!.size).toBeGreaterThan(50);

    const port = await freePorts(2);
    const store = new CheckpointStore(redis, name);
    const supervisor = spawn(process.execPath, [CLI, 'run', '--instances', '2'], {
      env: {
        ...process.env,
        SCENESTREAM_MODE: 'kafka',
        JOB_NAME: name,
        TOPICS_PREFIX: prefix,
        IDLE_TIMEOUT_MS: String(IDLE_MS),
        CHECKPOINT_INTERVAL_MS: '100',
        PARTITIONS_CONSUMED_CONCURRENTLY: '3',
        HTTP_PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    for (const stream of [supervisor.stdout, supervisor.stderr]) stream.setEncoding('utf8').on('data', (c: string) => lines.push(...c.split('\n').filter((l) => l !== '')));
    const exited = new Promise<number | null>((r) => supervisor.once('exit', (code) => r(code)));
    let code: number | null = null;
    try {
      // The input goes in once both have joined: one instance alone would be done before the other started.
      const split = async () => {
        const [a, b] = await Promise.all([health(port), health(port + 1)]);
        return a !== undefined && b !== undefined && a.assigned.length > 0 && b.assigned.length > 0 && new Set([...a.assigned, ...b.assigned]).size === PARTITIONS;
      };
      await waitFor(split, 90_000, 'both instances to join the group and share the partitions');
      await produceRecords(kafka, records, prefix);
      await waitFor(() => allCheckpointed(admin, store, redis, inputs, PARTITIONS), 120_000, 'every input checkpointed by the two instances');
      const [h0, h1] = await Promise.all([health(port), health(port + 1)]);
      // The reference assumes no reference data; another run could have loaded some into this Redis.
      for (const h of [h0, h1]) expect(h, 'each instance answers on its own port').toMatchObject({ stores: { count: 0 } });
      // Both worked, on disjoint tasks that cover the partitions (a task loads on its first batch).
      expect(h0!.stats.eventsIn).toBeGreaterThan(0);
      expect(h1!.stats.eventsIn).toBeGreaterThan(0);
      expect(h0!.stats.eventsIn + h1!.stats.eventsIn).toBeGreaterThanOrEqual(records.length);
      expect([...h0!.partitions, ...h1!.partitions].sort()).toEqual([0, 1, 2, 3, 4, 5]);
      supervisor.kill('SIGTERM');
      code = await exited;
    } finally {
      if (code === null) supervisor.kill('SIGKILL');
      for (let p = 0; p < PARTITIONS; p++) await redis.del(store.keys(p));
    }
    expect(code, lines.slice(-40).join('\n')).toBe(0);
    for (const i of [0, 1]) expect(lines.some((l) => l.startsWith(`[instance ${i}] info: scenestream (kafka mode) running: job ${name},`))).toBe(true);

    for (const sink of COMPARED_SINKS) {
      const want = expected.get(sink)!;
      const got = await readOutputsById(kafka, options.sinks[sink]!, want.size);
      expect(got.conflicts, `${sink}: ids produced again with other content`).toEqual([]);
      expect(got.byId, sink).toEqual(want);
    }
  }, 240_000);
});
