import type { OperatorDef } from '../engine/graph.js';
import { userError } from '../engine/userFn.js';
import type { StepOptions } from './map.js';

/**
 * Turns each record into zero or more records, in the order `fn` yields them, all with the input's
 * event time and key. Stateless.
 *
 * ```text
 * in:   "a b"(1)  ""(2)  "c"(3)      fn = s => s.split(' ').filter(Boolean)
 * out:  a(1) b(1)        c(3)
 * ```
 * If `fn` throws (even part way), the input record is dead-lettered; outputs already yielded stay.
 */
export function flatMap<A, B>(fn: (value: A, ts: number) => Iterable<B>, opts: StepOptions = {}): OperatorDef<A, B> {
  return {
    kind: 'flatMap',
    stepId: opts.name,
    stateful: false,
    keyed: false,
    params: { fn },
    create(rt) {
      const emit = rt.emit;
      const id = rt.stepId;
      return {
        process(value, ts, key) {
          let outs: Iterable<B>;
          try {
            outs = fn(value, ts);
            if (Array.isArray(outs)) {
              for (let i = 0; i < outs.length; i++) emit(outs[i] as B, ts, key);
              return;
            }
          } catch (e) {
            throw userError(id, e);
          }
          const it = outs[Symbol.iterator]();
          for (;;) {
            let r: IteratorResult<B>;
            try {
              r = it.next();
            } catch (e) {
              throw userError(id, e);
            }
            if (r.done === true) return;
            emit(r.value, ts, key);
          }
        },
      };
    },
  };
}
