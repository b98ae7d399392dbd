import type { KeyedStream, Pipeline, Stream } from '../stream/stream.js';
import type { ClickEvent, Trigger } from '../schemas/index.js';
import { liveParams, type Live } from './live.js';
import { isKnownCustomer, isPurchase, retailSources, type KnownPosEvent, type RetailSourceOptions, type RetailSources } from './sources.js';

export interface CartAbandonmentParams {
  /** T: how long a cart may wait for a purchase after its last add_to_cart (default 30 min). */
  readonly timeoutMs: number;
}

export const CART_ABANDONMENT_DEFAULTS: CartAbandonmentParams = { timeoutMs: 30 * 60_000 };

type CartInput = ClickEvent | KnownPosEvent;

interface Armed {
  /** ts of the add_to_cart that armed the deadline. */
  readonly tA: number;
  readonly eventId: string;
  /**
   * `tA + T` with the T current when the add_to_cart was applied: a reload does not move an armed
   * deadline. Absent in state written before it was kept (then `tA + T` with the current T).
   */
  readonly deadline?: number;
}

/**
 * SCENES.md §3.1, cart abandonment, per customer over clickstream and till (pos) events.
 *
 * The cart: `add_to_cart` adds its quantity (null = 1) of a product, `remove_from_cart` removes it
 * (a product at 0 leaves), a purchase (checkout click, or a till transaction of the customer with
 * an item of quantity > 0: the omnichannel cancellation) empties it. Each `add_to_cart` at `t_a`
 * (re)arms the deadline `t_a + T`; `remove_from_cart` never arms. When the watermark passes the
 * deadline, the trigger fires with `ts = t_a + T` and the cart's distinct products (sorted) if the
 * cart is not empty and no purchase happened in `(t_a, t_a + T]`: a purchase at exactly the
 * deadline still cancels. After firing nothing re-arms until the next `add_to_cart`.
 *
 * Each customer's events are applied in event-time order as the watermark passes them (ties in
 * arrival order), so a till purchase arriving after a later click still counts in its place. The
 * deadline fires on an idle input once the sources' idle timeout lets event time advance.
 *
 * Live parameters (a getter, see `live.ts`): T is read when an `add_to_cart` is applied and the
 * deadline it arms is kept with the cart, so a reload applies to carts armed after it; a cart
 * armed before keeps its deadline (and fires, or is cancelled, exactly as it would have).
 */
export function cartAbandonment(stepId: string, events: KeyedStream<CartInput>, params: Live<CartAbandonmentParams> = CART_ABANDONMENT_DEFAULTS): KeyedStream<Trigger> {
  const timeoutMs = liveParams(params, (p) => p.timeoutMs);
  const deadlineOf = (a: Armed, T: number): number => a.deadline ?? a.tA + T;
  return events.process<Trigger>(stepId, (state) => {
    const pending = state.list<CartInput>('pending');
    const cart = state.value<Record<string, number>>('cart');
    const armed = state.value<Armed>('armed');
    const lastPurchase = state.value<number>('lastPurchase');

    const apply = (key: string, e: CartInput, T: number, ctx: { registerEventTimer(ts: number, tag?: string): void; deleteEventTimer(ts: number, tag?: string): void }) => {
      if (isPurchase(e)) {
        lastPurchase.set(key, Math.max(lastPurchase.get(key) ?? -Infinity, e.ts));
        cart.delete(key);
        return;
      }
      if (!('type' in e) || e.productId === null) return;
      const qty = e.quantity ?? 1;
      if (e.type === 'add_to_cart') {
        const c = { ...(cart.get(key) ?? {}) };
        c[e.productId] = (c[e.productId] ?? 0) + qty;
        if (c[e.productId]! <= 0) delete c[e.productId];
        cart.set(key, c);
        const prev = armed.get(key);
        if (prev !== undefined) ctx.deleteEventTimer(deadlineOf(prev, T), 'deadline');
        armed.set(key, { tA: e.ts, eventId: e.eventId, deadline: e.ts + T });
        ctx.registerEventTimer(e.ts + T, 'deadline');
      } else if (e.type === 'remove_from_cart') {
        const c0 = cart.get(key);
        if (c0 === undefined || c0[e.productId] === undefined) return;
        const c = { ...c0 };
        c[e.productId] = c[e.productId]! - qty;
        if (c[e.productId]! <= 0) delete c[e.productId];
        if (Object.keys(c).length === 0) cart.delete(key);
        else cart.set(key, c);
      }
    };

    /** Applies, in ts order (stable), the pending events with ts <= upTo. */
    const flush = (key: string, upTo: number, T: number, ctx: Parameters<typeof apply>[3]) => {
      const list = pending.get(key);
      if (list.length === 0) return;
      let inOrder = list[0]!.ts <= upTo;
      for (let i = 1; inOrder && i < list.length; i++) inOrder = list[i]!.ts <= upTo && list[i]!.ts >= list[i - 1]!.ts;
      if (inOrder) {
        // The usual case: all due, already in ts order. No copy, no sort.
        pending.clear(key);
        for (const e of list) apply(key, e, T, ctx);
        return;
      }
      const due = list.filter((e) => e.ts <= upTo).sort((a, b) => a.ts - b.ts);
      if (due.length === 0) return;
      pending.set(key, list.filter((e) => e.ts > upTo));
      for (const e of due) apply(key, e, T, ctx);
    };

    return {
      onElement(e, ctx) {
        if (e.ts <= ctx.watermark) {
          // Later than the out-of-orderness bound: apply now rather than lose it.
          apply(ctx.key, e, timeoutMs(), ctx);
          return;
        }
        pending.add(ctx.key, e);
        ctx.registerEventTimer(e.ts, 'apply');
      },
      onEventTimer(ts, tag, ctx) {
        const T = timeoutMs();
        flush(ctx.key, ts, T, ctx);
        if (tag !== 'deadline') return;
        const a = armed.get(ctx.key);
        if (a === undefined || deadlineOf(a, T) !== ts) return;
        armed.delete(ctx.key);
        const p = lastPurchase.get(ctx.key);
        if (p !== undefined && p > a.tA && p <= ts) return;
        const c = cart.get(ctx.key);
        if (c === undefined) return;
        const productIds = Object.keys(c).sort();
        if (productIds.length === 0) return;
        ctx.emit({ scene: 'cart_abandonment', customerId: ctx.key, ts, storeId: null, productIds, category: null, eventId: a.eventId });
      },
    };
  });
}

/** The scene's input: cart clicks and checkouts, and known customers' tills, keyed by customer. */
export function cartAbandonmentInput(src: Pick<RetailSources, 'clicks' | 'pos'>): KeyedStream<CartInput> {
  const relevant = src.clicks.filter((e) => e.type === 'add_to_cart' || e.type === 'remove_from_cart' || e.type === 'checkout', { name: 'cart_abandonment.clicks' });
  const tills = src.pos.filter(isKnownCustomer, { name: 'cart_abandonment.tills' });
  return relevant.keyBy((e) => e.customerId, { name: 'cart_abandonment.by_customer' }).mergeKeyed(tills.keyBy((e) => e.customerId, { name: 'cart_abandonment.tills_by_customer' }));
}

/** The cart-abandonment scene on its own (tests): its own sources, its triggers. */
export function buildCartAbandonment(p: Pipeline, params: Live<CartAbandonmentParams> = CART_ABANDONMENT_DEFAULTS, sources: RetailSourceOptions = {}): Stream<Trigger> {
  return cartAbandonment('cart_abandonment', cartAbandonmentInput(retailSources(p, sources)), params);
}
