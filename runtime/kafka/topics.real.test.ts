/**
 * The job's topics on the real broker: `ensureTopics` creates what is missing with the configured
 * partitions and retention, checks without creating, refuses inputs that are not co-partitioned,
 * warns about inputs that delete by age; `scenestream topics` and a job starting on no topics at all.
 */
import { createClient } from '@redis/client';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateEvents } from '../../simulator/life.js';
import { generateWorld } from '../../simulator/world.js';
import { produceRecords, readTopic, testKafka, uniqueId } from '../../testkit/kafka.js';
import { main } from '../cli.js';
import { loadServiceConfig } from '../config.js';
import { retailJobOptions, retailTopics } from '../retailJob.js';
import { KafkaJob } from './job.js';
import { DEFAULT_TOPICS_CONFIG, ensureTopics, formatTopics, waitForLeaders, type TopicsConfig } from './topics.js';

const config: TopicsConfig = { ...DEFAULT_TOPICS_CONFIG, partitions: 2, metadataTimeoutMs: 30_000 };

describe('Kafka topics (real broker)', () => {
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    kafka = testKafka(uniqueId('topics-test'));
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  async function retentionOf(topics: readonly string[]): Promise<Record<string, string>> {
    const r = await admin.describeConfigs({ resources: topics.map((name) => ({ type: 2, name, configNames: ['retention.ms'] })), includeSynonyms: false });
    return Object.fromEntries(r.resources.map((x) => [x.resourceName, x.configEntries.find((e) => e.configName === 'retention.ms')?.configValue ?? '']));
  }

  async function partitionsOf(topics: readonly string[]): Promise<Record<string, number>> {
    const meta = await admin.fetchTopicMetadata({ topics: [...topics] });
    return Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]));
  }

  it('check lists the missing topics and creates nothing; create makes inputs, outputs and dead letters with their retention', async () => {
    const { inputs, outputs } = retailTopics(`${uniqueId('tp')}.`);
    const checked = await ensureTopics(admin, inputs, outputs, config, 'check');
    expect(checked.topics.every((t) => t.status === 'missing')).toBe(true);
    expect(checked.problems).toHaveLength(1);
    for (const t of [...inputs, ...outputs]) expect(checked.problems[0]).toContain(t);
    const existing = new Set(await admin.listTopics());
    expect(inputs.some((t) => existing.has(t))).toBe(false);

    const created = await ensureTopics(admin, inputs, outputs, config, 'create');
    expect(created.problems).toEqual([]);
    const dlqs = [...inputs, ...outputs].map((t) => `${t}.dlq`);
    expect(created.topics.map((t) => [t.topic, t.status])).toEqual([...inputs, ...outputs, ...dlqs].map((t) => [t, 'created']));
    expect(await partitionsOf([...inputs, ...outputs, ...dlqs])).toEqual(Object.fromEntries([...inputs, ...outputs, ...dlqs].map((t) => [t, 2])));
    const retention = await retentionOf([...inputs, ...outputs, ...dlqs]);
    for (const t of [...inputs, ...dlqs]) expect(retention[t]).toBe('-1');
    for (const t of outputs) expect(retention[t]).toBe('604800000');

    const again = await ensureTopics(admin, inputs, outputs, config, 'check');
    expect(again.problems).toEqual([]);
    expect(again.warnings).toEqual([]);
    expect(again.topics.every((t) => t.status === 'exists')).toBe(true);
    expect(formatTopics(again)).toMatch(new RegExp(`${inputs[0]!.replace(/\./g, '\\.')}\\s+input\\s+2\\s+1\\s+forever\\s+exists`));
  });

  it('gives created topics the partition count of the inputs that exist, refuses inputs that are not co-partitioned, warns about inputs deleted by age', async () => {
    const { inputs, outputs } = retailTopics(`${uniqueId('tp')}.`);
    await admin.createTopics({ topics: [{ topic: inputs[0]!, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }], waitForLeaders: false });
    await waitForLeaders(admin, [inputs[0]!], 30_000);
    const created = await ensureTopics(admin, inputs, outputs, config, 'create');
    expect(created.problems).toEqual([]);
    expect(Object.values(await partitionsOf([...inputs, ...outputs]))).toEqual([...inputs, ...outputs].map(() => 3));
    expect(created.warnings).toEqual([`${inputs[0]} deletes records older than 1 h: input with older event times may be deleted before it is read`]);

    const other = retailTopics(`${uniqueId('tp')}.`);
    await admin.createTopics({ topics: [{ topic: other.inputs[0]!, numPartitions: 3 }, { topic: other.inputs[1]!, numPartitions: 2 }], waitForLeaders: false });
    await waitForLeaders(admin, other.inputs.slice(0, 2), 30_000);
    const bad = await ensureTopics(admin, other.inputs, other.outputs, config, 'create');
    expect(bad.problems).toEqual([`input topics are not co-partitioned: ${other.inputs[0]} has 3, ${other.inputs[1]} has 2 partitions`]);
  });

  it('scenestream topics check exits 1 naming what is missing, create exits 0, check then exits 0', async () => {
    const prefix = `${uniqueId('tp')}.`;
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
    try {
      expect(await main(['topics', 'check', '--prefix', prefix, '--partitions', '2'])).toBe(1);
      expect(out.join('\n')).toContain(`problem: missing topics: ${prefix}clickstream`);
      expect(await main(['topics', 'create', '--prefix', prefix, '--partitions', '2'])).toBe(0);
      expect(out.at(-1)).toMatch(new RegExp(`${prefix.replace(/\./g, '\\.')}offers\\s+output\\s+2\\s+1\\s+7 d\\s+created`));
      expect(await main(['topics', 'check', '--prefix', prefix])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const errors: string[] = [];
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => errors.push(String(s)) > 0);
    try {
      expect(await main(['topics', 'delete'])).toBe(2);
    } finally {
      err.mockRestore();
    }
    expect(errors.join('')).toContain('topics: expected create or check, got "delete"');
  });

  it('scenestream simulate --kafka creates its topics before producing, keeping the input forever', async () => {
    const prefix = `${uniqueId('tp')}.`;
    vi.stubEnv('TOPICS_PARTITIONS', '2');
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['simulate', '--kafka', '--rate', '0', '--customers', '5', '--days', '1', '--topics-prefix', prefix])).toBe(0);
    } finally {
      err.mockRestore();
      vi.unstubAllEnvs();
    }
    const { inputs } = retailTopics(prefix);
    expect(await partitionsOf(inputs)).toEqual(Object.fromEntries(inputs.map((t) => [t, 2])));
    expect(Object.values(await retentionOf(inputs))).toEqual(['-1', '-1', '-1']);
    expect((await readTopic(kafka, `${prefix}clickstream`, (m) => m.length > 0, 30_000)).length).toBeGreaterThan(0);
  });

  it('a job started on a broker without its topics creates them, waits for their leaders and processes input', async () => {
    const prefix = `${uniqueId('tp')}.`;
    const redis = createClient({ url: loadServiceConfig().redisUrl });
    await redis.connect();
    const job = new KafkaJob(retailJobOptions({ kafka, redis, name: uniqueId('topics-job'), topicsPrefix: prefix, tickMs: 200, idleTimeoutMs: 1000, topics: config }));
    try {
      await job.start();
      const world = generateWorld({ seed: 'topics-real', customers: 20 });
      await produceRecords(kafka, [...generateEvents(world, { days: 1 })], prefix);
      const triggers = await readTopic(kafka, `${prefix}triggers`, (m) => m.length > 0, 60_000);
      expect(triggers.length).toBeGreaterThan(0);
      expect(await partitionsOf(retailTopics(prefix).inputs)).toEqual(Object.fromEntries(retailTopics(prefix).inputs.map((t) => [t, 2])));
    } finally {
      await job.stop();
      await redis.quit();
    }
  });
});
