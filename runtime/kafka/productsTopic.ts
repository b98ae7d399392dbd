import type { Kafka } from 'kafkajs';
import { Partitioners } from './kafkajs.js';
import type { LiveProducts } from '../../pipelines/products.js';
import { isScenestreamError, type ErrorCode } from '../../schemas/errors.js';
import { defaultRegistry, encodeConfluent, type Product, type SchemaRegistry } from '../../schemas/index.js';
import { caughtUpBroadcast, type CaughtUpBroadcast } from './broadcast.js';

/**
 * The topic form of the product catalogue: the compacted topic `<TOPICS_PREFIX>products`, one
 * record per product keyed by productId (the `Product` contract, Confluent framing), the last
 * record of a key winning; a tombstone (the key with no value) removes the product.
 */
export function productsTopic(prefix = ''): string {
  return `${prefix}products`;
}

/** Writes products to the topic (keyed by productId), and tombstones for `remove`. */
export async function produceProducts(kafka: Kafka, topic: string, products: readonly Product[], remove: readonly string[] = [], registry: SchemaRegistry = defaultRegistry): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const messages = [
      ...products.map((p) => ({ key: p.productId, value: encodeConfluent('Product', p, registry.idOf('Product')) })),
      ...remove.map((id) => ({ key: id, value: null })),
    ];
    for (let i = 0; i < messages.length; i += 1_000) await producer.send({ topic, messages: messages.slice(i, i + 1_000), acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Every instance reads the products topic whole into `table` (a group of its own, from the start,
 * as Kafka Streams reads a global table) and follows it: a product record upserts, a tombstone
 * removes. An invalid product (the contract passed, the table's check did not) is logged once per
 * product and counted by `onRejected`; the product keeps its last valid details. Call
 * `caughtUp` before consuming input, so that a restarted instance does not title offers from an
 * empty catalogue.
 */
export async function followProducts(o: {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly table: LiveProducts;
  /** Prefix of the group id. */
  readonly group: string;
  readonly registry?: SchemaRegistry;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  readonly onRejected?: (productId: string, code: ErrorCode) => void;
  readonly timeoutMs?: number;
}): Promise<CaughtUpBroadcast> {
  return caughtUpBroadcast({
    kafka: o.kafka,
    topic: o.topic,
    schema: 'Product',
    group: o.group,
    ...(o.registry !== undefined ? { registry: o.registry } : {}),
    ...(o.log !== undefined ? { log: o.log } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    onValue: (p) => {
      try {
        o.table.upsert(p);
      } catch (e) {
        const code = isScenestreamError(e) ? e.code : 'SS_ERR_VALIDATION';
        o.log?.('warn', `${code}: product ${p.productId} of ${o.topic} is ignored: ${e instanceof Error ? e.message : String(e)}`);
        o.onRejected?.(p.productId, code);
      }
    },
    onTombstone: (productId) => void o.table.remove(productId),
  });
}
