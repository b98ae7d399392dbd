import { ssError } from '../schemas/errors.js';
import type { OperatorInstance, OperatorRuntime } from '../engine/graph.js';
import { userError } from '../engine/userFn.js';
import {
  checkDuration,
  copyAccumulator as copyAcc,
  firstAtLeast,
  WINDOW_CLOSE as CLOSE,
  WINDOW_FIRE as FIRE,
  WINDOW_PURGE as PURGE,
  WINDOW_TIMER_SEP as SEP,
  type Aggregator,
  type TimeWindowSpec,
  type WindowOperatorOptions,
  type Windowed,
} from '../engine/windows.js';

export interface SlidingWindowOptions {
  /** Largest difference between the timestamps of two records in one window. */
  readonly timeDifferenceMs: number;
  /** How long after its end a window still accepts late records. Explicit: 0 means none. */
  readonly graceMs: number;
}

/**
 * Sliding windows per key, in event time, as Kafka Streams' `SlidingWindows.ofTimeDifferenceAndGrace`
 * (`KStreamSlidingWindowAggregate`): windows are defined by the records, not by the epoch.
 *
 * Boundaries: `[start, end]`, both ends inclusive, `end = start + timeDifference`. A record at `ts`
 * creates its left window `[ts - d, ts]`. It also creates the right window `[ts + 1, ts + 1 + d]`,
 * but only once a later record falls in it (empty windows are never created). Every existing
 * window containing `ts` is updated. Each distinct set of records that fit within `d` of each
 * other is thus aggregated once. Records with `0 <= ts < d` share the window `[0, d]` instead of
 * windows with negative starts. Event times must be >= 0: a negative one is rejected as
 * `SS_ERR_VALIDATION` (dead letter). New windows start from a copy of an existing window's
 * accumulator (`structuredClone` for objects), so accumulators must be cloneable.
 *
 * Closing: a window is complete when `W >= end` and closed when `W >= end + grace`. This is
 * Kafka Streams' rule `end >= streamTime - grace`, with `W = streamTime - 1`. A closed window is
 * never updated or created again. A record whose windows are all closed (`W >= ts + d + grace`),
 * or that lands in no open window, goes to the side output `late` (counted in `late_records`). A
 * record too late for some of its windows still counts in the open ones.
 *
 * Emission per `EmitMode`, in Kafka Streams' order: existing windows by descending start, then the
 * previous record's right window, the record's left window, and its right window. A window that
 * is both the previous record's right window and this record's left window is created and
 * emitted once; Kafka Streams forwards it twice with the same value. Output ts: for `onUpdate`,
 * the largest record ts in the window. For `onClose` and `onWatermark`, the window's last
 * millisecond, `end`. For `onClose`, Kafka Streams uses the largest record ts instead, which
 * differs only for right windows.
 *
 * State: per key, the windows sorted by start. A window is kept until `W >= end + grace + 2d`,
 * Kafka Streams' store retention, because a later record in grace may need it to build its own
 * windows. Timers: one purge per window, plus one close (`onClose`) or fire (`onWatermark`).
 *
 * ```text
 * d 10, grace 0, count, onUpdate, key a
 * in (ts):  10             15                            30
 * out:      [0,10]=1 @10   [11,21]=1 @15  [5,15]=2 @15   [20,30]=1 @30
 *           (10's left)    (10's right:   (15's left,    (30's left; 15's right window
 *                           now filled)    from [0,10])   [16,26] would be empty: none)
 * ```
 */
export function slidingWindow(opts: SlidingWindowOptions): TimeWindowSpec {
  return {
    kind: 'sliding',
    graceMs: opts.graceMs,
    params: { timeDifferenceMs: opts.timeDifferenceMs, graceMs: opts.graceMs },
    validate(stepId) {
      checkDuration(stepId, 'timeDifferenceMs', opts.timeDifferenceMs, 0);
      checkDuration(stepId, 'graceMs', opts.graceMs, 0);
    },
    create(rt, agg, o) {
      return createSlidingWindowOperator(rt, agg, o, opts.timeDifferenceMs, opts.graceMs);
    },
  };
}

interface Slide<A> {
  start: number;
  acc: A;
  /** Largest record ts in the window. */
  maxTs: number;
}

/** A window's aggregate as found before this record touched it. */
interface Found<A> {
  readonly acc: A;
  readonly maxTs: number;
}

/** A window to write: an existing one (`win`) or a new one. */
interface Change<A> {
  readonly start: number;
  readonly acc: A;
  readonly maxTs: number;
  readonly win: Slide<A> | undefined;
}

/** First index whose window starts at or after `s`. */
const firstStartingFrom = <A>(list: ReadonlyArray<Slide<A>>, s: number): number => firstAtLeast(list, 'start', s);

/** The engine of {@link slidingWindow}. */
export function createSlidingWindowOperator<T, A>(
  rt: OperatorRuntime<Windowed<A>>,
  agg: Aggregator<T, A>,
  opts: WindowOperatorOptions,
  diffMs: number,
  graceMs: number,
): OperatorInstance<T> {
  const id = rt.stepId;
  const windows = rt.state.valueState<Array<Slide<A>>>(id, 'windows');
  const timers = rt.state.timers(id, 'windows');
  const emit = rt.emit;
  const late = rt.side('late');
  const mode = opts.emit;
  const out = (key: string, start: number, acc: A): Windowed<A> => ({ key, start, end: start + diffMs, value: acc });
  // Timer ts per tag, from a window's start; and back.
  const fireAt = (start: number) => start + diffMs;
  const closeAt = (start: number) => start + diffMs + graceMs;
  const purgeAt = (start: number) => start + 3 * diffMs + graceMs;
  const startOf = (tag: string, ts: number) => (tag === FIRE ? ts - diffMs : tag === CLOSE ? ts - diffMs - graceMs : ts - 3 * diffMs - graceMs);

  const onTimer = (ts: number, timerKey: string) => {
    const i = timerKey.lastIndexOf(SEP);
    const key = timerKey.slice(0, i);
    const tag = timerKey.slice(i + 1);
    const start = startOf(tag, ts);
    const list = windows.get(key);
    if (list === undefined) return;
    const idx = firstStartingFrom(list, start);
    const win = list[idx];
    if (win === undefined || win.start !== start) return;
    rt.state.time.currentTime = ts;
    if (tag === PURGE) {
      list.splice(idx, 1);
      if (list.length === 0) windows.delete(key);
      else windows.set(key, list);
    } else if (tag === FIRE || mode === 'onClose') {
      emit(out(key, start, win.acc), start + diffMs, key);
    }
  };

  return {
    process(value, ts, key) {
      if (!Number.isInteger(ts) || ts < 0) {
        throw ssError('SS_ERR_VALIDATION', `sliding windows need an integer event time >= 0, got ${ts}`, { stepId: id, field: 'ts' });
      }
      const w = rt.watermark();
      const closed = (end: number) => end + graceMs <= w;
      if (closed(ts + diffMs)) {
        rt.metrics.inc('late_records');
        late(value, ts, key);
        return;
      }
      const list = windows.get(key) ?? [];
      const changes: Array<Change<A>> = [];
      const created = new Set<number>();
      let assigned = false;

      // Adds the record to a window (existing: `win`; new: from `acc`), unless the window is closed.
      // When the previous record is d + 1 before this one, its right window is this one's left
      // window. Kafka Streams puts (and forwards) that window twice with the same value; we create it once.
      const update = (start: number, acc: A, maxTs: number, win: Slide<A> | undefined) => {
        if (closed(start + diffMs)) return;
        if (win === undefined) {
          if (created.has(start)) return;
          created.add(start);
        }
        let next: A;
        try {
          next = agg.add(acc, value, ts);
        } catch (e) {
          throw userError(id, e);
        }
        changes.push({ start, acc: next, maxTs: Math.max(ts, maxTs), win });
        assigned = true;
      };
      const init = (): A => {
        try {
          return agg.init();
        } catch (e) {
          throw userError(id, e);
        }
      };
      // The record's right window holds exactly what `found` holds after ts.
      const createRight = (found: Found<A>) => changes.push({ start: ts + 1, acc: found.acc, maxTs: found.maxTs, win: undefined });

      if (ts < diffMs) {
        // Early record: windows [0, d] (shared), then right windows starting in (0, ts + 1].
        const starts = new Set<number>();
        let combined: Slide<A> | undefined;
        let right: Found<A> | undefined;
        let prev: number | undefined;
        const end = firstStartingFrom(list, ts + 2);
        const rightExists = list[end - 1]?.start === ts + 1;
        for (let i = 0; i < end; i++) {
          const win = list[i]!;
          starts.add(win.start);
          if (win.start === 0) {
            combined = win;
            // A previous record at or after ts already created every window this one needs.
            if (win.maxTs < ts) prev = win.maxTs;
          } else if (win.start <= ts) {
            if (!rightExists) right = { acc: copyAcc(win.acc), maxTs: win.maxTs };
            update(win.start, win.acc, win.maxTs, win);
          }
        }
        if (right === undefined && combined !== undefined && combined.maxTs > ts) right = { acc: copyAcc(combined.acc), maxTs: combined.maxTs };
        if (!rightExists && right !== undefined && right.maxTs > ts) createRight(right);
        if (prev !== undefined && !starts.has(prev + 1)) update(prev + 1, init(), ts, undefined);
        if (combined === undefined) update(0, init(), ts, undefined);
        else update(0, combined.acc, combined.maxTs, combined);
      } else {
        // Existing windows starting in [ts - 2d, ts + 1], latest first (Kafka Streams' reverse iterator).
        const starts = new Set<number>();
        let left: Found<A> | undefined;
        let right: Found<A> | undefined;
        let leftExists = false;
        let rightExists = false;
        let prev: number | undefined;
        let done = false;
        const lo = Math.max(0, ts - 2 * diffMs);
        for (let i = firstStartingFrom(list, ts + 2) - 1; i >= 0 && list[i]!.start >= lo; i--) {
          const win = list[i]!;
          const winEnd = win.start + diffMs;
          starts.add(win.start);
          if (win.start === ts + 1) {
            rightExists = true;
          } else if (winEnd > ts) {
            if (right === undefined && !rightExists) right = { acc: copyAcc(win.acc), maxTs: win.maxTs };
            update(win.start, win.acc, win.maxTs, win);
          } else if (winEnd === ts) {
            leftExists = true;
            update(win.start, win.acc, win.maxTs, win);
            if (win.maxTs < ts) prev = win.maxTs;
            else {
              // A record at ts came before: every window this one needs exists.
              done = true;
              break;
            }
          } else {
            if (!leftExists) left = { acc: copyAcc(win.acc), maxTs: win.maxTs };
            prev = win.maxTs;
            break;
          }
        }
        if (!done) {
          // The previous record's right window, if this record is its first content.
          if (prev !== undefined && !starts.has(prev + 1) && prev + 1 + diffMs >= ts) update(prev + 1, init(), ts, undefined);
          if (!leftExists) {
            const base = prev !== undefined && ts - diffMs <= prev && left !== undefined ? left.acc : init();
            update(ts - diffMs, base, ts, undefined);
          }
          if (!rightExists && right !== undefined && right.maxTs > ts) createRight(right);
        }
      }

      if (!assigned) {
        rt.metrics.inc('late_records');
        late(value, ts, key);
      }
      if (changes.length === 0) return;

      // Commit, then emit in the order Kafka Streams forwards.
      for (const c of changes) {
        if (c.win !== undefined) {
          c.win.acc = c.acc;
          c.win.maxTs = c.maxTs;
          continue;
        }
        list.splice(firstStartingFrom(list, c.start), 0, { start: c.start, acc: c.acc, maxTs: c.maxTs });
        const tk = key + SEP;
        if (mode === 'onClose') timers.register(closeAt(c.start), tk + CLOSE);
        else if (mode === 'onWatermark' && fireAt(c.start) > w) timers.register(fireAt(c.start), tk + FIRE);
        timers.register(purgeAt(c.start), tk + PURGE);
      }
      windows.set(key, list);
      for (const c of changes) {
        if (mode === 'onUpdate') emit(out(key, c.start, c.acc), c.maxTs, key);
        // Flink-style late firing: a window that was already complete fires again on each change.
        else if (mode === 'onWatermark' && fireAt(c.start) <= w) emit(out(key, c.start, c.acc), c.start + diffMs, key);
      }
    },
    onWatermark(w) {
      timers.fire(w, onTimer);
    },
  };
}
