import { ssError } from '../schemas/errors.js';
import type { OperatorDef } from '../engine/graph.js';
import { userError } from '../engine/userFn.js';

export interface NotFollowedByOptions<T, S extends T> {
  /** A record that (re)arms the deadline; a type guard narrows `start` in the output. */
  readonly start: ((value: T) => value is S) | ((value: T) => boolean);
  /** A record that cancels the armed deadline. */
  readonly absent: (value: T) => boolean;
  /** The deadline is `start.ts + withinMs`. Required: an absence without a time bound never ends. */
  readonly withinMs: number;
}

/** An absence: `start` was not followed by an `absent` record in `(startTs, deadline]`. */
export interface Absence<S> {
  readonly start: S;
  readonly startTs: number;
  readonly deadline: number;
}

/** Per-key state: the latest start, whether its deadline is armed, the latest cancelling record. */
interface Arm<S> {
  /** Event time of the latest start seen (-Infinity: none). */
  s: number;
  v: S | undefined;
  armed: boolean;
  /** Event time of the latest cancelling record seen (-Infinity: none). */
  c: number;
  /** Armed starts whose deadline precedes the latest start (a start more than `within` after the previous one, before the watermark reached its deadline). */
  old: Array<{ s: number; v: S }> | null;
}

/**
 * The retail absence, fast: per key, a `start` record arms a deadline `start.ts + withinMs`; the
 * **latest start re-arms it** (SCENES.md 3.1 cart abandonment); an `absent` record with event time
 * in `(start.ts, deadline]` cancels it (one at exactly the deadline still cancels); when the
 * watermark reaches the deadline (every record with `ts <= deadline` seen, so a quiet input fires
 * it once the source goes idle) it emits `{ start, startTs, deadline }` with the deadline as event
 * time. After it fires or is cancelled nothing is armed until the next start.
 *
 * Unlike `pattern(begin('a').notFollowedBy('b').within(T))` (Flink's semantics: every start has its
 * own deadline), a start within `withinMs` of an armed one replaces it. A record that is both
 * `absent` and `start` first cancels, then re-arms.
 *
 * - Ordering: the result is that of processing the key's records in event-time order (ties in
 *   arrival order) without buffering them: it keeps only the latest start and the latest
 *   cancelling record per key, which is exact as long as the source's out-of-orderness bound is
 *   smaller than `withinMs` (the retail case: seconds vs. 30 min).
 * - Lateness: a record with `ts <= watermark` goes to the side output `late` (`late_records`).
 * - State: one small object per key with something armed, dropped once the watermark passes both
 *   the deadline and the latest cancelling record; one deduplicated timer per armed key.
 * - A predicate that throws: the record goes to the side output `errors` (`{ value, error }`).
 *
 * ```text
 * withinMs 30
 * in (key k):  add@0   add@10   buy@45 | add@50 (idle...)
 * out:                                   {add@10, 10, 40}@40        {add@50, 50, 80}@80
 * ```
 */
export function notFollowedBy<T, S extends T = T>(stepId: string, opts: NotFollowedByOptions<T, S>): OperatorDef<T, Absence<S>> {
  const within = opts.withinMs;
  const isStart = opts.start as (value: T) => boolean;
  const isAbsent = opts.absent;
  return {
    kind: 'notFollowedBy',
    stepId,
    stateful: true,
    keyed: true,
    sideOutputs: ['late', 'errors'],
    params: { withinMs: within },
    validate(id) {
      if (!(Number.isInteger(within) && within >= 0)) {
        throw ssError('SS_ERR_GRAPH_INVALID', `notFollowedBy needs withinMs, an integer >= 0 ms (the absence deadline), got ${String(within)}`, { stepId: id });
      }
    },
    create(rt) {
      const id = rt.stepId;
      const arms = rt.state.valueState<Arm<S>>(id, 'arms');
      const timers = rt.state.timers(id, 'deadlines');
      const emit = rt.emit;
      const late = rt.side('late');
      const errors = rt.side('errors');

      const onTimer = (t: number, key: string): void => {
        const a = arms.get(key);
        if (a === undefined) return;
        rt.state.time.currentTime = t;
        if (a.old !== null) {
          for (const o of a.old) if (o.s + within === t) emit({ start: o.v, startTs: o.s, deadline: t }, t, key);
          a.old = a.old.filter((o) => o.s + within > t);
          if (a.old.length === 0) a.old = null;
        }
        if (a.armed && a.s + within === t) {
          a.armed = false;
          emit({ start: a.v!, startTs: a.s, deadline: t }, t, key);
        }
        if (a.armed || a.old !== null) arms.set(key, a);
        else {
          const keep = Math.max(a.s, a.c);
          if (keep <= t) arms.delete(key);
          else {
            arms.set(key, a);
            timers.register(keep, key);
          }
        }
      };

      const fresh = (): Arm<S> => ({ s: -Infinity, v: undefined, armed: false, c: -Infinity, old: null });

      return {
        process(value, ts, key) {
          if (ts <= rt.watermark()) {
            rt.metrics.inc('late_records');
            late(value, ts, key);
            return;
          }
          let starts: boolean;
          let cancels: boolean;
          try {
            cancels = isAbsent(value);
            starts = isStart(value);
          } catch (e) {
            rt.metrics.inc('user_errors');
            errors({ value, error: userError(id, e) }, ts, key);
            return;
          }
          if (!starts && !cancels) return;
          let a = arms.get(key);
          if (cancels) {
            if (a === undefined) a = fresh();
            // The deadline timer stays: when it fires it finds nothing armed and cleans up.
            if (a.armed && ts > a.s && ts <= a.s + within) a.armed = false;
            if (a.old !== null) {
              for (const o of a.old) if (ts > o.s && ts <= o.s + within) timers.delete(o.s + within, key);
              a.old = a.old.filter((o) => !(ts > o.s && ts <= o.s + within));
              if (a.old.length === 0) a.old = null;
            }
            if (ts > a.c) a.c = ts;
            // Kept until the watermark passes it (an older start may still arrive): the pending
            // deadline timer, if any, cleans up; otherwise one at the cancel itself.
            if (!a.armed && !(a.s + within >= a.c && timers.has(a.s + within, key))) timers.register(a.c, key);
          }
          if (starts) {
            if (a === undefined) a = fresh();
            const cancelled = a.c > ts && a.c <= ts + within;
            if (ts >= a.s) {
              if (a.armed) {
                // Its deadline is before this start: it still fires on its own.
                if (ts > a.s + within) (a.old ??= []).push({ s: a.s, v: a.v! });
                else timers.delete(a.s + within, key);
              }
              a.s = ts;
              a.v = value as S;
              a.armed = !cancelled;
              if (a.armed) timers.register(ts + within, key);
            } else if (a.s > ts + within && !cancelled) {
              // An older start not superseded by the latest (only with disorder >= withinMs).
              (a.old ??= []).push({ s: ts, v: value as S });
              timers.register(ts + within, key);
            }
          }
          arms.set(key, a!);
        },
        onWatermark(w) {
          timers.fire(w, onTimer);
        },
      };
    },
  };
}
