/**
 * Smoke test against a real Kafka broker (see testkit/services.setup.ts): a fresh topic with three
 * partitions, ClickEvents in the Confluent wire format (schemas/ codec) in, the same keys and values
 * out through a consumer group.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeConfluent, defaultRegistry, encodeConfluent, type ClickEvent } from '../../schemas/index.js';
import { loadServiceConfig } from '../config.js';
import { waitForLeaders } from './topics.js';
import { KEEP_FOREVER } from '../../testkit/kafka.js';

function decodeClick(bytes: Buffer): { schemaId: number | null; value: ClickEvent } {
  const result = decodeConfluent(bytes, defaultRegistry, 'ClickEvent');
  if (!result.ok) throw result.error;
  return { schemaId: result.value.schemaId, value: result.value.value };
}

function click(customerId: string, n: number, type: ClickEvent['type']): ClickEvent {
  return {
    eventId: `evt-${customerId}-${n}`,
    customerId,
    sessionId: n % 2 === 0 ? `sess-${customerId}` : null,
    ts: 1_700_000_000_000 + n * 1_000,
    type,
    productId: type === 'page_view' ? null : `sku-${n}`,
    category: type === 'page_view' ? null : 'shoes',
    price: type === 'add_to_cart' ? 59.9 : null,
    quantity: type === 'add_to_cart' ? 2 : null,
    channel: n % 3 === 0 ? 'app' : 'web',
  };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('Kafka (real broker)', () => {
  const runId = randomUUID().slice(0, 8);
  const topic = `ss-smoke-clicks-${runId}`;
  const groupId = `ss-smoke-group-${runId}`;
  const kafka = new Kafka({
    clientId: `ss-smoke-${runId}`,
    brokers: loadServiceConfig().kafkaBrokers,
    logLevel: logLevel.WARN,
    retry: { retries: 8 },
  });
  let admin: Admin;
  let producer: Producer;
  let consumer: Consumer;

  beforeAll(async () => {
    admin = kafka.admin();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    // On a fresh broker the first group creates __consumer_offsets; the coordinator needs a moment.
    consumer = kafka.consumer({
      groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      retry: { retries: 10, initialRetryTime: 250, maxRetryTime: 5_000 },
    });
    await admin.connect();
    await producer.connect();
    await consumer.connect();
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
    if (admin !== undefined) {
      // Cleans up after a failed run; a passing run has deleted the topic already.
      await admin.deleteGroups([groupId]).catch(() => undefined);
      if ((await admin.listTopics()).includes(topic)) await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
      await admin.disconnect();
    }
  });

  it('creates a 3-partition topic, round-trips Avro ClickEvents through a consumer group, deletes the topic', async () => {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: [...KEEP_FOREVER] }], // its records carry 2023 timestamps
      waitForLeaders: false,
    });
    expect(created).toBe(true);
    // kafkajs' own wait gives up on "This server does not host this topic-partition" while metadata spreads.
    await waitForLeaders(admin, [topic], 60_000);
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions).toHaveLength(3);

    const sent = [
      click('c-1', 1, 'page_view'),
      click('c-2', 2, 'product_view'),
      click('c-1', 3, 'add_to_cart'),
      click('c-3', 4, 'search'),
      click('c-2', 5, 'add_to_cart'),
      click('c-1', 6, 'checkout'),
    ];
    await producer.send({
      topic,
      acks: -1,
      messages: sent.map((e) => ({ key: e.customerId, value: encodeConfluent('ClickEvent', e) })),
    });

    const received: { key: string; value: ClickEvent; schemaId: number | null; partition: number }[] = [];
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const all = new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            if (message.key === null || message.value === null) throw new Error('record without key or value');
            const { schemaId, value } = decodeClick(message.value);
            received.push({ key: message.key.toString('utf8'), value, schemaId, partition });
            // At least once: a rebalance before the group's first commit delivers a batch again.
            if (new Set(received.map((r) => r.value.eventId)).size === sent.length) resolve();
          },
        })
        .catch(reject);
    });
    await within(all, 45_000, `${sent.length} records on ${topic}`);

    // Same bytes out as in: every key and value, in per-key order (one key, one partition). A copy
    // delivered again (at least once) equals the first and comes after it.
    const firstCopies = [...new Map(received.map((r) => [r.value.eventId, r])).keys()].map((id) => received.find((r) => r.value.eventId === id)!);
    for (const r of received) expect(r).toEqual(firstCopies.find((f) => f.value.eventId === r.value.eventId));
    expect(firstCopies.map((r) => r.key).sort()).toEqual(sent.map((e) => e.customerId).sort());
    for (const customerId of ['c-1', 'c-2', 'c-3']) {
      const mine = firstCopies.filter((r) => r.key === customerId);
      expect(mine.map((r) => r.value)).toEqual(sent.filter((e) => e.customerId === customerId));
      expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
    }
    for (const r of received) {
      expect(r.value.customerId).toBe(r.key);
      expect(r.schemaId).toBe(defaultRegistry.idOf('ClickEvent'));
    }

    await consumer.stop();
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    const remaining = await admin.listTopics();
    expect(remaining).not.toContain(topic);
  }, 90_000);
});
