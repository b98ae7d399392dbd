import type { BoughtTogether, BoughtTogetherChange, BoughtTogetherItem } from '../schemas/index.js';
import type { BoughtTogetherLookup } from './boughtTogether.js';

/**
 * The job-wide bought-together table of Kafka mode, materialised in every instance from the
 * changelog topic (`retail-bought-together`, {@link BoughtTogetherChange} keyed by productId) that
 * the counting tasks write (`countRepartitionedBaskets`), as Kafka Streams materialises a global
 * table.
 *
 * - **Last write wins, per product.** The counting of a product happens in exactly one task, and
 *   its changes are keyed by productId, so they reach one partition of the changelog in the order
 *   counted; the record read last is the product's current list. A counting task replayed after a
 *   crash writes the same lists again, in the same order, so the table converges to the same rows.
 * - **What a read means.** {@link top} and {@link topAsOf} give the latest list this instance has
 *   read, whatever `t`: the counts of every basket counted so far, including some later than `t`
 *   and missing some earlier ones still in flight (repartition topic, counting, changelog, this
 *   reader). Eventually consistent: once the input stops and every instance has read the
 *   changelog, {@link table} equals the replay's `bought_together.jsonl` table. Exact as-of reads
 *   would need the readers to wait for the counting side's progress (see docs/runtime.md).
 * - A product with an empty list (never in a basket of two) has no row, as in the replay's table.
 *
 * Memory: one list of at most 10 items per product that has any.
 */
export class BoughtTogetherTable implements BoughtTogetherLookup {
  private readonly rows = new Map<string, BoughtTogetherChange>();
  private latestTs = -Infinity;
  private applied = 0;

  /** Applies one changelog record (last write wins); returns whether the product's row changed. */
  apply(change: BoughtTogetherChange): boolean {
    this.applied++;
    if (change.ts > this.latestTs) this.latestTs = change.ts;
    const cur = this.rows.get(change.productId);
    if (cur !== undefined && cur.ts === change.ts && sameItems(cur.items, change.items)) return false;
    const row: BoughtTogetherChange = { productId: change.productId, ts: change.ts, items: change.items.map((i) => ({ productId: i.productId, count: i.count })) };
    if (row.items.length === 0) this.rows.delete(row.productId);
    else this.rows.set(row.productId, row);
    return true;
  }

  /** Nothing to declare: the table keeps no history (every read is of the latest list). */
  addReader(): void {}

  /** The latest list read for `productId`, whatever `t` (see the class notes). Do not mutate. */
  topAsOf(productId: string, _t: number): readonly BoughtTogetherItem[] {
    return this.top(productId);
  }

  /** The latest list read for `productId`; empty when it has none. Do not mutate. */
  top(productId: string): readonly BoughtTogetherItem[] {
    return this.rows.get(productId)?.items ?? [];
  }

  /** The product's row with the latest basket ts counted into it, or undefined. Do not mutate. */
  get(productId: string): BoughtTogetherChange | undefined {
    return this.rows.get(productId);
  }

  /** The whole table: one entry per product that has any, sorted by productId (UTF-16 code units), as the replay writes it. */
  table(): BoughtTogether[] {
    return [...this.rows.keys()].sort().map((productId) => ({ productId, items: this.rows.get(productId)!.items.map((i) => ({ productId: i.productId, count: i.count })) }));
  }

  /** Products with a non-empty list. */
  get size(): number {
    return this.rows.size;
  }

  /** The latest basket ts of any change read (-Infinity before the first). */
  get ts(): number {
    return this.latestTs;
  }

  /** Changelog records read so far (duplicates included). */
  get read(): number {
    return this.applied;
  }
}

function sameItems(a: readonly BoughtTogetherItem[], b: readonly BoughtTogetherItem[]): boolean {
  return a.length === b.length && a.every((x, i) => x.productId === b[i]!.productId && x.count === b[i]!.count);
}
