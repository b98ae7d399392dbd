import { checkDuration, createTimeWindowOperator, type TimeWindowSpec } from '../engine/windows.js';

export interface TumblingWindowOptions {
  /** Window length. */
  readonly sizeMs: number;
  /** How long after its end a window still accepts late records. Explicit: 0 means none. */
  readonly graceMs: number;
}

/**
 * Tumbling event-time windows: fixed-size, non-overlapping, aligned to the epoch:
 * `[k*size, (k+1)*size)`. Each record falls in exactly one window. Use with `aggregate`, `count`
 * or `reduce` on a keyed stream; emission per the chosen `EmitMode`; late records (for a closed
 * window) go to the side output `late`.
 *
 * ```text
 * size 10, grace 0, emit onClose
 * in (ts):   1  4  9 | 12 | 25                 (watermark = max ts - 1)
 * out:                       [0,10)=3 @9  [10,20)=1 @19   (at 25: W=24 >= 19)
 * ```
 */
export function tumblingWindow(opts: TumblingWindowOptions): TimeWindowSpec {
  return {
    kind: 'tumbling',
    graceMs: opts.graceMs,
    params: { sizeMs: opts.sizeMs, graceMs: opts.graceMs },
    validate(stepId) {
      checkDuration(stepId, 'sizeMs', opts.sizeMs, 1);
      checkDuration(stepId, 'graceMs', opts.graceMs, 0);
    },
    create(rt, agg, o) {
      return createTimeWindowOperator(rt, agg, o, opts.sizeMs, opts.sizeMs, opts.graceMs);
    },
  };
}
