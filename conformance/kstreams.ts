import { pipeline, type Stream, type WindowResultStream } from '../stream/stream.js';
import type { EmitMode, Windowed, WindowSpec } from '../engine/windows.js';
import type { ExecutorSnapshot } from '../engine/executor.js';
import { TestDriver } from '../testkit/driver.js';

/**
 * What the Kafka Streams conformance ports share: the `Mock*` helpers of Kafka's tests, and a
 * driver playing `TopologyTestDriver` for one windowed aggregation per input topic.
 *
 * Each topic gets a keyed source (key = the record's Kafka key), then
 * `window(spec).count|reduce|aggregate`. Its output is read as Kafka Streams' windowed KTable
 * changelog: the main output, with session retractions interleaved as tombstones (`value: null`)
 * in emission order, each record as `[key, start, end, value, ts]`.
 */

/** One input record: `inputTopic.pipeInput(k, v, ts)`. */
export interface Rec {
  readonly k: string;
  readonly v: string;
  readonly ts: number;
}

/** `KeyValueTimestamp<Windowed<String>, V>`: `[key, window start, window end, value (null: tombstone), record ts]`. */
export type Kvt<V> = readonly [key: string, start: number, end: number, value: V | null, ts: number];

/** `MockInitializer.STRING_INIT`. */
export const STRING_INIT = (): string => '0';
/** `MockAggregator.TOSTRING_ADDER`: `(key, value, agg) -> agg + "+" + value`. */
export const TOSTRING_ADDER = (agg: string, value: string): string => `${agg}+${value}`;
/** `MockReducer.STRING_ADDER`: `(v1, v2) -> v1 + "+" + v2`. */
export const STRING_ADDER = (a: string, b: string): string => `${a}+${b}`;
/** The session merger of `SessionWindowedKStreamImplTest`: `(key, aggOne, aggTwo) -> aggOne + "+" + aggTwo`. */
export const SESSION_MERGER = (a: string, b: string): string => `${a}+${b}`;

export type Op = 'count' | 'reduce' | 'aggregate';

export interface Aggregation {
  readonly topic: string;
  readonly window: WindowSpec;
  readonly op: Op;
  readonly emit: EmitMode;
  /** The initializer of `aggregate` (default `STRING_INIT`). */
  readonly init?: () => string;
  /** The aggregator of `aggregate` (default `TOSTRING_ADDER`). */
  readonly add?: (acc: string, value: string) => string;
}

/** Kafka's two emit strategies, and ours: `ON_WINDOW_UPDATE` is `onUpdate`, `ON_WINDOW_CLOSE` is `onClose`. */
export const STRATEGIES = [
  ['ON_WINDOW_UPDATE', 'onUpdate'],
  ['ON_WINDOW_CLOSE', 'onClose'],
] as const satisfies ReadonlyArray<readonly [string, EmitMode]>;

export const stepOf = (topic: string): string => `${topic}.agg`;

/** Builds the topology of `aggs` and drives it like `TopologyTestDriver`. */
export class KStreamsDriver {
  readonly driver: TestDriver;

  constructor(readonly aggs: readonly Aggregation[]) {
    const p = pipeline('kstreams-conformance');
    for (const a of aggs) {
      // groupByKey over <String, String>: the aggregation sees the value; the key rides along.
      const keyed = p.keyedSource<Rec>(a.topic, { key: (r) => r.k, timestamp: (r) => r.ts }).mapValues((r) => r.v);
      const step = stepOf(a.topic);
      const opts = { emit: a.emit };
      const init = a.init ?? STRING_INIT;
      const add = a.add ?? TOSTRING_ADDER;
      let res: WindowResultStream<unknown, string>;
      if (a.window.kind === 'session') {
        const w = keyed.window(a.window);
        res =
          a.op === 'count'
            ? w.count(step, opts)
            : a.op === 'reduce'
              ? w.reduce(step, STRING_ADDER, opts)
              : w.aggregate(step, { init, add, merge: SESSION_MERGER }, opts);
      } else {
        const w = keyed.window(a.window);
        res =
          a.op === 'count'
            ? w.count(step, opts)
            : a.op === 'reduce'
              ? w.reduce(step, STRING_ADDER, opts)
              : w.aggregate(step, { init, add }, opts);
      }
      const changelog: Stream<Kvt<unknown>> = res.map((w, ts) => [w.key, w.start, w.end, w.value, ts] as const);
      if (a.window.sideOutputs?.includes('retractions') === true) {
        const tombstones = res.sideOutput<Windowed<unknown>>('retractions').map((w, ts): Kvt<unknown> => [w.key, w.start, w.end, null, ts]);
        changelog.merge(tombstones).to(a.topic + '.out');
      } else {
        changelog.to(a.topic + '.out');
      }
    }
    this.driver = TestDriver.of(p);
  }

  /** `inputTopic.pipeInput(key, value, timestamp)`. */
  pipeInput(topic: string, k: string, v: string, ts: number): this {
    this.driver.push(topic, { k, v, ts });
    return this;
  }

  /** Everything the aggregation of `topic` forwarded so far. */
  processed<V>(topic: string): Array<Kvt<V>> {
    return this.driver.values<Kvt<V>>(topic + '.out');
  }

  /** `checkAndClearProcessResult`: what was forwarded since the last call. */
  takeProcessed<V>(topic: string): Array<Kvt<V>> {
    const list = this.driver.values<Kvt<V>>(topic + '.out');
    const out = [...list];
    this.driver.records(topic + '.out').length = 0;
    return out;
  }

  /** Records the aggregation of `topic` dropped as late (from every window they belong to). */
  late(topic: string): Rec[] {
    return this.driver.side<string>(stepOf(topic), 'late').map((r) => ({ k: r.key, v: r.value, ts: r.ts }));
  }

  snapshot(): ExecutorSnapshot {
    return this.driver.snapshot();
  }

  restore(s: ExecutorSnapshot): this {
    this.driver.restore(s);
    return this;
  }
}

/**
 * Final results closing at the same time, in Kafka Streams' order: its time-ordered window and
 * session stores iterate by window, then by key. Ours fire in the order the windows were created.
 * Both orders are deterministic; only ties between keys differ.
 */
export function inStoreOrder<V>(out: ReadonlyArray<Kvt<V>>): Array<Kvt<V>> {
  return [...out].sort((a, b) => a[2] - b[2] || a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
