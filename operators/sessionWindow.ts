import { ssError } from '../runtime/errors.js';
import type { OperatorInstance, OperatorRuntime } from '../runtime/core/graph.js';
import { userError } from '../runtime/core/userFn.js';
import { checkDuration, type Aggregator, type SessionWindowSpec, type WindowOperatorOptions, type Windowed } from '../runtime/core/windows.js';

export interface SessionWindowOptions {
  /** Inactivity gap: records of a key less than or equal to this apart belong to one session. */
  readonly gapMs: number;
  /** How long after a session could last have been extended it still accepts late records. Explicit: 0 means none. */
  readonly graceMs: number;
}

/** Side output of sessions superseded by a merge, for consumers that keep a table of sessions. */
export const SESSION_RETRACTIONS = 'retractions';

/**
 * Session windows per key, in event time, as Kafka Streams' `SessionWindows.ofInactivityGapAndGrace`
 * (`KStreamSessionWindowAggregate`).
 *
 * Boundaries: a session is `[start, end]`, both ends inclusive: `start` is the ts of its earliest
 * record and `end` that of its latest. A record at `ts` joins every open session of its key with
 * `start - gap <= ts <= end + gap`. If it touches several, they merge into one: the accumulator
 * starts at `init()`, each merged session's accumulator is folded in with `merge(acc, session)` in
 * ascending order, then the record is added. Kafka Streams merges in the same order, so
 * `merge(init(), x)` must equal `x` for the merge to be neutral. Records arrive in any order.
 *
 * Closing: a session is complete when `W >= end + gap`, so no in-order record can extend it. It
 * closes when `W >= end + gap + grace`. That is Kafka Streams' rule: a record is dropped when its
 * merged session's `end < streamTime - gap - grace`, and `W = streamTime - 1`. A closed session is
 * dropped from state and never merges again. A record whose session (after merging) would
 * already be closed is late. It goes to the side output `late` and is counted in `late_records`.
 *
 * Emission (`Windowed<A>` with the session's bounds; output ts = `end`, which is also the largest
 * record ts in the session):
 * - `onUpdate`: the new or changed session on each record. First, each session the record merged
 *   away goes to the side output `retractions`, with its old bounds and its last emitted value at
 *   ts = its old end. Kafka Streams forwards a tombstone here instead. A session updated without
 *   changing its bounds is not retracted, because the update replaces it. Kafka Streams also
 *   forwards a tombstone for it.
 * - `onClose`: once per final session, when it closes; `EmitStrategy.onWindowClose()`. Nothing is
 *   ever retracted.
 * - `onWatermark`: when the session is complete, then again for each late record within the grace
 *   period that changes it. With grace 0 the watermark that completes a session also closes it: the
 *   session fires, then closes. Retractions are emitted for fired sessions that a late record
 *   merges away.
 *
 * State: per key, the open sessions sorted by start. Per session, a close timer, plus a fire timer
 * under `onWatermark`. Retractions stay on a side output, so every window operator keeps the main
 * output type `Windowed<A>`. Modes that never retract need no other type.
 *
 * ```text
 * gap 5, grace 0, count, onUpdate, key a      (W = max ts - 1)
 * in (ts):   1        4        20         16         2
 * out:       [1,1]=1  [1,4]=2  [20,20]=1  [16,20]=2
 * retract:            [1,1]=1             [20,20]=1
 * late:                                              2   ([1,4] closed at W=19 >= 4+5+0)
 * ```
 */
export function sessionWindow(opts: SessionWindowOptions): SessionWindowSpec {
  return {
    kind: 'session',
    graceMs: opts.graceMs,
    params: { gapMs: opts.gapMs, graceMs: opts.graceMs },
    sideOutputs: [SESSION_RETRACTIONS],
    validate(stepId) {
      checkDuration(stepId, 'gapMs', opts.gapMs, 1);
      checkDuration(stepId, 'graceMs', opts.graceMs, 0);
    },
    create(rt, agg, o) {
      return createSessionWindowOperator(rt, agg, o, opts.gapMs, opts.graceMs);
    },
  };
}

interface Session<A> {
  start: number;
  end: number;
  acc: A;
  /** Whether a value of this session went downstream (only those are retracted when merged away). */
  emitted: boolean;
}

const SEP = '\u0001';
const FIRE = 'f';
const CLOSE = 'c';

function copyAcc<A>(a: A): A {
  return a === null || typeof a !== 'object' ? a : structuredClone(a);
}

/** First index whose session ends at or after `t` (sessions are disjoint: sorted by start is sorted by end). */
function firstEndingFrom<A>(list: ReadonlyArray<Session<A>>, t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.end < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The engine of {@link sessionWindow}. */
export function createSessionWindowOperator<T, A>(
  rt: OperatorRuntime<Windowed<A>>,
  agg: Aggregator<T, A>,
  opts: WindowOperatorOptions,
  gapMs: number,
  graceMs: number,
): OperatorInstance<T> {
  const id = rt.stepId;
  const merge = agg.merge;
  if (merge === undefined) throw ssError('SS_ERR_GRAPH_INVALID', 'session windows need an aggregator with merge()', { stepId: id });
  const sessions = rt.state.valueState<Array<Session<A>>>(id, 'sessions');
  const timers = rt.state.timers(id, 'sessions');
  const emit = rt.emit;
  const late = rt.side('late');
  const retract = rt.side(SESSION_RETRACTIONS) as (value: Windowed<A>, ts: number, key: string) => void;
  const mode = opts.emit;
  const fireAt = (end: number) => end + gapMs;
  const closeAt = (end: number) => end + gapMs + graceMs;
  const out = (key: string, s: Session<A>): Windowed<A> => ({ key, start: s.start, end: s.end, value: s.acc });
  const fire = (key: string, list: Array<Session<A>>, s: Session<A>) => {
    s.emitted = true;
    sessions.set(key, list);
    emit(out(key, s), s.end, key);
  };

  const onTimer = (ts: number, timerKey: string) => {
    const i = timerKey.lastIndexOf(SEP);
    const key = timerKey.slice(0, i);
    const tag = timerKey.slice(i + 1);
    const end = tag === FIRE ? ts - gapMs : ts - gapMs - graceMs;
    const list = sessions.get(key);
    if (list === undefined) return;
    const idx = firstEndingFrom(list, end);
    const s = list[idx];
    if (s === undefined || s.end !== end) return;
    rt.state.time.currentTime = ts;
    if (tag === FIRE) {
      fire(key, list, s);
      return;
    }
    // With grace 0 a session completes when it closes, and both timers are due at the same ts:
    // its firing goes first, whichever timer fires first.
    if (mode === 'onWatermark' && timers.delete(fireAt(s.end), key + SEP + FIRE)) fire(key, list, s);
    list.splice(idx, 1);
    if (list.length === 0) sessions.delete(key);
    else sessions.set(key, list);
    if (mode === 'onClose') emit(out(key, s), s.end, key);
  };

  return {
    process(value, ts, key) {
      const w = rt.watermark();
      const list = sessions.get(key) ?? [];
      // The sessions this record touches form one run of the sorted list: [i0, i1).
      const i0 = firstEndingFrom(list, ts - gapMs);
      let i1 = i0;
      while (i1 < list.length && list[i1]!.start <= ts + gapMs) i1++;
      let start = ts;
      let end = ts;
      if (i1 > i0) {
        start = Math.min(ts, list[i0]!.start);
        end = Math.max(ts, list[i1 - 1]!.end);
      }
      if (closeAt(end) <= w) {
        rt.metrics.inc('late_records');
        late(value, ts, key);
        return;
      }
      // Retracted values are taken before merge and add run: an accumulator updated in place must
      // not leak the new record into what is retracted.
      const retracted: Array<Windowed<A>> = [];
      let emitted = false;
      for (let i = i0; i < i1; i++) {
        const old = list[i]!;
        if (old.start === start && old.end === end) emitted = old.emitted;
        else if (old.emitted) retracted.push({ key, start: old.start, end: old.end, value: copyAcc(old.acc) });
      }
      let acc: A;
      try {
        acc = agg.init();
        for (let i = i0; i < i1; i++) acc = merge(acc, list[i]!.acc);
        acc = agg.add(acc, value, ts);
      } catch (e) {
        throw userError(id, e);
      }
      for (let i = i0; i < i1; i++) {
        const old = list[i]!;
        timers.delete(closeAt(old.end), key + SEP + CLOSE);
        if (mode === 'onWatermark') timers.delete(fireAt(old.end), key + SEP + FIRE);
      }
      const complete = fireAt(end) <= w;
      const emitNow = mode === 'onUpdate' || (mode === 'onWatermark' && complete);
      const session: Session<A> = { start, end, acc, emitted: emitted || emitNow };
      list.splice(i0, i1 - i0, session);
      sessions.set(key, list);
      timers.register(closeAt(end), key + SEP + CLOSE);
      if (mode === 'onWatermark' && !complete) timers.register(fireAt(end), key + SEP + FIRE);
      for (const old of retracted) retract(old, old.end, key);
      if (emitNow) emit(out(key, session), end, key);
    },
    onWatermark(w) {
      timers.fire(w, onTimer);
    },
  };
}
