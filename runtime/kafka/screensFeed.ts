import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { decodeAuto, defaultRegistry, type RecommendationUpdate, type SchemaRegistry } from '../../schemas/index.js';
import type { ScreenHub } from '../channels/screens.js';

export interface ScreensFeed {
  stop(): Promise<void>;
}

/**
 * Feeds an instance's store screens from the recommendations topic, so that every instance serves
 * every store, whichever instance computed an update (the store's customers' partitions may live
 * anywhere). Each instance reads the whole topic in a consumer group of its own (a broadcast, as a
 * Kafka Streams global table is read), from the start of the log: the hub keeps the newest
 * suggestions per store, so a screen that connects or reconnects gets the current ones at once.
 * Nothing is committed; undecodable records are skipped (the job that wrote them validated them).
 */
export async function feedScreens(o: {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly hub: ScreenHub;
  /** Prefix of the broadcast group's id (a random suffix per instance). */
  readonly group: string;
  readonly registry?: SchemaRegistry;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}): Promise<ScreensFeed> {
  const registry = o.registry ?? defaultRegistry;
  const consumer = o.kafka.consumer({ groupId: `${o.group}-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: o.topic, fromBeginning: true });
  let skipped = 0;
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const decoded = m.value === null ? null : decodeAuto(m.value, registry, 'RecommendationUpdate');
        if (decoded === null || !decoded.ok) {
          if (skipped++ === 0) o.log?.('warn', `screens: skipping an undecodable record of ${o.topic} (partition ${batch.partition}, offset ${m.offset})`);
          continue;
        }
        const u = decoded.value.value as RecommendationUpdate;
        if (u.storeId !== null) o.hub.publish(u);
      }
    },
  });
  return { stop: () => consumer.disconnect() };
}
