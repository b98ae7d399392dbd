import { ssError } from '../schemas/errors.js';

/**
 * Per-key sequence patterns, as Flink CEP's `Pattern`: the builder, its compiled form and the
 * non-deterministic automaton (NFA) that runs it. The operators in `operators/pattern.ts`,
 * `operators/followedBy.ts` feed it records in event-time order; this module knows nothing of
 * time, state or keys beyond the record timestamps it is given.
 *
 * ```ts
 * const abandoned = patternOf<Shop>().begin('add').where(isAdd)
 *   .notFollowedBy('buy').where(isBuy)
 *   .within(30 * 60_000); // Pattern<Shop, { add: Add }>
 * ```
 *
 * Vocabulary (Flink's):
 * - contiguity to the previous stage: `next` strict (the very next record of the key), `followedBy`
 *   relaxed (skip non-matching records; a matching record is taken, "skip till next"),
 *   `followedByAny` non-deterministic relaxed (every matching record starts a branch, "skip till any");
 * - quantifiers on the current stage: `times(n)`, `times(min, max)`, `timesOrMore(n)`,
 *   `oneOrMore()`, `optional()`; contiguity inside a looping stage is relaxed by default,
 *   `consecutive()` makes it strict and `allowCombinations()` non-deterministic;
 * - negations: `notNext` (the record right after the previous stage must not match),
 *   `notFollowedBy` (no matching record between the previous stage and the next one; at the end of
 *   a pattern: none before the deadline, which needs `within`);
 * - `within(ms)`: every record of a match has `ts <= first.ts + ms` (inclusive; Flink's bound is
 *   exclusive, `ts < first.ts + ms`, see {@link Pattern.within}).
 *
 * Not supported (rejected by the types or at build time): iterative conditions (a predicate that
 * reads the partial match), `until`, `greedy`, groups, after-match skip strategies (matches never
 * skip: every combination is reported, Flink's `noSkip`), `WithinType.PREVIOUS_AND_CURRENT`.
 */

/** How a stage may follow the previous one, or how a looping stage's records follow each other. */
export type Contiguity = 'strict' | 'relaxed' | 'any';

type StageKind = 'begin' | 'next' | 'followedBy' | 'followedByAny' | 'notNext' | 'notFollowedBy';

/** One stage as declared. */
export interface StageSpec {
  readonly name: string;
  readonly kind: StageKind;
  readonly conds: ReadonlyArray<(value: unknown) => boolean>;
  readonly min: number;
  readonly max: number;
  readonly inner: Contiguity;
  /** Whether the stage may be skipped (`optional()`), whatever its count. */
  readonly optional: boolean;
  /** Which quantifier calls were made, to reject them on negations. */
  readonly quantified: boolean;
}

/** The element type of the current stage (the pattern's type for a negation). */
type Current<T, M, N extends string> = N extends keyof M ? M[N] : T;
/** `M` with the current stage's element type narrowed to `S`. */
type Narrowed<M, N extends string, S> = N extends keyof M ? { [K in keyof M]: K extends N ? S : M[K] } : M;

/**
 * A match: for each positive stage, the records it took, in event-time order (an `optional` stage
 * that was skipped has an empty list). Negated stages take nothing and do not appear.
 */
export type Match<M> = { readonly [K in keyof M]: Array<M[K]> };

/**
 * An immutable pattern builder: every call returns a new pattern. `T` is the type of the keyed
 * stream, `M` maps each positive stage name to the type its `where` type guards narrowed it to, and
 * `N` is the name of the stage the next `where`/quantifier applies to.
 */
export class Pattern<T, M extends object, N extends string> {
  /** @internal */
  constructor(
    readonly stages: readonly StageSpec[],
    readonly withinMs: number | undefined,
  ) {}

  private get last(): StageSpec {
    return this.stages[this.stages.length - 1]!;
  }

  private withLast(change: Partial<StageSpec>): StageSpec[] {
    return [...this.stages.slice(0, -1), { ...this.last, ...change }];
  }

  private add<K extends string>(name: K, kind: StageKind): StageSpec[] {
    return [...this.stages, { name, kind, conds: [], min: 1, max: 1, inner: 'relaxed', optional: false, quantified: false }];
  }

  /**
   * A condition on the current stage; several `where` calls must all hold. A type guard narrows the
   * stage's type in the match.
   */
  where<S extends Current<T, M, N> = Current<T, M, N>>(
    predicate: ((value: Current<T, M, N>) => value is S) | ((value: Current<T, M, N>) => boolean),
  ): Pattern<T, Narrowed<M, N, S>, N> {
    return new Pattern<T, Narrowed<M, N, S>, N>(this.withLast({ conds: [...this.last.conds, predicate as (v: unknown) => boolean] }), this.withinMs);
  }

  /** Strict contiguity: the record right after the previous stage's last one must match. */
  next<K extends string>(name: K & NewName<K, M>): Pattern<T, M & Record<K, T>, K> {
    return new Pattern(this.add(name, 'next'), this.withinMs);
  }

  /** Relaxed contiguity: records that do not match are skipped; the first that matches is taken. */
  followedBy<K extends string>(name: K & NewName<K, M>): Pattern<T, M & Record<K, T>, K> {
    return new Pattern(this.add(name, 'followedBy'), this.withinMs);
  }

  /** Non-deterministic relaxed contiguity: every matching record is taken, each in its own branch. */
  followedByAny<K extends string>(name: K & NewName<K, M>): Pattern<T, M & Record<K, T>, K> {
    return new Pattern(this.add(name, 'followedByAny'), this.withinMs);
  }

  /** The record right after the previous stage must not match this stage's condition. */
  notNext<K extends string>(name: K & NewName<K, M>): Pattern<T, M, K> {
    return new Pattern(this.add(name, 'notNext'), this.withinMs);
  }

  /**
   * No record matching this stage's condition may come between the previous stage and the next one.
   * At the end of a pattern the pattern needs {@link within}: the match is then complete when the
   * deadline `first.ts + within` passes without such a record (a record at the deadline still counts).
   */
  notFollowedBy<K extends string>(name: K & NewName<K, M>): Pattern<T, M, K> {
    return new Pattern(this.add(name, 'notFollowedBy'), this.withinMs);
  }

  /** The current stage takes exactly `n` records, or between `n` and `max`. */
  times(n: number, max?: number): Pattern<T, M, N> {
    return new Pattern(this.withLast({ min: n, max: max ?? n, quantified: true }), this.withinMs);
  }

  /** The current stage takes `n` or more records. */
  timesOrMore(n: number): Pattern<T, M, N> {
    return new Pattern(this.withLast({ min: n, max: Infinity, quantified: true }), this.withinMs);
  }

  /** The current stage takes one or more records; each count is a match of its own. */
  oneOrMore(): Pattern<T, M, N> {
    return this.timesOrMore(1);
  }

  /** The current stage may also be skipped (its list in the match is then empty). */
  optional(): Pattern<T, M, N> {
    return new Pattern(this.withLast({ optional: true, quantified: true }), this.withinMs);
  }

  /** Strict contiguity between the records of a looping stage. */
  consecutive(): Pattern<T, M, N> {
    return new Pattern(this.withLast({ inner: 'strict', quantified: true }), this.withinMs);
  }

  /** Non-deterministic relaxed contiguity between the records of a looping stage. */
  allowCombinations(): Pattern<T, M, N> {
    return new Pattern(this.withLast({ inner: 'any', quantified: true }), this.withinMs);
  }

  /**
   * Every record of a match lies within `ms` of its first record: `ts <= first.ts + ms`. Partial
   * matches are pruned once the watermark reaches `first.ts + ms`.
   *
   * Boundary: inclusive, so that an absence `notFollowedBy(...).within(T)` is cancelled by a record
   * at exactly the deadline (our retail rule). Flink's bound is exclusive (`ts - first.ts < ms`):
   * a Flink match spanning exactly `ms` is a match here too.
   */
  within(ms: number): Pattern<T, M, N> {
    return new Pattern(this.stages, ms);
  }
}

/** A stage name must be new (a type error otherwise, as Flink's runtime check "duplicate name"). */
type NewName<K extends string, M> = K extends keyof M ? never : K;

/** Where patterns over records of type `T` begin (`Pattern.<T>begin(name)` in Flink). */
export interface PatternStart<T> {
  /** Starts a pattern with its first stage. */
  begin<K extends string>(name: K): Pattern<T, Record<K, T>, K>;
}

/**
 * Patterns over records of type `T`: `patternOf<Shop>().begin('add')`. (A function of its own so
 * that the stage names stay literal types while `T` is given explicitly.)
 */
export function patternOf<T>(): PatternStart<T> {
  return {
    begin: <K extends string>(name: K) =>
      new Pattern<T, Record<K, T>, K>([{ name, kind: 'begin', conds: [], min: 1, max: 1, inner: 'relaxed', optional: false, quantified: false }], undefined),
  };
}

/** A pattern of any shape, as the operators take it. */
export type AnyPattern<T, M extends object> = Pattern<T, M, string>;

// ---------------------------------------------------------------------------------------------
// Compilation

type Cond = (value: unknown) => boolean;

/** A positive stage, compiled. */
export interface CompiledStage {
  readonly name: string;
  readonly cond: Cond;
  readonly min: number;
  readonly max: number;
  /** May be skipped: `optional()` or a minimum count of 0. */
  readonly skippable: boolean;
  /** How its first record follows the previous stage. */
  readonly contiguity: Contiguity;
  readonly inner: Contiguity;
  /** `notNext` conditions between the previous positive stage and this one. */
  readonly notNext: readonly Cond[];
  /** `notFollowedBy` conditions between the previous positive stage and this one. */
  readonly notFollowedBy: readonly Cond[];
}

export interface CompiledPattern {
  readonly stages: readonly CompiledStage[];
  /** Negations after the last positive stage. */
  readonly trailingNotNext: readonly Cond[];
  readonly trailingNotFollowedBy: readonly Cond[];
  readonly withinMs: number | undefined;
  /** `allOptionalAfter[i]`: every stage after `i` may be skipped. */
  readonly allOptionalAfter: readonly boolean[];
}

const always: Cond = () => true;

function and(conds: readonly Cond[]): Cond {
  if (conds.length === 0) return always;
  if (conds.length === 1) return conds[0]!;
  return (v) => {
    for (const c of conds) if (!c(v)) return false;
    return true;
  };
}

/** Checks and compiles a pattern; throws `SS_ERR_GRAPH_INVALID` naming the step when malformed. */
export function compilePattern(p: { readonly stages: readonly StageSpec[]; readonly withinMs: number | undefined }, stepId: string): CompiledPattern {
  const bad = (msg: string): never => {
    throw ssError('SS_ERR_GRAPH_INVALID', `pattern: ${msg}`, { stepId });
  };
  const w = p.withinMs;
  if (w !== undefined && !(Number.isInteger(w) && w >= 0)) bad(`within must be an integer >= 0 ms, got ${w}`);
  const names = new Set<string>();
  const stages: CompiledStage[] = [];
  let notNext: Cond[] = [];
  let notFollowedBy: Cond[] = [];
  for (const s of p.stages) {
    if (s.name === '') bad('a stage name is empty');
    if (names.has(s.name)) bad(`stage name "${s.name}" is used twice`);
    names.add(s.name);
    const negated = s.kind === 'notNext' || s.kind === 'notFollowedBy';
    if (negated) {
      if (s.quantified) bad(`negated stage "${s.name}" cannot have a quantifier`);
      if (stages.length === 0) bad(`a pattern cannot start with a negation ("${s.name}")`);
      const prev = stages[stages.length - 1]!;
      if (prev.skippable && notNext.length === 0 && notFollowedBy.length === 0) {
        bad(`a negation ("${s.name}") cannot follow the optional stage "${prev.name}"`);
      }
      (s.kind === 'notNext' ? notNext : notFollowedBy).push(and(s.conds));
      continue;
    }
    if (!(Number.isInteger(s.min) && s.min >= 0)) bad(`stage "${s.name}": times must be integers >= 0, got ${s.min}`);
    if (!(s.max === Infinity || (Number.isInteger(s.max) && s.max >= 1 && s.max >= s.min))) {
      bad(`stage "${s.name}": times(${s.min}, ${s.max}) is not a valid range`);
    }
    const contiguity: Contiguity = s.kind === 'next' ? 'strict' : s.kind === 'followedByAny' ? 'any' : 'relaxed';
    const skippable = s.optional || s.min === 0;
    stages.push({ name: s.name, cond: and(s.conds), min: Math.max(s.min, 1), max: s.max, skippable, contiguity, inner: s.inner, notNext, notFollowedBy });
    notNext = [];
    notFollowedBy = [];
  }
  if (notFollowedBy.length > 0 && w === undefined) {
    bad('a pattern that ends with notFollowedBy needs within(ms): the absence has no deadline otherwise');
  }
  const allOptionalAfter = stages.map((_, i) => stages.slice(i + 1).every((s) => s.skippable));
  return { stages, trailingNotNext: notNext, trailingNotFollowedBy: notFollowedBy, withinMs: w, allOptionalAfter };
}

// ---------------------------------------------------------------------------------------------
// The automaton

/** A record taken by a partial match: a persistent list (branches share their prefix). */
export interface Taken<T> {
  /** Index of the positive stage that took it. */
  readonly s: number;
  readonly v: T;
  readonly ts: number;
  readonly p: Taken<T> | null;
}

/** Where a partial match is (see {@link step}). */
export const Mode = {
  /** Waiting for the first record of stage `s`; may skip it if optional. */
  Wait: 0,
  /** Waiting for the first record of optional stage `s` after having ignored a record: may no longer skip it. */
  WaitCommitted: 1,
  /** Just took record number `c` of stage `s`. */
  Took: 2,
  /** Stage `s` has `c` records and ignored one since: it must take another before moving on. */
  LoopOnly: 3,
  /** Every positive stage is done; waiting for the trailing negations (next record or deadline). */
  Pending: 4,
} as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/** A partial match. Plain data, so that it can be snapshotted. */
export interface Run<T> {
  readonly m: Mode;
  /** Positive stage index. */
  readonly s: number;
  /** Records taken by stage `s` so far. */
  readonly c: number;
  /** Event time of the first record. */
  readonly st: number;
  /** Index of the first stage whose preceding negations still apply (skipped optional stages carry theirs on). */
  readonly ns: number;
  /** Whether the next record is checked against pending `notNext` conditions. */
  readonly nn: boolean;
  readonly ev: Taken<T> | null;
}

/** A complete match as the automaton reports it. */
export interface RawMatch<T> {
  readonly ev: Taken<T> | null;
  readonly st: number;
  /** Event time of the match: its last record's, or the confirming record's for a trailing `notNext`. */
  readonly ts: number;
}

function allows(c: Contiguity, matched: boolean): boolean {
  return c === 'any' || (c === 'relaxed' && !matched);
}

/**
 * Advances the partial matches of one key over one record (records must come in event-time order).
 * Returns the surviving and new partial matches; completed matches are pushed to `out`. Runs whose
 * `within` expired must have been removed by the caller ({@link expire}).
 *
 * Semantics follow Flink's NFA (`NFACompiler` + `NFA.computeNextStates`): a record may be taken by
 * the current stage, by a later stage reached through a satisfied quantifier or a skipped optional
 * stage ("proceed"), or ignored where contiguity allows; a record that matches a negation that
 * applies to the partial match discards it with every branch it would have made with that record.
 */
export function step<T>(pat: CompiledPattern, runs: ReadonlyArray<Run<T>>, v: T, ts: number, out: Array<RawMatch<T>>): Array<Run<T>> {
  const next: Array<Run<T>> = [];
  const branch: Array<Run<T>> = [];
  const stages = pat.stages;
  const n = stages.length;
  const trailingNF = pat.trailingNotFollowedBy;
  const trailingNN = pat.trailingNotNext;
  const hasTrailing = trailingNF.length > 0 || trailingNN.length > 0;
  let stopped = false;

  const any = (conds: readonly Cond[]): boolean => {
    for (const c of conds) if (c(v)) return true;
    return false;
  };

  /** Stage `s` just took its record number `c`; `ev` already holds it. */
  const took = (s: number, c: number, st: number, ev: Taken<T>): void => {
    const stage = stages[s]!;
    if (c >= stage.min && pat.allOptionalAfter[s]!) {
      // Final state reachable: a match, or a pending one if negations follow.
      if (hasTrailing) branch.push({ m: Mode.Pending, s: n, c: 0, st, ns: n, nn: trailingNN.length > 0, ev });
      else out.push({ ev, st, ts });
    }
    if (c < stage.max) branch.push({ m: Mode.Took, s, c, st, ns: s + 1, nn: false, ev });
    else if (s + 1 < n) branch.push({ m: Mode.Wait, s: s + 1, c: 0, st, ns: s + 1, nn: stages[s + 1]!.notNext.length > 0, ev });
  };

  /** The partial match waits for stage `s` (negations of stages `ns..s` apply). */
  const wait = (s: number, ns: number, nn: boolean, committed: boolean, fromStart: boolean, st: number, ev: Taken<T> | null): void => {
    if (s >= n) return; // proceeded past every stage without taking: Flink emits only on a take
    for (let k = ns; k <= s; k++) {
      const sk = stages[k]!;
      if (any(sk.notFollowedBy) || (nn && any(sk.notNext))) {
        stopped = true;
        return;
      }
    }
    const stage = stages[s]!;
    const matched = stage.cond(v);
    if (matched) took(s, 1, ev === null ? ts : st, { s, v, ts, p: ev });
    if (!committed && stage.skippable) wait(s + 1, ns, nn, false, fromStart, st, ev);
    if (!fromStart && allows(stage.contiguity, matched)) {
      branch.push({ m: stage.skippable ? Mode.WaitCommitted : Mode.Wait, s, c: 0, st, ns, nn: false, ev });
    }
  };

  const advance = (r: Run<T>): void => {
    switch (r.m) {
      case Mode.Wait:
      case Mode.WaitCommitted:
        wait(r.s, r.ns, r.nn, r.m === Mode.WaitCommitted, false, r.st, r.ev);
        return;
      case Mode.Took:
      case Mode.LoopOnly: {
        const stage = stages[r.s]!;
        const following = r.s + 1 < n ? stages[r.s + 1]! : undefined;
        const open = r.m === Mode.Took && r.c >= stage.min;
        // Negations after a looping stage stop it (Flink's addStopStateToLooping); a notNext only
        // through the proceed edge, which a loop-only state does not have.
        if (any(following?.notFollowedBy ?? trailingNF) || (open && any(following?.notNext ?? trailingNN))) {
          stopped = true;
          return;
        }
        const matched = stage.cond(v);
        if (matched) took(r.s, r.c + 1, r.st, { s: r.s, v, ts, p: r.ev });
        if (open && following !== undefined) wait(r.s + 1, r.s + 1, false, false, false, r.st, r.ev);
        if (stopped) return;
        if (allows(stage.inner, matched)) branch.push({ m: Mode.LoopOnly, s: r.s, c: r.c, st: r.st, ns: r.ns, nn: false, ev: r.ev });
        return;
      }
      case Mode.Pending:
        if (any(trailingNF) || (r.nn && any(trailingNN))) {
          stopped = true;
          return;
        }
        if (trailingNF.length === 0) out.push({ ev: r.ev, st: r.st, ts });
        else branch.push({ m: Mode.Pending, s: n, c: 0, st: r.st, ns: n, nn: false, ev: r.ev });
        return;
    }
  };

  for (const r of runs) {
    stopped = false;
    branch.length = 0;
    advance(r);
    if (!stopped) for (const b of branch) next.push(b);
  }
  // The start state: every record may begin a match (it never ignores).
  stopped = false;
  branch.length = 0;
  wait(0, 0, false, false, true, ts, null);
  if (!stopped) for (const b of branch) next.push(b);
  return next;
}

/**
 * Removes the partial matches whose `within` deadline `st + within` is before `ts` (`inclusive`
 * false) or at or before it (`inclusive` true). A pending absence whose deadline passed is a match
 * (reported in `matches` at its deadline); any other expired run goes to `timedOut`.
 */
export function expire<T>(
  pat: CompiledPattern,
  runs: Array<Run<T>>,
  ts: number,
  inclusive: boolean,
  matches: Array<RawMatch<T>>,
  timedOut: Array<RawMatch<T>> | null,
): Array<Run<T>> {
  const w = pat.withinMs;
  if (w === undefined) return runs;
  let kept: Array<Run<T>> | null = null;
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i]!;
    const d = r.st + w;
    const dead = inclusive ? d <= ts : d < ts;
    if (dead) {
      kept ??= runs.slice(0, i);
      // A pending absence with a trailing notFollowedBy completes at its deadline; one waiting
      // only for a notNext confirmation never got it (Flink: timed out).
      if (r.m === Mode.Pending && pat.trailingNotFollowedBy.length > 0) matches.push({ ev: r.ev, st: r.st, ts: d });
      else timedOut?.push({ ev: r.ev, st: r.st, ts: d });
    } else kept?.push(r);
  }
  return kept ?? runs;
}

/** Turns a raw match into `{ stage: records }` with every positive stage present. */
export function toMatch<M extends object>(pat: CompiledPattern, ev: Taken<unknown> | null): Match<M> {
  const out: Record<string, unknown[]> = {};
  for (const s of pat.stages) out[s.name] = [];
  const names = pat.stages;
  for (let t = ev; t !== null; t = t.p) out[names[t.s]!.name]!.unshift(t.v);
  return out as Match<M>;
}
