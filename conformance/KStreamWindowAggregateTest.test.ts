/**
 * Port of Kafka Streams 3.9.2
 * `streams/src/test/java/org/apache/kafka/streams/kstream/internals/KStreamWindowAggregateTest.java`
 * (test-sources jar of org.apache.kafka:kafka-streams:3.9.2): the time-window aggregate processor
 * (hopping windows `TimeWindows.ofSizeAndGrace(..).advanceBy(..)`), under
 * `EmitStrategy.onWindowUpdate()` (our `onUpdate`) and `EmitStrategy.onWindowClose()` (our
 * `onClose`), with the original inputs and expected keys, windows, values and timestamps.
 *
 * Ported:
 * - testAggBasic.
 * - testJoin: the two windowed aggregations (topic1 and topic2) and what each forwards. The
 *   KTable-KTable join of their results is not applicable (see below).
 * - shouldLogAndMeterWhenSkippingExpiredWindow, shouldLogAndMeterWhenSkippingExpiredWindowByGrace:
 *   outputs, and which records are dropped. Kafka counts a record once per expired window it was
 *   skipped from (7). We put a record on the side output `late` only when it was dropped from
 *   every window, because it still counts in its open windows. The log lines and the
 *   `dropped-records-*` / `record-lateness-*` task metrics are not applicable.
 * - shouldNotEmitFinalIfNotProgressEnough, shouldEmitWithInterval0: Kafka drives the processor
 *   directly with emit interval 0 (emit final on every record). Ours emits as soon as the
 *   watermark closes a window, which is the same.
 * - shouldEmitFromLastEmitTime: Kafka starts a second processor over the same store and processor
 *   metadata. Ours snapshots, restores into a new driver and continues. Windows already emitted
 *   are not emitted again.
 *
 * Divergences, by design:
 * - `onClose` output ts is the window's last millisecond (`end - 1`). Kafka uses the largest record
 *   ts in the window (noted beside each expectation).
 * - Final results that close at the same time are emitted in window-creation order. Kafka emits
 *   them in store order (window, then key). The `onClose` expectations compare through
 *   `inStoreOrder`.
 *
 * Not applicable:
 * - testJoin's `table1.join(table2)` results (processor 2), and the cache-dependent expectations
 *   of processor 1 under ON_WINDOW_CLOSE with caching: no KTable-KTable join and no store cache.
 * - shouldLogAndMeterWhenSkippingNullKey: keys are strings, and a keyed stream has no null key.
 * - shouldEmitWithLargeInterval: the emit interval (`emit.interval.ms.kstreams.windowed.aggregation`)
 *   batches final results by wall-clock time. We have no such knob. The final results are those
 *   of shouldEmitWithInterval0, emitted earlier.
 * - showThrowIfEmitFinalUsedWithUnlimitedWindow: there are no unlimited windows.
 * - The lateness and emitted-record metrics (`assertLatenessMetrics`, `assertEmittedMetrics`):
 *   metric names of Kafka's registry. Ours is the step counter `late_records`.
 */
import { describe, expect, it } from 'vitest';
import { hoppingWindow } from '../operators/hoppingWindow.js';
import { inStoreOrder, KStreamsDriver, STRATEGIES, type Kvt } from './kstreams.js';

const hopping = (sizeMs: number, advanceMs: number, graceMs: number) => hoppingWindow({ sizeMs, advanceMs, graceMs });

describe.each(STRATEGIES)('KStreamWindowAggregateTest [%s]', (_kafka, emit) => {
  const emitFinal = emit === 'onClose';

  it('testAggBasic', () => {
    const d = new KStreamsDriver([{ topic: 'topic1', window: hopping(10, 5, 100), op: 'aggregate', emit }]);
    for (const [k, v, ts] of [
      ['A', '1', 0], ['B', '2', 1], ['C', '3', 2], ['D', '4', 3], ['A', '1', 4],
      ['A', '1', 5], ['B', '2', 6], ['D', '4', 7], ['B', '2', 8], ['C', '3', 9],
      ['A', '1', 10], ['B', '2', 11], ['D', '4', 12], ['B', '2', 13], ['C', '3', 14],
      ['B', '1', 3], ['B', '2', 2], ['B', '3', 9],
    ] as const) d.pipeInput('topic1', k, v, ts);

    if (emitFinal) {
      // Nothing processed since grace is 100L and no window closes
      expect(d.processed('topic1')).toEqual([]);
    } else {
      expect(d.processed<string>('topic1')).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+1', 0],
        ['B', 0, 10, '0+2', 1],
        ['C', 0, 10, '0+3', 2],
        ['D', 0, 10, '0+4', 3],
        ['A', 0, 10, '0+1+1', 4],
        ['A', 0, 10, '0+1+1+1', 5],
        ['A', 5, 15, '0+1', 5],
        ['B', 0, 10, '0+2+2', 6],
        ['B', 5, 15, '0+2', 6],
        ['D', 0, 10, '0+4+4', 7],
        ['D', 5, 15, '0+4', 7],
        ['B', 0, 10, '0+2+2+2', 8],
        ['B', 5, 15, '0+2+2', 8],
        ['C', 0, 10, '0+3+3', 9],
        ['C', 5, 15, '0+3', 9],
        ['A', 5, 15, '0+1+1', 10],
        ['A', 10, 20, '0+1', 10],
        ['B', 5, 15, '0+2+2+2', 11],
        ['B', 10, 20, '0+2', 11],
        ['D', 5, 15, '0+4+4', 12],
        ['D', 10, 20, '0+4', 12],
        ['B', 5, 15, '0+2+2+2+2', 13],
        ['B', 10, 20, '0+2+2', 13],
        ['C', 5, 15, '0+3+3', 14],
        ['C', 10, 20, '0+3', 14],
        ['B', 0, 10, '0+2+2+2+1', 8],
        ['B', 0, 10, '0+2+2+2+1+2', 8],
        ['B', 0, 10, '0+2+2+2+1+2+3', 9],
        ['B', 5, 15, '0+2+2+2+2+3', 13],
      ]);
    }
  });

  it('testJoin (the two windowed aggregations)', () => {
    const grace = emitFinal ? 5 : 100;
    const d = new KStreamsDriver([
      { topic: 'topic1', window: hopping(10, 5, grace), op: 'aggregate', emit },
      { topic: 'topic2', window: hopping(10, 5, grace), op: 'aggregate', emit },
    ]);
    const pipe = (topic: string, rows: ReadonlyArray<readonly [string, string, number]>) => {
      for (const [k, v, ts] of rows) d.pipeInput(topic, k, v, ts);
    };

    if (emitFinal) {
      // processEmitFinalJoin
      pipe('topic1', [['A', '1', 0], ['B', '2', 1], ['C', '3', 2], ['D', '4', 3], ['A', '1', 9], ['A', '1', 15]]);
      expect(inStoreOrder(d.takeProcessed<string>('topic1'))).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+1+1', 9], // Kafka: ts 9
        ['B', 0, 10, '0+2', 9], // Kafka: ts 1
        ['C', 0, 10, '0+3', 9], // Kafka: ts 2
        ['D', 0, 10, '0+4', 9], // Kafka: ts 3
      ]);
      expect(d.takeProcessed('topic2')).toEqual([]);

      pipe('topic1', [['A', '1', 10], ['B', '2', 11], ['D', '4', 12], ['B', '2', 13], ['C', '3', 14], ['A', '1', 20]]);
      expect(inStoreOrder(d.takeProcessed<string>('topic1'))).toEqual<Array<Kvt<string>>>([
        ['A', 5, 15, '0+1+1', 14], // Kafka: ts 10
        ['B', 5, 15, '0+2+2', 14], // Kafka: ts 13
        ['C', 5, 15, '0+3', 14], // Kafka: ts 14
        ['D', 5, 15, '0+4', 14], // Kafka: ts 12
      ]);
      expect(d.takeProcessed('topic2')).toEqual([]);

      pipe('topic2', [['A', 'a', 0], ['B', 'b', 1], ['C', 'c', 2], ['D', 'd', 10], ['A', 'a', 15]]);
      expect(d.takeProcessed('topic1')).toEqual([]);
      expect(inStoreOrder(d.takeProcessed<string>('topic2'))).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+a', 9], // Kafka: ts 0
        ['B', 0, 10, '0+b', 9], // Kafka: ts 1
        ['C', 0, 10, '0+c', 9], // Kafka: ts 2
      ]);

      pipe('topic2', [['A', 'a', 5], ['B', 'b', 6], ['D', 'd', 7], ['D', 'd', 18], ['A', 'a', 21]]);
      expect(d.takeProcessed('topic1')).toEqual([]);
      expect(inStoreOrder(d.takeProcessed<string>('topic2'))).toEqual<Array<Kvt<string>>>([
        ['A', 5, 15, '0+a', 14], // Kafka: ts 5
        ['B', 5, 15, '0+b', 14], // Kafka: ts 6
        ['D', 5, 15, '0+d+d', 14], // Kafka: ts 10
      ]);
      // D@7 was too late for [0,10) (closed at W=14) but counted in [5,15): not late.
      expect(d.late('topic2')).toEqual([]);
    } else {
      // processEmitUpdateJoin
      pipe('topic1', [['A', '1', 0], ['B', '2', 1], ['C', '3', 2], ['D', '4', 3], ['A', '1', 9]]);
      expect(d.takeProcessed<string>('topic1')).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+1', 0],
        ['B', 0, 10, '0+2', 1],
        ['C', 0, 10, '0+3', 2],
        ['D', 0, 10, '0+4', 3],
        ['A', 0, 10, '0+1+1', 9],
        ['A', 5, 15, '0+1', 9],
      ]);
      expect(d.takeProcessed('topic2')).toEqual([]);

      pipe('topic1', [['A', '1', 5], ['B', '2', 6], ['D', '4', 7], ['B', '2', 8], ['C', '3', 9]]);
      expect(d.takeProcessed<string>('topic1')).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+1+1+1', 9],
        ['A', 5, 15, '0+1+1', 9],
        ['B', 0, 10, '0+2+2', 6],
        ['B', 5, 15, '0+2', 6],
        ['D', 0, 10, '0+4+4', 7],
        ['D', 5, 15, '0+4', 7],
        ['B', 0, 10, '0+2+2+2', 8],
        ['B', 5, 15, '0+2+2', 8],
        ['C', 0, 10, '0+3+3', 9],
        ['C', 5, 15, '0+3', 9],
      ]);
      expect(d.takeProcessed('topic2')).toEqual([]);

      pipe('topic2', [['A', 'a', 0], ['B', 'b', 1], ['C', 'c', 2], ['D', 'd', 20], ['A', 'a', 20]]);
      expect(d.takeProcessed('topic1')).toEqual([]);
      expect(d.takeProcessed<string>('topic2')).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+a', 0],
        ['B', 0, 10, '0+b', 1],
        ['C', 0, 10, '0+c', 2],
        ['D', 15, 25, '0+d', 20],
        ['D', 20, 30, '0+d', 20],
        ['A', 15, 25, '0+a', 20],
        ['A', 20, 30, '0+a', 20],
      ]);

      pipe('topic2', [['A', 'a', 5], ['B', 'b', 6], ['D', 'd', 7], ['D', 'd', 18], ['A', 'a', 21]]);
      expect(d.takeProcessed('topic1')).toEqual([]);
      expect(d.takeProcessed<string>('topic2')).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+a+a', 5],
        ['A', 5, 15, '0+a', 5],
        ['B', 0, 10, '0+b+b', 6],
        ['B', 5, 15, '0+b', 6],
        ['D', 0, 10, '0+d', 7],
        ['D', 5, 15, '0+d', 7],
        ['D', 10, 20, '0+d', 18],
        ['D', 15, 25, '0+d+d', 20],
        ['A', 15, 25, '0+a+a', 21],
        ['A', 20, 30, '0+a+a', 21],
      ]);
    }
  });

  it('shouldLogAndMeterWhenSkippingExpiredWindow', () => {
    const d = new KStreamsDriver([{ topic: 'topic', window: hopping(10, 5, 90), op: 'aggregate', emit, init: () => '' }]);
    for (const [v, ts] of [['100', 100], ['0', 0], ['1', 1], ['2', 2], ['3', 3], ['4', 4], ['5', 5], ['6', 6], ['105', 105], ['106', 106]] as const) {
      d.pipeInput('topic', 'k', v, ts);
    }
    // Kafka: 7 dropped (0..6 from [0,10), "expiration=[10] streamTime=[100]"). 5 and 6 still count in
    // [5,15), so only 0..4 were dropped from every window.
    expect(d.late('topic')).toEqual([0, 1, 2, 3, 4].map((ts) => ({ k: 'k', v: String(ts), ts })));
    expect(d.driver.executor.stats()['topic.agg']?.['late_records']).toBe(5);

    if (emitFinal) {
      // Window close time is 15 when timestamp is 105
      expect(d.processed<string>('topic')).toEqual<Array<Kvt<string>>>([['k', 5, 15, '+5+6', 14]]); // Kafka: ts 6
    } else {
      expect(d.processed<string>('topic')).toEqual<Array<Kvt<string>>>([
        ['k', 95, 105, '+100', 100],
        ['k', 100, 110, '+100', 100],
        ['k', 5, 15, '+5', 5],
        ['k', 5, 15, '+5+6', 6],
        ['k', 100, 110, '+100+105', 105],
        ['k', 105, 115, '+105', 105],
        ['k', 100, 110, '+100+105+106', 106],
        ['k', 105, 115, '+105+106', 106],
      ]);
    }
  });

  it('shouldLogAndMeterWhenSkippingExpiredWindowByGrace', () => {
    const d = new KStreamsDriver([{ topic: 'topic', window: hopping(10, 10, 90), op: 'aggregate', emit, init: () => '' }]);
    for (const [v, ts] of [['100', 200], ['0', 100], ['1', 101], ['2', 102], ['3', 103], ['4', 104], ['5', 105], ['6', 6]] as const) {
      d.pipeInput('topic', 'k', v, ts);
    }
    // Kafka: 7 dropped; 100..105 from [100,110) and 6 from [0,10), "expiration=[110] streamTime=[200]".
    expect(d.late('topic').map((r) => r.ts)).toEqual([100, 101, 102, 103, 104, 105, 6]);
    if (!emitFinal) {
      expect(d.processed<string>('topic')).toEqual<Array<Kvt<string>>>([['k', 200, 210, '+100', 200]]);
    } else {
      // Not asserted by Kafka: [200,210) closes only at W >= 299.
      expect(d.processed('topic')).toEqual([]);
    }
  });

  it('shouldNotEmitFinalIfNotProgressEnough', () => {
    const d = new KStreamsDriver([{ topic: 't', window: hopping(10, 5, 5), op: 'aggregate', emit }]);
    d.pipeInput('t', 'A', '1', 0).pipeInput('t', 'B', '2', 5).pipeInput('t', 'C', '3', 15);
    if (emitFinal) {
      expect(d.takeProcessed<string>('t')).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+1', 9], // Kafka: ts 0
        ['B', 0, 10, '0+2', 9], // Kafka: ts 5
      ]);
    } else {
      expect(d.takeProcessed<string>('t')).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+1', 0],
        ['B', 0, 10, '0+2', 5],
        ['B', 5, 15, '0+2', 5],
        ['C', 10, 20, '0+3', 15],
        ['C', 15, 25, '0+3', 15],
      ]);
    }

    d.pipeInput('t', 'D', '4', 15);
    // None emitted on close because observedTime doesn't progress
    expect(d.takeProcessed<string>('t')).toEqual<Array<Kvt<string>>>(
      emitFinal ? [] : [['D', 10, 20, '0+4', 15], ['D', 15, 25, '0+4', 15]],
    );

    d.pipeInput('t', 'E', '5', 19);
    // None emitted on close because observedTime doesn't progress enough to cover new windows
    expect(d.takeProcessed<string>('t')).toEqual<Array<Kvt<string>>>(
      emitFinal ? [] : [['E', 10, 20, '0+5', 19], ['E', 15, 25, '0+5', 19]],
    );
  });

  it('shouldEmitWithInterval0', () => {
    const d = new KStreamsDriver([{ topic: 't', window: hopping(10, 5, 5), op: 'aggregate', emit }]);
    d.pipeInput('t', 'A', '1', 0).pipeInput('t', 'A', '1', 5).pipeInput('t', 'B', '2', 10).pipeInput('t', 'C', '3', 15).pipeInput('t', 'D', '4', 20);
    if (emitFinal) {
      expect(d.processed<string>('t')).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+1+1', 9], // Kafka: ts 5
        ['A', 5, 15, '0+1', 14], // Kafka: ts 5
        ['B', 5, 15, '0+2', 14], // Kafka: ts 10
      ]);
    } else {
      expect(d.processed<string>('t')).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+1', 0],
        ['A', 0, 10, '0+1+1', 5],
        ['A', 5, 15, '0+1', 5],
        ['B', 5, 15, '0+2', 10],
        ['B', 10, 20, '0+2', 10],
        ['C', 10, 20, '0+3', 15],
        ['C', 15, 25, '0+3', 15],
        ['D', 15, 25, '0+4', 20],
        ['D', 20, 30, '0+4', 20],
      ]);
    }
  });

  it('shouldEmitFromLastEmitTime (snapshot, restore into a new driver, continue)', () => {
    const agg = [{ topic: 't', window: hopping(10, 5, 5), op: 'aggregate', emit }] as const;
    const d = new KStreamsDriver(agg);
    d.pipeInput('t', 'A', '1', 0).pipeInput('t', 'B', '2', 5).pipeInput('t', 'C', '3', 15);
    if (emitFinal) {
      expect(d.takeProcessed<string>('t')).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+1', 9], // Kafka: ts 0
        ['B', 0, 10, '0+2', 9], // Kafka: ts 5
      ]);
    } else {
      expect(d.takeProcessed<string>('t')).toEqual<Array<Kvt<string>>>([
        ['A', 0, 10, '0+1', 0],
        ['B', 0, 10, '0+2', 5],
        ['B', 5, 15, '0+2', 5],
        ['C', 10, 20, '0+3', 15],
        ['C', 15, 25, '0+3', 15],
      ]);
    }

    const restored = new KStreamsDriver(agg).restore(JSON.parse(JSON.stringify(d.snapshot())));
    restored.pipeInput('t', 'D', '4', 25);
    if (emitFinal) {
      // Don't output old windows for new processor
      expect(restored.processed<string>('t')).toEqual<Array<Kvt<string>>>([
        ['B', 5, 15, '0+2', 14], // Kafka: ts 5
        ['C', 10, 20, '0+3', 19], // Kafka: ts 15
      ]);
    } else {
      expect(restored.processed<string>('t')).toEqual<Array<Kvt<string>>>([
        ['D', 20, 30, '0+4', 25],
        ['D', 25, 35, '0+4', 25],
      ]);
    }
  });
});
