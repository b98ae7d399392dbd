import { ssError } from '../schemas/errors.js';
import type { OperatorDef } from '../engine/graph.js';
import { userError } from '../engine/userFn.js';

export interface DedupeOptions<T> {
  /** The identity of a record (e.g. the event id); a non-empty string. */
  readonly id: (value: T) => string;
  /** Event-time span within which a repeated id is a duplicate; an integer >= 1. */
  readonly ttlMs: number;
}

const SEP = '\u0001';

/**
 * Drops repeated records: a record whose id was already let through at an event time less than
 * `ttlMs` away is a duplicate. Works on any stream (keyed or not): state is keyed by the id (not
 * the stream key), and each record keeps its own event time and key.
 *
 * Exact rule: the step remembers, per id, the event time `t0` of every occurrence it let through,
 * until the watermark passes `t0 + ttlMs` (see State retention). A record `(id, t)` is a duplicate
 * iff some remembered `t0` has `|t - t0| < ttlMs`; otherwise it passes and is remembered too. So a
 * record exactly `ttlMs` away from every remembered occurrence passes, duplicates never extend the
 * span (a flood of re-sends cannot hold an id forever), and an exact re-send of any occurrence
 * that passed is dropped, even if an older one passed after it. Arrival order decides which of
 * two copies is "first".
 *
 * Outputs: a passing record is emitted at once; a duplicate goes to the side output `duplicates`
 * (which counts it in the step's `duplicates` metric).
 *
 * State retention: one entry per occurrence let through, with a state TTL of `ttlMs` from its own
 * event time (see `engine/state.ts`): the entry for `t0` is invisible to records at
 * `t >= t0 + ttlMs` and is removed from memory once the watermark has passed `t0 + ttlMs`. The
 * remembered occurrences of an id are at least `ttlMs` apart, so each `ttlMs`-wide bucket of event
 * time (`floor(t0 / ttlMs)`) holds at most one: the entry's key is the id and the bucket of `t0`,
 * and a record looks at its own bucket and the two beside it. An on-time record (`t > watermark`) can no longer be within
 * `ttlMs` of an expired `t0`, so expiry never changes the outcome for on-time records; a late
 * record (`t <= watermark`) is judged against what is still retained. Everything depends only on
 * the input order and the watermarks, never on the wall clock, so a replay gives the same result.
 *
 * ```text
 * ttlMs 10, id = order id
 * in:   A@0  A@4  B@5  A@9  A@10  A@15  A@0
 * out:  A@0       B@5       A@10
 * dup:       A@4       A@9        A@15  A@0
 * ```
 * The last A@0 re-sends the first one: a duplicate, though A@10 (10 away) passed since.
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
      // Key: id SEP floor(t0 / ttlMs); value: t0.
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
          // Read and write at this record's event time: an entry's TTL counts from its own t0.
          const before = time.currentTime;
          time.currentTime = ts;
          const bucket = Math.floor(ts / ttlMs);
          let duplicate = false;
          for (let b = bucket - 1; b <= bucket + 1 && !duplicate; b++) {
            const t0 = seen.get(id + SEP + b);
            duplicate = t0 !== undefined && Math.abs(ts - t0) < ttlMs;
          }
          // Not a duplicate: this record's bucket is free (an occurrence in it would be less than
          // ttlMs away).
          if (!duplicate) seen.set(id + SEP + bucket, ts);
          time.currentTime = before;
          if (duplicate) duplicates(value, ts, key);
          else emit(value, ts, key);
        },
      };
    },
  };
}
