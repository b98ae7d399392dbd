import { eventTimeOrder } from '../operators/eventTimeOrder.js';
import type { ProcessContext } from '../operators/keyedProcess.js';
import type { KeyedStream, Pipeline, Stream } from '../stream/stream.js';
import { ssError } from '../schemas/errors.js';
import type { ClickEvent, Trigger } from '../schemas/index.js';
import type { RetailDeps } from './deps.js';
import { interner } from './interner.js';
import { liveParams, type Live } from './live.js';
import { DEFAULT_PARAMS, type RetailParams, type SceneParams } from './params.js';
import { retailSources, type RetailSourceOptions, type RetailSources } from './sources.js';

export type BrowseAbandonmentParams = SceneParams['browseAbandonment'];

/** A click of the scene: a `product_view` or an `add_to_cart` with a category. */
export type CategoryClick = ClickEvent & { category: string };

/**
 * What the step keeps per (customer, category): arrays of numbers and interned ids, owned by the
 * step and changed in place. An array that grows is replaced by one of its exact size (`toSpliced`):
 * `push` and `splice` reserve room for 16 more, which would be most of the heap here.
 */
interface CategoryState {
  /** The last `k` views, ts ascending (ties: arrival order); none older than `W` before the newest event: their ts. */
  viewTs: number[];
  /** ... and their productIds (null: none), interned. */
  viewProducts: Array<string | null>;
  /** ts of the add_to_cart clicks not older than `W` before the newest event, ascending. */
  carts: number[];
  /** ts of the last browse_abandonment trigger, while it still holds back the next one. */
  lastFired: number | null;
}

/** The state as versions before the compact one checkpointed it (one object per view): read once, then written compact. */
interface ObjectCategoryState {
  readonly views: ReadonlyArray<{ readonly ts: number; readonly productId: string | null }>;
  readonly carts: number[];
  readonly lastFired: number | null;
}

const compactCategory = (s: ObjectCategoryState | CategoryState): CategoryState =>
  'views' in s ? { viewTs: s.views.map((v) => v.ts), viewProducts: s.views.map((v) => v.productId), carts: s.carts, lastFired: s.lastFired } : s;

/** Drops the first `n` elements of `a`, in place. */
const dropFirst = <T>(a: T[], n: number): void => {
  if (n > 0) a.splice(0, n);
};

const CLEANUP_TAG = 'cleanup';

const isCategoryClick = (e: ClickEvent): e is CategoryClick => e.category !== null && (e.type === 'product_view' || e.type === 'add_to_cart');

/** Evidence first: an add_to_cart at the same ts as a view is in `[t_k, t]` whichever came first. */
const rank = (e: ClickEvent): number => (e.type === 'add_to_cart' ? 0 : 1);

function checkParams(stepId: string, p: BrowseAbandonmentParams): void {
  if (!(Number.isInteger(p.views) && p.views >= 1)) throw ssError('SS_ERR_GRAPH_INVALID', `views must be an integer >= 1, got ${p.views}`, { stepId });
  if (!(p.windowMs >= 0)) throw ssError('SS_ERR_GRAPH_INVALID', `windowMs must be >= 0, got ${p.windowMs}`, { stepId });
  if (!(p.cooldownMs >= 0)) throw ssError('SS_ERR_GRAPH_INVALID', `cooldownMs must be >= 0, got ${p.cooldownMs}`, { stepId });
}

/**
 * SCENES.md §3.2, browse abandonment, per customer over `product_view` and `add_to_cart` clicks
 * (keyed by customerId; clicks without a category are ignored).
 *
 * On a `product_view` at `t` in category `c`, with `t_k` the ts of the customer's k-th most recent
 * view in `c` (this one is the first), the trigger fires at `t` if
 * - `t - t_k <= W` (exactly `W` fires; fewer than k views never fire),
 * - no `add_to_cart` in `c` has ts in `[t_k, t]` (both ends included), and
 * - no browse_abandonment trigger for (customer, `c`) fired less than the cooldown before `t`
 *   (a view exactly the cooldown after the last trigger may fire).
 *
 * The trigger: `{scene: 'browse_abandonment', customerId, ts: t, storeId: null, category: c,
 * eventId: the view's eventId, productIds}`, where **productIds** (SCENES.md is silent) are the
 * distinct products of the k views that made the trigger (from `t_k` to `t`), sorted: what the
 * customer kept looking at, for the message to show. Views without a productId add none.
 *
 * Order: each customer's clicks are applied in event-time order as the watermark passes them, so
 * an add_to_cart that arrives after a later view still counts in its place; at equal ts the
 * add_to_cart comes first (the interval is closed). A click later than the out-of-orderness bound
 * (ts at or below the watermark on arrival) is applied at once against the state of that moment.
 *
 * State per (customer, category): the last k views and the add_to_cart times, both only within
 * `W` of the newest click (older ones cannot be in `[t_k, t]` of any later view), and the last
 * trigger's ts while it is within the cooldown. A customer's state is deleted by an event-time
 * timer `W + cooldown` after their last click.
 *
 * Live parameters (a getter, see `live.ts`): k, W and the cooldown are read once per click (or
 * cleanup timer) and judge that click. The state kept is what the parameters of each click needed
 * (the last k views within W), so raising k or W takes full effect once new views fill the
 * history (at most W after the reload); a trigger's cooldown is judged with the cooldown current
 * at the later view.
 *
 * ```text
 * k = 3, W = 20 min:  view(c)@0  view(c)@5m  view(c)@20m        -> trigger@20m {category c}
 *                     view(c)@0  add(c)@0    view(c)@5m view(c)@20m -> nothing (cart at t_k)
 * ```
 */
export function browseAbandonment<E extends ClickEvent>(stepId: string, clicks: KeyedStream<E>, params: Live<BrowseAbandonmentParams> = DEFAULT_PARAMS.scenes.browseAbandonment): KeyedStream<Trigger> {
  const current = liveParams(params, (p) => p, (p) => checkParams(stepId, p));

  /** Keeps, in place, what is still relevant to clicks at or after `now`; returns false when nothing is. */
  const prune = (s: CategoryState, now: number, { windowMs: W, cooldownMs }: BrowseAbandonmentParams): boolean => {
    // Both lists are ts ascending: what is older than W is a prefix.
    let v = 0;
    while (v < s.viewTs.length && s.viewTs[v]! < now - W) v++;
    dropFirst(s.viewTs, v);
    dropFirst(s.viewProducts, v);
    let c = 0;
    while (c < s.carts.length && s.carts[c]! < now - W) c++;
    dropFirst(s.carts, c);
    if (s.lastFired !== null && !(now - s.lastFired < cooldownMs)) s.lastFired = null;
    return s.viewTs.length > 0 || s.carts.length > 0 || s.lastFired !== null;
  };

  return clicks.process<Trigger>(stepId, (state) => {
    const categories = state.map<CategoryState | ObjectCategoryState>('categories');
    const intern = interner();
    const cleanupAt = state.value<number>('cleanupAt');

    const scheduleCleanup = (key: string, at: number, ctx: ProcessContext<Trigger>) => {
      const prev = cleanupAt.get(key);
      if (prev === at) return;
      if (prev !== undefined) ctx.deleteEventTimer(prev, CLEANUP_TAG);
      cleanupAt.set(key, at);
      ctx.registerEventTimer(at, CLEANUP_TAG);
    };

    const apply = (key: string, e: CategoryClick, p: BrowseAbandonmentParams, ctx: ProcessContext<Trigger>) => {
      const { views: k, windowMs: W, cooldownMs } = p;
      const c = e.category;
      const t = e.ts;
      const prev = categories.get(key, c);
      const s: CategoryState = prev === undefined ? { viewTs: [], viewProducts: [], carts: [], lastFired: null } : compactCategory(prev);
      if (prev !== undefined) prune(s, t, p);
      if (e.type === 'add_to_cart') {
        let i = s.carts.length;
        while (i > 0 && s.carts[i - 1]! > t) i--;
        s.carts = s.carts.toSpliced(i, 0, t);
      } else {
        let i = s.viewTs.length;
        while (i > 0 && s.viewTs[i - 1]! > t) i--;
        s.viewTs = s.viewTs.toSpliced(i, 0, t);
        s.viewProducts = s.viewProducts.toSpliced(i, 0, e.productId === null ? null : intern(e.productId));
        if (i + 1 >= k) {
          const tk = s.viewTs[i + 1 - k]!;
          const inWindow = t - tk <= W;
          const carted = s.carts.some((ts) => ts >= tk && ts <= t);
          const cooling = s.lastFired !== null && t - s.lastFired < cooldownMs;
          if (inWindow && !carted && !cooling) {
            const made = s.viewProducts.slice(i + 1 - k, i + 1);
            const productIds = [...new Set(made.filter((id): id is string => id !== null))].sort();
            ctx.emit({ scene: 'browse_abandonment', customerId: key, ts: t, storeId: null, productIds, category: c, eventId: e.eventId }, t);
            s.lastFired = t;
          }
        }
      }
      dropFirst(s.viewTs, s.viewTs.length - k);
      dropFirst(s.viewProducts, s.viewProducts.length - k);
      categories.set(key, c, s);
      scheduleCleanup(key, Math.max(cleanupAt.get(key) ?? -Infinity, t + W + cooldownMs), ctx);
    };

    return {
      onElement(e, ctx) {
        if (isCategoryClick(e)) apply(ctx.key, e, current(), ctx);
      },
      onEventTimer(ts, tag, ctx) {
        const p = current();
        if (tag !== CLEANUP_TAG || cleanupAt.get(ctx.key) !== ts) return;
        cleanupAt.delete(ctx.key);
        const all = categories.entries(ctx.key);
        if (all === undefined) return;
        for (const [c, prev] of [...all]) {
          const s = compactCategory(prev);
          if (prune(s, ts, p)) categories.set(ctx.key, c, s);
          else categories.delete(ctx.key, c);
        }
        if (categories.entries(ctx.key) !== undefined) scheduleCleanup(ctx.key, ts + p.windowMs + p.cooldownMs, ctx);
      },
    };
  }, { order: eventTimeOrder<E>({ rank, holds: isCategoryClick }) });
}

/** The scene's input from the retail sources: product views and add_to_cart clicks with a category, by customer. */
export function browseAbandonmentInput(src: Pick<RetailSources, 'clicks'>): KeyedStream<CategoryClick> {
  return src.clicks
    .filter(isCategoryClick, { name: 'browse_abandonment.input' })
    .keyBy((e) => e.customerId, { name: 'browse_abandonment.by_customer' });
}

/** The browse-abandonment scene on its own (it needs no reference data): triggers out. */
export function buildBrowseAbandonment(p: Pipeline, params: RetailParams = DEFAULT_PARAMS, _deps?: RetailDeps, sources: RetailSourceOptions = {}): Stream<Trigger> {
  return browseAbandonment('browse_abandonment', browseAbandonmentInput(retailSources(p, sources)), params.scenes.browseAbandonment);
}
