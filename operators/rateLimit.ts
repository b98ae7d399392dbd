import { ssError } from '../schemas/errors.js';
import type { OperatorDef } from '../engine/graph.js';

export interface RateLimitOptions {
  /** Records let through per key in any `perMs` span of event time; an integer >= 1. */
  readonly max: number;
  /** Length of the span, ms; an integer >= 1. */
  readonly perMs: number;
}

/**
 * Caps a keyed stream at `max` records per key in any `perMs` of event time (a sliding log over
 * event time, not a token bucket: it has no refill rate to round, so the rule is exact).
 *
 * Exact rule: per key, the step keeps the event times of the records it let through (the log). A
 * record at `t` passes iff, with it added, every half-open window `[s, s + perMs)` that contains
 * `t` holds at most `max` passed records; equivalently, iff no `max` logged times together with
 * `t` span less than `perMs`. So the `(max+1)`-th record within `perMs` is limited, and one
 * exactly `perMs` after the first of `max` passes. Limited records do not count against the limit.
 * The rule looks both ways in event time, so it holds for out-of-order input too: no window of
 * `perMs` ever lets through more than `max` records of a key. Arrival order decides which records
 * of a burst pass.
 *
 * Outputs: a passing record is emitted at once, with its event time and key; a limited one goes
 * to the side output `limited` (which counts it in the step's `limited` metric).
 *
 * State retention: per key, only the logged times that can still share a window with an on-time
 * record (`t > watermark - perMs`) are kept, so a key's log never holds more than `max` times per
 * `perMs` of event time ahead of the watermark minus `perMs`; a key whose last pass is `perMs`
 * behind the watermark is dropped entirely (state TTL in event time). A late record
 * (`t <= watermark`) is judged against what is retained. Decisions depend only on input order and
 * watermarks, so a replay gives the same result.
 *
 * ```text
 * max 2, perMs 10, one key
 * in:   @0  @3  @5  @10  @12  @13
 * out:  @0  @3       @10       @13      (@5: 0,3,5 within 10; @12: 3,10,12 within 10)
 * lim:          @5        @12
 * ```
 */
export function rateLimit<T>(stepId: string, opts: RateLimitOptions): OperatorDef<T, T> {
  const { max, perMs } = opts;
  return {
    kind: 'rateLimit',
    stepId,
    stateful: true,
    keyed: true,
    sideOutputs: ['limited'],
    params: { max, perMs },
    validate(step) {
      if (!Number.isInteger(max) || max < 1) {
        throw ssError('SS_ERR_GRAPH_INVALID', `rateLimit max must be an integer >= 1, got ${max}`, { stepId: step });
      }
      if (!Number.isInteger(perMs) || perMs < 1) {
        throw ssError('SS_ERR_GRAPH_INVALID', `rateLimit perMs must be an integer >= 1 ms, got ${perMs}`, { stepId: step });
      }
    },
    create(rt) {
      const step = rt.stepId;
      // Sorted ascending. TTL: the whole log goes once the watermark is perMs past its last time.
      const logs = rt.state.valueState<number[]>(step, 'log', { ttlMs: perMs });
      const time = rt.state.time;
      const emit = rt.emit;
      const limited = rt.side('limited');
      return {
        process(value, ts, key) {
          const w = rt.watermark();
          const stored = logs.get(key);
          // Times at or before w - perMs cannot share a window with any on-time record.
          let log = stored === undefined ? [] : stored.filter((x) => x > w - perMs);
          if (!fits(log, ts, max, perMs)) {
            if (stored !== undefined && log.length !== stored.length) store(key, log);
            limited(value, ts, key);
            return;
          }
          log = insertSorted(log, ts);
          store(key, log);
          emit(value, ts, key);
        },
      };

      function store(key: string, log: number[]): void {
        if (log.length === 0) {
          logs.delete(key);
          return;
        }
        // Expiry counts from the latest logged time (the backend takes max(it, watermark)).
        const before = time.currentTime;
        time.currentTime = log[log.length - 1]!;
        logs.set(key, log);
        time.currentTime = before;
      }
    },
  };
}

/** Whether `t` can join the sorted `log` with no `max + 1` times spanning less than `perMs`. */
function fits(log: readonly number[], t: number, max: number, perMs: number): boolean {
  if (log.length < max) return true;
  const merged = insertSorted(log, t);
  // Position of t (any of equal values gives the same spans).
  const at = merged.indexOf(t);
  for (let first = Math.max(0, at - max); first <= at && first + max < merged.length; first++) {
    if (merged[first + max]! - merged[first]! < perMs) return false;
  }
  return true;
}

function insertSorted(log: readonly number[], t: number): number[] {
  let i = log.length;
  while (i > 0 && log[i - 1]! > t) i--;
  return [...log.slice(0, i), t, ...log.slice(i)];
}
