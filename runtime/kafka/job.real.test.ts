/**
 * The Kafka job against the real broker and Redis: the retail pipeline end to end, dead letters,
 * and resuming from a checkpoint.
 */
import { createClient } from '@redis/client';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeConfluent, defaultRegistry, encodeConfluent, type Trigger } from '../../schemas/index.js';
import { generateEvents } from '../../simulator/life.js';
import type { SimRecord } from '../../simulator/life.js';
import { generateWorld } from '../../simulator/world.js';
import { createTopics, partitionOf, produceRecords, readToEnd, readTopic, runPartitioned, testKafka, uniqueId, waitFor } from '../../testkit/kafka.js';
import { recordKey } from '../../simulator/kafka.js';
import { loadServiceConfig } from '../config.js';
import { RETAIL_SINKS } from '../../pipelines/retail.js';
import { retailJobOptions, retailTopics, triggerId } from '../retailJob.js';
import { readOutputsById, referenceOutputsById } from '../../testkit/workers.js';
import { KafkaJob, messageBytes } from './job.js';

const PARTITIONS = 3;
const INPUTS = ['clickstream', 'pos', 'location'];

function decodeTriggers(messages: KafkaMessage[]): Trigger[] {
  return messages.map((m) => {
    const r = decodeConfluent(m.value!, defaultRegistry, 'Trigger');
    if (!r.ok) throw r.error;
    return r.value.value as Trigger;
  });
}

const ids = (ts: readonly unknown[]) => [...new Set(ts.map((t) => triggerId(t as Trigger)))].sort();

describe('KafkaJob (real Kafka and Redis)', () => {
  const redis = createClient({ url: loadServiceConfig().redisUrl });
  let kafka: Kafka;
  let admin: Admin;
  let records: SimRecord[];

  beforeAll(async () => {
    await redis.connect();
    kafka = testKafka(uniqueId('job-test'));
    admin = kafka.admin();
    await admin.connect();
    const world = generateWorld({ seed: 'job-real', customers: 60 });
    records = [...generateEvents(world, { days: 1 })];
  });

  afterAll(async () => {
    await admin.disconnect();
    await redis.quit();
  });

  async function setup(prefix: string): Promise<void> {
    await createTopics(admin, [...INPUTS.map((t) => `${prefix}${t}`), `${prefix}triggers`], PARTITIONS);
  }

  function job(prefix: string, name: string): KafkaJob {
    return new KafkaJob(retailJobOptions({ kafka, redis, name, topicsPrefix: prefix, tickMs: 200 }));
  }

  it('computes on Kafka exactly the triggers the engine computes in process, partition by partition', async () => {
    const prefix = `${uniqueId('t1')}.`;
    await setup(prefix);
    await produceRecords(kafka, records, prefix);
    const expected = ids(runPartitioned(retailJobOptions({ kafka, redis, topicsPrefix: prefix }).graph, records, PARTITIONS).get('triggers') ?? []);
    expect(expected.length).toBeGreaterThan(5);

    const seen = { eventsIn: 0, checkpoints: 0, roundTrips: 0, latencies: 0, lagSources: new Set<string>(), maxLag: 0, minBehind: Infinity, phases: new Map<string, number>() };
    const j = new KafkaJob({
      ...retailJobOptions({ kafka, redis, name: uniqueId('job'), topicsPrefix: prefix, tickMs: 200 }),
      observer: {
        eventsIn: (_s, n) => void (seen.eventsIn += n),
        checkpointSeconds: (s) => void (s >= 0 && seen.checkpoints++),
        redisRoundTrips: (n) => void (seen.roundTrips += n),
        outputLatencySeconds: (s) => void (s >= 0 && seen.latencies++),
        watermarkLagSeconds: (source, s) => {
          seen.lagSources.add(source);
          seen.maxLag = Math.max(seen.maxLag, s);
        },
        eventTimeBehindSeconds: (_source, s) => void (seen.minBehind = Math.min(seen.minBehind, s)),
        phaseSeconds: (phase, s) => void (s >= 0 && seen.phases.set(phase, (seen.phases.get(phase) ?? 0) + s)),
      },
    });
    await j.start();
    await waitFor(() => j.stats.eventsIn === records.length, 60_000, 'every event consumed');
    const out = decodeTriggers(await readTopic(kafka, `${prefix}triggers`, (m) => m.length >= expected.length, 20_000));
    await j.stop();
    expect(ids(out)).toEqual(expected);
    // What production mode turns into metrics.
    expect(seen.eventsIn).toBe(records.length);
    expect(seen.checkpoints).toBe(j.stats.checkpoints);
    expect(seen.roundTrips).toBeGreaterThanOrEqual(seen.checkpoints);
    expect(seen.latencies).toBe(j.stats.outputs);
    expect([...seen.lagSources].sort()).toEqual(['clickstream', 'location', 'pos']);
    // The input is historical (simulated days in the past): wall time is far ahead of its event time,
    // but the watermark lag measures against the input's own progress, so it stays within hours
    // (the bound, and a quiet partition holding the watermark back), not the input's age.
    const ageS = (Date.now() - Math.max(...records.map((r) => r.value.ts))) / 1000;
    expect(seen.minBehind).toBeGreaterThan(ageS - 300); // measured up to minutes before ageS
    expect(seen.maxLag).toBeLessThan(ageS);
    expect(seen.maxLag).toBeLessThan(6 * 3600);
    expect(j.stats.deadLetters).toBe(0);
    // Every phase of the job's own work was timed, and took time.
    expect([...seen.phases.keys()].sort()).toEqual(['checkpoint', 'decode', 'encode', 'pipeline', 'produce']);
    for (const [phase, s] of seen.phases) expect(s, phase).toBeGreaterThan(0);
    // A checkpoint per batch: far fewer Redis round trips than events.
    expect(j.store.roundTrips / records.length).toBeLessThan(0.05);
  });

  it('sends undecodable and invalid records to <topic>.dlq with the reason and goes on', async () => {
    const prefix = `${uniqueId('t2')}.`;
    await setup(prefix);
    await createTopics(admin, [`${prefix}clickstream.dlq`], 1);
    const clicks = records.filter((r) => r.topic === 'clickstream').slice(0, 50);
    const producer = kafka.producer();
    await producer.connect();
    const bad = { ...(clicks[0]!.value as object), eventId: '' };
    await producer.send({
      topic: `${prefix}clickstream`,
      messages: [
        { key: 'c1', value: Buffer.from([0, 0, 0, 0, 1, 0xff, 0xff]) }, // Confluent frame, garbage Avro
        { key: 'c1', value: Buffer.from('not avro at all') },
        { key: 'c1', value: encodeConfluent('ClickEvent', clicks[1]!.value as never).subarray(0, 12) }, // truncated
      ],
    });
    await producer.send({ topic: `${prefix}clickstream`, messages: [{ key: 'c2', value: Buffer.from(JSON.stringify(bad)) }] });
    // Valid records, but not keyed by their customer: a null key and another customer's.
    await producer.send({
      topic: `${prefix}clickstream`,
      messages: [
        { key: null, value: encodeConfluent('ClickEvent', clicks[2]!.value as never) },
        { key: 'someone-else', value: encodeConfluent('ClickEvent', clicks[3]!.value as never) },
      ],
    });
    await producer.disconnect();
    await produceRecords(kafka, clicks, prefix);

    const j = job(prefix, uniqueId('job'));
    await j.start();
    await waitFor(() => j.stats.eventsIn === clicks.length && j.stats.deadLetters === 6, 60_000, 'good events consumed and bad ones dead-lettered');
    const dlq = await readTopic(kafka, `${prefix}clickstream.dlq`, (m) => m.length >= 6, 20_000);
    await j.stop();
    expect(dlq).toHaveLength(6);
    // From two partitions (a null key lands on any): no order between them.
    const keyed = dlq.filter((m) => m.headers?.['ss-error-code']?.toString() === 'SS_ERR_INPUT_KEY').map((m) => m.headers?.['ss-error-message']?.toString());
    expect(keyed.sort()).toEqual([
      `SS_ERR_INPUT_KEY: key null is not the record's customer "${(clicks[2]!.value as { customerId: string }).customerId}": its partition may not hold that customer's state (produce input keyed by customerId)`,
      `SS_ERR_INPUT_KEY: key "someone-else" is not the record's customer "${(clicks[3]!.value as { customerId: string }).customerId}": its partition may not hold that customer's state (produce input keyed by customerId)`,
    ].sort());
    for (const m of dlq) {
      expect(m.headers?.['ss-error-code']?.toString()).toMatch(/^SS_ERR_(DECODE|VALIDATION|INPUT_KEY)$/);
      expect(m.headers?.['ss-source-topic']?.toString()).toBe(`${prefix}clickstream`);
      expect(Number(m.headers?.['ss-source-offset']?.toString())).toBeGreaterThanOrEqual(0);
      expect(m.headers?.['ss-error-message']?.toString().length).toBeGreaterThan(10);
    }
  });

  it('resumes from the offsets stored with its state: nothing reprocessed, nothing lost', async () => {
    const prefix = `${uniqueId('t3')}.`;
    const name = uniqueId('job');
    await setup(prefix);
    const half = Math.floor(records.length / 2);
    await produceRecords(kafka, records.slice(0, half), prefix);
    const first = job(prefix, name);
    await first.start();
    await waitFor(() => first.stats.eventsIn === half, 60_000, 'first half consumed');
    await first.stop();

    await produceRecords(kafka, records.slice(half), prefix);
    const second = job(prefix, name);
    await second.start();
    await waitFor(() => second.stats.eventsIn === records.length - half, 60_000, 'second half consumed');
    const expected = ids(runPartitioned(retailJobOptions({ kafka, redis, topicsPrefix: prefix }).graph, records, PARTITIONS).get('triggers') ?? []);
    const out = decodeTriggers(await readTopic(kafka, `${prefix}triggers`, (m) => ids(decodeTriggers(m)).length >= expected.length, 20_000));
    await second.stop();
    expect(ids(out)).toEqual(expected);
    // Each trigger produced once: the restart replayed nothing.
    expect(out.length).toBe(expected.length);
  });

  it('sends an output over maxOutputBytes to <output>.dlq with its id and size, and the partition goes on', async () => {
    const prefix = `${uniqueId('big')}.`;
    await setup(prefix);
    await produceRecords(kafka, records, prefix);
    const reference = runPartitioned(retailJobOptions({ kafka, redis, topicsPrefix: prefix }).graph, records, PARTITIONS);
    const expectedTriggers = ids(reference.get('triggers') ?? []);
    const updates = (reference.get('recommendations') ?? []) as Array<{ items: unknown[] }>;
    // Updates that list several items are over the limit; triggers are under it.
    const maxOutputBytes = 200;
    const tooLarge: string[] = [];
    const j = new KafkaJob({ ...retailJobOptions({ kafka, redis, name: uniqueId('job'), topicsPrefix: prefix, tickMs: 200 }), maxOutputBytes, onDeadLetter: (topic, e) => void tooLarge.push(`${topic} ${e.code}`) });
    await j.start();
    await waitFor(() => j.stats.eventsIn === records.length, 60_000, 'every event consumed');
    await waitFor(() => j.stats.checkpoints > 0 && j.partitions().length === PARTITIONS, 20_000, 'checkpoints');
    const triggers = decodeTriggers(await readTopic(kafka, `${prefix}triggers`, (m) => m.length >= expectedTriggers.length, 20_000));
    await j.stop();
    expect(ids(triggers)).toEqual(expectedTriggers);
    const letters = await readToEnd(kafka, `${prefix}recommendations.dlq`);
    const produced = await readToEnd(kafka, `${prefix}recommendations`);
    // Each update is in exactly one of the two topics: the small ones produced, the others dead-lettered.
    expect(letters.length).toBeGreaterThan(0);
    expect(letters.length + produced.length).toBe(updates.length);
    for (const m of produced) expect(messageBytes({ key: m.key, value: m.value, headers: { 'ss-id': m.headers!['ss-id']! } })).toBeLessThanOrEqual(maxOutputBytes);
    for (const m of letters) {
      expect(m.value).toBeNull();
      expect(m.headers!['ss-error-code']!.toString()).toBe('SS_ERR_OUTPUT_TOO_LARGE');
      expect(m.headers!['ss-error-message']!.toString()).toMatch(/^SS_ERR_OUTPUT_TOO_LARGE: RecommendationUpdate \S+ is \d+ bytes, over the 200-byte limit/);
      expect(Number(m.headers!['ss-output-bytes']!.toString())).toBeGreaterThan(maxOutputBytes);
      expect(JSON.parse(m.headers!['ss-output-preview']!.toString())).toHaveProperty('items');
    }
    expect(tooLarge.filter((t) => t === `${prefix}recommendations SS_ERR_OUTPUT_TOO_LARGE`).length).toBe(letters.length);
  });

  it('input deleted before it was read: logged with topic, partition and offsets, counted, and under inputGaps fail the job stops', async () => {
    const prefix = `${uniqueId('gap')}.`;
    const name = uniqueId('job');
    await setup(prefix);
    const clicks = records.filter((r) => r.topic === 'clickstream');
    const thirds = [clicks.slice(0, clicks.length / 3), clicks.slice(clicks.length / 3, (2 * clicks.length) / 3), clicks.slice((2 * clicks.length) / 3)].map((c) => c.slice());
    const topic = `${prefix}clickstream`;
    const ends = async () => Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
    const run = async (opts: { inputGaps?: 'continue' | 'fail'; expectEvents?: number }) => {
      const gaps: Array<[string, number, number]> = [];
      const fatal: string[] = [];
      const logs: string[] = [];
      const j = new KafkaJob({
        ...retailJobOptions({ kafka, redis, name, topicsPrefix: prefix, tickMs: 200 }),
        ...(opts.inputGaps !== undefined ? { inputGaps: opts.inputGaps } : {}),
        onFatal: (e) => void fatal.push(e.code),
        log: (_level, msg) => void logs.push(msg),
        observer: { inputGap: (t, p, n) => void gaps.push([t, p, n]) },
      });
      await j.start();
      if (opts.expectEvents !== undefined) await waitFor(() => j.stats.eventsIn === opts.expectEvents, 60_000, `${opts.expectEvents} events consumed`);
      else await waitFor(() => fatal.length > 0, 60_000, 'the job failing');
      await j.stop();
      return { gaps, fatal, logs, eventsIn: j.stats.eventsIn };
    };
    // A third read and checkpointed; then a third more produced, of which partition 0 loses its first two records.
    await produceRecords(kafka, thirds[0]!, prefix);
    expect((await run({ expectEvents: thirds[0]!.length })).gaps).toEqual([]);
    const before = await ends();
    await produceRecords(kafka, thirds[1]!, prefix);
    expect((await ends())[0]! - before[0]!).toBeGreaterThan(2);
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(before[0]! + 2) }] });
    const continued = await run({ expectEvents: thirds[1]!.length - 2 });
    expect(continued.gaps).toEqual([[topic, 0, 2]]);
    expect(continued.fatal).toEqual([]);
    expect(continued.logs.filter((l) => l.includes('SS_ERR_INPUT_GAP'))).toEqual([
      `task 0: SS_ERR_INPUT_GAP: ${topic} partition 0: offsets ${before[0]} to ${before[0]! + 1} (2 records) were deleted before the job read them (retention or truncation); its checkpoint is at ${before[0]}, the log now starts at ${before[0]! + 2}; reading on from ${before[0]! + 2} (inputGaps: continue)`,
    ]);
    // Once more, under fail: the job stops at the gap and says so.
    const again = await ends();
    await produceRecords(kafka, thirds[2]!, prefix);
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(again[0]! + 1) }] });
    const failed = await run({ inputGaps: 'fail' });
    expect(failed.fatal).toEqual(['SS_ERR_INPUT_GAP']);
    expect(failed.gaps).toEqual([[topic, 0, 1]]);
  });

  it('outputs do not depend on processing speed: slow deliveries never make a backlogged input look idle', async () => {
    const prefix = `${uniqueId('slow')}.`;
    await setup(prefix);
    await createTopics(admin, retailTopics(prefix).outputs.filter((t) => !t.endsWith('triggers')), PARTITIONS);
    await produceRecords(kafka, records, prefix);
    // An idle timeout far shorter than the time the deliveries below hold each task up.
    const IDLE_MS = 400;
    const options = () => retailJobOptions({ kafka, redis, name: uniqueId('job'), topicsPrefix: prefix, tickMs: 200, idleTimeoutMs: IDLE_MS });
    const reference = runPartitioned(options().graph, records, PARTITIONS);
    const slow = async () => void (await new Promise((r) => setTimeout(r, 150)));
    // Small fetches: many batches per partition, so a task spends seconds delivering between the batches of an input.
    const j = new KafkaJob({ ...options(), consumer: { maxBytesPerPartition: 32_768 }, deliver: Object.fromEntries(Object.values(RETAIL_SINKS).map((sink) => [sink, slow])) });
    await j.start();
    await waitFor(() => j.stats.eventsIn === records.length, 150_000, 'every event consumed');
    // Once the input is all read it does go idle, and event time moves on (a quiet input follows the
    // others, then the clock), firing what the reference, never idle, leaves pending. Up to where the
    // reference's watermark stands in every partition (the least, over partitions and inputs, of the
    // last ts read, less the out-of-orderness bound), exactly the reference's: nothing late, nothing extra.
    const lastTs = new Map<string, number>();
    for (const r of records) {
      const at = `${partitionOf(recordKey(r), PARTITIONS)}/${r.topic}`;
      lastTs.set(at, Math.max(lastTs.get(at) ?? -Infinity, r.value.ts));
    }
    const cut = Math.min(...lastTs.values()) - 5_001;
    const early = (m: ReadonlyMap<string, string>) => new Map([...m].filter(([, json]) => (JSON.parse(json) as { ts: number }).ts <= cut));
    const sinks = options().sinks;
    const want = referenceOutputsById(reference, sinks, ['triggers', 'decisions', 'offers']);
    expect(early(want.get('triggers')!).size).toBeGreaterThan(5);
    for (const [sink, wanted] of want) {
      const got = await readOutputsById(kafka, sinks[sink]!, early(wanted).size, 10_000);
      expect(early(got.byId), sink).toEqual(early(wanted));
    }
    await j.stop();
  }, 240_000);
});
