import { ssError } from '../schemas/errors.js';
import type { OperatorDef } from '../engine/graph.js';
import { userError } from '../engine/userFn.js';

/** `inner` drops (to the side output `unmatched`) records with no table value; `left` joins them with `null`. */
export type EnrichJoinType = 'inner' | 'left';

/** The table argument of an enrichment joiner: `null` only in a left join. */
export type EnrichValue<R, J extends EnrichJoinType> = J extends 'left' ? R | null : R;

/** Static reference data: a map, or a lookup function (`undefined` or `null` means absent). */
export type ReferenceTable<R> = ReadonlyMap<string, R> | ((key: string) => R | null | undefined);

export interface EnrichOptions<T, J extends EnrichJoinType = 'inner'> {
  /** `inner` (default) or `left`. */
  readonly joinType?: J;
  /**
   * The table key of a record (e.g. `(o) => o.storeId`). Without it the record's stream key is
   * used, and the stream must be keyed. The record keeps its stream key either way.
   */
  readonly key?: (value: T) => string;
}

/**
 * Enriches each record with a value from static reference data (stores, customer profiles) looked
 * up by key, as Kafka Streams' stream-`GlobalKTable` join over data that does not change while the
 * pipeline runs. Stateless: the data lives in the caller's map or behind the lookup function, and
 * is not part of snapshots.
 *
 * - Records are handled one by one in arrival order; the output keeps the record's event time and
 *   stream key, and is emitted at once. Event time plays no part in the lookup; nothing is late.
 * - The table key is `opts.key(value)` if given, else the record's stream key. A key function that
 *   throws, or returns something that is not a non-empty string, dead-letters the record.
 * - `inner`: a record whose key has no value goes to the side output `unmatched` (never silently
 *   dropped). `left`: it is emitted as `joiner(value, null)`.
 * - A lookup function or joiner that throws dead-letters the record (`SS_ERR_USER_FUNCTION`).
 *
 * ```text
 * table: s1 -> Lyon
 * in:    order(store s1)@5  order(store s9)@6
 * out:   {order, Lyon}@5                      (inner: s9 -> side output `unmatched`)
 * ```
 */
export function enrichFromTable<T, R, O, J extends EnrichJoinType = 'inner'>(
  stepId: string,
  table: ReferenceTable<R>,
  opts: EnrichOptions<T, J>,
  joiner: (value: T, ref: EnrichValue<R, J>) => O,
): OperatorDef<T, O> {
  const joinType: EnrichJoinType = opts.joinType ?? 'inner';
  const keyOf = opts.key;
  const join = joiner as (value: T, ref: R | null) => O;
  const lookup: (key: string) => R | null | undefined = typeof table === 'function' ? table : (k) => table.get(k);
  return {
    kind: 'enrichFromTable',
    stepId,
    stateful: false,
    keyed: keyOf === undefined,
    sideOutputs: ['unmatched'],
    params: { joinType, key: keyOf ?? 'stream key', table: typeof table === 'function' ? table : `map(${table.size})` },
    validate(id) {
      if (joinType !== 'inner' && joinType !== 'left') {
        throw ssError('SS_ERR_GRAPH_INVALID', `joinType must be 'inner' or 'left', got ${String(joinType)}`, { stepId: id });
      }
    },
    create(rt) {
      const id = rt.stepId;
      const emit = rt.emit;
      const unmatched = rt.side('unmatched');
      return {
        process(value, ts, key) {
          let k = key;
          let ref: R | null | undefined;
          try {
            if (keyOf !== undefined) k = keyOf(value);
          } catch (e) {
            throw userError(id, e);
          }
          if (typeof k !== 'string' || k.length === 0) {
            throw ssError('SS_ERR_VALIDATION', `table key is ${JSON.stringify(k)}; a key must be a non-empty string`, { stepId: id });
          }
          let out: O;
          try {
            ref = lookup(k);
            if (ref === undefined || ref === null) {
              if (joinType === 'inner') {
                unmatched(value, ts, key);
                return;
              }
              ref = null;
            }
            out = join(value, ref);
          } catch (e) {
            throw userError(id, e);
          }
          emit(out, ts, key);
        },
      };
    },
  };
}
