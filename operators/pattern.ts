import type { OperatorDef } from '../engine/graph.js';
import { compilePattern, expire, step, toMatch, type Match, type Pattern, type RawMatch, type Run } from '../engine/pattern.js';
import { userError } from '../engine/userFn.js';

export interface PatternOptions {
  /**
   * Report partial matches whose `within` expired on the side output `timeout` (Flink's timed-out
   * partial matches), as `Match` values with the deadline as event time. Default false.
   */
  readonly timeouts?: boolean;
}

interface Buffered<T> {
  readonly ts: number;
  readonly v: T;
}

/**
 * Finds a sequence {@link Pattern} per key (Flink CEP's `CEP.pattern(keyedStream, pattern)`) and
 * emits each match as `{ stage: records }`, every positive stage present (an optional stage that
 * was skipped has `[]`).
 *
 * - Ordering: records are buffered per key and run through the automaton **in event-time order
 *   when the watermark passes them** (ties in arrival order), as Flink CEP does; so out-of-order
 *   input within the source's bound gives the same matches as sorted input. A record with the
 *   same event time as a match's first record but arriving after it counts as following it (so a
 *   `buy` at the very `add` timestamp cancels, unlike `notFollowedBy`'s `(start, deadline]`).
 * - Lateness: a record with `ts <= watermark` on arrival goes to the side output `late` (counted
 *   as `late_records`); it is not matched.
 * - `within(ms)`: a match spans `ts <= first.ts + ms` (inclusive). Partial matches are pruned when
 *   the watermark reaches `first.ts + ms`, and reported on the side output `timeout` if
 *   `opts.timeouts`. A pattern ending in `notFollowedBy` completes **when that deadline passes**
 *   (a timer at `first.ts + ms`, fired once every record with `ts <=` the deadline was seen, so an
 *   idle input still fires it once the source goes idle); a matching record at exactly the
 *   deadline cancels it. Without `within`, partial matches live until they complete or fail.
 * - Emission: when the record completing the match is processed, with its event time; an absence
 *   at its deadline, with the deadline as event time; a trailing `notNext` when the next record
 *   of the key (which does not match) is processed, with that record's event time.
 * - No after-match skipping: every combination is reported (Flink's `noSkip`).
 * - State per key in `rt.state` (buffer, partial matches) and timers, all snapshotted. A
 *   predicate that throws sends the record to the side output `errors` (`{ value, error }`) and
 *   the key's partial matches are left as they were before it.
 *
 * ```text
 * patternOf<Shop>().begin('add').where(isAdd).notFollowedBy('buy').where(isBuy).within(30)
 * in (key k):  add@0   add@10   buy@35            (watermark = max ts - 1)
 * out:                                 {add:[add@0]}@30   (add@10 cancelled by buy@35 <= 40)
 * ```
 */
export function pattern<T, M extends object>(stepId: string, p: Pattern<T, M, string>, opts: PatternOptions = {}): OperatorDef<T, Match<M>> {
  const timeouts = opts.timeouts === true;
  return {
    kind: 'pattern',
    stepId,
    stateful: true,
    keyed: true,
    sideOutputs: timeouts ? ['late', 'errors', 'timeout'] : ['late', 'errors'],
    params: { stages: p.stages.map((s) => `${s.kind}:${s.name}`).join(' '), withinMs: p.withinMs ?? null, timeouts },
    validate(id) {
      compilePattern(p, id);
    },
    create(rt) {
      const id = rt.stepId;
      const pat = compilePattern(p, id);
      const within = pat.withinMs;
      const buffers = rt.state.valueState<Array<Buffered<T>>>(id, 'buffer');
      const runState = rt.state.valueState<Array<Run<T>>>(id, 'runs');
      const timers = rt.state.timers(id, 'pattern');
      const emit = rt.emit;
      const late = rt.side('late');
      const errors = rt.side('errors');
      const timeout = timeouts ? rt.side('timeout') : null;
      const matches: Array<RawMatch<T>> = [];
      const timedOut: Array<RawMatch<T>> | null = timeouts ? [] : null;

      const flush = (key: string): void => {
        for (const m of matches) emit(toMatch<M>(pat, m.ev), m.ts, key);
        matches.length = 0;
        if (timedOut !== null && timeout !== null) {
          for (const m of timedOut) timeout(toMatch<M>(pat, m.ev), m.ts, key);
          timedOut.length = 0;
        }
      };

      const onTimer = (t: number, key: string): void => {
        rt.state.time.currentTime = t;
        let runs: Array<Run<T>> = runState.get(key) ?? [];
        const buf = buffers.get(key);
        let i = 0;
        if (buf !== undefined) {
          while (i < buf.length && buf[i]!.ts <= t) {
            const { ts, v } = buf[i++]!;
            runs = expire(pat, runs, ts, false, matches, timedOut);
            flush(key);
            try {
              runs = step(pat, runs, v, ts, matches);
            } catch (e) {
              matches.length = 0;
              rt.metrics.inc('user_errors');
              errors({ value: v, error: userError(id, e) }, ts, key);
              continue;
            }
            flush(key);
            if (within !== undefined && runs.length > 0) timers.register(ts + within, key);
          }
          if (i === buf.length) buffers.delete(key);
          else if (i > 0) buffers.set(key, buf.slice(i));
        }
        runs = expire(pat, runs, t, true, matches, timedOut);
        flush(key);
        if (runs.length > 0) runState.set(key, runs);
        else runState.delete(key);
      };

      return {
        process(value, ts, key) {
          if (ts <= rt.watermark()) {
            rt.metrics.inc('late_records');
            late(value, ts, key);
            return;
          }
          const entry: Buffered<T> = { ts, v: value };
          const buf = buffers.get(key);
          if (buf === undefined) buffers.set(key, [entry]);
          else {
            // Mostly in order: find the slot from the end; equal timestamps keep arrival order.
            let j = buf.length;
            while (j > 0 && buf[j - 1]!.ts > ts) j--;
            buf.splice(j, 0, entry);
            buffers.set(key, buf);
          }
          timers.register(ts, key);
        },
        onWatermark(w) {
          timers.fire(w, onTimer);
        },
      };
    },
  };
}
