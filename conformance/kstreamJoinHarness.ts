import { expect } from 'vitest';
import type { OperatorDef } from '../engine/graph.js';
import { KeyedStream, pipeline } from '../stream/stream.js';
import { TestDriver } from '../testkit/driver.js';
import { intervalJoin, type JoinType } from '../operators/intervalJoin.js';

/**
 * Kafka Streams' TopologyTestDriver for a two-topic stream-stream join, on our engine.
 *
 * Kafka Streams keeps one stream time for the join (the largest timestamp seen on either topic) and
 * processes records in arrival order. Here both topics are one source with no out-of-orderness,
 * branched into the join's two inputs, so the join's watermark is that stream time minus one, after
 * every record (`engine/watermarks.ts`). Keys are Kafka's integer keys as strings.
 */
export interface TopicRecord<V> {
  readonly topic: 'topic1' | 'topic2';
  readonly key: number | string;
  readonly value: V;
  readonly ts: number;
}

/** `[key, value, timestamp]`, Kafka's `KeyValueTimestamp`. */
export type KeyValueTimestamp<O> = readonly [number | string, O, number];

/** `JoinWindows.ofTimeDifferenceAndGrace(before/after)` with `.before()` / `.after()` applied. */
export interface JoinWindows {
  readonly beforeMs: number;
  readonly afterMs: number;
  readonly graceMs: number;
}
export const ofTimeDifferenceWithNoGrace = (ms: number): JoinWindows => ({ beforeMs: ms, afterMs: ms, graceMs: 0 });
export const ofTimeDifferenceAndGrace = (ms: number, graceMs: number): JoinWindows => ({ beforeMs: ms, afterMs: ms, graceMs });

/** `MockValueJoiner.TOSTRING_JOINER`: `"left+right"`, `null` for a missing side. */
export const TOSTRING_JOINER = <V>(l: V | null, r: V | null): string => `${String(l)}+${String(r)}`;

export class KStreamJoinDriver<V, O> {
  readonly d: TestDriver;

  constructor(windows: JoinWindows, joinType: JoinType, joiner: (l: V | null, r: V | null) => O) {
    const p = pipeline('kstream-kstream-join');
    const input = p.source<TopicRecord<V>>('input', { timestamp: (r) => r.ts });
    const topics = input.branch({ topic1: (r) => r.topic === 'topic1' });
    const left = topics.topic1.keyBy((r) => String(r.key));
    const right = topics.otherwise.keyBy((r) => String(r.key));
    // A Kafka JoinWindows(before, after) is the interval [-before, +after] around the left record.
    const def = intervalJoin<TopicRecord<V>, TopicRecord<V>, O, JoinType>(
      'join',
      { lowerMs: -windows.beforeMs, upperMs: windows.afterMs, graceMs: windows.graceMs, joinType },
      (l, r) => joiner(l?.value ?? null, r?.value ?? null),
    ) as OperatorDef<unknown, unknown>;
    new KeyedStream<O>(p.graph, p.graph.addOperator(def, [left.edgeOf(0), right.edgeOf(1)], true)).to('out');
    this.d = TestDriver.of(p);
  }

  /** `inputTopicN.pipeInput(key, value, timestamp)`; the tests' input topics start at 0 and do not auto-advance. */
  pipeInput(topic: 'topic1' | 'topic2', key: number | string, value: V, ts = 0): this {
    this.d.push('input', { topic, key, value, ts });
    return this;
  }

  /**
   * `processor.checkAndClearProcessResult(...)`, in order; also asserts what went to the side output
   * `late` since the last check (none unless given), so every divergence from Kafka is visible.
   */
  checkAndClearProcessResult(expected: ReadonlyArray<KeyValueTimestamp<O>>, late: readonly V[] = []): void {
    const got = this.d.records<O>('out').map((r) => [typeof expected[0]?.[0] === 'number' ? Number(r.key) : r.key, r.value, r.ts]);
    expect(got).toEqual(expected.map((e) => [...e]));
    expect(this.d.side<TopicRecord<V>>('join', 'late').map((r) => r.value.value)).toEqual(late);
    this.d.clearOutputs();
  }
}
