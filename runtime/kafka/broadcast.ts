import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { ssError } from '../../schemas/errors.js';
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
  /** A record with a key and no value (a compacted topic's delete); without this, skipped as undecodable. */
  readonly onTombstone?: (key: string, partition: number) => void;
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
        if (m.value === null && m.key !== null && o.onTombstone !== undefined) {
          o.onTombstone(m.key.toString('utf8'), batch.partition);
          continue;
        }
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

/** A {@link broadcast} that can tell when it has read what its topic held when it started. */
export interface CaughtUpBroadcast extends Broadcast {
  /** Resolves true once every record that was in the topic at start has been handled; false after `timeoutMs`. */
  caughtUp(timeoutMs: number): Promise<boolean>;
}

/**
 * {@link broadcast}, knowing the topic's end offsets at start: {@link CaughtUpBroadcast.caughtUp}
 * waits until it has read that far (as Kafka Streams restores a global table before processing).
 * `timeoutMs` bounds the retries of reading the end offsets (default 60 s).
 */
export async function caughtUpBroadcast<N extends SchemaName>(o: Parameters<typeof broadcast<N>>[0] & { readonly timeoutMs?: number }): Promise<CaughtUpBroadcast> {
  const ends = await endOffsets(o.kafka, o.topic, o.timeoutMs ?? 60_000);
  const next = new Map<number, bigint>();
  const feed = await broadcast({
    ...o,
    onProgress: (p, n) => {
      next.set(p, BigInt(n));
      o.onProgress?.(p, n);
    },
  });
  const done = () => ends.every((e) => BigInt(e.high) <= (next.get(e.partition) ?? 0n));
  return {
    stop: () => feed.stop(),
    caughtUp: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 50));
      }
      return true;
    },
  };
}

/**
 * Every value a topic holds now, read once from the start to the end offsets it had when called
 * (a ledger rebuilt from the offers topic). Throws `SS_ERR_TOPICS` if that takes over `timeoutMs`.
 */
export async function readWholeTopic<N extends SchemaName>(kafka: Kafka, topic: string, schema: N, timeoutMs: number, registry?: SchemaRegistry): Promise<Array<SchemaTypes[N]>> {
  const values: Array<SchemaTypes[N]> = [];
  const feed = await caughtUpBroadcast({ kafka, topic, schema, group: 'scenestream-read', onValue: (v) => void values.push(v), timeoutMs, ...(registry !== undefined ? { registry } : {}) });
  try {
    if (!(await feed.caughtUp(timeoutMs))) throw ssError('SS_ERR_TOPICS', `could not read ${topic} to its end within ${timeoutMs} ms`);
    return values;
  } finally {
    await feed.stop();
  }
}

/**
 * The end offset of every partition of `topic`, retried until `timeoutMs`: a topic whose leaders
 * were just elected may still answer "This server is not the leader for that topic-partition".
 */
export async function endOffsets(kafka: Kafka, topic: string, timeoutMs: number): Promise<Array<{ readonly partition: number; readonly high: string }>> {
  const deadline = Date.now() + timeoutMs;
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (;;) {
      try {
        return await admin.fetchTopicOffsets(topic);
      } catch (e) {
        if (Date.now() > deadline) throw ssError('SS_ERR_TOPICS', `cannot read the end offsets of ${topic} within ${timeoutMs} ms: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

