import type { OperatorDef } from '../engine/graph.js';
import { userError } from '../engine/userFn.js';
import type { StepOptions } from './map.js';

/**
 * Keeps the records for which `predicate` is true. Stateless; order, event time and key are kept.
 * A type-guard predicate narrows the output type:
 *
 * ```ts
 * clicks.filter((e): e is AddToCart => e.type === 'add_to_cart') // Stream<AddToCart>
 * ```
 * ```text
 * in:   1 2 3 4 5      predicate = n => n % 2 === 1
 * out:  1   3   5
 * ```
 */
export function filter<T, S extends T>(predicate: (value: T) => value is S, opts?: StepOptions): OperatorDef<T, S>;
export function filter<T>(predicate: (value: T) => boolean, opts?: StepOptions): OperatorDef<T, T>;
export function filter<T>(predicate: (value: T) => boolean, opts: StepOptions = {}): OperatorDef<T, T> {
  return {
    kind: 'filter',
    stepId: opts.name,
    stateful: false,
    keyed: false,
    params: { predicate },
    create(rt) {
      const emit = rt.emit;
      const id = rt.stepId;
      return {
        process(value, ts, key) {
          let keep: boolean;
          try {
            keep = predicate(value);
          } catch (e) {
            throw userError(id, e);
          }
          if (keep) emit(value, ts, key);
        },
      };
    },
  };
}
