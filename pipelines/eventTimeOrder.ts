import type { ProcessContext, StateFactory } from '../operators/keyedProcess.js';

/** The timer tag under which {@link eventTimeBuffer} releases buffered records. */
export const APPLY_TAG = 'apply';

/** What a scene needs of a keyed process context to buffer and release records. */
type TimerContext = Pick<ProcessContext<unknown>, 'key' | 'watermark' | 'registerEventTimer'>;

export interface EventTimeBuffer<T extends { readonly ts: number }> {
  /**
   * On arrival: buffers the record until the watermark passes its ts and returns true; returns
   * false for a record at or below the watermark (later than the out-of-orderness bound), which
   * the caller applies at once so that it never vanishes.
   */
  hold(e: T, ctx: TimerContext): boolean;
  /** Removes and returns the buffered records of `key` with `ts <= upTo`, in release order. */
  release(key: string, upTo: number): readonly T[];
}

/** True when every element has `ts <= upTo` and the list is sorted by ts, then rank (stable). */
function allDueInOrder<T extends { readonly ts: number }>(list: readonly T[], upTo: number, rank: (e: T) => number): boolean {
  let prev = list[0]!;
  if (prev.ts > upTo) return false;
  for (let i = 1; i < list.length; i++) {
    const e = list[i]!;
    if (e.ts > upTo || e.ts < prev.ts || (e.ts === prev.ts && rank(e) < rank(prev))) return false;
    prev = e;
  }
  return true;
}

/**
 * A per-key buffer that hands a keyed process step its records in **event-time order**, as the
 * watermark passes them, the way `cartAbandonment` applies a customer's events: a record waits in
 * the step's state (list `name`) under an event-time timer at its ts (tag {@link APPLY_TAG}); when
 * any timer of the key fires at `t`, the step calls `release(key, t)` and applies what it gets.
 *
 * Release order is ts ascending; equal ts by `rank` ascending (default: all 0), then arrival order.
 * A scene ranks the records that are evidence against a trigger (an `add_to_cart`, a purchase)
 * before the records that may fire one, so that an interval rule `[a, t]` counts evidence at
 * exactly `t` whichever topic delivered it first.
 */
export function eventTimeBuffer<T extends { readonly ts: number }>(state: StateFactory, name = 'pending', rank: (e: T) => number = () => 0): EventTimeBuffer<T> {
  const pending = state.list<T>(name);
  return {
    hold(e, ctx) {
      if (e.ts <= ctx.watermark) return false;
      pending.add(ctx.key, e);
      ctx.registerEventTimer(e.ts, APPLY_TAG);
      return true;
    },
    release(key, upTo) {
      const list = pending.get(key);
      if (list.length === 0) return [];
      // The usual case: everything held is due and already in release order (records of one key
      // mostly arrive in ts order). Hand the stored list over as it is, with no copy and no sort.
      if (allDueInOrder(list, upTo, rank)) {
        pending.clear(key);
        return list;
      }
      const due: Array<{ e: T; i: number }> = [];
      const rest: T[] = [];
      list.forEach((e, i) => (e.ts <= upTo ? due.push({ e, i }) : rest.push(e)));
      if (due.length === 0) return [];
      if (rest.length === 0) pending.clear(key);
      else pending.set(key, rest);
      due.sort((a, b) => a.e.ts - b.e.ts || rank(a.e) - rank(b.e) || a.i - b.i);
      return due.map((d) => d.e);
    },
  };
}
