import { ssError } from '../schemas/errors.js';
import type { OperatorDef } from '../engine/graph.js';
import { userError } from '../engine/userFn.js';
import type { StepOptions } from './map.js';

/**
 * Keys each record by `selector` (a string, e.g. the customer id). Every keyed operation
 * downstream (windows, patterns, timers, joins, dedupe, rate limits) keeps its state per key.
 * Stateless; event time and order are kept.
 *
 * In one process no data moves. On Kafka the source topics are partitioned by the same key
 * (customer id), so keying by it needs no repartitioning; keying by anything else must go through
 * a repartition topic so that one key's records meet in one instance.
 *
 * A selector that throws, or returns something that is not a non-empty string, dead-letters the
 * record (`SS_ERR_VALIDATION` for a bad key).
 */
export function keyBy<T>(selector: (value: T) => string, opts: StepOptions = {}): OperatorDef<T, T> {
  return {
    kind: 'keyBy',
    stepId: opts.name,
    stateful: false,
    keyed: false,
    params: { selector },
    create(rt) {
      const emit = rt.emit;
      const id = rt.stepId;
      return {
        process(value, ts) {
          let key: string;
          try {
            key = selector(value);
          } catch (e) {
            throw userError(id, e);
          }
          if (typeof key !== 'string' || key.length === 0) {
            throw ssError('SS_ERR_VALIDATION', `key selector returned ${JSON.stringify(key)}; a key must be a non-empty string`, { stepId: id });
          }
          emit(value, ts, key);
        },
      };
    },
  };
}
