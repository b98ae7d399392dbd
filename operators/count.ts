import type { OperatorDef } from '../engine/graph.js';
import type { WindowSpec, Windowed } from '../engine/windows.js';
import { aggregate, type AggregateOptions } from './aggregate.js';

const counter = {
  init: () => 0,
  add: (n: number) => n + 1,
  merge: (a: number, b: number) => a + b,
};

/**
 * Counts records per key and window; `aggregate` with `0` and `+1` (sessions add counts when they
 * merge). Same boundaries, emission and lateness as {@link aggregate}.
 *
 * ```text
 * tumbling 10: a@1 a@4 a@12 -> {a, [0,10), 2} {a, [10,20), 1}
 * ```
 */
export function count<T>(stepId: string, window: WindowSpec, opts: AggregateOptions = {}): OperatorDef<T, Windowed<number>> {
  return { ...aggregate<T, number>(stepId, window, counter, opts), kind: `${window.kind}Window.count` };
}
