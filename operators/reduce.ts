import type { OperatorDef } from '../engine/graph.js';
import type { WindowSpec, Windowed } from '../engine/windows.js';
import { aggregate, type AggregateOptions } from './aggregate.js';

/**
 * Reduces the records of each key and window to one value of the same type: the first record
 * starts it, `reducer(acc, next)` folds in the rest in arrival order (sessions fold the later
 * session into the earlier one on merge). Same boundaries, emission and lateness as
 * {@link aggregate}.
 *
 * ```text
 * tumbling 10, reducer = Math.max: a:3@1 a:7@2 a:5@8 -> {a, [0,10), 7}
 * ```
 */
export function reduce<T>(stepId: string, window: WindowSpec, reducer: (acc: T, value: T) => T, opts: AggregateOptions = {}): OperatorDef<T, Windowed<T>> {
  // `undefined` marks "no record yet", so a reducer never sees a made-up initial value.
  const agg = {
    init: (): T | undefined => undefined,
    add: (acc: T | undefined, v: T): T | undefined => (acc === undefined ? v : reducer(acc, v)),
    merge: (a: T | undefined, b: T | undefined): T | undefined => (a === undefined ? b : b === undefined ? a : reducer(a, b)),
  };
  return { ...(aggregate<T, T | undefined>(stepId, window, agg, opts) as unknown as OperatorDef<T, Windowed<T>>), kind: `${window.kind}Window.reduce` };
}
