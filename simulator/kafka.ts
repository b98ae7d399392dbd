/**
 * Produce simulated records to Kafka: Confluent-framed Avro (the schemas codec), keyed by customerId
 * (storeId for anonymous POS, so a store's anonymous tills stay in order), the Kafka timestamp set
 * to the event's ts, paced by a token bucket and sent in batches.
 */

import type { Kafka, Message, ProducerBatch, TopicMessages } from 'kafkajs';
import { systemClock, type Clock } from '../engine/clock.js';
import { ssError } from '../schemas/errors.js';
import { defaultRegistry, encodeConfluent, type SchemaRegistry } from '../schemas/index.js';
import type { SimRecord, SimTopic } from './life.js';
import { nextBatch, pacerConfig, startPacer } from './pacing.js';
import { Progress, type ProgressTarget } from './progress.js';

export const DEFAULT_TOPICS: Readonly<Record<SimTopic, string>> = { clickstream: 'clickstream', pos: 'pos', location: 'location' };

/** What `sendPaced` needs of a producer; a kafkajs Producer is one. */
export interface BatchProducer {
  sendBatch(batch: ProducerBatch): Promise<unknown>;
}

export interface SendOptions {
  /** Topic per record topic (default: the record topic's name). */
  topics?: Partial<Record<SimTopic, string>>;
  /** Prepended to every topic name, e.g. `test.` gives `test.clickstream`. */
  topicsPrefix?: string;
  /** Target events per second; 0 (the default here) sends as fast as the broker takes them. */
  rate?: number;
  /** Largest batch per send (default 500). */
  maxBatch?: number;
  registry?: SchemaRegistry;
  /** Where progress goes (default stderr); null for none. */
  progress?: ProgressTarget | null;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
}

export interface SendSummary {
  sent: number;
  byTopic: Record<string, number>;
  batches: number;
  elapsedMs: number;
}

export function resolveTopics(topics: Partial<Record<SimTopic, string>> = {}, prefix = ''): Record<SimTopic, string> {
  return {
    clickstream: prefix + (topics.clickstream ?? DEFAULT_TOPICS.clickstream),
    pos: prefix + (topics.pos ?? DEFAULT_TOPICS.pos),
    location: prefix + (topics.location ?? DEFAULT_TOPICS.location),
  };
}

/** The message key: the customer, or the store for an anonymous till transaction. */
export function recordKey(record: SimRecord): string {
  if (record.topic === 'pos') return record.value.customerId ?? record.value.storeId;
  return record.value.customerId;
}

/** A Kafka message of a record: key, Confluent-framed Avro value, event-time timestamp. */
export function toKafkaMessage(record: SimRecord, registry: SchemaRegistry = defaultRegistry): Message {
  let value: Buffer;
  switch (record.topic) {
    case 'clickstream':
      value = encodeConfluent('ClickEvent', record.value, registry.idOf('ClickEvent'));
      break;
    case 'pos':
      value = encodeConfluent('PosEvent', record.value, registry.idOf('PosEvent'));
      break;
    case 'location':
      value = encodeConfluent('LocationEvent', record.value, registry.idOf('LocationEvent'));
      break;
  }
  return { key: recordKey(record), value, timestamp: String(record.value.ts) };
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Send records through `producer` in batches paced by the token bucket of `pacing.ts`; each batch is
 * awaited before the next, so records of one key keep their order.
 */
export async function sendPaced(records: Iterable<SimRecord>, producer: BatchProducer, opts: SendOptions = {}): Promise<SendSummary> {
  const clock = opts.clock ?? systemClock;
  const sleep = opts.sleep ?? realSleep;
  const registry = opts.registry ?? defaultRegistry;
  const topics = resolveTopics(opts.topics, opts.topicsPrefix);
  const config = pacerConfig(opts.rate ?? 0, opts.maxBatch ?? 500);
  const progress = opts.progress === null ? null : new Progress(opts.progress ?? process.stderr, clock, 'kafka');
  const started = clock.now();
  let state = startPacer(config, started);
  const it = records[Symbol.iterator]();
  let exhausted = false;
  const pending: SimRecord[] = [];
  const summary: SendSummary = { sent: 0, byTopic: {}, batches: 0, elapsedMs: 0 };

  for (;;) {
    while (!exhausted && pending.length < config.maxBatch) {
      const next = it.next();
      if (next.done === true) exhausted = true;
      else pending.push(next.value);
    }
    if (pending.length === 0) break;
    const step = nextBatch(config, state, clock.now(), pending.length);
    state = step.state;
    if (step.take === 0) {
      await sleep(step.waitMs);
      continue;
    }
    const batch = pending.splice(0, step.take);
    const byTopic = new Map<string, TopicMessages>();
    for (const r of batch) {
      const topic = topics[r.topic];
      let tm = byTopic.get(topic);
      if (tm === undefined) {
        tm = { topic, messages: [] };
        byTopic.set(topic, tm);
      }
      tm.messages.push(toKafkaMessage(r, registry));
      summary.byTopic[topic] = (summary.byTopic[topic] ?? 0) + 1;
    }
    await producer.sendBatch({ topicMessages: [...byTopic.values()], acks: -1 });
    summary.sent += batch.length;
    summary.batches++;
    progress?.update(summary.sent);
  }
  summary.elapsedMs = clock.now() - started;
  progress?.finish(summary.sent, Object.entries(summary.byTopic).map(([t, n]) => `${t}=${n}`).join(' '));
  return summary;
}

export interface KafkaOptions extends SendOptions {
  /** Bootstrap servers, `host:port` each; the host that calls this reads them from its configuration. */
  brokers: string[];
  clientId?: string;
  /** Called once connected, before anything is sent (the CLI creates or checks the topics here). */
  prepare?: (kafka: Kafka) => Promise<void>;
}

/** Connect a kafkajs producer, send paced, disconnect. Connection failures raise SS_ERR_SERVICE_UNAVAILABLE. */
export async function produceToKafka(records: Iterable<SimRecord>, opts: KafkaOptions): Promise<SendSummary> {
  const brokers = opts.brokers;
  // Loaded here, not at the module's start: a program that imports the simulator (the CLI) loads
  // kafkajs only after its runtime did, which installs the producer's linear grouping first
  // (runtime/kafka/linearGrouping.ts); and a simulation to files loads no Kafka client at all.
  const { Kafka, logLevel, Partitioners } = await import('kafkajs');
  const kafka = new Kafka({ clientId: opts.clientId ?? 'scenestream-simulator', brokers, logLevel: logLevel.NOTHING });
  // The default partitioner named (kafkajs warns at every start otherwise); the same murmur2 as Java's.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true, idempotent: true, maxInFlightRequests: 1 });
  try {
    await producer.connect();
  } catch (cause) {
    throw ssError('SS_ERR_SERVICE_UNAVAILABLE', `cannot connect to Kafka at ${brokers.join(',')}`, { cause });
  }
  try {
    await opts.prepare?.(kafka);
    return await sendPaced(records, producer, opts);
  } finally {
    await producer.disconnect();
  }
}
