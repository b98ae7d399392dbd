import type { ValueState } from '../engine/state.js';
import type { TimerQueue } from '../engine/timers.js';

/**
 * How a {@link keyedProcess} step orders its input (its `order` option): built by
 * {@link eventTimeOrder}, read by the step when it starts.
 */
export interface EventTimeOrder<T> {
  /** A record's event time (the ts it travels with). */
  readonly timestamp: (value: T) => number;
  /** Equal-ts order: ascending, then arrival. */
  readonly rank: ((value: T) => number) | undefined;
  /** Which records wait for their turn; the others are handed over on arrival. */
  readonly holds: ((value: T) => boolean) | undefined;
}

export interface EventTimeOrderOptions<T> {
  /**
   * Order among records of one key and one ts: ascending (default: all 0), then arrival. A scene
   * ranks the records that are evidence against a trigger (an `add_to_cart`, a purchase) before
   * the records that may fire one, so that a rule over `[a, t]` counts the evidence at exactly `t`
   * whichever topic delivered it first.
   */
  readonly rank?: (value: T) => number;
  /**
   * Which records wait for their turn (default: all). A record it rejects is handed to
   * `onElement` on arrival, out of order: for records the processor ignores anyway, so that they
   * cost no state and no timer (and take no place in the firing order of their ts).
   */
  readonly holds?: (value: T) => boolean;
}

/**
 * Event-time order for a keyed process step (`keyedProcess(id, setup, { order: eventTimeOrder() })`):
 * the engine holds each key's records until the step's watermark passes them and hands them to the
 * processor **in event-time order**, so the processor applies records as they come, with no buffer
 * and no timer of its own.
 *
 * - **Release.** A key's records wait in the step's state (list `pending`, checkpointed with the
 *   step: a restore resumes mid-hold) under one event-time timer per (key, ts) group, registered
 *   when the group's first record arrives, in the step's own timer queue. When a timer of the key
 *   fires at `t` (a release timer, or any of the processor's own), the key's records with
 *   `ts <= t` are handed over first, ts ascending, then by `rank`, then by arrival; then the
 *   processor's own timer runs. So within one watermark advance, release groups and the
 *   processor's timers fire together in (ts, registration) order, as the step's timers always do.
 * - **Groups.** A processor with `onElements` receives each released (key, ts) group in one call
 *   (one evaluation per group); without it, `onElement` is called per record.
 * - **Lateness.** A record at or below the step's watermark on arrival (later than the
 *   out-of-orderness bound) cannot wait for its turn, which has passed: it goes to `onElement` at
 *   once, against the state of that moment. Nothing is dropped.
 * - **Watermark.** Each step is released by its own watermark (the minimum over the sources it
 *   reads), never by another step's: a scene that waits for a slow topic holds its records, not
 *   the other scenes'.
 * - **Failures.** A released record (or group) that makes the processor throw is dead-lettered
 *   with the step id; the other records of the release still apply.
 *
 * ```text
 * watermark:        -inf                               wm -> 12
 * in (key u):  b@12  a@10  c@12 (rank 0)  d@5 (wm 8)
 * out:                                    d (late: at once)   a@10, then c@12, b@12 (c ranks first)
 * ```
 */
export function eventTimeOrder<T extends { readonly ts: number }>(opts: EventTimeOrderOptions<T> = {}): EventTimeOrder<T> {
  return { timestamp: (v) => v.ts, rank: opts.rank, holds: opts.holds };
}

/**
 * The records a step holds back, per key, in arrival order, with the release timers in the step's
 * event-time timer queue under the bare key (the step's own timers carry a tag after a separator,
 * so the two never meet).
 */
export class HeldRecords<T> {
  constructor(
    private readonly order: EventTimeOrder<T>,
    private readonly pending: ValueState<T[]>,
    private readonly timers: TimerQueue,
  ) {}

  /** On arrival: holds the record and returns true, or returns false for one to hand over at once. */
  hold(value: T, ts: number, key: string, watermark: number): boolean {
    if (ts <= watermark) return false;
    const holds = this.order.holds;
    if (holds !== undefined && !holds(value)) return false;
    const list = this.pending.get(key);
    if (list === undefined) {
      this.pending.set(key, [value]);
      this.timers.register(ts, key);
      return true;
    }
    // A record of a (key, ts) group already held shares its timer: nothing to register.
    const last = this.order.timestamp(list[list.length - 1]!);
    list.push(value);
    this.pending.touch(key);
    if (last !== ts) this.timers.register(ts, key);
    return true;
  }

  /** Removes and returns the held records of `key` with `ts <= upTo`, in release order (empty: none). */
  release(key: string, upTo: number): readonly T[] {
    const list = this.pending.get(key);
    if (list === undefined) return EMPTY;
    // The usual case: everything held is due and in release order already (a key's records mostly
    // arrive in ts order). Hand the stored list over as it is, with no copy and no sort.
    if (this.allDueInOrder(list, upTo)) {
      this.pending.delete(key);
      return list;
    }
    const { timestamp, rank } = this.order;
    const due: Array<{ v: T; ts: number; r: number; i: number }> = [];
    const rest: T[] = [];
    for (let i = 0; i < list.length; i++) {
      const v = list[i]!;
      const ts = timestamp(v);
      if (ts <= upTo) due.push({ v, ts, r: rank === undefined ? 0 : rank(v), i });
      else rest.push(v);
    }
    if (due.length === 0) return EMPTY;
    if (rest.length === 0) this.pending.delete(key);
    else this.pending.set(key, rest);
    due.sort((a, b) => a.ts - b.ts || a.r - b.r || a.i - b.i);
    return due.map((d) => d.v);
  }

  /** True when every record has `ts <= upTo` and the list is sorted by ts, then rank (stable). */
  private allDueInOrder(list: readonly T[], upTo: number): boolean {
    const { timestamp, rank } = this.order;
    let prevTs = timestamp(list[0]!);
    if (prevTs > upTo) return false;
    let prevRank = NaN;
    for (let i = 1; i < list.length; i++) {
      const ts = timestamp(list[i]!);
      if (ts > upTo || ts < prevTs) return false;
      if (ts === prevTs && rank !== undefined) {
        if (Number.isNaN(prevRank)) prevRank = rank(list[i - 1]!);
        const r = rank(list[i]!);
        if (r < prevRank) return false;
        prevRank = r;
      } else prevRank = NaN;
      prevTs = ts;
    }
    return true;
  }
}

const EMPTY: readonly never[] = Object.freeze([]);
