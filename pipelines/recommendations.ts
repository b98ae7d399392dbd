import { eventTimeOrder } from '../operators/eventTimeOrder.js';
import type { ProcessContext } from '../operators/keyedProcess.js';
import { ssError } from '../schemas/errors.js';
import type { KeyedStream } from '../stream/stream.js';
import type { BoughtTogether, BoughtTogetherItem, ClickEvent, RecommendationItem, RecommendationUpdate, Trigger } from '../schemas/index.js';
import { buildBoughtTogether, BoughtTogetherIndex, type BoughtTogetherLookup } from './boughtTogether.js';
import { interner } from './interner.js';
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

/** The numbers kept per history product in {@link CustomerState.at}: latest ts viewed, carted, bought, then 1 if in the cart. */
const VIEWED = 0;
const CARTED = 1;
const BOUGHT = 2;
const IN_CART = 3;
const SLOTS = 4;

/**
 * A customer's state, compact: one object, seven arrays of numbers and interned product ids, owned
 * by the step and changed in place (half of the retail graph's heap per customer was this history
 * as one object per product, with its own key and up to three timestamps). An array that grows is
 * replaced by one of its exact size (`concat`): `push` reserves room for 16 more.
 */
export interface CustomerState {
  /** Recent interest: at most `maxHistory` products (any order). */
  ids: string[];
  /** `SLOTS` numbers per product of `ids` (`VIEWED`, `CARTED`, `BOUGHT`: latest ts, -Infinity for never; `IN_CART`: 1 or 0). */
  at: number[];
  /** Bought products (at most `maxBought`) and the latest purchase ts of each. */
  boughtIds: string[];
  boughtAt: number[];
  /** The last customer-level list emitted (empty before the first): products, scores, and the product each is bought together with. */
  lastIds: string[];
  lastScores: number[];
  lastFrom: string[];
}

/** The state as versions before the compact one checkpointed it: read once, then written compact. */
interface ObjectCustomerState {
  readonly h: Record<string, Interest>;
  readonly bought: Record<string, number>;
  readonly last: readonly RecommendationItem[];
}

const BOUGHT_TOGETHER_WITH = 'bought together with ';
/** The numbers of a product new to the history. */
const NEW_INTEREST: readonly number[] = [-Infinity, -Infinity, -Infinity, 0];

function compactState(s: ObjectCustomerState | undefined, intern: (id: string) => string): CustomerState {
  if (s === undefined) return { ids: [], at: [], boughtIds: [], boughtAt: [], lastIds: [], lastScores: [], lastFrom: [] };
  const h = Object.entries(s.h);
  const bought = Object.entries(s.bought);
  return {
    ids: h.map(([p]) => intern(p)),
    at: h.flatMap(([, i]) => [i.v ?? -Infinity, i.c ?? -Infinity, i.b ?? -Infinity, i.cart === true ? 1 : 0]),
    boughtIds: bought.map(([p]) => intern(p)),
    boughtAt: bought.map(([, ts]) => ts),
    lastIds: s.last.map((i) => i.productId),
    lastScores: s.last.map((i) => i.score),
    lastFrom: s.last.map((i) => i.reason.slice(BOUGHT_TOGETHER_WITH.length)),
  };
}

/** The latest ts of any kind of history product `i`. */
const latestAt = (at: readonly number[], i: number): number => Math.max(at[i * SLOTS + VIEWED]!, at[i * SLOTS + CARTED]!, at[i * SLOTS + BOUGHT]!);
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Keeps the `max` products of `ids` with the latest ts (`latest(i)`; ties: smaller productId), in
 * place, with their `width` numbers each in `at`.
 */
function keepLatest(ids: string[], at: number[], width: number, max: number, latest: (i: number) => number): void {
  const n = ids.length;
  if (n <= max) return;
  const order = ids.map((_, i) => i).sort((a, b) => latest(b) - latest(a) || byCodeUnits(ids[a]!, ids[b]!));
  const kept = new Uint8Array(n);
  for (let k = 0; k < max; k++) kept[order[k]!] = 1;
  let w = 0;
  for (let i = 0; i < n; i++) {
    if (kept[i] === 0) continue;
    ids[w] = ids[i]!;
    for (let d = 0; d < width; d++) at[w * width + d] = at[i * width + d]!;
    w++;
  }
  ids.length = w;
  at.length = w * width;
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
  const ids = Object.keys(history);
  const at: number[] = [];
  for (const x of ids) {
    const i = history[x]!;
    at.push(i.v ?? -Infinity, i.c ?? -Infinity, i.b ?? -Infinity, 0);
  }
  // Own keys only: `bought[y]` would also find Object.prototype's members ("constructor", "toString", ...).
  return topCandidates(ids, at, (y) => Object.hasOwn(bought, y), boughtTogether, params).map(itemOf);
}

const itemOf = (c: Candidate): RecommendationItem => ({ productId: c.productId, score: c.score, reason: BOUGHT_TOGETHER_WITH + c.from });

/** {@link suggestionsOf} over a history kept as {@link CustomerState} keeps it: the `topN` candidates, best first. */
function topCandidates(
  ids: readonly string[],
  at: readonly number[],
  isBought: (productId: string) => boolean,
  boughtTogether: (productId: string) => readonly BoughtTogetherItem[],
  params: RecommendationParams,
): Candidate[] {
  const n = ids.length;
  if (n === 0) return [];
  // Summed in productId order (UTF-16 code units): the order fixes the floating-point sums.
  const order = ids.map((_, i) => i).sort((a, b) => byCodeUnits(ids[a]!, ids[b]!));
  let tRef = -Infinity;
  for (let i = 0; i < n; i++) tRef = Math.max(tRef, latestAt(at, i));
  const { weights: w, halfLifeMs } = params;
  const decay = (t: number): number => (t === -Infinity ? 0 : Math.pow(2, -(tRef - t) / halfLifeMs));
  const scores = new Map<string, Candidate>();
  for (const i of order) {
    const x = ids[i]!;
    const o = i * SLOTS;
    const s = Math.max(w.viewed * decay(at[o + VIEWED]!), w.carted * decay(at[o + CARTED]!), w.bought * decay(at[o + BOUGHT]!));
    if (!(s > 0)) continue;
    for (const { productId: y, count } of boughtTogether(x)) {
      if (isBought(y)) continue;
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
  return top.sorted();
}

/** Whether `top` is the last list emitted (productIds, scores and reasons). */
function sameAsLast(top: readonly Candidate[], s: CustomerState): boolean {
  return top.length === s.lastIds.length && top.every((c, i) => c.productId === s.lastIds[i] && c.score === s.lastScores[i] && c.from === s.lastFrom[i]);
}

/** The last list emitted, as items (fresh objects: outputs are not state). */
function lastItems(s: CustomerState): RecommendationItem[] {
  return s.lastIds.map((productId, i) => ({ productId, score: s.lastScores[i]!, reason: BOUGHT_TOGETHER_WITH + s.lastFrom[i]! }));
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
 * (`BoughtTogetherTable`): with `latest` reads each read is the latest list the instance has, not
 * the list as of `ts` (eventually consistent); with `exact` reads the job merges the table's
 * watermark into this step's input (`boughtTogetherClock`), so a customer's events are released
 * only once the table is complete up to their ts, and read as of it, as here (docs/runtime.md,
 * "Global bought-together").
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
    const customers = state.value<CustomerState | ObjectCustomerState>('customers', { ttlMs: retentionMs });
    const intern = interner();

    /** The customer's state, changed in place by the step (a checkpoint of an older version is read once into the compact form). */
    const load = (key: string): CustomerState => {
      const s = customers.get(key);
      return s !== undefined && 'ids' in s ? s : compactState(s, intern);
    };

    /** The offset in `s.at` of a product's numbers; a product new to the history is added. */
    const interest = (s: CustomerState, productId: string): number => {
      let i = s.ids.indexOf(productId);
      if (i < 0) {
        i = s.ids.length;
        s.ids = s.ids.concat(intern(productId));
        s.at = s.at.concat(NEW_INTEREST);
      }
      return i * SLOTS;
    };

    const buy = (s: CustomerState, productId: string, ts: number): void => {
      const o = interest(s, productId); // first: it may replace s.at
      s.at[o + BOUGHT] = ts;
      const j = s.boughtIds.indexOf(productId);
      if (j < 0) {
        s.boughtIds = s.boughtIds.concat(intern(productId));
        s.boughtAt = s.boughtAt.concat(ts);
      } else s.boughtAt[j] = Math.max(s.boughtAt[j]!, ts);
    };

    const emptyCart = (s: CustomerState): void => {
      for (let o = IN_CART; o < s.at.length; o += SLOTS) s.at[o] = 0;
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
          if (p !== null) {
            const o = interest(s, p); // first: it may replace s.at
            s.at[o + VIEWED] = e.ts;
          }
          break;
        case 'add_to_cart':
          if (p !== null) {
            const o = interest(s, p);
            s.at[o + CARTED] = e.ts;
            s.at[o + IN_CART] = 1;
          }
          break;
        case 'remove_from_cart': {
          const i = p === null ? -1 : s.ids.indexOf(p);
          if (i >= 0) s.at[i * SLOTS + IN_CART] = 0;
          break;
        }
        case 'checkout':
          if (p !== null) buy(s, p, e.ts);
          else for (let i = 0; i < s.ids.length; i++) if (s.at[i * SLOTS + IN_CART] === 1) buy(s, s.ids[i]!, e.ts);
          emptyCart(s);
          break;
        default:
          break;
      }
    };

    /** Saves the customer and emits the customer-level update if the suggestions changed (they are then the last list). */
    const settle = (key: string, s: CustomerState, ts: number, params: RecommendationParams, ctx: ProcessContext<RecommendationUpdate>): void => {
      keepLatest(s.ids, s.at, SLOTS, params.maxHistory, (i) => latestAt(s.at, i));
      keepLatest(s.boughtIds, s.boughtAt, 1, params.maxBought, (i) => s.boughtAt[i]!);
      const bought = s.boughtIds.length <= 16 ? s.boughtIds : new Set(s.boughtIds);
      const isBought = Array.isArray(bought) ? (y: string) => bought.includes(y) : (y: string) => bought.has(y);
      const top = topCandidates(s.ids, s.at, isBought, (x) => index.topAsOf(x, ts), params);
      if (!sameAsLast(top, s)) {
        s.lastIds = top.map((c) => c.productId);
        s.lastScores = top.map((c) => c.score);
        s.lastFrom = top.map((c) => c.from);
        ctx.emit({ customerId: key, storeId: null, ts, items: lastItems(s) }, ts);
      }
      customers.set(key, s);
    };

    /** Applies one ts's worth of a customer's events (released in order), evaluating at each ts change and trigger. */
    const run = (key: string, list: readonly RecommendationInput[], ctx: ProcessContext<RecommendationUpdate>): void => {
      if (list.length === 0) return;
      const p = current();
      let s: CustomerState | undefined;
      let at = 0;
      for (const e of list) {
        if (s !== undefined && e.ts !== at) settle(key, s, at, p, ctx);
        s ??= load(key);
        at = e.ts;
        if (!isTrigger(e)) {
          apply(s, e);
          continue;
        }
        if (e.scene !== 'store_proximity' || e.storeId === null) continue;
        settle(key, s, e.ts, p, ctx);
        ctx.emit({ customerId: key, storeId: e.storeId, ts: e.ts, items: lastItems(s) }, e.ts);
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
