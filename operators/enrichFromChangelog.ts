import { ssError } from '../schemas/errors.js';
import type { OperatorDef } from '../engine/graph.js';
import { userError } from '../engine/userFn.js';
import type { EnrichJoinType, EnrichOptions, EnrichValue } from './enrichFromTable.js';

/**
 * Enriches a stream from a table kept up to date by its changelog, as Kafka Streams' `KStream`-
 * `KTable` join. Input 0 is the stream; input 1 is the table's changelog: keyed records whose value
 * is the new value of that key (an upsert) or `null` (a tombstone: the key is deleted).
 *
 * - **Processing order, not event time:** a stream record is joined with the table value current
 *   when it is processed, i.e. the last changelog record that arrived before it, whatever the event
 *   times (Kafka Streams' non-versioned stream-table join). Changelog records never emit; a table
 *   update does not re-emit earlier stream records. Nothing is late.
 * - The output keeps the stream record's event time and stream key and is emitted at once. The
 *   table key is `opts.key(value)` if given (the stream may then be unkeyed), else the stream key.
 * - `inner`: a record whose key has no value goes to the side output `unmatched` (never silently
 *   dropped). `left`: it is emitted as `joiner(value, null)`.
 * - **State:** the latest value per table key, kept in the step's state (snapshotted, restored)
 *   until a tombstone deletes it; its size is the number of live table keys.
 * - A key function or joiner that throws dead-letters the stream record; a changelog record without
 *   a key is dead-lettered (`SS_ERR_VALIDATION`).
 *
 * ```text
 * changelog: c1 -> gold@1                 c1 -> null@9
 * stream:              order(c1)@3                      order(c1)@10
 * out (left):          {order, gold}@3                  {order, null}@10
 * ```
 */
export function enrichFromChangelog<T, R, O, J extends EnrichJoinType = 'inner'>(
  stepId: string,
  opts: EnrichOptions<T, J>,
  joiner: (value: T, ref: EnrichValue<R, J>) => O,
): OperatorDef<T | R | null, O> {
  const joinType: EnrichJoinType = opts.joinType ?? 'inner';
  const keyOf = opts.key;
  const join = joiner as (value: T, ref: R | null) => O;
  return {
    kind: 'enrichFromChangelog',
    stepId,
    stateful: true,
    // With a key function the stream may be unkeyed; the changelog's keys are checked per record.
    keyed: keyOf === undefined,
    arity: 2,
    sideOutputs: ['unmatched'],
    params: { joinType, key: keyOf ?? 'stream key' },
    validate(id) {
      if (joinType !== 'inner' && joinType !== 'left') {
        throw ssError('SS_ERR_GRAPH_INVALID', `joinType must be 'inner' or 'left', got ${String(joinType)}`, { stepId: id });
      }
    },
    create(rt) {
      const id = rt.stepId;
      const table = rt.state.valueState<R>(id, 'table');
      const emit = rt.emit;
      const unmatched = rt.side('unmatched');
      return {
        process(value, ts, key, input) {
          if (input === 1) {
            if (key.length === 0) {
              throw ssError('SS_ERR_VALIDATION', 'a changelog record has no key; key the changelog by the table key', { stepId: id });
            }
            if (value === null) table.delete(key);
            else table.set(key, value as R);
            return;
          }
          const record = value as T;
          let k = key;
          try {
            if (keyOf !== undefined) k = keyOf(record);
          } catch (e) {
            throw userError(id, e);
          }
          if (typeof k !== 'string' || k.length === 0) {
            throw ssError('SS_ERR_VALIDATION', `table key is ${JSON.stringify(k)}; a key must be a non-empty string`, { stepId: id });
          }
          const ref = table.get(k);
          if (ref === undefined && joinType === 'inner') {
            unmatched(record, ts, key);
            return;
          }
          let out: O;
          try {
            out = join(record, ref ?? null);
          } catch (e) {
            throw userError(id, e);
          }
          emit(out, ts, key);
        },
      };
    },
  };
}
