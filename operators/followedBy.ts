import type { OperatorDef } from '../engine/graph.js';
import { patternOf, type Match } from '../engine/pattern.js';
import { pattern } from './pattern.js';

export interface FollowedByOptions<T, A extends T, B extends T> {
  /** The first record; a type guard narrows `first` in the output. */
  readonly first: ((value: T) => value is A) | ((value: T) => boolean);
  /** The record that must follow; a type guard narrows `then`. */
  readonly then: ((value: T) => value is B) | ((value: T) => boolean);
  /** `then.ts <= first.ts + withinMs` (inclusive). Explicit, since it bounds the state. */
  readonly withinMs: number;
  /**
   * `relaxed` (default): each `first` pairs with the first later `then` (Flink's `followedBy`);
   * `any`: with every later `then` within the bound (`followedByAny`); `strict`: only with the
   * record right after it (`next`).
   */
  readonly contiguity?: 'relaxed' | 'any' | 'strict';
}

export interface FollowedBy<A, B> {
  readonly first: A;
  readonly then: B;
}

/**
 * Per key, a `first` record followed by a `then` record within `withinMs`: the two-stage pattern
 * `begin('first').followedBy('then').within(ms)` of {@link pattern}, with its semantics (records
 * matched in event-time order once the watermark passes them, late records to the side output
 * `late`, inclusive bound, state pruned when the watermark reaches `first.ts + withinMs`). Each
 * `first` record starts its own match. Emits `{ first, then }` with the event time of `then`.
 *
 * ```text
 * first = view, then = add, withinMs 10, relaxed
 * in (key k):  view@0  view@4  add@8  add@9  add@30
 * out:                         {view@0, add@8}@8  {view@4, add@8}@8
 * ```
 */
export function followedBy<T, A extends T = T, B extends T = T>(stepId: string, opts: FollowedByOptions<T, A, B>): OperatorDef<T, FollowedBy<A, B>> {
  const start = patternOf<T>().begin('first').where(opts.first as (value: T) => value is A);
  const c = opts.contiguity ?? 'relaxed';
  const second = c === 'strict' ? start.next('then') : c === 'any' ? start.followedByAny('then') : start.followedBy('then');
  const inner = pattern(stepId, second.where(opts.then as (value: T) => value is B).within(opts.withinMs));
  return {
    kind: 'followedBy',
    stepId,
    stateful: true,
    keyed: true,
    sideOutputs: inner.sideOutputs ?? [],
    params: { withinMs: opts.withinMs, contiguity: c },
    validate: (id) => inner.validate?.(id),
    create(rt) {
      return inner.create({
        ...rt,
        emit: (m: Match<{ first: A; then: B }>, ts, key) => rt.emit({ first: m.first[0]!, then: m.then[0]! }, ts, key),
      });
    },
  };
}
