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
  type SessionWindowSpec,
  type WindowOperatorOptions,
  type Windowed,
} from '../engine/windows.js';

export interface SessionWindowOptions {
  /** Inactivity gap: records of a key less than or equal to this apart belong to one session. */
  readonly gapMs: number;
  /** How long after a session could last have been extended it still accepts late records. Explicit: 0 means none. */
  readonly graceMs: number;
  /**
   * How long after its last record a session stays in state, closed or not: until
   * `W >= end + retentionMs` a closed session still merges with a late record that bridges it to
   * an open one. At least `gapMs + graceMs`, which is the default (a session is dropped when it
   * closes), as the retention of Kafka Streams' session store (`Materialized.withRetention`).
   */
  readonly retentionMs?: number;
}

/** Side output of sessions superseded by a merge, for consumers that keep a table of sessions. */
export const SESSION_RETRACTIONS = 'retractions';

/**
 * Session windows per key, in event time, as Kafka Streams' `SessionWindows.ofInactivityGapAndGrace`
 * (`KStreamSessionWindowAggregate`).
 *
 * Boundaries: a session is `[start, end]`, both ends inclusive: `start` is the ts of its earliest
 * record and `end` that of its latest. A record at `ts` joins every session of its key still in
 * state (see Retention) with `start - gap <= ts <= end + gap`. If it touches several, they merge
 * into one: the accumulator starts at `init()`, each merged session's accumulator is folded in
 * with `merge(acc, session)` in ascending order, then the record is added. Kafka Streams merges in
 * the same order, so `merge(init(), x)` must equal `x` for the merge to be neutral. Records arrive
 * in any order.
 *
 * Closing: a session is complete when `W >= end + gap`, so no in-order record can extend it. It
 * closes when `W >= end + gap + grace`. That is Kafka Streams' rule: a record is dropped when its
 * merged session's `end < streamTime - gap - grace`, and `W = streamTime - 1`. A record whose
 * session, after merging, would be closed is late: it goes to the side output `late`, is counted
 * in `late_records`, and changes nothing.
 *
 * Retention: a session stays in state until `W >= end + retentionMs`, closed or not; the default
 * `retentionMs = gap + grace` drops it when it closes. This is the retention of Kafka Streams'
 * session store (`Materialized.withRetention`; same default and minimum), whose in-memory store
 * drops a session 1 ms earlier (`end < streamTime - retention + 1`). While retained, a closed
 * session still merges, as in Kafka Streams: an in-order record is always more than `gap` after
 * it, but a late record can bridge it to an open session, and is not late since the merged
 * session is open. The closed session is then removed and retracted like any merged session. Once
 * dropped, a session is forgotten: a record within `gap` of it starts a new session (or is late).
 *
 * Emission (`Windowed<A>` with the session's bounds; output ts = `end`, which is also the largest
 * record ts in the session). Retractions, in every mode: when a record merges sessions, each one
 * whose value went downstream goes first to the side output `retractions`, with its old bounds and
 * its last emitted value at ts = its old end, then the merged session is emitted (if the mode
 * emits it now). A session whose bounds a record does not change is not retracted: the update
 * replaces it. Kafka Streams forwards a tombstone instead of each retraction, also for a session
 * whose bounds do not change, and none under `onWindowClose()`.
 * - `onUpdate`: the new or changed session on each record; Kafka Streams' default.
 * - `onClose`: once per session, when it closes; `EmitStrategy.onWindowClose()`. A retraction
 *   happens only when a late record merges a closed, retained session (`retentionMs > gap +
 *   grace`); the merged session is emitted when it closes. Kafka Streams retracts nothing there,
 *   so its consumers see both final sessions.
 * - `onWatermark`: when the session is complete, then again for each late record within the grace
 *   period that changes it. With grace 0 the watermark that completes a session also closes it: the
 *   session fires, then closes.
 *
 * State: per key, the retained sessions sorted by start. Per session, timers: close (under
 * `onClose`, or with the default retention, where it also drops the session), drop at `end +
 * retentionMs` (a longer retention), fire (under `onWatermark`, until complete). Retractions stay
 * on a side output, so every window operator keeps the main output type `Windowed<A>`.
 *
 * ```text
 * gap 5, grace 0, retentionMs 10, count, onUpdate, key a      (W = max ts - 1)
 * in (ts):   1        4        10         12          6          20         2
 * out:       [1,1]=1  [1,4]=2  [10,10]=1  [10,12]=2   [1,12]=5   [20,20]=1
 * retract:            [1,1]=1             [10,10]=1   [1,4]=2
 *                                                     [10,12]=2
 * late:                                                                     2
 * ```
 * [1,4] closes at W = 9 (4 + 5 + 0) and is retained until W = 14, so 6 bridges it to the open
 * [10,12]. With the default retention (5) it would be gone, and 6 would make [6,12]=3. 2 is late:
 * its session [1,12] closed at W = 17.
 */
export function sessionWindow(opts: SessionWindowOptions): SessionWindowSpec {
  return {
    kind: 'session',
    graceMs: opts.graceMs,
    params: { gapMs: opts.gapMs, graceMs: opts.graceMs, retentionMs: retentionOf(opts) },
    sideOutputs: [SESSION_RETRACTIONS],
    validate(stepId) {
      checkDuration(stepId, 'gapMs', opts.gapMs, 1);
      checkDuration(stepId, 'graceMs', opts.graceMs, 0);
      checkDuration(stepId, 'retentionMs', retentionOf(opts), opts.gapMs + opts.graceMs);
    },
    create(rt, agg, o) {
      return createSessionWindowOperator(rt, agg, o, opts.gapMs, opts.graceMs, retentionOf(opts));
    },
  };
}

const retentionOf = (opts: SessionWindowOptions): number => opts.retentionMs ?? opts.gapMs + opts.graceMs;

interface Session<A> {
  start: number;
  end: number;
  acc: A;
  /** Whether a value of this session went downstream (only those are retracted when merged away). */
  emitted: boolean;
}

/** First index whose session ends at or after `t` (sessions are disjoint: sorted by start is sorted by end). */
const firstEndingFrom = <A>(list: ReadonlyArray<Session<A>>, t: number): number => firstAtLeast(list, 'end', t);

/** The engine of {@link sessionWindow}. */
export function createSessionWindowOperator<T, A>(
  rt: OperatorRuntime<Windowed<A>>,
  agg: Aggregator<T, A>,
  opts: WindowOperatorOptions,
  gapMs: number,
  graceMs: number,
  retentionMs: number = gapMs + graceMs,
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
  const purgeAt = (end: number) => end + retentionMs;
  // Timers per session: fire (onWatermark, until complete); close (emits under onClose, and drops
  // the session when the retention is the default); purge (drops it, when the retention is longer).
  const purgeOnClose = retentionMs === gapMs + graceMs;
  const closeTimer = mode === 'onClose' || purgeOnClose;
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
    const end = tag === FIRE ? ts - gapMs : tag === CLOSE ? ts - gapMs - graceMs : ts - retentionMs;
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
    if (tag === CLOSE) {
      // With grace 0 a session completes when it closes, and both timers are due at the same ts:
      // its firing goes first, whichever timer fires first.
      if (mode === 'onWatermark' && timers.delete(fireAt(s.end), key + SEP + FIRE)) fire(key, list, s);
      if (mode === 'onClose') fire(key, list, s);
      if (!purgeOnClose) return;
    }
    list.splice(idx, 1);
    if (list.length === 0) sessions.delete(key);
    else sessions.set(key, list);
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
        if (closeTimer) timers.delete(closeAt(old.end), key + SEP + CLOSE);
        if (!purgeOnClose) timers.delete(purgeAt(old.end), key + SEP + PURGE);
        if (mode === 'onWatermark') timers.delete(fireAt(old.end), key + SEP + FIRE);
      }
      const complete = fireAt(end) <= w;
      const emitNow = mode === 'onUpdate' || (mode === 'onWatermark' && complete);
      const session: Session<A> = { start, end, acc, emitted: emitted || emitNow };
      list.splice(i0, i1 - i0, session);
      sessions.set(key, list);
      if (closeTimer) timers.register(closeAt(end), key + SEP + CLOSE);
      if (!purgeOnClose) timers.register(purgeAt(end), key + SEP + PURGE);
      if (mode === 'onWatermark' && !complete) timers.register(fireAt(end), key + SEP + FIRE);
      for (const old of retracted) retract(old, old.end, key);
      if (emitNow) emit(out(key, session), end, key);
    },
    onWatermark(w) {
      timers.fire(w, onTimer);
    },
  };
}
