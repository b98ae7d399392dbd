import { ssError } from '../schemas/errors.js';
import type { OperatorDef } from '../engine/graph.js';
import { userError } from '../engine/userFn.js';

export interface DedupeOptions<T> {
  /** The identity of a record (e.g. the event id); a non-empty string. */
  readonly id: (value: T) => string;
  /** Event-time span within which a repeated id is a duplicate; an integer >= 1. */
  readonly ttlMs: number;
}

/**
 * Drops repeated records: a record whose id was already let through at an event time less than
 * `ttlMs` away is a duplicate. Works on any stream (keyed or not): the id is the state key, and
 * each record keeps its own event time and key.
 *
 * Exact rule: the step remembers, per id, the event time `t0` of the last occurrence it let
 * through. A record `(id, t)` is a duplicate iff such a `t0` is remembered and `|t - t0| < ttlMs`;
 * otherwise it passes and becomes the new `t0`. So a record exactly `ttlMs` after the first one
 * passes, and duplicates never extend the span (a flood of re-sends cannot hold an id forever).
 * Arrival order decides which of two copies is "first".
 *
 * Outputs: a passing record is emitted at once; a duplicate goes to the side output `duplicates`
 * (which counts it in the step's `duplicates` metric).
 *
 * State retention: one entry per id, with a state TTL of `ttlMs` in event time (see
 * `engine/state.ts`): the entry for `t0` is invisible to records at `t >= t0 + ttlMs` and is
 * removed from memory once the watermark has passed `t0 + ttlMs`. An on-time record
 * (`t > watermark`) can then no longer be within `ttlMs` of `t0`, so expiry never changes the
 * outcome for on-time records; a late record (`t <= watermark`) is judged against what is still
 * retained. Everything depends only on the input order and the watermarks, never on the wall
 * clock, so a replay gives the same result.
 *
 * ```text
 * ttlMs 10, id = order id
 * in:   A@0  A@4  B@5  A@9  A@10  A@15
 * out:  A@0       B@5       A@10
 * dup:       A@4       A@9        A@15
 * ```
 */
export function dedupe<T>(stepId: string, opts: DedupeOptions<T>): OperatorDef<T, T> {
  const { id: idOf, ttlMs } = opts;
  return {
    kind: 'dedupe',
    stepId,
    stateful: true,
    keyed: false,
    sideOutputs: ['duplicates'],
    params: { ttlMs, id: idOf },
    validate(step) {
      if (!Number.isInteger(ttlMs) || ttlMs < 1) {
        throw ssError('SS_ERR_GRAPH_INVALID', `dedupe ttlMs must be an integer >= 1 ms, got ${ttlMs}`, { stepId: step });
      }
    },
    create(rt) {
      const step = rt.stepId;
      const seen = rt.state.valueState<number>(step, 'seen', { ttlMs });
      const time = rt.state.time;
      const emit = rt.emit;
      const duplicates = rt.side('duplicates');
      return {
        process(value, ts, key) {
          let id: string;
          try {
            id = idOf(value);
          } catch (e) {
            throw userError(step, e);
          }
          if (typeof id !== 'string' || id === '') {
            throw userError(step, new Error(`dedupe id must be a non-empty string, got ${JSON.stringify(id)}`));
          }
          const t0 = seen.get(id);
          if (t0 !== undefined && Math.abs(ts - t0) < ttlMs) {
            duplicates(value, ts, key);
            return;
          }
          // The TTL counts from this record's event time (the backend takes max(it, watermark)).
          const before = time.currentTime;
          time.currentTime = ts;
          seen.set(id, ts);
          time.currentTime = before;
          emit(value, ts, key);
        },
      };
    },
  };
}
