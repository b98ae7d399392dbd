import { ssError } from '../schemas/errors.js';
import type { OperatorDef } from '../engine/graph.js';
import type { Aggregator, EmitMode, WindowSpec, Windowed } from '../engine/windows.js';

export interface AggregateOptions {
  /** When results are emitted (default `onClose`: one final result per window). */
  readonly emit?: EmitMode;
}

/**
 * Aggregates a keyed stream per key and window, incrementally: `init()` for a new window, then
 * `add(acc, value, ts)` per record in arrival order; session windows also `merge` two
 * accumulators when a record bridges them. Emits {@link Windowed} results per the `emit` mode
 * (see `EmitMode`), keyed by the stream's key. State per (key, window) is dropped once the window
 * closes (`W >= end - 1 + grace`); late records go to the side output `late`.
 *
 * ```text
 * tumbling 10, onClose, add = (n) => n + 1
 * in:  a@1 a@2 b@3 a@12 ... (watermark passes 9)
 * out: {key a, [0,10), 2} {key b, [0,10), 1}
 * ```
 */
export function aggregate<T, A>(stepId: string, window: WindowSpec, aggregator: Aggregator<T, A>, opts: AggregateOptions = {}): OperatorDef<T, Windowed<A>> {
  const emit = opts.emit ?? 'onClose';
  return {
    kind: `${window.kind}Window.aggregate`,
    stepId,
    stateful: true,
    keyed: true,
    sideOutputs: ['late', ...(window.sideOutputs ?? [])],
    params: { ...window.params, emit },
    validate(id) {
      window.validate(id);
      if (window.kind === 'session' && aggregator.merge === undefined) {
        throw ssError('SS_ERR_GRAPH_INVALID', 'session windows need an aggregator with merge()', { stepId: id });
      }
    },
    create(rt) {
      return window.create(rt, aggregator, { emit });
    },
  };
}
