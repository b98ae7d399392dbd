import { ssError } from '../schemas/errors.js';
import type { OperatorInstance, OperatorRuntime } from './graph.js';
import { userError } from './userFn.js';

/**
 * Window vocabulary shared by the window operators, and the engine of aligned time windows
 * (tumbling and hopping).
 *
 * Boundaries: a time window is `[start, end)`, as Kafka Streams and Flink. A record with event
 * time `ts` belongs to every window with `start <= ts < end` and `start >= 0`.
 *
 * Closing: with grace `g`, window `[s, e)` is complete when the step's watermark `W >= e - 1` and
 * closed when `W >= e - 1 + g`. A record arriving for a closed window is dropped from that window;
 * if it was dropped from every window it belongs to, it goes to the side output `late` and is
 * counted (never silently lost).
 */

/**
 * One window's result. Tumbling and hopping windows: `[start, end)`. Sliding and session windows:
 * `[start, end]`, both ends inclusive (as Kafka Streams).
 */
export interface Windowed<A> {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly value: A;
}

/**
 * When a window emits (rules for `[start, end)` windows; sliding and session windows state their own):
 * - `onClose`: once, when the window closes (`W >= end - 1 + grace`); Kafka Streams'
 *   `suppress(untilWindowCloses)` / `EmitStrategy.onWindowClose()`. Output ts: the window's last
 *   millisecond (`end - 1`; `end` for windows with an inclusive end).
 * - `onUpdate`: on every record that changes it, while it is open; Kafka Streams' default.
 *   Output ts: the largest record ts in the window so far.
 * - `onWatermark`: when complete (`W >= end - 1`), then again for each late record within the
 *   grace period; Flink's `EventTimeTrigger` with allowed lateness. Output ts: as `onClose`.
 */
export type EmitMode = 'onClose' | 'onUpdate' | 'onWatermark';

/** Incremental aggregation: `init` for an empty window, `add` per record, `merge` to join sessions. */
export interface Aggregator<T, A> {
  init(): A;
  add(acc: A, value: T, ts: number): A;
  merge?(a: A, b: A): A;
}

export interface WindowOperatorOptions {
  readonly emit: EmitMode;
}

/** What every window spec can do: build its operator. */
export interface WindowSpecBase {
  readonly kind: 'tumbling' | 'hopping' | 'sliding' | 'session';
  readonly graceMs: number;
  readonly params: Readonly<Record<string, number>>;
  /** Side outputs the window's operator emits besides `late` (session windows: `retractions`). */
  readonly sideOutputs?: readonly string[];
  validate(stepId: string): void;
  create<T, A>(rt: OperatorRuntime<Windowed<A>>, agg: Aggregator<T, A>, opts: WindowOperatorOptions): OperatorInstance<T>;
}

/** Tumbling, hopping and sliding windows. */
export interface TimeWindowSpec extends WindowSpecBase {
  readonly kind: 'tumbling' | 'hopping' | 'sliding';
}

/** Session windows: aggregators must be able to merge. */
export interface SessionWindowSpec extends WindowSpecBase {
  readonly kind: 'session';
}

export type WindowSpec = TimeWindowSpec | SessionWindowSpec;

/** Fails fast at build time on a bad duration. */
export function checkDuration(stepId: string, name: string, v: number, min: number): void {
  if (!Number.isFinite(v) || !Number.isInteger(v) || v < min) {
    throw ssError('SS_ERR_GRAPH_INVALID', `window ${name} must be an integer >= ${min} ms, got ${v}`, { stepId });
  }
}

/**
 * Timer keys of the window operators are `key + WINDOW_TIMER_SEP + tag`, the window derived from the
 * timer's ts and the tag. Tags are checkpointed with the timers: they never change.
 */
export const WINDOW_TIMER_SEP = '\u0001';
/** Emit the window (`onWatermark`, or the time windows' end). */
export const WINDOW_FIRE = 'f';
/** Close the window: emit (`onClose`) and, for the time windows, clean it up. */
export const WINDOW_CLOSE = 'c';
/** Drop a window kept past its close (session and sliding windows' retention). */
export const WINDOW_PURGE = 'p';

/** A copy of an accumulator that later merges cannot change: primitives as they are, objects cloned (`structuredClone`). */
export function copyAccumulator<A>(a: A): A {
  return a === null || typeof a !== 'object' ? a : structuredClone(a);
}

/** The first index of `list`, sorted ascending by `field`, whose `field` is at least `value` (`list.length` if none). */
export function firstAtLeast<F extends string>(list: ReadonlyArray<Readonly<Record<F, number>>>, field: F, value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]![field] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Slot<A> {
  acc: A;
  /** Largest record ts in the window. */
  maxTs: number;
}

/**
 * Aligned time windows of `size`, starting every `advance` (tumbling: advance = size), in event
 * time. State per key: the open windows by start; timers: one per (key, window) for emission and
 * one for cleanup.
 */
export function createTimeWindowOperator<T, A>(
  rt: OperatorRuntime<Windowed<A>>,
  agg: Aggregator<T, A>,
  opts: WindowOperatorOptions,
  sizeMs: number,
  advanceMs: number,
  graceMs: number,
): OperatorInstance<T> {
  const id = rt.stepId;
  const slots = rt.state.mapState<Slot<A>>(id, 'windows');
  const timers = rt.state.timers(id, 'windows');
  const emit = rt.emit;
  const late = rt.side('late');
  const mode = opts.emit;
  // Timer keys are `key + WINDOW_TIMER_SEP + tag` (fire, or close: cleanup); the window is derived from the ts.
  const fireAt = (end: number) => end - 1;
  const cleanAt = (end: number) => end - 1 + graceMs;

  const onTimer = (ts: number, timerKey: string) => {
    const i = timerKey.lastIndexOf(WINDOW_TIMER_SEP);
    const key = timerKey.slice(0, i);
    const tag = timerKey.slice(i + 1);
    const end = tag === WINDOW_FIRE ? ts + 1 : ts + 1 - graceMs;
    const start = end - sizeMs;
    const field = String(start);
    const slot = slots.get(key, field);
    if (slot === undefined) return;
    rt.state.time.currentTime = ts;
    if (tag === WINDOW_FIRE || (mode === 'onClose' && tag === WINDOW_CLOSE)) {
      emit({ key, start, end, value: slot.acc }, end - 1, key);
    }
    if (tag === WINDOW_CLOSE) slots.delete(key, field);
  };

  return {
    process(value, ts, key) {
      const w = rt.watermark();
      // Last window containing ts starts at the largest multiple of advance <= ts; the windows are
      // visited by ascending start, the order in which Kafka Streams updates and emits them.
      const lastStart = ts - (((ts % advanceMs) + advanceMs) % advanceMs);
      let firstStart = lastStart;
      while (firstStart - advanceMs > ts - sizeMs && firstStart - advanceMs >= 0) firstStart -= advanceMs;
      let assigned = false;
      for (let start = firstStart; start <= lastStart && start >= 0; start += advanceMs) {
        const end = start + sizeMs;
        if (cleanAt(end) <= w) continue; // closed: too late for this window
        const field = String(start);
        let slot = slots.get(key, field);
        const fresh = slot === undefined;
        let acc: A;
        try {
          acc = agg.add(fresh ? agg.init() : slot!.acc, value, ts);
        } catch (e) {
          throw userError(id, e);
        }
        if (fresh) {
          slot = { acc, maxTs: ts };
          // A window first created after it is complete fires below, at once (as Flink's
          // EventTimeTrigger.onElement); a timer at end - 1 <= watermark would fire it twice.
          if (mode === 'onWatermark' && fireAt(end) > w) timers.register(fireAt(end), key + WINDOW_TIMER_SEP + WINDOW_FIRE);
          timers.register(cleanAt(end), key + WINDOW_TIMER_SEP + WINDOW_CLOSE);
        } else {
          slot!.acc = acc;
          if (ts > slot!.maxTs) slot!.maxTs = ts;
        }
        slots.set(key, field, slot!);
        assigned = true;
        if (mode === 'onUpdate') emit({ key, start, end, value: acc }, slot!.maxTs, key);
        // Flink: a late record within the allowed lateness fires the (already complete) window again.
        else if (mode === 'onWatermark' && fireAt(end) <= w) emit({ key, start, end, value: acc }, end - 1, key);
      }
      if (!assigned) {
        rt.metrics.inc('late_records');
        late(value, ts, key);
      }
    },
    onWatermark(w) {
      timers.fire(w, onTimer);
    },
  };
}
