import { ssError } from '../schemas/errors.js';
import type { OperatorDef } from '../engine/graph.js';
import type { ListState } from '../engine/state.js';
import { userError } from '../engine/userFn.js';

/** Which unmatched records an interval join emits (with `null` for the missing side). */
export type JoinType = 'inner' | 'left' | 'outer';

/** The left argument of a joiner: `null` only in an outer join (an unmatched right record). */
export type JoinLeft<L, J extends JoinType> = J extends 'outer' ? L | null : L;
/** The right argument of a joiner: `null` in left and outer joins (an unmatched left record). */
export type JoinRight<R, J extends JoinType> = J extends 'inner' ? R : R | null;

export interface IntervalJoinOptions<J extends JoinType = 'inner'> {
  /** A right record joins a left record `l` when `r.ts >= l.ts + lowerMs` (may be negative). */
  readonly lowerMs: number;
  /** ... and `r.ts <= l.ts + upperMs`. Must be `>= lowerMs`. */
  readonly upperMs: number;
  /** Whether `r.ts == l.ts + lowerMs` joins (default true). */
  readonly lowerInclusive?: boolean;
  /** Whether `r.ts == l.ts + upperMs` joins (default true). */
  readonly upperInclusive?: boolean;
  /** How far behind the watermark a record may still arrive and join (default 0, as Flink). */
  readonly graceMs?: number;
  /** `inner` (default), `left` (unmatched left records too) or `outer` (unmatched of both sides). */
  readonly joinType?: J;
}

/** One buffered record. `matched` is kept only for a side whose unmatched records are emitted. */
interface Buffered<V> {
  readonly ts: number;
  readonly value: V;
  matched: boolean;
}

const SEP = '\u0001';
const LEFT = 'L';
const RIGHT = 'R';

/**
 * Joins two keyed streams on key and time: emits `joiner(l, r)` for every left record `l` and right
 * record `r` with the same key and `l.ts + lowerMs <= r.ts <= l.ts + upperMs`, as Flink's
 * `IntervalJoinOperator`. Input 0 is the left stream, input 1 the right stream; both must be keyed.
 * A Kafka Streams `JoinWindows(before, after)` is `lowerMs: -before, upperMs: after`.
 *
 * - **When it emits:** an inner pair as soon as its second record arrives, in arrival order, with
 *   event time `max(l.ts, r.ts)` under the shared key. Pairs found by one arriving record follow the
 *   buffer's arrival order.
 * - **Bounds:** inclusive by default; `lowerInclusive: false` / `upperInclusive: false` make them
 *   exclusive (ms are integers, so `(a, b)` is `[a + 1, b - 1]`). An interval that is empty after
 *   that, or `lowerMs > upperMs`, fails at build time (`SS_ERR_GRAPH_INVALID`).
 * - **Lateness:** as Flink's `isLate`: with `W` the step's watermark (the minimum over both
 *   inputs), a record with `ts < W - graceMs` is late: it is not buffered or joined, goes to the side
 *   output `late` (left and right records alike, as they came) and counts `late_records`. A record
 *   at exactly `W - graceMs` is still taken, as Flink and Kafka Streams take it; at that one boundary
 *   it cannot meet a partner whose buffer closed at this very watermark (below), as in Flink.
 * - **State retention:** each side buffers its records per key. A left record is dropped once
 *   `W >= l.ts + upperMs + graceMs`, a right record once `W >= r.ts - lowerMs + graceMs` (event-time
 *   timers; nothing that arrives after that can match them). With steady input the buffers hold
 *   about `upperMs - lowerMs + graceMs` of records per key, and go to zero when input stops and the
 *   watermark passes.
 * - **Left / outer joins** (as Kafka Streams' `leftJoin` / `outerJoin` with
 *   `JoinWindows.ofTimeDifferenceAndGrace`, free of spurious results since 3.1): a left record (and,
 *   for `outer`, a right record) that never matched is emitted as `joiner(l, null)` (`joiner(null, r)`)
 *   when its window closes, i.e. when it is dropped from the buffer, with its own event time. One
 *   that matched once is never emitted with `null`. A record whose window has already closed when it
 *   arrives (possible only with a negative bound) is joined with what is buffered and, if unmatched,
 *   emitted with `null` at once, as Kafka does. Unmatched records are emitted in order of window
 *   close, then key, then arrival. Their event time may be behind the watermark downstream.
 * - A joiner that throws dead-letters the arriving record (pairs emitted before it stay emitted), or,
 *   while emitting unmatched records, the watermark advance (the other records are still emitted).
 *
 * ```text
 * lowerMs -1, upperMs 1, inner
 * left:   a@1            b@5
 * right:       x@2   y@3
 * out:         (a,x)@2
 * W=4:   left a dropped (1 + 1 <= 4), right x, y dropped (2 + 1, 3 + 1 <= 4)
 * ```
 */
export function intervalJoin<L, R, O, J extends JoinType = 'inner'>(
  stepId: string,
  opts: IntervalJoinOptions<J>,
  joiner: (left: JoinLeft<L, J>, right: JoinRight<R, J>) => O,
): OperatorDef<L | R, O> {
  const joinType: JoinType = opts.joinType ?? 'inner';
  const lowerInclusive = opts.lowerInclusive ?? true;
  const upperInclusive = opts.upperInclusive ?? true;
  const graceMs = opts.graceMs ?? 0;
  // Integer ms: exclusive bounds become inclusive ones one ms inside (as Flink does).
  const lo = lowerInclusive ? opts.lowerMs : opts.lowerMs + 1;
  const hi = upperInclusive ? opts.upperMs : opts.upperMs - 1;
  const emitLeftUnmatched = joinType !== 'inner';
  const emitRightUnmatched = joinType === 'outer';
  // The joiner is called with null only on the sides the join type allows; the types say so.
  const join = joiner as (left: L | null, right: R | null) => O;

  return {
    kind: 'intervalJoin',
    stepId,
    stateful: true,
    keyed: true,
    arity: 2,
    sideOutputs: ['late'],
    params: { lowerMs: opts.lowerMs, upperMs: opts.upperMs, lowerInclusive, upperInclusive, graceMs, joinType },
    validate(id) {
      const bad = (msg: string): never => {
        throw ssError('SS_ERR_GRAPH_INVALID', msg, { stepId: id });
      };
      if (!Number.isSafeInteger(opts.lowerMs)) bad(`lowerMs must be an integer, got ${opts.lowerMs}`);
      if (!Number.isSafeInteger(opts.upperMs)) bad(`upperMs must be an integer, got ${opts.upperMs}`);
      if (opts.lowerMs > opts.upperMs) bad(`lowerMs (${opts.lowerMs}) must be <= upperMs (${opts.upperMs})`);
      if (lo > hi) {
        bad(`the interval ${lowerInclusive ? '[' : '('}${opts.lowerMs}, ${opts.upperMs}${upperInclusive ? ']' : ')'} is empty`);
      }
      if (!Number.isSafeInteger(graceMs) || graceMs < 0) bad(`graceMs must be an integer >= 0, got ${graceMs}`);
      if (joinType !== 'inner' && joinType !== 'left' && joinType !== 'outer') {
        bad(`joinType must be 'inner', 'left' or 'outer', got ${String(joinType)}`);
      }
    },
    create(rt) {
      const id = rt.stepId;
      const lefts: ListState<Buffered<L>> = rt.state.listState(id, 'left');
      const rights: ListState<Buffered<R>> = rt.state.listState(id, 'right');
      const timers = rt.state.timers(id, 'close');
      const emit = rt.emit;
      const late = rt.side('late');
      const metrics = rt.metrics;

      const pair = (l: L | null, r: R | null): O => {
        try {
          return join(l, r);
        } catch (e) {
          throw userError(id, e);
        }
      };

      /** Joins an arriving record with the other side's buffer; returns whether it matched. */
      const probe = <Other>(
        others: ListState<Buffered<Other>>,
        trackOthers: boolean,
        key: string,
        ts: number,
        from: number,
        to: number,
        out: (other: Other) => O,
      ): boolean => {
        const list = others.get(key);
        let matched = false;
        let marked = false;
        for (const e of list) {
          if (e.ts < from || e.ts > to) continue;
          matched = true;
          if (trackOthers && !e.matched) {
            e.matched = true;
            marked = true;
          }
          emit(out(e.value), Math.max(ts, e.ts), key);
        }
        // Entries were flagged in place; writing the list back records the change for write-behind.
        if (marked) others.set(key, list as Array<Buffered<Other>>);
        return matched;
      };

      const closeLeft = (ts: number): number => ts + hi + graceMs;
      const closeRight = (ts: number): number => ts - lo + graceMs;

      const onClose = (t: number, timerKey: string): void => {
        const i = timerKey.lastIndexOf(SEP);
        const key = timerKey.slice(0, i);
        const isLeft = timerKey.slice(i + 1) === LEFT;
        let failure: unknown;
        const expire = <V>(buffer: ListState<Buffered<V>>, closeOf: (ts: number) => number, unmatched: ((v: V) => O) | undefined): void => {
          const list = buffer.get(key);
          const keep: Array<Buffered<V>> = [];
          const gone: Array<Buffered<V>> = [];
          for (const e of list) (closeOf(e.ts) <= t ? gone : keep).push(e);
          if (gone.length === 0) return;
          buffer.set(key, keep);
          if (unmatched === undefined) return;
          for (const e of gone) {
            if (e.matched) continue;
            try {
              emit(unmatched(e.value), e.ts, key);
            } catch (err) {
              failure ??= err;
            }
          }
        };
        if (isLeft) expire(lefts, closeLeft, emitLeftUnmatched ? (l: L) => pair(l, null) : undefined);
        else expire(rights, closeRight, emitRightUnmatched ? (r: R) => pair(null, r) : undefined);
        if (failure !== undefined) throw failure;
      };

      return {
        process(value, ts, key, input) {
          if (ts < rt.watermark() - graceMs) {
            metrics.inc('late_records');
            late(value, ts, key);
            return;
          }
          if (input === 0) {
            const l = value as L;
            const matched = probe(rights, emitRightUnmatched, key, ts, ts + lo, ts + hi, (r: R) => pair(l, r));
            const close = closeLeft(ts);
            if (close <= rt.watermark()) {
              if (!matched && emitLeftUnmatched) emit(pair(l, null), ts, key);
              return;
            }
            lefts.add(key, { ts, value: l, matched });
            timers.register(close, key + SEP + LEFT);
          } else {
            const r = value as R;
            const matched = probe(lefts, emitLeftUnmatched, key, ts, ts - hi, ts - lo, (l: L) => pair(l, r));
            const close = closeRight(ts);
            if (close <= rt.watermark()) {
              if (!matched && emitRightUnmatched) emit(pair(null, r), ts, key);
              return;
            }
            rights.add(key, { ts, value: r, matched });
            timers.register(close, key + SEP + RIGHT);
          }
        },
        onWatermark(w) {
          timers.fire(w, onClose);
        },
      };
    },
  };
}
