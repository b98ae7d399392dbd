import type { BoughtTogether, BoughtTogetherChange, BoughtTogetherItem } from '../schemas/index.js';
import { firstAfter, isCountedMark, type BoughtTogetherLookup } from './boughtTogether.js';

/** How long (event time) a table keeps the lists a product had before its latest, behind the table's watermark, by default: a day. */
export const BOUGHT_TOGETHER_HISTORY_MS = 86_400_000;

/**
 * The job-wide bought-together table of Kafka mode, materialised in every instance from the
 * changelog topic (`retail-bought-together`, {@link BoughtTogetherChange} keyed by productId) that
 * the counting tasks write, as Kafka Streams materialises a global table.
 *
 * - **Last write wins, per product.** The counting of a product happens in exactly one task, and
 *   its changes are keyed by productId, so they reach one partition of the changelog in the order
 *   counted; the record read last is the product's current list ({@link top}, {@link table}). A
 *   counting task replayed after a crash writes the same lists again, in the same order, so the
 *   table converges to the same rows.
 * - **Reads.** `latest` (the default): {@link topAsOf} gives the latest list this instance has
 *   read, whatever `t`: eventually consistent. `exact` (`BOUGHT_TOGETHER_READS=exact`, the
 *   changelog written by `countRepartitionedBasketsExact`): each record is a product's list as of
 *   its ts, and the table keeps them by ts, so {@link topAsOf} is the list over every basket with
 *   `ts <= t` and no later one, provided `t <=` {@link watermark}: the least counting watermark read
 *   from the changelog's partitions (one per counting task, `tasks` of them; -Infinity until each
 *   has written one). The job holds the recommendation step until then (docs/runtime.md).
 * - **History.** Per product, the lists of the last {@link BOUGHT_TOGETHER_HISTORY_MS} of event time
 *   behind the watermark, and the latest before that; a read as of an earlier time gets that one.
 * - A product with an empty list (never in a basket of two) has no row, as in the replay's table.
 *
 * Memory: per product, one list of at most 10 items per ts its list changed at within the history.
 */
export class BoughtTogetherTable implements BoughtTogetherLookup {
  /** Per product, its lists by ts ascending (the last: the current row). */
  private readonly rows = new Map<string, BoughtTogetherChange[]>();
  /** Counting watermark per changelog partition (counting task). */
  private readonly marks = new Map<number, number>();
  private latestTs = -Infinity;
  private applied = 0;
  private pruned = -Infinity;
  private tasks: number;

  constructor(
    private readonly opts: {
      /** `exact`: reads as of a time (see the class notes); default `latest`. */
      readonly reads?: 'exact' | 'latest';
      /** The counting tasks (the repartition topic's partitions): their least watermark is the table's. */
      readonly tasks?: number;
      readonly historyMs?: number;
    } = {},
  ) {
    this.tasks = opts.tasks ?? 0;
  }

  /** Sets the number of counting tasks (once the repartition topic's partitions are known). */
  expectTasks(tasks: number): void {
    this.tasks = tasks;
  }

  /**
   * Applies one changelog record read from `partition`; returns whether the product's row changed.
   * A counting task's mark ({@link isCountedMark}) raises that partition's watermark.
   */
  apply(change: BoughtTogetherChange, partition = 0): boolean {
    this.applied++;
    if (isCountedMark(change)) {
      if (change.ts > (this.marks.get(partition) ?? -Infinity)) this.marks.set(partition, change.ts);
      this.prune();
      return false;
    }
    if (change.ts > this.latestTs) this.latestTs = change.ts;
    const row: BoughtTogetherChange = { productId: change.productId, ts: change.ts, items: change.items.map((i) => ({ productId: i.productId, count: i.count })) };
    const lists = this.rows.get(change.productId);
    if (this.opts.reads !== 'exact' || lists === undefined) {
      const cur = lists?.at(-1);
      if (cur !== undefined && cur.ts === change.ts && sameItems(cur.items, change.items)) return false;
      this.rows.set(row.productId, [row]);
      return true;
    }
    // By ts: a record written again (a counting task replayed) replaces its own ts.
    let i = lists.length;
    while (i > 0 && lists[i - 1]!.ts > row.ts) i--;
    if (i > 0 && lists[i - 1]!.ts === row.ts) {
      if (sameItems(lists[i - 1]!.items, row.items)) return false;
      lists[i - 1] = row;
    } else lists.splice(i, 0, row);
    return true;
  }

  /** The least counting watermark read (exact reads; -Infinity until every counting task has written one). */
  get watermark(): number {
    const tasks = this.tasks;
    if (tasks === 0) return -Infinity;
    let w = Infinity;
    for (let q = 0; q < tasks; q++) w = Math.min(w, this.marks.get(q) ?? -Infinity);
    return w;
  }

  /** Nothing to declare: the table keeps its history for every reader. */
  addReader(): void {}

  /** The list for `productId` as of `t` (exact reads; the latest read otherwise, see the class notes). Do not mutate. */
  topAsOf(productId: string, t: number): readonly BoughtTogetherItem[] {
    const lists = this.rows.get(productId);
    if (lists === undefined) return [];
    if (this.opts.reads !== 'exact') return lists.at(-1)!.items;
    const lo = firstAfter(lists, t);
    // Before the oldest kept: the oldest (history older than that was pruned), or none at all when nothing was.
    return lo > 0 ? lists[lo - 1]!.items : lists[0]!.ts <= this.pruned ? lists[0]!.items : [];
  }

  /** The latest list read for `productId`; empty when it has none. Do not mutate. */
  top(productId: string): readonly BoughtTogetherItem[] {
    return this.get(productId)?.items ?? [];
  }

  /** The product's current row with the basket ts it is as of, or undefined. Do not mutate. */
  get(productId: string): BoughtTogetherChange | undefined {
    const row = this.rows.get(productId)?.at(-1);
    return row === undefined || row.items.length === 0 ? undefined : row;
  }

  /** The whole table: one entry per product that has any, sorted by productId (UTF-16 code units), as the replay writes it. */
  table(): BoughtTogether[] {
    const out: BoughtTogether[] = [];
    for (const productId of [...this.rows.keys()].sort()) {
      const row = this.get(productId);
      if (row !== undefined) out.push({ productId, items: row.items.map((i) => ({ productId: i.productId, count: i.count })) });
    }
    return out;
  }

  /** Products with a non-empty list. */
  get size(): number {
    let n = 0;
    for (const lists of this.rows.values()) if (lists.at(-1)!.items.length > 0) n++;
    return n;
  }

  /** The latest basket ts of any change read (-Infinity before the first). */
  get ts(): number {
    return this.latestTs;
  }

  /** Changelog records read so far (duplicates and marks included). */
  get read(): number {
    return this.applied;
  }

  /** Drops the lists older than the history behind the watermark (each product keeps the latest before it). */
  private prune(): void {
    const w = this.watermark - (this.opts.historyMs ?? BOUGHT_TOGETHER_HISTORY_MS);
    // Once per hour of event time at most: pruning walks every product.
    if (!(w > this.pruned + 3_600_000)) return;
    this.pruned = w;
    for (const lists of this.rows.values()) {
      let i = 0;
      while (i + 1 < lists.length && lists[i + 1]!.ts <= w) i++;
      if (i > 0) lists.splice(0, i);
    }
  }
}

function sameItems(a: readonly BoughtTogetherItem[], b: readonly BoughtTogetherItem[]): boolean {
  return a.length === b.length && a.every((x, i) => x.productId === b[i]!.productId && x.count === b[i]!.count);
}
