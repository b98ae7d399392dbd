import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { decodeAuto, defaultRegistry, type SchemaName, type SchemaRegistry, type SchemaTypes } from '../../schemas/index.js';

export interface Broadcast {
  stop(): Promise<void>;
}

/**
 * Reads a whole topic in every instance: a consumer group of its own per instance (a random
 * suffix), from the start of the log, nothing committed, as Kafka Streams reads a global table.
 * Each decoded record goes to `onValue` with its partition; undecodable ones are skipped, the first
 * logged (the job that wrote them validated them).
 */
export async function broadcast<N extends SchemaName>(o: {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly schema: N;
  /** Prefix of the group id. */
  readonly group: string;
  readonly onValue: (value: SchemaTypes[N], partition: number) => void;
  /** After each batch: the partition and the next offset to read in it (every record before it was handled). */
  readonly onProgress?: (partition: number, nextOffset: string) => void;
  readonly registry?: SchemaRegistry;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}): Promise<Broadcast> {
  const registry = o.registry ?? defaultRegistry;
  const consumer = o.kafka.consumer({ groupId: `${o.group}-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: o.topic, fromBeginning: true });
  let skipped = 0;
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const decoded = m.value === null ? null : decodeAuto(m.value, registry, o.schema);
        if (decoded === null || !decoded.ok) {
          if (skipped++ === 0) o.log?.('warn', `${o.group}: skipping an undecodable record of ${o.topic} (partition ${batch.partition}, offset ${m.offset})`);
          continue;
        }
        o.onValue(decoded.value.value as SchemaTypes[N], batch.partition);
      }
      if (batch.messages.length > 0) o.onProgress?.(batch.partition, (BigInt(batch.lastOffset()) + 1n).toString());
    },
  });
  return { stop: () => consumer.disconnect() };
}
