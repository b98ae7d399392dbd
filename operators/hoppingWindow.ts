import { ssError } from '../schemas/errors.js';
import { checkDuration, createTimeWindowOperator, type TimeWindowSpec } from '../engine/windows.js';

export interface HoppingWindowOptions {
  /** Window length. */
  readonly sizeMs: number;
  /** Distance between window starts; `0 < advanceMs <= sizeMs`. */
  readonly advanceMs: number;
  /** How long after its end a window still accepts late records. Explicit: 0 means none. */
  readonly graceMs: number;
}

/**
 * Hopping event-time windows (Flink: sliding; Kafka Streams: `TimeWindows.advanceBy`): windows of
 * `size` starting every `advance`, aligned to the epoch, `[start, start + size)`. A record falls in
 * up to `ceil(size / advance)` windows; windows with a negative start are not created (Kafka
 * Streams' rule). A record too late for some of its windows still counts in the open ones; only
 * a record too late for all of them goes to the side output `late`.
 *
 * ```text
 * size 10, advance 5, grace 0
 * in (ts):  7          -> windows [0,10) and [5,15)
 * ```
 */
export function hoppingWindow(opts: HoppingWindowOptions): TimeWindowSpec {
  return {
    kind: 'hopping',
    graceMs: opts.graceMs,
    params: { sizeMs: opts.sizeMs, advanceMs: opts.advanceMs, graceMs: opts.graceMs },
    validate(stepId) {
      checkDuration(stepId, 'sizeMs', opts.sizeMs, 1);
      checkDuration(stepId, 'advanceMs', opts.advanceMs, 1);
      checkDuration(stepId, 'graceMs', opts.graceMs, 0);
      if (opts.advanceMs > opts.sizeMs) {
        throw ssError('SS_ERR_GRAPH_INVALID', `window advanceMs (${opts.advanceMs}) must not exceed sizeMs (${opts.sizeMs})`, { stepId });
      }
    },
    create(rt, agg, o) {
      return createTimeWindowOperator(rt, agg, o, opts.sizeMs, opts.advanceMs, opts.graceMs);
    },
  };
}
