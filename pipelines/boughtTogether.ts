import { eventTimeOrder } from '../operators/eventTimeOrder.js';
import type { ProcessContext } from '../operators/keyedProcess.js';
import type { KeyedStream, Pipeline, Stream } from '../stream/stream.js';
import type { BasketMember, BoughtTogether, BoughtTogetherChange, BoughtTogetherItem, PosEvent } from '../schemas/index.js';
import { interner } from './interner.js';
import { ssError } from '../schemas/errors.js';

/** `boughtTogether(X)` lists at most this many items (SCENES.md §5). */
export const BOUGHT_TOGETHER_TOP = 10;

/** Orders bought-together items: count descending, then productId ascending (UTF-16 code units, not locale). */
export function compareBoughtTogether(a: BoughtTogetherItem, b: BoughtTogetherItem): number {
  if (a.count !== b.count) return b.count - a.count;
  return a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0;
}

/**
 * The basket of a till transaction: its distinct productIds with `quantity > 0`, sorted. Returns
 * and zero quantities are not purchases (SCENES.md §1). Anonymous shoppers' baskets count: a
 * basket says which products sell together whoever bought it.
 */
export function basketOf(e: PosEvent): string[] {
  const ids = new Set<string>();
  for (const item of e.items) if (item.quantity > 0) ids.add(item.productId);
  return [...ids].sort();
}

/** One product of a basket, routed to that product's key: `productId` co-occurs with every other id of `basket`. */
export interface ProductInBasket {
  readonly productId: string;
  /** The whole basket, sorted and shared by all its members (one array per transaction, not one per pair). */
  readonly basket: readonly string[];
  /** The transaction's ts. */
  readonly ts: number;
}

/**
 * Where the recommendation step reads bought-together lists: the in-process {@link BoughtTogetherIndex}
 * (embedded, replay), or, in Kafka mode, the job-wide table every instance materialises from the
 * changelog topic (`BoughtTogetherTable`).
 */
export interface BoughtTogetherLookup {
  /** Declares a reader of {@link topAsOf} (at build time). */
  addReader(): void;
  /** `boughtTogether(productId)` as of event time `t`, as exactly as the implementation can (see each). Do not mutate. */
  topAsOf(productId: string, t: number): readonly BoughtTogetherItem[];  /** Exact reads of a job-wide table: the event time up to which {@link topAsOf} is exact (absent: in process, always). */
  readonly watermark?: number;
}

/** What the bought-together step serves to readers in the same process. */
interface BoughtTogetherReader {
  top(productId: string): readonly BoughtTogetherItem[] | undefined;
  /** The changes of a product's list after the horizon, ts ascending: at `ts` the list stopped being `prev`. */
  changes(productId: string): readonly TopChange[] | undefined;
  products(): Iterable<string>;
}

/** At `ts` a product's list changed; before, it was `prev`. */
export interface TopChange {
  readonly ts: number;
  readonly prev: BoughtTogetherItem[];
}

/**
 * The live bought-together table, readable from anywhere in the process: the recommendation step
 * (keyed by customer) reads a product's list here, and a replay reads the whole table at the end.
 *
 * It is a **view** of the bought-together step's keyed state, not a copy: the step attaches itself
 * when the executor instantiates it, and every read goes to that step's state. A restore from a
 * snapshot therefore restores the index too.
 *
 * **Reads as of an event time.** The step applies baskets in event-time order, so the table is
 * always that of the pos events up to its watermark. A reader that is behind (the recommendation
 * step waits for the clicks too) reads {@link topAsOf}: the list as it was once every basket with
 * `ts <= t` had been applied, and no later one. For that, once a reader has declared itself
 * ({@link addReader}), the step keeps per product the lists it replaced after the reader's horizon
 * (the latest time read); older ones are dropped as the reader moves on. A reader must read in
 * non-decreasing time; an earlier time reads as of the horizon.
 *
 * Limits, on purpose:
 * - **One process.** The counts are keyed by product, the recommendation step by customer; they are
 *   not co-partitioned. In a multi-instance deployment an instance would see only the products of
 *   its own partitions: there (Kafka mode) the job uses {@link buildGlobalBoughtTogether} instead,
 *   a repartition of the baskets by product and a table every instance reads from the counts'
 *   changelog (`BoughtTogetherTable`).
 * - **Wiring order.** A read as of t is exact when the step's watermark has reached t: true when
 *   the reader's pos input is wired after the bought-together step (the executor forwards a
 *   watermark depth first, in wiring order), as `buildRecommendations` does.
 * - **One executor per graph at a time.** Instantiating the graph again (a second executor) points
 *   the index at the newest instance's state.
 * - A pos event later than the watermark (beyond the out-of-orderness bound) is counted when it
 *   arrives, and reads as of earlier times include it.
 */
export class BoughtTogetherIndex implements BoughtTogetherLookup {
  private reader: BoughtTogetherReader | undefined;
  private readers = 0;
  /** The latest time read: the step keeps no history at or before it. */
  horizon = -Infinity;

  /** @internal Called by the bought-together step when it is instantiated. */
  attach(reader: BoughtTogetherReader): void {
    this.reader = reader;
  }

  /** Whether a bought-together step has attached (the graph has been instantiated). */
  get attached(): boolean {
    return this.reader !== undefined;
  }

  /** Declares a reader of {@link topAsOf} (at build time): from then on the step keeps the history that needs. */
  addReader(): void {
    this.readers++;
  }

  /** Whether the step must keep the lists it replaces. */
  get keepsHistory(): boolean {
    return this.readers > 0;
  }

  /**
   * `boughtTogether(productId)` now: the top {@link BOUGHT_TOGETHER_TOP} other products by pair
   * count, count descending, ties by productId ascending; empty when it has none. Do not mutate.
   */
  top(productId: string): readonly BoughtTogetherItem[] {
    return this.live().top(productId) ?? [];
  }

  /** `boughtTogether(productId)` over the baskets with `ts <= t` (see the class notes). Do not mutate. */
  topAsOf(productId: string, t: number): readonly BoughtTogetherItem[] {
    if (t > this.horizon) this.horizon = t;
    const r = this.live();
    const changes = r.changes(productId);
    if (changes !== undefined) {
      const i = firstAfter(changes, this.horizon);
      if (i < changes.length) return changes[i]!.prev;
    }
    return r.top(productId) ?? [];
  }

  /** The whole table now: one entry per product that has any, sorted by productId (UTF-16 code units). */
  table(): BoughtTogether[] {
    const r = this.live();
    const out: BoughtTogether[] = [];
    for (const productId of [...r.products()].sort()) {
      const items = r.top(productId);
      if (items !== undefined && items.length > 0) out.push({ productId, items: items.map((i) => ({ productId: i.productId, count: i.count })) });
    }
    return out;
  }

  private live(): BoughtTogetherReader {
    if (this.reader === undefined) throw new Error('the bought-together index is read before its step was instantiated (run the graph in an executor first)');
    return this.reader;
  }
}

/** The table as the replay's `bought_together.jsonl` (SCENES.md §7): one JSON object a line, lines in productId order. */
export function boughtTogetherJsonl(table: readonly BoughtTogether[]): string {
  let out = '';
  for (const row of table) out += JSON.stringify({ productId: row.productId, items: row.items.map((i) => ({ productId: i.productId, count: i.count })) }) + '\n';
  return out;
}

/** The index of the first entry with `ts > t` (entries ts ascending), or `entries.length`. */
export function firstAfter(changes: ReadonlyArray<{ readonly ts: number }>, t: number): number {
  let lo = 0;
  let hi = changes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (changes[mid]!.ts > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The key under which the step lists the products it has state for (so the table can be read whole). */
const ALL = '*';

/**
 * Counts one basket for product `x`: adds 1 to `row[y]` for every other `y` of `basket` and keeps
 * `top` exact ({@link raise}), in place; returns whether the top list changed.
 */
function countBasket(row: Map<string, number>, top: BoughtTogetherItem[], x: string, basket: readonly string[]): boolean {
  let changed = false;
  for (let i = 0; i < basket.length; i++) {
    const y = basket[i]!;
    if (y === x) continue;
    const c = (row.get(y) ?? 0) + 1;
    row.set(y, c);
    if (raise(top, y, c)) changed = true;
  }
  return changed;
}

/**
 * Updates a top list in place after `productId`'s count rose to `count`. Exact because counts only
 * ever increase: a product outside the list can only enter through its own increment, and one
 * inside only moves up.
 */
function raise(top: BoughtTogetherItem[], productId: string, count: number): boolean {
  const n = top.length;
  if (n === BOUGHT_TOGETHER_TOP) {
    // Fast path: cannot enter a full list (a product already in it has a count above the last's).
    const last = top[n - 1]!;
    if (count < last.count || (count === last.count && productId > last.productId)) return false;
  }
  let i = top.findIndex((x) => x.productId === productId);
  const item: BoughtTogetherItem = { productId, count };
  if (i >= 0) top[i] = item;
  else if (n < BOUGHT_TOGETHER_TOP) {
    top.push(item);
    i = n;
  } else {
    i = n - 1;
    top[i] = item;
  }
  while (i > 0 && compareBoughtTogether(top[i]!, top[i - 1]!) < 0) {
    const prev = top[i - 1]!;
    top[i - 1] = top[i]!;
    top[i] = prev;
    i--;
  }
  return true;
}

/**
 * SCENES.md §5, bought together: live pair counts over till transactions, per product.
 *
 * Each pos event's basket ({@link basketOf}: distinct productIds with `quantity > 0`; anonymous
 * shoppers included) counts once for every unordered pair in it; a basket of one product adds
 * nothing. `boughtTogether(X)` is the top {@link BOUGHT_TOGETHER_TOP} other products by count,
 * descending, ties by productId ascending.
 *
 * The stream is keyed by product: a flatMap turns a basket of n products into n records
 * `(X, basket)` that share one basket array, so nothing quadratic is built per event; the step for
 * X adds 1 to `count(X, Y)` for every other Y of the basket (both directions of each pair, since Y
 * gets its own record). State per product: its co-purchase counts (`counts`, a map from the other
 * product to the count) and its current top list (`top`), kept exact incrementally (see {@link raise}),
 * plus the list of products with state (`products`, under the key `*`) so the table can be read
 * whole, and, while a reader is behind, the lists it replaced (`history`, see
 * {@link BoughtTogetherIndex}). Counts never expire: the table covers all of the input.
 *
 * Baskets are applied in event-time order as the watermark passes them (the final table does not
 * depend on order, but readers as of a time do); one behind the watermark is applied at once.
 * Output: the changelog of the table, one {@link BoughtTogether} for X (keyed by X, at the pos
 * event's ts) each time a basket changes X's top list; the last record per product is its current
 * entry. Reads in the same process go through `index` (see {@link BoughtTogetherIndex} for the
 * limits).
 *
 * ```text
 * pos:  t1 {A, B, C}   t2 {A, B}   t3 {A, -C (return)}   t4 {B}
 * A:    B:1 C:1        B:2 C:1     (unchanged)           (unchanged)
 * out:  A[B1,C1] B[A1,C1] C[A1,B1]   A[B2,C1] B[A2,C1]
 * ```
 */
export function boughtTogether(stepId: string, pos: Stream<PosEvent>, index: BoughtTogetherIndex = new BoughtTogetherIndex()): KeyedStream<BoughtTogether> {
  const intern = interner();
  const members = pos
    .flatMap(
      (e): ProductInBasket[] => {
        const basket = basketOf(e);
        if (basket.length < 2) return [];
        for (let i = 0; i < basket.length; i++) basket[i] = intern(basket[i]!);
        return basket.map((productId) => ({ productId, basket, ts: e.ts }));
      },
      { name: `${stepId}.baskets` },
    )
    .keyBy((m) => m.productId, { name: `${stepId}.by_product` });
  return countPairs(stepId, members, index, 'event-time');
}

/**
 * The counting of {@link boughtTogether}, over members already keyed by product.
 *
 * - `event-time`: baskets applied in event-time order as the watermark passes them (what readers as
 *   of a time need); the output's ts is the basket's.
 * - `arrival` (the repartitioned, Kafka-mode count, {@link countRepartitionedBaskets}): applied as
 *   they arrive, since the final table does not depend on order and nothing in the task reads it as
 *   of a time; members carry `origin` and `seq`, and one whose `seq` is not above the last applied
 *   for its origin and product is a replay of an upstream batch (after a crash) and is dropped. The
 *   output's ts is the latest basket ts applied to the product.
 */
function countPairs(stepId: string, members: KeyedStream<ProductInBasket | BasketMember>, index: BoughtTogetherIndex, order: 'event-time' | 'arrival'): KeyedStream<BoughtTogether> {
  return members.process<BoughtTogether>(stepId, (state) => {
    const counts = state.value<Map<string, number>>('counts');
    const tops = state.value<BoughtTogetherItem[]>('top');
    const history = state.value<TopChange[]>('history');
    const products = state.map<true>('products');
    /** Arrival order only: per product, the last seq applied per origin, and the latest basket ts. */
    const origins = order === 'arrival' ? state.value<{ readonly seqs: Record<string, number>; readonly latest: number }>('origins') : undefined;
    index.attach({
      top: (productId) => tops.get(productId),
      changes: (productId) => history.get(productId),
      products: () => products.entries(ALL)?.keys() ?? [],
    });

    const apply = (m: ProductInBasket, ts: number, ctx: ProcessContext<BoughtTogether>) => {
      const x = ctx.key;
      let row = counts.get(x);
      let top = tops.get(x);
      if (row === undefined || top === undefined) {
        row = new Map();
        top = [];
        products.set(ALL, x, true);
      }
      const prev = index.keepsHistory ? top.slice() : undefined;
      const changed = countBasket(row, top, x, m.basket);
      // Mutated in place (the hot path: tens of millions of pairs on a real catalogue); set marks them written.
      counts.set(x, row);
      tops.set(x, top);
      if (!changed) return;
      if (prev !== undefined && ts > index.horizon) {
        // Keep what a reader behind us may still ask for: the changes after its horizon (ts ascending).
        const h = history.get(x) ?? [];
        const old = firstAfter(h, index.horizon);
        if (old > 0) h.splice(0, old);
        h.push({ ts: Math.max(ts, h.at(-1)?.ts ?? ts), prev });
        history.set(x, h);
      }
      ctx.emit({ productId: x, items: top.map((i) => ({ productId: i.productId, count: i.count })) }, ts);
    };

    return {
      onElement(m, ctx) {
        if (origins !== undefined) {
          if (!('seq' in m)) return;
          const o = origins.get(ctx.key);
          const origin = String(m.origin);
          if (o !== undefined && (o.seqs[origin] ?? 0) >= m.seq) return; // produced again by a replay upstream
          const latest = Math.max(o?.latest ?? -Infinity, ctx.ts);
          origins.set(ctx.key, { seqs: { ...o?.seqs, [origin]: m.seq }, latest });
          apply(m, latest, ctx);
          return;
        }
        apply(m, ctx.ts, ctx);
      },
      onElements(ms, ctx) {
        for (const m of ms) apply(m, ctx.ts, ctx);
        const h = history.get(ctx.key);
        if (h !== undefined && h.at(-1)!.ts <= index.horizon) history.delete(ctx.key);
      },
    };
  }, order === 'event-time' ? { order: eventTimeOrder<ProductInBasket | BasketMember>() } : {});
}

/**
 * The first half of the global (Kafka-mode) bought-together: every till basket of this task, as
 * one {@link BasketMember} per product (distinct productIds with `quantity > 0`, baskets of two or
 * more), to be produced to the repartition topic keyed by productId. Each basket gets the next
 * number of this origin (`seq`, from 1, in arrival order: the task's state, checkpointed with its
 * input offsets), so that what a replay after a crash produces again carries the same
 * `(origin, seq)` and {@link countRepartitionedBaskets} drops it. `origin` must be the task's own,
 * stable id (its input partition). Stateless apart from the counter; emits at once, at the basket's
 * ts.
 */
export function numberBaskets(stepId: string, pos: Stream<PosEvent>, origin: number): KeyedStream<BasketMember> {
  return pos
    .keyBy(() => ALL, { name: `${stepId}.by_origin` })
    .process<BasketMember>(stepId, (state) => {
      const seqs = state.value<number>('seq');
      return {
        onElement(e, ctx) {
          const basket = basketOf(e);
          if (basket.length < 2) return;
          const seq = (seqs.get(ctx.key) ?? 0) + 1;
          seqs.set(ctx.key, seq);
          for (const productId of basket) ctx.emit({ productId, basket, ts: ctx.ts, origin, seq }, ctx.ts);
        },
      };
    });
}

/**
 * The second half of the global bought-together: the pair counts of the products of this task's
 * partition of the repartition topic (`members`, keyed by productId), applied in arrival order with
 * replays dropped by `(origin, seq)` (see {@link countPairs}); the final table equals
 * {@link boughtTogether}'s over the same baskets, whatever their order. Emits the table's changelog
 * as {@link BoughtTogetherChange}-shaped records: `ts` is the latest basket ts counted for the
 * product. `index` reads this task's products only.
 */
export function countRepartitionedBaskets(stepId: string, members: KeyedStream<BasketMember>, index: BoughtTogetherIndex = new BoughtTogetherIndex()): KeyedStream<BoughtTogetherChange> {
  return countPairs(stepId, members, index, 'arrival').mapValues((b, ts): BoughtTogetherChange => ({ productId: b.productId, ts, items: b.items }), { name: `${stepId}.changes` });
}

/**
 * The productId of watermark marks (the contracts want a non-empty one): a control character, so
 * that no product can be taken for it.
 */
export const MARK_ID = '\u0000watermark';

/**
 * Whether a repartitioned record is an origin's **watermark mark** rather than a basket member: a
 * record with an empty basket (a member always has two or more products). `{origin, ts}`: origin
 * `origin` has sent every basket with `ts <=` that ts, to every partition (the marks are produced to
 * each partition of the repartition topic, after the members they cover).
 */
export function isWatermarkMark(m: BasketMember): boolean {
  return m.basket.length === 0;
}

/** An origin's watermark mark ({@link isWatermarkMark}) for the repartition topic. */
export function watermarkMark(origin: number, watermark: number): BasketMember {
  return { productId: MARK_ID, basket: [], ts: watermark, origin, seq: 0 };
}

/**
 * Whether a changelog record is a counting task's watermark mark rather than a product's list: its
 * productId is {@link MARK_ID}. `ts`: the task (the changelog partition it is in) has written the lists of every
 * basket with `ts <=` it, each as of that basket's ts.
 */
export function isCountedMark(c: BoughtTogetherChange): boolean {
  return c.productId === MARK_ID;
}

/** Orders held members for release: ts, then origin, then seq (any order gives the same lists per ts; this one is fixed). */
const byRelease = (a: BasketMember, b: BasketMember): number => a.ts - b.ts || a.origin - b.origin || a.seq - b.seq;

/**
 * The second half of the global bought-together for **exact reads** (`BOUGHT_TOGETHER_READS=exact`):
 * the pair counts of this task's products applied in event-time order, up to the least watermark
 * of the `origins` tasks that feed the repartition topic.
 *
 * - **Input.** Basket members keyed by productId and watermark marks ({@link isWatermarkMark}) from
 *   every origin `0 .. origins - 1` (the job's input partitions: a fixed, known set). A member whose
 *   `(origin, seq)` is not above the last received for its product is a replay upstream and is
 *   dropped, as in the arrival-order count.
 * - **Release.** The counting watermark is the least mark over all origins (-Infinity until every
 *   origin has sent one). A member above it waits in state (`pending`, checkpointed with the task's
 *   offsets); when the counting watermark rises to `W`, every held member with `ts <= W` is applied,
 *   in (ts, origin, seq) order. A member at or below the counting watermark on arrival (its origin
 *   saw its till late) is applied at once.
 * - **Output.** After each ts group, a {@link BoughtTogetherChange} `{productId, ts, items}` for
 *   every product whose list changed: its list over every basket with `ts' <= ts` (and none later).
 *   Then, when the counting watermark rose, this task's mark `{productId: MARK_ID, ts: W, items: []}`
 *   ({@link isCountedMark}): a reader that has read it (and the lists before it, in the same
 *   changelog partition) knows each of this task's products as of any time up to `W`.
 *
 * State: as {@link countRepartitionedBaskets} (`counts`, `top`, `origins`: same names, so a
 * checkpoint of the arrival-order count is restored into it), plus `pending` and `marks`.
 *
 * ```text
 * origins 0, 1 (watermarks in brackets)
 * in:   A{A,B}@5 (o0)  [o0: 9]  A{A,C}@3 (o1)  [o1: 4]        [o1: 12]
 * out:                                         A[C1]@3 mark 4  A[B1,C1]@5 mark 9
 * ```
 */
export function countRepartitionedBasketsExact(stepId: string, members: KeyedStream<BasketMember>, origins: number): KeyedStream<BoughtTogetherChange> {
  if (!(Number.isInteger(origins) && origins > 0)) throw ssError('SS_ERR_CONFIG', `${stepId}: origins is ${origins}; it must be the number of input partitions, an integer > 0`, { stepId, field: 'origins' });
  return members.process<BoughtTogetherChange>(stepId, (state) => {
    const counts = state.value<Map<string, number>>('counts');
    const tops = state.value<BoughtTogetherItem[]>('top');
    const seen = state.value<{ readonly seqs: Record<string, number>; readonly latest: number }>('origins');
    const pending = state.list<BasketMember>('pending');
    const marks = state.value<number[]>('marks');

    /** Applies one member to its product's counts; returns whether the product's list changed. */
    const apply = (m: BasketMember): boolean => {
      const x = m.productId;
      const row = counts.get(x) ?? new Map<string, number>();
      const top = tops.get(x) ?? [];
      const changed = countBasket(row, top, x, m.basket);
      counts.set(x, row);
      tops.set(x, top);
      return changed;
    };
    const emitList = (x: string, ts: number, ctx: ProcessContext<BoughtTogetherChange>) =>
      ctx.emit({ productId: x, ts, items: tops.get(x)!.map((i) => ({ productId: i.productId, count: i.count })) }, ts);
    /** Applies members (sorted by release order), one change per product and ts group. */
    const applyAll = (ms: readonly BasketMember[], ctx: ProcessContext<BoughtTogetherChange>) => {
      let i = 0;
      while (i < ms.length) {
        const ts = ms[i]!.ts;
        const changed = new Set<string>();
        for (; i < ms.length && ms[i]!.ts === ts; i++) if (apply(ms[i]!)) changed.add(ms[i]!.productId);
        for (const x of [...changed].sort()) emitList(x, ts, ctx);
      }
    };
    const countedTo = (ms: readonly number[] | undefined): number => {
      if (ms === undefined) return -Infinity;
      let w = Infinity;
      for (let o = 0; o < origins; o++) w = Math.min(w, ms[o] ?? -Infinity);
      return w;
    };

    return {
      onElement(m, ctx) {
        const before = marks.get(ALL);
        const w = countedTo(before);
        if (isWatermarkMark(m)) {
          if (!(m.origin >= 0 && m.origin < origins) || (before?.[m.origin] ?? -Infinity) >= m.ts) return;
          const next = Array.from({ length: origins }, (_, o) => before?.[o] ?? -Infinity);
          next[m.origin] = m.ts;
          marks.set(ALL, next);
          const to = countedTo(next);
          if (to <= w) return;
          const held = pending.get(ALL);
          const due = held.filter((h) => h.ts <= to);
          if (due.length > 0) {
            const rest = held.filter((h) => h.ts > to);
            if (rest.length > 0) pending.set(ALL, rest);
            else pending.clear(ALL);
            applyAll(due.sort(byRelease), ctx);
          }
          ctx.emit({ productId: MARK_ID, ts: to, items: [] }, to);
          return;
        }
        const o = seen.get(m.productId);
        const origin = String(m.origin);
        if (o !== undefined && (o.seqs[origin] ?? 0) >= m.seq) return; // produced again by a replay upstream
        seen.set(m.productId, { seqs: { ...o?.seqs, [origin]: m.seq }, latest: Math.max(o?.latest ?? -Infinity, m.ts) });
        if (m.ts <= w) {
          // Late at its origin: counted now, as of the counting watermark (reads before it have happened).
          if (apply(m)) emitList(m.productId, w, ctx);
          return;
        }
        pending.add(ALL, m);
      },
    };
  });
}

/** Graph names of the global (Kafka-mode) bought-together: the runtime maps them to topics. */
export const GLOBAL_BOUGHT_TOGETHER = {
  /** Sink: the numbered basket members, to the repartition topic keyed by productId. */
  membersOut: 'basket_members_out',
  /** Source: this task's partition of the repartition topic. */
  members: 'basket_members',
  /** Sink: the changelog of the counts, to the compacted topic every instance reads whole. */
  changes: 'bought_together_changes',
  /** Source (exact reads): the table's watermark, advanced by the job ({@link boughtTogetherClock}). */
  clock: 'bought_together_clock',
} as const;

/** How the global bought-together's graph is placed in a job. */
export interface GlobalBoughtTogetherOptions {
  /** The task's stable id (its input partition): the `origin` of the baskets it numbers. */
  readonly origin: number;
  /** Watermarks of the repartitioned source, as the other inputs' (only state expiry looks at them). */
  readonly outOfOrdernessMs?: number;
  readonly idleTimeoutMs?: number;
  /**
   * How the recommendation step reads the table (`BOUGHT_TOGETHER_READS`): `latest` (default), the
   * latest list the instance has read; `exact`, each product's list as of the event's ts, as the
   * replay reads it ({@link countRepartitionedBasketsExact}; the job announces each origin's
   * watermark and gates the step by the table's, docs/runtime.md).
   */
  readonly reads?: 'exact' | 'latest';
  /** `exact` only: the number of origins (the job's input partitions). */
  readonly origins?: number;
}

/**
 * The global (Kafka-mode) bought-together of one task, as Kafka Streams repartitions a count: the
 * task's baskets numbered ({@link numberBaskets}, step `bought_together_baskets`) to the sink
 * `basket_members_out` (the repartition topic, keyed by productId), and the counts of the products
 * of the task's partition of that topic (source `basket_members`; step `bought_together_global`,
 * {@link countRepartitionedBaskets}, or {@link countRepartitionedBasketsExact} for exact reads) to
 * the sink `bought_together_changes` (the compacted changelog). Each product is counted by exactly
 * one task; `index` reads only those (arrival order only). The job-wide table is what every instance
 * reads back from the changelog (`BoughtTogetherTable`).
 */
export function buildGlobalBoughtTogether(p: Pipeline, pos: Stream<PosEvent>, opts: GlobalBoughtTogetherOptions, index: BoughtTogetherIndex = new BoughtTogetherIndex()): { readonly changes: KeyedStream<BoughtTogetherChange>; readonly index: BoughtTogetherIndex } {
  numberBaskets('bought_together_baskets', pos, opts.origin).to(GLOBAL_BOUGHT_TOGETHER.membersOut);
  const members = p.keyedSource<BasketMember>(GLOBAL_BOUGHT_TOGETHER.members, {
    key: (m) => m.productId,
    timestamp: (m) => m.ts,
    outOfOrdernessMs: opts.outOfOrdernessMs ?? 5_000,
    idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
  });
  // Not the in-process step's id: its per-task counts, in a checkpoint of an older version, must not be restored into these.
  const changes = opts.reads === 'exact' ? countRepartitionedBasketsExact('bought_together_global', members, opts.origins ?? 0) : countRepartitionedBaskets('bought_together_global', members, index);
  changes.to(GLOBAL_BOUGHT_TOGETHER.changes);
  return { changes, index };
}

/**
 * The table's watermark as a source of the graph (exact reads): it carries no records; the job
 * advances it to the least counting watermark the instance has read from the changelog
 * (`BoughtTogetherTable.watermark`). It never goes idle: a step that reads it waits for it.
 */
export function boughtTogetherClock(p: Pipeline): KeyedStream<never> {
  return p.keyedSource<never>(GLOBAL_BOUGHT_TOGETHER.clock, { key: () => ALL, timestamp: () => -Infinity, outOfOrdernessMs: 0, idleTimeoutMs: Infinity });
}

/** The bought-together step of the retail pipeline: step id `bought_together_counts`, over every pos event. */
export function buildBoughtTogether(pos: Stream<PosEvent>, index: BoughtTogetherIndex = new BoughtTogetherIndex()): { readonly changes: KeyedStream<BoughtTogether>; readonly index: BoughtTogetherIndex } {
  return { changes: boughtTogether('bought_together_counts', pos, index), index };
}
