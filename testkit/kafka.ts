import { randomUUID } from 'node:crypto';
import type { Admin, KafkaMessage, PartitionMetadata } from 'kafkajs';
import { Kafka, logLevel, Partitioners } from '../runtime/kafka/kafkajs.js';
import { loadServiceConfig } from '../runtime/config.js';
import { waitForLeaders } from '../runtime/kafka/topics.js';
import { Executor } from '../engine/executor.js';
import type { PipelineGraph } from '../engine/graph.js';
import { VirtualClock } from '../engine/clock.js';
import { recordKey, toKafkaMessage } from '../simulator/kafka.js';
import { generateEvents, type SimRecord } from '../simulator/life.js';
import { generateWorld } from '../simulator/world.js';
import { profilesFrom, type RetailDeps } from '../pipelines/deps.js';
import { retailTopics } from '../runtime/retailJob.js';

/** Helpers for tests against the real broker: unique names, topics, producing and reading back. */

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function testKafka(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: loadServiceConfig().kafkaBrokers, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
}

/**
 * Topic configuration that never deletes by age or size. Simulated input carries event times in the
 * past (the simulator's world starts in 2025), and the broker's default `retention.ms` (7 days) has
 * its retention check (every 5 minutes) delete such segments minutes after they were produced: a
 * test's input vanished mid-run (a kill -9 run with nothing left to read, a job reading half).
 */
export const KEEP_FOREVER: ReadonlyArray<{ name: string; value: string }> = [
  { name: 'retention.ms', value: '-1' },
  { name: 'retention.bytes', value: '-1' },
];

/** Creates topics for a test (one replica, {@link KEEP_FOREVER}) and waits for their leaders. */
export async function createTopics(admin: Admin, topics: readonly string[], partitions: number): Promise<void> {
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1, configEntries: [...KEEP_FOREVER] })), waitForLeaders: false });
  await waitForLeaders(admin, topics, 60_000);
}

/** Produces simulator records to `prefix + topic`, keyed by customer, in Confluent-framed Avro. */
export async function produceRecords(kafka: Kafka, records: readonly SimRecord[], prefix: string): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < records.length; i += 2000) {
    const byTopic = new Map<string, ReturnType<typeof toKafkaMessage>[]>();
    for (const r of records.slice(i, i + 2000)) {
      const t = `${prefix}${r.topic}`;
      let l = byTopic.get(t);
      if (l === undefined) byTopic.set(t, (l = []));
      l.push(toKafkaMessage(r));
    }
    await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
  }
  await producer.disconnect();
}

/** Reads a whole topic from the beginning until `done(messages)` holds or `timeoutMs` passes. */
export async function readTopic(kafka: Kafka, topic: string, done: (messages: KafkaMessage[]) => boolean, timeoutMs = 60_000): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueId('reader'), retry: { retries: 10 } });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
  const deadline = Date.now() + timeoutMs;
  while (!done(messages) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  await consumer.disconnect();
  return messages;
}

/** Reads a whole topic as it is now: every message up to the partitions' current end offsets. */
export async function readToEnd(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<KafkaMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  let total = 0;
  try {
    for (const p of await admin.fetchTopicOffsets(topic)) total += Number(p.high) - Number(p.low);
  } finally {
    await admin.disconnect();
  }
  if (total === 0) return [];
  const messages = await readTopic(kafka, topic, (m) => m.length >= total, timeoutMs);
  if (messages.length < total) throw new Error(`read ${messages.length} of the ${total} messages of ${topic} in ${timeoutMs} ms`);
  return messages;
}

/** Polls until `cond()` or throws after `timeoutMs` (with `context()`, e.g. a worker's logs, in the message). */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, context?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context === undefined ? '' : `:\n${context()}`}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Kafka's default (murmur2) partitioner over `n` partitions, built once: building one draws random
 * bytes (its round-robin start for records without a key), which costs more than partitioning.
 */
export function partitioner(n: number): (key: string) => number {
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
  const partition = Partitioners.DefaultPartitioner();
  return (key) => partition({ topic: 't', partitionMetadata, message: { key, value: null } });
}

/** The partition Kafka's default (murmur2) partitioner gives a key among `n` partitions. */
export function partitionOf(key: string, n: number): number {
  return partitioner(n)(key);
}

/**
 * What the Kafka job must compute, computed in process: one executor per partition, each fed the
 * records that the producer's partitioner sends to it, in order, keeping the executors. Nothing is
 * ended: like the live job, pending timers stay pending.
 */
export function referenceRun(graph: (partition: number, partitions: number) => PipelineGraph, records: readonly SimRecord[], partitions: number): { outputs: Map<string, unknown[]>; executors: Executor[] } {
  const outputs = new Map<string, unknown[]>();
  const executors = Array.from({ length: partitions }, (_, partition) => {
    const g = graph(partition, partitions);
    return new Executor(g, {
      clock: new VirtualClock(0),
      sinks: Object.fromEntries(g.sinks.map((s) => [s.id, (v: unknown) => void (outputs.get(s.id) ?? outputs.set(s.id, []).get(s.id)!).push(v)])),
    });
  });
  const partitionOfKey = partitioner(partitions);
  for (const r of records) executors[partitionOfKey(recordKey(r))]!.push(r.topic, r.value);
  return { outputs, executors };
}

/** {@link referenceRun}'s outputs per sink. */
export function runPartitioned(graph: (partition: number, partitions: number) => PipelineGraph, records: readonly SimRecord[], partitions: number): Map<string, unknown[]> {
  return referenceRun(graph, records, partitions).outputs;
}

/** A simulated city's events on fresh retail topics: what a real test of the retail job starts from. */
export interface RetailTestInput {
  readonly kafka: Kafka;
  /** The topics' prefix (`<name>-<unique>.`). */
  readonly prefix: string;
  readonly records: readonly SimRecord[];
  readonly deps: RetailDeps;
}

/**
 * Generates a city (`seed`, `customers`, `days`), creates the retail job's topics under a unique
 * prefix with `partitions` partitions, and produces the city's events to them.
 */
export async function retailTestInput(name: string, o: { readonly seed: string; readonly customers: number; readonly days: number; readonly partitions: number }): Promise<RetailTestInput> {
  const kafka = testKafka(uniqueId(`${name}-test`));
  const prefix = `${uniqueId(name)}.`;
  const world = generateWorld({ seed: o.seed, customers: o.customers });
  const records = [...generateEvents(world, { days: o.days })];
  const admin = kafka.admin();
  await admin.connect();
  const { inputs, outputs } = retailTopics(prefix);
  await createTopics(admin, [...inputs, ...outputs], o.partitions);
  await admin.disconnect();
  await produceRecords(kafka, records, prefix);
  return { kafka, prefix, records, deps: { stores: world.stores, profiles: profilesFrom(world.profiles) } };
}
