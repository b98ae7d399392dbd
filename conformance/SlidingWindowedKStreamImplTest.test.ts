/**
 * Port of Kafka Streams 3.9.2
 * `streams/src/test/java/org/apache/kafka/streams/kstream/internals/SlidingWindowedKStreamImplTest.java`
 * (test-sources jar of org.apache.kafka:kafka-streams:3.9.2): count, reduce and aggregate over
 * `SlidingWindows.ofTimeDifferenceAndGrace(100ms, 1000ms)` with the default emit strategy
 * (on update). For each window it asserts the last value and ts forwarded
 * (`lastValueAndTimestampPerKey`). Sliding windows are `[start, end]`, both ends inclusive.
 *
 * Ported: shouldCountSlidingWindows, shouldReduceSlidingWindows, shouldAggregateSlidingWindows.
 *
 * Not applicable:
 * - shouldMaterializeCount, shouldMaterializeReduced, shouldMaterializeAggregated,
 *   shouldDropWindowsOutsideOfRetention: they query a named window store and its retention. Our
 *   window state is internal to the step. It is kept until `W >= end + grace + 2 * timeDifference`,
 *   Kafka's default retention.
 * - shouldThrowIllegalArgumentWhenRetentionIsTooSmall: there is no retention setting.
 * - shouldThrowNullPointerOn*: the types reject null arguments at compile time (see
 *   TimeWindowedKStreamImplTest.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { slidingWindow } from '../operators/slidingWindow.js';
import { KStreamsDriver, type Op } from './kstreams.js';

const TOPIC = 'input';

/** `lastValueAndTimestampPerKey()`: per window `key@start/end`, the last `[value, ts]` forwarded. */
function lastPerWindow(op: Op): Map<string, readonly [unknown, number]> {
  const d = new KStreamsDriver([{ topic: TOPIC, window: slidingWindow({ timeDifferenceMs: 100, graceMs: 1000 }), op, emit: 'onUpdate' }]);
  d.pipeInput(TOPIC, '1', '1', 100);
  d.pipeInput(TOPIC, '1', '2', 150);
  d.pipeInput(TOPIC, '1', '3', 500);
  d.pipeInput(TOPIC, '2', '10', 200);
  d.pipeInput(TOPIC, '2', '20', 150);
  const last = new Map<string, readonly [unknown, number]>();
  for (const [k, start, end, value, ts] of d.processed(TOPIC)) last.set(`${k}@${start}/${end}`, [value, ts]);
  return last;
}

describe('SlidingWindowedKStreamImplTest', () => {
  it('shouldCountSlidingWindows', () => {
    const last = lastPerWindow('count');
    expect(last.get('1@0/100')).toEqual([1, 100]);
    expect(last.get('1@101/201')).toEqual([1, 150]);
    expect(last.get('1@50/150')).toEqual([2, 150]);
    expect(last.get('1@400/500')).toEqual([1, 500]);
    expect(last.get('2@100/200')).toEqual([2, 200]);
    expect(last.get('2@50/150')).toEqual([1, 150]);
    expect(last.get('2@151/251')).toEqual([1, 200]);
  });

  it('shouldReduceSlidingWindows', () => {
    const last = lastPerWindow('reduce');
    expect(last.get('1@0/100')).toEqual(['1', 100]);
    expect(last.get('1@101/201')).toEqual(['2', 150]);
    expect(last.get('1@50/150')).toEqual(['1+2', 150]);
    expect(last.get('1@400/500')).toEqual(['3', 500]);
    expect(last.get('2@100/200')).toEqual(['10+20', 200]);
    expect(last.get('2@50/150')).toEqual(['20', 150]);
    expect(last.get('2@151/251')).toEqual(['10', 200]);
  });

  it('shouldAggregateSlidingWindows', () => {
    const last = lastPerWindow('aggregate');
    expect(last.get('1@0/100')).toEqual(['0+1', 100]);
    expect(last.get('1@101/201')).toEqual(['0+2', 150]);
    expect(last.get('1@50/150')).toEqual(['0+1+2', 150]);
    expect(last.get('1@400/500')).toEqual(['0+3', 500]);
    expect(last.get('2@100/200')).toEqual(['0+10+20', 200]);
    expect(last.get('2@50/150')).toEqual(['0+20', 150]);
    expect(last.get('2@151/251')).toEqual(['0+10', 200]);
  });
});
