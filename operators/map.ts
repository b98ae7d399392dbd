import type { OperatorDef } from '../engine/graph.js';
import { userError } from '../engine/userFn.js';

/** Options of a stateless step: an optional name (else `kind#n`). */
export interface StepOptions {
  readonly name?: string;
}

/**
 * Transforms each record with `fn`. Stateless; keeps each record's event time and key; emits
 * exactly one output per input, immediately.
 *
 * ```text
 * in:   a(1) b(2) c(3)        fn = s => s.toUpperCase()
 * out:  A(1) B(2) C(3)
 * ```
 * If `fn` throws, the input record goes to the dead-letter output (`SS_ERR_USER_FUNCTION`, naming
 * this step) and the stream goes on.
 */
export function map<A, B>(fn: (value: A, ts: number) => B, opts: StepOptions = {}): OperatorDef<A, B> {
  return {
    kind: 'map',
    stepId: opts.name,
    stateful: false,
    keyed: false,
    params: { fn },
    create(rt) {
      const emit = rt.emit;
      const id = rt.stepId;
      return {
        process(value, ts, key) {
          let out: B;
          try {
            out = fn(value, ts);
          } catch (e) {
            throw userError(id, e);
          }
          emit(out, ts, key);
        },
      };
    },
  };
}
