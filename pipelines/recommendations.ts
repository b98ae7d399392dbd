import { eventTimeOrder } from '../operators/eventTimeOrder.js';
import type { ProcessContext } from '../operators/keyedProcess.js';
import { ssError } from '../schemas/errors.js';
import type { KeyedStream } from '../stream/stream.js';
import type { BoughtTogether, BoughtTogetherItem, ClickEvent, RecommendationItem, RecommendationUpdate, Trigger } from '../schemas/index.js';
import { buildBoughtTogether, BoughtTogetherIndex, type BoughtTogetherLookup } from './boughtTogether.js';
import { liveParams, type Live } from './live.js';
import { isKnownCustomer, isPurchase, type KnownPosEvent, type RetailSources } from './sources.js';

const DAY = 86_400_000;

/** How suggestions are scored; every field has a default (SCENES.md §5 gives none). */
export interface RecommendationParams {
  /** Suggestions per customer (default 5). */
  readonly topN: number;
  /** Weight of a product the customer viewed, carted, bought (default 1, 2, 3). */
  readonly weights: { readonly viewed: number; readonly carted: number; readonly bought: number };
  /** An interaction this much older than the customer's latest counts half (default 7 days). */
  readonly halfLifeMs: number;
  /** Products of the customer's recent interest kept and scored from (default 20, most recent first). */
  readonly maxHistory: number;
  /** Products the customer bought kept to exclude from suggestions (default 200, most recent first). */
  readonly maxBought: number;
  /** A customer's state is dropped this long (event time) after their last event (default 90 days). */
  readonly retentionMs: number;
  /** Scores are rounded to this many decimals (default 4), so outputs are the same byte for byte. */
  readonly decimals: number;
}

export const RECOMMENDATION_DEFAULTS: RecommendationParams = {
  topN: 5,
  weights: { viewed: 1, carted: 2, bought: 3 },
  halfLifeMs: 7 * DAY,
  maxHistory: 20,
  maxBought: 200,
  retentionMs: 90 * DAY,
  decimals: 4,
};

/** What the recommendation step reads, keyed by customerId. */
export type RecommendationInput = ClickEvent | KnownPosEvent | Trigger;

/** The latest ts at which the customer viewed, carted, bought a product; `cart`: in the cart now. */
export interface Interest {
  v?: number;
  c?: number;
  b?: number;
  cart?: true;
}

/** A customer's state (one value, plain data). */
interface CustomerState {
  /** Recent interest: at most `maxHistory` products. */
  readonly h: Record<string, Interest>;
  /** Bought products -> latest purchase ts: at most `maxBought`. */
  readonly bought: Record<string, number>;
  /** The last customer-level list emitted (empty before the first). */
  last: RecommendationItem[];
}

const latestOf = (i: Interest): number => Math.max(i.v ?? -Infinity, i.c ?? -Infinity, i.b ?? -Infinity);
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Keeps the `max` entries with the latest ts (ties: smaller key), in place. */
function keepLatest<V>(rec: Record<string, V>, max: number, tsOf: (v: V) => number): void {
  const keys = Object.keys(rec);
  if (keys.length <= max) return;
  keys.sort((a, b) => tsOf(rec[b]!) - tsOf(rec[a]!) || byCodeUnits(a, b));
  for (const k of keys.slice(max)) delete rec[k];
}

/**
 * Keeps the `n` best of the items offered to it, by `compare` (negative: `a` ranks before `b`), in one
 * pass and without sorting them all: {@link sorted} gives the same as sorting every offered item
 * stably by `compare` and taking the first `n`; items that compare equal rank in the order offered
 * (`compare` may return NaN, read as equal, as `Array.prototype.sort` does).
 *
 * A bounded binary heap whose root is the worst item kept: once `n` are kept, an item that does not
 * beat the root costs one comparison (on a ranking, most of them), one that does O(log n). For m
 * items: O(m log n) comparisons and `n` items held, then the `n` are sorted once.
 */
export class TopN<T> {
  private readonly items: T[] = [];
  /** The order in which `items[i]` was offered: ranks equal items. */
  private readonly seqs: number[] = [];
  private offered = 0;

  /** `n`: how many to keep, an integer >= 0. */
  constructor(
    private readonly n: number,
    private readonly compare: (a: T, b: T) => number,
  ) {}

  /** Offers an item; returns whether it is among the `n` best so far (it may drop out later). */
  offer(item: T): boolean {
    const seq = this.offered++;
    const { items, seqs } = this;
    if (items.length < this.n) {
      items.push(item);
      seqs.push(seq);
      this.up(items.length - 1);
      return true;
    }
    // Full: it must rank strictly before the worst kept (an equal item offered earlier wins the tie).
    if (items.length === 0 || !((this.compare(item, items[0]!) || 0) < 0)) return false;
    items[0] = item;
    seqs[0] = seq;
    this.down(0);
    return true;
  }

  /** How many are kept: `min(n, offered)`. */
  get size(): number {
    return this.items.length;
  }

  /** The kept items, best first. */
  sorted(): T[] {
    const { items, seqs } = this;
    const order = items.map((_, i) => i);
    order.sort((i, j) => this.compare(items[i]!, items[j]!) || 0 || seqs[i]! - seqs[j]!);
    return order.map((i) => items[i]!);
  }

  /** Whether kept item i ranks after kept item j (the heap's order: the root ranks after all). */
  private after(i: number, j: number): boolean {
    const c = this.compare(this.items[i]!, this.items[j]!) || 0;
    return c > 0 || (c === 0 && this.seqs[i]! > this.seqs[j]!);
  }

  private swap(i: number, j: number): void {
    const { items, seqs } = this;
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
    const s = seqs[i]!;
    seqs[i] = seqs[j]!;
    seqs[j] = s;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.after(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const len = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= len) return;
      const r = l + 1;
      const worse = r < len && this.after(r, l) ? r : l;
      if (!this.after(worse, i)) return;
      this.swap(i, worse);
      i = worse;
    }
  }
}

/** A product's score while it is summed; `from`: the history product that adds most (`best`) so far. */
interface Candidate {
  readonly productId: string;
  score: number;
  from: string;
  best: number;
}

/** Score descending, then productId ascending (UTF-16 code units): the order of the suggestions. */
const bySuggestion = (a: Candidate, b: Candidate): number => b.score - a.score || byCodeUnits(a.productId, b.productId);

/**
 * A customer's suggestions from their recent interest and the bought-together table:
 *
 * - each product X of the history weighs `s(X) = max over its kinds k (viewed, carted, bought) of
 *   w_k * 2^(-(tRef - t_k) / halfLife)`, where `t_k` is the latest ts of that kind and `tRef` the
 *   latest ts of any interaction in the history (so the weights say how recent X is relative to the
 *   customer's latest interest, and do not drift between two of the customer's events);
 * - `score(Y) = sum over X of s(X) * count(X, Y)` over every Y in `boughtTogether(X)` (the top 10 of
 *   X), products the customer bought excluded, rounded to `decimals`;
 * - the `topN` products with a score > 0, score descending, ties by productId ascending; `reason` is
 *   `bought together with X` for the X that adds most to the score (ties: smaller productId).
 *
 * Cost, per call: the history (at most `maxHistory` products) is summed in productId order (the
 * order fixes the floating-point sums, so the rounded scores are the same on every run); each of
 * the at most `maxHistory * 10` candidates is then offered once to a {@link TopN} of `topN`, so only
 * the `topN` kept are sorted and given a reason string.
 */
export function suggestionsOf(
  history: Readonly<Record<string, Interest>>,
  bought: Readonly<Record<string, number>>,
  boughtTogether: (productId: string) => readonly BoughtTogetherItem[],
  params: RecommendationParams,
): RecommendationItem[] {
  // The default sort orders strings by UTF-16 code units, as byCodeUnits does, without calling back into JS.
  const xs = Object.keys(history).sort();
  if (xs.length === 0) return [];
  let tRef = -Infinity;
  for (const x of xs) tRef = Math.max(tRef, latestOf(history[x]!));
  const { weights: w, halfLifeMs } = params;
  const decay = (t: number | undefined): number => (t === undefined ? 0 : Math.pow(2, -(tRef - t) / halfLifeMs));
  const scores = new Map<string, Candidate>();
  for (const x of xs) {
    const i = history[x]!;
    const s = Math.max(w.viewed * decay(i.v), w.carted * decay(i.c), w.bought * decay(i.b));
    if (!(s > 0)) continue;
    for (const { productId: y, count } of boughtTogether(x)) {
      // Own keys only: `bought[y]` would also find Object.prototype's members ("constructor",
      // "toString", ...), and a miss on records whose shape varies by customer is slow (megamorphic).
      if (Object.hasOwn(bought, y)) continue;
      const add = s * count;
      const cur = scores.get(y);
      if (cur === undefined) scores.set(y, { productId: y, score: add, from: x, best: add });
      else {
        cur.score += add;
        if (add > cur.best) {
          cur.best = add;
          cur.from = x;
        }
      }
    }
  }
  const f = 10 ** params.decimals;
  const top = new TopN(params.topN, bySuggestion);
  for (const c of scores.values()) {
    c.score = Math.round(c.score * f) / f;
    if (c.score > 0) top.offer(c);
  }
  return top.sorted().map((c) => ({ productId: c.productId, score: c.score, reason: `bought together with ${c.from}` }));
}

function sameItems(a: readonly RecommendationItem[], b: readonly RecommendationItem[]): boolean {
  return a.length === b.length && a.every((x, i) => x.productId === b[i]!.productId && x.score === b[i]!.score && x.reason === b[i]!.reason);
}

function checkParams(stepId: string, p: RecommendationParams): void {
  const bad = (field: string, v: unknown, why: string) => ssError('SS_ERR_CONFIG', `recommendations.${field} is ${String(v)}; it must be ${why}`, { stepId, field: `recommendations.${field}` });
  const intAtLeast = (field: string, v: number, min: number) => {
    if (!(Number.isInteger(v) && v >= min)) throw bad(field, v, `an integer >= ${min}`);
  };
  intAtLeast('topN', p.topN, 1);
  intAtLeast('maxHistory', p.maxHistory, 1);
  intAtLeast('maxBought', p.maxBought, 0);
  if (!(Number.isInteger(p.decimals) && p.decimals >= 0 && p.decimals <= 10)) throw bad('decimals', p.decimals, 'an integer in [0, 10]');
  for (const k of ['viewed', 'carted', 'bought'] as const) {
    const v = p.weights[k];
    if (!(Number.isFinite(v) && v >= 0)) throw bad(`weights.${k}`, v, 'a finite number >= 0');
  }
  if (!(Number.isFinite(p.halfLifeMs) && p.halfLifeMs > 0)) throw bad('halfLifeMs', p.halfLifeMs, 'a finite number > 0');
  if (!(p.retentionMs > 0)) throw bad('retentionMs', p.retentionMs, '> 0');
}

const isTrigger = (e: RecommendationInput): e is Trigger => 'scene' in e;
const isPos = (e: RecommendationInput): e is KnownPosEvent => 'items' in e;

/**
 * SCENES.md §5, recommendations: per customer, over their clicks, their till transactions and their
 * store_proximity triggers, with the bought-together table read from `index` (see
 * {@link suggestionsOf} for the scoring).
 *
 * **History.** `product_view` of P: viewed P; `add_to_cart`: carted P (and P is in the cart);
 * `remove_from_cart`: P leaves the cart (the interest stays); a purchase (SCENES.md §1) buys: a till
 * transaction buys its items with `quantity > 0`, a `checkout` click buys its productId if it has
 * one, else every product in the cart. Any purchase empties the cart. The `maxHistory` most
 * recently touched products are kept, and the `maxBought` most recently bought (excluded from
 * suggestions; a product bought before that horizon may be suggested again). Returns do not
 * un-buy. The customer's state is dropped `retentionMs` after their last event.
 *
 * **Emits** a {@link RecommendationUpdate} `{customerId, storeId: null, ts, items}` when the
 * customer's suggestions, evaluated after their events of one ts have been applied, differ from the
 * last list emitted for them (productIds, scores or reasons; nothing is emitted while the list stays
 * empty). Suggestions are evaluated only at the customer's own events: a change of the table made by
 * other customers' purchases shows at the customer's next event. On a `store_proximity` trigger in
 * store S it emits `{customerId, storeId: S, ts, items}` with the suggestions current then (after
 * the customer-level update, if that changed too), even when the list is empty, so the screen knows
 * it has nothing personal to show. Other scenes' triggers are ignored.
 *
 * **Order.** Each customer's events are applied in event-time order as the watermark passes them
 * (ties: clicks and tills before triggers, so a trigger at t sees the events at t; then arrival
 * order); a record behind the watermark is applied at once. Scores are rounded, so the same input in
 * the same order gives the same output byte for byte.
 *
 * **The table.** The counts are keyed by product in the bought-together step; this step is keyed
 * by customer and reads them through the shared in-process {@link BoughtTogetherIndex}, as of the
 * ts of the events it applies: every basket with `ts <=` that time and no later one, whatever the
 * interleaving of the topics (an event behind the watermark reads as of the latest time read).
 * Correct in one process, where both steps run in one executor. In Kafka mode `index` is instead the
 * job-wide table every instance materialises from the counting tasks' changelog
 * (`BoughtTogetherTable`): each read is the latest list the instance has, not the list as of `ts`
 * (eventually consistent; see docs/runtime.md, "Global bought-together").
 *
 * **Live parameters** (a getter, see `live.ts`, e.g. from a reloadable campaign): read once per
 * record or timer; `topN`, `weights`, `halfLifeMs`, `maxHistory`, `maxBought` and `decimals` apply
 * from the next evaluation (a customer's list changes at their next event, not at the reload).
 * `retentionMs` is the TTL of the step's state, part of its declaration: read when the graph is
 * built, so a reload changing it takes effect at the next start.
 *
 * ```text
 * table: A~B 3, A~C 1          (w: viewed 1, carted 2, bought 3)
 * u: view A @t              -> update(null, t,   [B 3 "bought together with A", C 1 "... with A"])
 * u: view A again @t+1      -> (unchanged: nothing)
 * u: buy B at a till @t+2   -> update(null, t+2, [A 9 "... with B", C 1 "... with A"])   (B bought: excluded)
 * u: store_proximity S @t+3 -> update(S,    t+3, [A 9 ..., C 1 ...])
 * ```
 */
export function recommend(
  stepId: string,
  events: KeyedStream<RecommendationInput>,
  index: BoughtTogetherLookup,
  params: Live<RecommendationParams> = RECOMMENDATION_DEFAULTS,
): KeyedStream<RecommendationUpdate> {
  const current = liveParams(params, (p) => p, (p) => checkParams(stepId, p));
  const retentionMs = current().retentionMs;
  index.addReader();
  return events.process<RecommendationUpdate>(stepId, (state) => {
    const customers = state.value<CustomerState>('customers', { ttlMs: retentionMs });

    const load = (key: string): CustomerState => {
      const s = customers.get(key);
      return s === undefined ? { h: {}, bought: {}, last: [] } : { h: { ...s.h }, bought: { ...s.bought }, last: s.last };
    };

    const interest = (s: CustomerState, productId: string): Interest => {
      const cur = s.h[productId];
      const next: Interest = cur === undefined ? {} : { ...cur };
      s.h[productId] = next;
      return next;
    };

    const buy = (s: CustomerState, productId: string, ts: number): void => {
      interest(s, productId).b = ts;
      s.bought[productId] = Math.max(s.bought[productId] ?? -Infinity, ts);
    };

    const emptyCart = (s: CustomerState): void => {
      for (const [p, i] of Object.entries(s.h)) {
        if (i.cart === undefined) continue;
        const next = { ...i };
        delete next.cart;
        s.h[p] = next;
      }
    };

    /** Applies a click or a till transaction to the history. */
    const apply = (s: CustomerState, e: ClickEvent | KnownPosEvent): void => {
      if (isPos(e)) {
        if (!isPurchase(e)) return;
        for (const item of e.items) if (item.quantity > 0) buy(s, item.productId, e.ts);
        emptyCart(s);
        return;
      }
      const p = e.productId;
      switch (e.type) {
        case 'product_view':
          if (p !== null) interest(s, p).v = e.ts;
          break;
        case 'add_to_cart':
          if (p !== null) {
            const i = interest(s, p);
            i.c = e.ts;
            i.cart = true;
          }
          break;
        case 'remove_from_cart':
          if (p !== null && s.h[p]?.cart === true) {
            const i = interest(s, p);
            delete i.cart;
          }
          break;
        case 'checkout':
          if (p !== null) buy(s, p, e.ts);
          else for (const [q, i] of Object.entries(s.h)) if (i.cart === true) buy(s, q, e.ts);
          emptyCart(s);
          break;
        default:
          break;
      }
    };

    /** Saves the customer and emits the customer-level update if the suggestions changed. */
    const settle = (key: string, s: CustomerState, ts: number, params: RecommendationParams, ctx: ProcessContext<RecommendationUpdate>): RecommendationItem[] => {
      keepLatest(s.h, params.maxHistory, latestOf);
      keepLatest(s.bought, params.maxBought, (t) => t);
      const items = suggestionsOf(s.h, s.bought, (x) => index.topAsOf(x, ts), params);
      if (!sameItems(items, s.last)) {
        s.last = items;
        ctx.emit({ customerId: key, storeId: null, ts, items: items.map((i) => ({ ...i })) }, ts);
      }
      customers.set(key, s);
      return items;
    };

    /** Applies one ts's worth of a customer's events (released in order), evaluating at each ts change and trigger. */
    const run = (key: string, list: readonly RecommendationInput[], ctx: ProcessContext<RecommendationUpdate>): void => {
      if (list.length === 0) return;
      const p = current();
      let s: CustomerState | undefined;
      let at = 0;
      for (const e of list) {
        if (s !== undefined && e.ts !== at) {
          settle(key, s, at, p, ctx);
          s = undefined;
        }
        s ??= load(key);
        at = e.ts;
        if (!isTrigger(e)) {
          apply(s, e);
          continue;
        }
        if (e.scene !== 'store_proximity' || e.storeId === null) continue;
        const items = settle(key, s, e.ts, p, ctx);
        s = load(key);
        ctx.emit({ customerId: key, storeId: e.storeId, ts: e.ts, items: items.map((i) => ({ ...i })) }, e.ts);
      }
      if (s !== undefined) settle(key, s, at, p, ctx);
    };

    return {
      onElement(e, ctx) {
        run(ctx.key, [e], ctx);
      },
      onElements(list, ctx) {
        run(ctx.key, list, ctx);
      },
    };
  // Evidence (clicks, tills) before triggers at equal ts.
  }, { order: eventTimeOrder<RecommendationInput>({ rank: (e) => (isTrigger(e) ? 1 : 0) }) });
}

/**
 * The recommendation step's input from the retail sources: clicks that can change a customer's
 * interest, known customers' till transactions, and store_proximity triggers, by customer.
 */
export function recommendationInput(src: Pick<RetailSources, 'clicks' | 'pos'>, triggers: KeyedStream<Trigger>): KeyedStream<RecommendationInput> {
  const clicks = src.clicks
    .filter((e) => e.type === 'checkout' || ((e.type === 'product_view' || e.type === 'add_to_cart' || e.type === 'remove_from_cart') && e.productId !== null), { name: 'recommend.clicks' })
    .keyBy((e) => e.customerId, { name: 'recommend.clicks_by_customer' });
  const tills = src.pos.filter(isKnownCustomer, { name: 'recommend.tills' }).keyBy((e) => e.customerId, { name: 'recommend.tills_by_customer' });
  const proximity = triggers.filter((t) => t.scene === 'store_proximity' && t.storeId !== null, { name: 'recommend.proximity' });
  return clicks.mergeKeyed<KnownPosEvent | Trigger>(tills, proximity);
}

/** The recommendation outputs: updates per customer, and the bought-together table they read. */
export interface RecommendationStreams {
  /** Keyed by customerId: to the sink `recommendations`. */
  readonly updates: KeyedStream<RecommendationUpdate>;
  /** The bought-together changelog, keyed by productId (optional sink). */
  readonly boughtTogether: KeyedStream<BoughtTogether>;
  /** The live table; `index.table()` at the end of a replay is `bought_together.jsonl`. */
  readonly index: BoughtTogetherIndex;
}

/**
 * SCENES.md §5 on the retail sources: the bought-together step (`bought_together_counts`, over every
 * pos event) and the recommendation step (`recommend`: step ids share one namespace with sinks, and
 * the sink is `recommendations`), sharing one index.
 */
export function buildRecommendations(src: Pick<RetailSources, 'clicks' | 'pos'>, triggers: KeyedStream<Trigger>, params: Live<RecommendationParams> = RECOMMENDATION_DEFAULTS): RecommendationStreams {
  const { changes, index } = buildBoughtTogether(src.pos, new BoughtTogetherIndex());
  const updates = recommend('recommend', recommendationInput(src, triggers), index, params);
  return { updates, boughtTogether: changes, index };
}
