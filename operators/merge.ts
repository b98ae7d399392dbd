import type { OperatorDef } from '../engine/graph.js';
import type { StepOptions } from './map.js';

/**
 * Merges `arity` streams into one. Records pass through in arrival order with their event time and
 * key; the merged watermark is the minimum of the inputs' watermarks, so a downstream timer waits
 * for the slowest input (an idle input stops holding it back after its idle timeout).
 *
 * ```text
 * a:    1     3
 * b:       2     4
 * out:  1  2  3  4
 * ```
 */
export function merge<T>(arity: number, opts: StepOptions = {}): OperatorDef<T, T> {
  return {
    kind: 'merge',
    stepId: opts.name,
    stateful: false,
    keyed: false,
    arity,
    create(rt) {
      const emit = rt.emit;
      return {
        process(value, ts, key) {
          emit(value, ts, key);
        },
      };
    },
  };
}
