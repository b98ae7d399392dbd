import type { OperatorDef } from '../engine/graph.js';
import { userError } from '../engine/userFn.js';
import type { StepOptions } from './map.js';

/** Named predicates of a {@link branch}; a type guard narrows its branch's type. */
export type Branches<T> = Readonly<Record<string, (value: T) => boolean>>;

/** The branch streams' element types: the guarded type for a type guard, else `T`. */
export type BranchTypes<T, B extends Branches<T>> = {
  [K in keyof B]: B[K] extends ((value: T) => value is infer S extends T) ? S : T;
};

/** Name of the branch that takes the records no predicate matched. */
export const OTHERWISE = 'otherwise';

/**
 * Splits a stream by predicates, as Kafka Streams' `split().branch()`: each record goes to the
 * **first** branch (in the order given) whose predicate is true, or to `otherwise` if none is.
 * Stateless; event time and key are kept.
 *
 * ```text
 * in:        1 2 3 4 5 6     { even: n => n % 2 === 0, big: n => n > 4 }
 * even:        2   4   6
 * big:                 5     (6 went to even: first match wins)
 * otherwise: 1   3
 * ```
 */
export function branch<T>(branches: Branches<T>, opts: StepOptions = {}): OperatorDef<T, never> {
  const names = Object.keys(branches);
  const preds = names.map((n) => branches[n]!);
  return {
    kind: 'branch',
    stepId: opts.name,
    stateful: false,
    keyed: false,
    params: { branches: names.join(',') },
    create(rt) {
      const outs = names.map((n) => rt.side(`out:${n}`));
      const otherwise = rt.side(`out:${OTHERWISE}`);
      const id = rt.stepId;
      return {
        process(value, ts, key) {
          let hit = -1;
          try {
            for (let i = 0; i < preds.length; i++) {
              if (preds[i]!(value)) {
                hit = i;
                break;
              }
            }
          } catch (e) {
            throw userError(id, e);
          }
          (hit < 0 ? otherwise : outs[hit]!)(value, ts, key);
        },
      };
    },
  };
}
