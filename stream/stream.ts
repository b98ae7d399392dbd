import { aggregate, type AggregateOptions } from '../operators/aggregate.js';
import { branch, OTHERWISE, type BranchTypes, type Branches } from '../operators/branch.js';
import { count } from '../operators/count.js';
import { filter } from '../operators/filter.js';
import { flatMap } from '../operators/flatMap.js';
import { keyBy } from '../operators/keyBy.js';
import { keyedProcess, type KeyedProcessOptions, type KeyedProcessor, type StateFactory } from '../operators/keyedProcess.js';
import { map, type StepOptions } from '../operators/map.js';
import { merge } from '../operators/merge.js';
import { reduce } from '../operators/reduce.js';
import { dedupe, type DedupeOptions } from '../operators/dedupe.js';
import { enrichFromChangelog } from '../operators/enrichFromChangelog.js';
import { enrichFromTable, type EnrichJoinType, type EnrichOptions, type EnrichValue, type ReferenceTable } from '../operators/enrichFromTable.js';
import { followedBy, type FollowedBy, type FollowedByOptions } from '../operators/followedBy.js';
import { geofence, type GeofenceHit, type GeofenceOptions } from '../operators/geofence.js';
import { intervalJoin, type IntervalJoinOptions, type JoinLeft, type JoinRight, type JoinType } from '../operators/intervalJoin.js';
import { notFollowedBy, type Absence, type NotFollowedByOptions } from '../operators/notFollowedBy.js';
import { pattern, type PatternOptions } from '../operators/pattern.js';
import { rateLimit, type RateLimitOptions } from '../operators/rateLimit.js';
import { SESSION_RETRACTIONS } from '../operators/sessionWindow.js';
import { ssError } from '../schemas/errors.js';
import { GraphBuilder, type Edge, type GraphNode, type OperatorDef, type PipelineGraph, type PortName, type SourceOptions } from '../engine/graph.js';
import { patternOf, type Match, type Pattern, type PatternStart } from '../engine/pattern.js';
import type { Aggregator, SessionWindowSpec, TimeWindowSpec, Windowed, WindowSpec } from '../engine/windows.js';

/**
 * The typed, fluent pipeline API. Every method returns a typed stream; keyed operations exist only
 * on {@link KeyedStream}; a type-guard filter narrows the element type. A pipeline is a value built
 * by a function:
 *
 * ```ts
 * const p = pipeline('clicks-per-minute');
 * p.source<ClickEvent>('clickstream', { timestamp: (e) => e.ts })
 *   .keyBy((e) => e.customerId)
 *   .window(tumblingWindow({ sizeMs: 60_000, graceMs: 0 }))
 *   .count('clicks-per-minute.count')
 *   .to('counts');
 * const graph = p.build(); // validated: duplicate ids, bad windows... fail here, naming the step
 * ```
 */
export function pipeline(name: string): Pipeline {
  return new Pipeline(name);
}

export class Pipeline {
  readonly graph: GraphBuilder;
  constructor(readonly name: string) {
    this.graph = new GraphBuilder(name);
  }

  /** A source of records of type `T`, read by the runtime from a topic, a file or the test kit. */
  source<T>(name: string, opts: SourceOptions<T>): Stream<T> {
    return new Stream<T>(this.graph, this.graph.addSource(name, opts));
  }

  /** A source whose records arrive keyed (`opts.key`, e.g. the Kafka message key). */
  keyedSource<T>(name: string, opts: SourceOptions<T> & { readonly key: (value: T) => string }): KeyedStream<T> {
    return new KeyedStream<T>(this.graph, this.graph.addSource(name, opts));
  }

  /** Validates and freezes the graph. */
  build(): PipelineGraph {
    return this.graph.build();
  }
}

/** A stream of records of type `T`. */
export class Stream<T> {
  /** @internal */
  constructor(
    protected readonly builder: GraphBuilder,
    readonly node: GraphNode,
    protected readonly port: PortName = 'main',
  ) {}

  /** @internal */
  protected edge(input = 0): Edge {
    return { from: this.node, port: this.port, input };
  }

  /** Adds any operator whose output is not keyed. */
  pipe<O>(op: OperatorDef<T, O>): Stream<O> {
    return new Stream<O>(this.builder, this.builder.addOperator(op as OperatorDef<unknown, unknown>, [this.edge()], false));
  }

  map<O>(fn: (value: T, ts: number) => O, opts?: StepOptions): Stream<O> {
    return this.pipe(map(fn, opts));
  }

  filter<S extends T>(predicate: (value: T) => value is S, opts?: StepOptions): Stream<S>;
  filter(predicate: (value: T) => boolean, opts?: StepOptions): Stream<T>;
  filter(predicate: (value: T) => boolean, opts?: StepOptions): Stream<T> {
    return this.pipe(filter(predicate, opts));
  }

  flatMap<O>(fn: (value: T, ts: number) => Iterable<O>, opts?: StepOptions): Stream<O> {
    return this.pipe(flatMap(fn, opts));
  }

  keyBy(selector: (value: T) => string, opts?: StepOptions): KeyedStream<T> {
    return new KeyedStream<T>(this.builder, this.builder.addOperator(keyBy(selector, opts) as OperatorDef<unknown, unknown>, [this.edge()], true));
  }

  /** Merges this stream with others; the watermark is the minimum of all inputs. */
  merge<U>(...others: Array<Stream<U>>): Stream<T | U> {
    const edges = [this.edge(0), ...others.map((o, i) => o.edge(i + 1))];
    return new Stream<T | U>(this.builder, this.builder.addOperator(merge<T | U>(edges.length) as OperatorDef<unknown, unknown>, edges, false));
  }

  /**
   * Splits the stream: each record goes to the first branch whose predicate holds, or to
   * `otherwise`. Type guards narrow each branch.
   */
  branch<B extends Branches<T>>(branches: B, opts?: StepOptions): { [K in keyof B]: Stream<BranchTypes<T, B>[K]> } & { otherwise: Stream<T> } {
    if (Object.prototype.hasOwnProperty.call(branches, OTHERWISE)) {
      throw ssError('SS_ERR_GRAPH_INVALID', `a branch may not be named "${OTHERWISE}"`, { stepId: opts?.name ?? 'branch' });
    }
    const node = this.builder.addOperator(branch(branches, opts) as OperatorDef<unknown, unknown>, [this.edge()], this.node.keyed);
    const out: Record<string, Stream<unknown>> = {};
    for (const name of [...Object.keys(branches), OTHERWISE]) out[name] = this.derive(node, `out:${name}`);
    return out as { [K in keyof B]: Stream<BranchTypes<T, B>[K]> } & { otherwise: Stream<T> };
  }

  /** A side output of the step that produced this stream (e.g. `late`); keyed if the step's output is. */
  sideOutput<U>(tag: string): Stream<U> {
    return this.derive(this.node, `side:${tag}`) as Stream<U>;
  }

  /** Drops records whose id was seen within `ttlMs` of event time (see `operators/dedupe.ts`); duplicates on side output `duplicates`. */
  dedupe(stepId: string, opts: DedupeOptions<T>): Stream<T> {
    return this.pipe(dedupe(stepId, opts));
  }

  /** Matches each point against an index of circles (see `operators/geofence.ts`). Stateless. */
  geofence(opts: GeofenceOptions<T>): Stream<GeofenceHit<T>> {
    return this.pipe(geofence(opts));
  }

  /** Enriches each record from reference data, looked up by `opts.key` (see `operators/enrichFromTable.ts`). */
  enrich<R, O, J extends EnrichJoinType = 'inner'>(stepId: string, table: ReferenceTable<R>, opts: EnrichOptions<T, J> & { readonly key: (value: T) => string }, joiner: (value: T, ref: EnrichValue<R, J>) => O): Stream<O> {
    return this.pipe(enrichFromTable(stepId, table, opts, joiner));
  }

  /** Sends the stream to a named sink (a topic, a channel, or the test kit's collector). */
  to(sink: string): void {
    this.builder.addSink(sink, this.edge());
  }

  /** @internal */
  protected derive(node: GraphNode, port: PortName): Stream<unknown> {
    return node.keyed ? new KeyedStream<unknown>(this.builder, node, port) : new Stream<unknown>(this.builder, node, port);
  }
}

/** A stream partitioned by key: the only kind that has stateful per-key operations. */
export class KeyedStream<T> extends Stream<T> {
  /** Adds an operator that keeps each record's key. */
  pipeKeyed<O>(op: OperatorDef<T, O>): KeyedStream<O> {
    return new KeyedStream<O>(this.builder, this.builder.addOperator(op as OperatorDef<unknown, unknown>, [this.edge()], true), 'main');
  }

  /** Transforms values, keeping keys (Kafka Streams' `mapValues`). */
  mapValues<O>(fn: (value: T, ts: number) => O, opts?: StepOptions): KeyedStream<O> {
    return this.pipeKeyed(map(fn, opts));
  }

  override filter<S extends T>(predicate: (value: T) => value is S, opts?: StepOptions): KeyedStream<S>;
  override filter(predicate: (value: T) => boolean, opts?: StepOptions): KeyedStream<T>;
  override filter(predicate: (value: T) => boolean, opts?: StepOptions): KeyedStream<T> {
    return this.pipeKeyed(filter(predicate, opts));
  }

  /** Merges keyed streams; the result stays keyed. */
  mergeKeyed<U>(...others: Array<KeyedStream<U>>): KeyedStream<T | U> {
    const edges = [this.edge(0), ...others.map((o, i) => o.edgeOf(i + 1))];
    return new KeyedStream<T | U>(this.builder, this.builder.addOperator(merge<T | U>(edges.length) as OperatorDef<unknown, unknown>, edges, true));
  }

  /** @internal */
  edgeOf(input: number): Edge {
    return this.edge(input);
  }

  /** Windows the stream per key. Session windows require a merging aggregator. */
  window(spec: SessionWindowSpec): SessionWindowedStream<T>;
  window(spec: TimeWindowSpec): WindowedStream<T>;
  window(spec: WindowSpec): WindowedStream<T> | SessionWindowedStream<T> {
    return spec.kind === 'session' ? new SessionWindowedStream<T>(this, spec) : new WindowedStream<T>(this, spec);
  }

  override dedupe(stepId: string, opts: DedupeOptions<T>): KeyedStream<T> {
    return this.pipeKeyed(dedupe(stepId, opts));
  }

  /** At most `max` records per key in any `perMs` of event time; the rest on side output `limited`. */
  rateLimit(stepId: string, opts: RateLimitOptions): KeyedStream<T> {
    return this.pipeKeyed(rateLimit(stepId, opts));
  }

  /** Enriches each record from reference data by its key (see `operators/enrichFromTable.ts`). */
  override enrich<R, O, J extends EnrichJoinType = 'inner'>(stepId: string, table: ReferenceTable<R>, opts: EnrichOptions<T, J>, joiner: (value: T, ref: EnrichValue<R, J>) => O): KeyedStream<O> {
    return this.pipeKeyed(enrichFromTable(stepId, table, opts, joiner));
  }

  /** Enriches each record from a table kept from a changelog stream (upserts; `null` deletes), as of processing order. */
  enrichFromChangelog<R, O, J extends EnrichJoinType = 'inner'>(stepId: string, changelog: KeyedStream<R | null>, opts: EnrichOptions<T, J>, joiner: (value: T, ref: EnrichValue<R, J>) => O): KeyedStream<O> {
    return this.join2(enrichFromChangelog<T, R, O, J>(stepId, opts, joiner), changelog);
  }

  /** Joins with another keyed stream on `left.ts + lower <= right.ts <= left.ts + upper` (see `operators/intervalJoin.ts`). */
  intervalJoin<R, O, J extends JoinType = 'inner'>(stepId: string, right: KeyedStream<R>, opts: IntervalJoinOptions<J>, joiner: (left: JoinLeft<T, J>, right: JoinRight<R, J>) => O): KeyedStream<O> {
    return this.join2(intervalJoin<T, R, O, J>(stepId, opts, joiner), right);
  }

  private join2<U, O>(op: OperatorDef<T | U, O> | OperatorDef<T | U | null, O>, other: KeyedStream<U> | KeyedStream<U | null>): KeyedStream<O> {
    return new KeyedStream<O>(this.builder, this.builder.addOperator(op as OperatorDef<unknown, unknown>, [this.edge(0), other.edgeOf(1)], true));
  }

  /**
   * A Flink-CEP-style pattern per key, matched in event-time order (see `operators/pattern.ts`).
   * (The element type comes from `this`, so that `Pattern`, invariant in its element type, does
   * not make every stream invariant.)
   */
  pattern<E, M extends object>(this: KeyedStream<E>, stepId: string, p: Pattern<E, M, string> | ((start: PatternStart<E>) => Pattern<E, M, string>), opts?: PatternOptions): KeyedStream<Match<M>> {
    return this.pipeKeyed(pattern(stepId, typeof p === 'function' ? p(patternOf<E>()) : p, opts));
  }

  /** `first` followed by `then` within `withinMs` (see `operators/followedBy.ts`). */
  followedBy<A extends T, B extends T>(stepId: string, opts: FollowedByOptions<T, A, B>): KeyedStream<FollowedBy<A, B>> {
    return this.pipeKeyed(followedBy<T, A, B>(stepId, opts));
  }

  /** A `start` not followed by an `absent` record within `withinMs`: fires at the deadline (see `operators/notFollowedBy.ts`). */
  notFollowedBy<S extends T>(stepId: string, opts: NotFollowedByOptions<T, S>): KeyedStream<Absence<S>> {
    return this.pipeKeyed(notFollowedBy<T, S>(stepId, opts));
  }

  /** The general keyed step: per-key state and timers (see `operators/keyedProcess.ts`). */
  process<O>(stepId: string, setup: (state: StateFactory) => KeyedProcessor<T, O>, opts?: KeyedProcessOptions<T>): KeyedStream<O> {
    return this.pipeKeyed(keyedProcess(stepId, setup, opts));
  }
}

/** The result of a windowed aggregation: keyed results, and the records that came too late. */
export class WindowResultStream<A, T> extends KeyedStream<Windowed<A>> {
  /** Records that arrived after every window they belong to had closed. */
  late(): Stream<T> {
    return this.sideOutput<T>('late');
  }
}

abstract class WindowedBase<T, S extends WindowSpec> {
  constructor(
    protected readonly keyed: KeyedStream<T>,
    protected readonly spec: S,
  ) {}

  protected add<A>(op: OperatorDef<T, Windowed<A>>): WindowResultStream<A, T> {
    const k = this.keyed.pipeKeyed(op);
    return new WindowResultStream<A, T>(k['builder'], k.node);
  }

  count(stepId: string, opts?: AggregateOptions): WindowResultStream<number, T> {
    return this.add(count<T>(stepId, this.spec, opts));
  }

  reduce(stepId: string, reducer: (acc: T, value: T) => T, opts?: AggregateOptions): WindowResultStream<T, T> {
    return this.add(reduce<T>(stepId, this.spec, reducer, opts));
  }
}

/** A keyed stream windowed by time (tumbling, hopping, sliding). */
export class WindowedStream<T> extends WindowedBase<T, TimeWindowSpec> {
  aggregate<A>(stepId: string, aggregator: Aggregator<T, A>, opts?: AggregateOptions): WindowResultStream<A, T> {
    return this.add(aggregate(stepId, this.spec, aggregator, opts));
  }
}

/** Session results, and the sessions a merge replaced after their value was emitted (every emit mode; see `sessionWindow`). */
export class SessionResultStream<A, T> extends WindowResultStream<A, T> {
  retractions(): KeyedStream<Windowed<A>> {
    return new KeyedStream<Windowed<A>>(this.builder, this.node, `side:${SESSION_RETRACTIONS}`);
  }
}

/** A keyed stream windowed by sessions: aggregators must merge, since sessions do. */
export class SessionWindowedStream<T> extends WindowedBase<T, SessionWindowSpec> {
  aggregate<A>(stepId: string, aggregator: Aggregator<T, A> & { merge(a: A, b: A): A }, opts?: AggregateOptions): SessionResultStream<A, T> {
    const r = this.add(aggregate(stepId, this.spec, aggregator, opts));
    return new SessionResultStream<A, T>(r['builder'], r.node);
  }

  override count(stepId: string, opts?: AggregateOptions): SessionResultStream<number, T> {
    const r = super.count(stepId, opts);
    return new SessionResultStream<number, T>(r['builder'], r.node);
  }
}
