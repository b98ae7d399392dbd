import type { Kafka } from 'kafkajs';
import type { BoughtTogetherTable } from '../pipelines/boughtTogetherTable.js';
import type { BoughtTogether, BoughtTogetherItem, SchemaRegistry } from '../schemas/index.js';
import { caughtUpBroadcast, type CaughtUpBroadcast } from './kafka/broadcast.js';

/**
 * A running feed of the global bought-together table from its changelog topic; `caughtUp` waits
 * until every record the changelog held when the feed started has been applied.
 */
export type BoughtTogetherFeed = CaughtUpBroadcast;

/**
 * Materialises the job-wide bought-together table in this instance: reads the compacted changelog
 * `<prefix>retail-bought-together` whole ({@link broadcast}: a group of its own per instance, from
 * the start of the log) into `table`, last write wins per product. Start it before the job
 * consumes and wait for {@link BoughtTogetherFeed.caughtUp}, as Kafka Streams restores a global
 * table before processing: otherwise a restarted instance would suggest from an empty table.
 */
export async function followBoughtTogether(o: {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly table: BoughtTogetherTable;
  /** Prefix of the group id. */
  readonly group: string;
  readonly registry?: SchemaRegistry;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** How long to retry reading the topic's end offsets (a just-created topic answers "not the leader" for a while; default 60 s). */
  readonly timeoutMs?: number;
}): Promise<BoughtTogetherFeed> {
  return caughtUpBroadcast({
    kafka: o.kafka,
    topic: o.topic,
    schema: 'BoughtTogetherChange',
    group: o.group,
    ...(o.registry !== undefined ? { registry: o.registry } : {}),
    ...(o.log !== undefined ? { log: o.log } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    onValue: (c, partition) => void o.table.apply(c, partition),
  });
}

/** `GET /bought-together/<productId>`: the product's latest list in this instance. */
export interface BoughtTogetherRow {
  readonly productId: string;
  /** The latest basket ts counted into the list (epoch ms), null for a product without one. */
  readonly ts: number | null;
  readonly items: readonly BoughtTogetherItem[];
}

/** `GET /bought-together`: the whole table this instance has materialised. */
export interface BoughtTogetherTableBody {
  /** Products with a list. */
  readonly products: number;
  /** The latest basket ts of any list read (null before the first). */
  readonly ts: number | null;
  /** One entry per product that has any, by productId: the replay's `bought_together.jsonl`, as an array. */
  readonly table: readonly BoughtTogether[];
}

/** The HTTP routes of the table (for `startServer`'s `json`): `/bought-together` and `/bought-together/:productId`. */
export function boughtTogetherRoutes(table: BoughtTogetherTable): Record<string, (params: Readonly<Record<string, string>>) => unknown> {
  return {
    '/bought-together': (): BoughtTogetherTableBody => ({ products: table.size, ts: Number.isFinite(table.ts) ? table.ts : null, table: table.table() }),
    '/bought-together/:productId': (params): BoughtTogetherRow => {
      const productId = params['productId'] ?? '';
      const row = table.get(productId);
      return { productId, ts: row?.ts ?? null, items: row?.items ?? [] };
    },
  };
}
