import { VirtualClock } from '../engine/clock.js';
import { Executor, type DeadLetter, type ExecutorSnapshot } from '../engine/executor.js';
import type { PipelineGraph } from '../engine/graph.js';
import { fromPlain, toPlain, type Json } from '../engine/plain.js';
import { InMemoryStateBackend, type StateBackend } from '../engine/state.js';
import type { Pipeline } from '../stream/stream.js';

/** A record as a sink or side output received it. */
export interface Out<T> {
  readonly value: T;
  readonly ts: number;
  readonly key: string;
}

export interface DriverOptions {
  /** Processing time at start (default 0). */
  readonly startTime?: number;
  readonly state?: StateBackend;
}

/**
 * Runs any pipeline over records with explicit timestamps on a virtual clock, as Kafka Streams'
 * TopologyTestDriver and Flink's operator test harness: push records, move the watermark or
 * processing time, and read every sink, side output and dead letter. Nothing waits on the wall
 * clock.
 *
 * ```ts
 * const d = TestDriver.of(buildMyPipeline(deps));
 * d.push('clickstream', click, 1_000);
 * d.advanceTime(60_000); // processing time: idle inputs release the watermark
 * expect(d.values('offers')).toEqual([...]);
 * ```
 */
export class TestDriver {
  readonly clock: VirtualClock;
  readonly executor: Executor;
  private readonly sinks = new Map<string, Array<Out<unknown>>>();
  private readonly sides = new Map<string, Array<Out<unknown>>>();
  readonly deadLetters: DeadLetter[] = [];

  static of(p: Pipeline | PipelineGraph, opts: DriverOptions = {}): TestDriver {
    return new TestDriver('build' in p ? p.build() : p, opts);
  }

  constructor(
    readonly graph: PipelineGraph,
    opts: DriverOptions = {},
  ) {
    this.clock = new VirtualClock(opts.startTime ?? 0);
    const sinks: Record<string, (v: unknown, ts: number, key: string) => void> = {};
    for (const s of graph.sinks) {
      const list: Array<Out<unknown>> = [];
      this.sinks.set(s.id, list);
      sinks[s.id] = (value, ts, key) => list.push({ value, ts, key });
    }
    this.executor = new Executor(graph, {
      clock: this.clock,
      state: opts.state ?? new InMemoryStateBackend(),
      sinks,
      onSideOutput: (step, tag, value, ts, key) => {
        const id = `${step}.${tag}`;
        let list = this.sides.get(id);
        if (list === undefined) {
          list = [];
          this.sides.set(id, list);
        }
        list.push({ value, ts, key });
      },
      onDeadLetter: (d) => this.deadLetters.push(d),
    });
  }

  /** Pushes one record; its event time is `ts` if given, else the source's timestamp function's. */
  push(source: string, value: unknown, ts?: number, partition = 0): this {
    this.executor.push(source, value, partition, ts);
    return this;
  }

  /** Pushes records one by one, each advancing the watermark as it arrives. */
  pushAll(source: string, values: Iterable<unknown>): this {
    for (const v of values) this.executor.push(source, v);
    return this;
  }

  /** Forces a source's watermark (Flink's `processWatermark`): no more records with ts <= w. */
  watermark(source: string, w: number): this {
    this.executor.advanceWatermark(source, w);
    return this;
  }

  /** Advances processing time: fires processing-time timers and lets idle inputs release the watermark. */
  advanceTime(ms: number): this {
    this.clock.advance(ms);
    this.executor.advanceProcessingTime();
    return this;
  }

  /** End of input: every pending event-time timer fires. */
  end(): this {
    this.executor.end();
    return this;
  }

  /** Everything a sink received, with event times and keys. */
  records<T>(sink: string): Array<Out<T>> {
    const list = this.sinks.get(sink);
    if (list === undefined) throw new Error(`no sink "${sink}" (sinks: ${[...this.sinks.keys()].join(', ')})`);
    return list as Array<Out<T>>;
  }

  /** The values a sink received, in order. */
  values<T>(sink: string): T[] {
    return this.records<T>(sink).map((r) => r.value);
  }

  /** Side-output records of a step, by tag (e.g. `side('counts', 'late')`). */
  side<T>(stepId: string, tag: string): Array<Out<T>> {
    return (this.sides.get(`${stepId}.${tag}`) ?? []) as Array<Out<T>>;
  }

  /** Clears collected outputs (not state). */
  clearOutputs(): this {
    for (const l of this.sinks.values()) l.length = 0;
    this.sides.clear();
    this.deadLetters.length = 0;
    return this;
  }

  snapshot(): ExecutorSnapshot {
    return this.executor.snapshot();
  }

  restore(s: ExecutorSnapshot): this {
    this.executor.restore(s);
    return this;
  }

  watermarkOf(stepId: string): number {
    return this.executor.watermarkOf(stepId);
  }
}

/**
 * A copy of `snapshot` with each value of state table `table` (`<step>/<name>`) replaced by
 * `rewrite(value)`: for tests that restore a checkpoint as an older version wrote it.
 */
export function rewriteStateTable(snapshot: ExecutorSnapshot, table: string, rewrite: (value: unknown) => unknown): ExecutorSnapshot {
  const body = fromPlain(snapshot.body) as { state: { tables: Record<string, Array<[string, Json, number | null]>> } };
  const rows = body.state.tables[table];
  if (rows === undefined) throw new Error(`the snapshot has no state table "${table}"`);
  body.state.tables[table] = rows.map(([key, v, e]) => [key, toPlain(rewrite(fromPlain(v))), e]);
  return { ...snapshot, body: toPlain(body) };
}
