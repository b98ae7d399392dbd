/**
 * Port of Kafka Streams 3.9.2
 * `streams/src/test/java/org/apache/kafka/streams/kstream/internals/TimeWindowedKStreamImplTest.java`
 * (apache/kafka, test-sources jar of org.apache.kafka:kafka-streams:3.9.2): count, reduce and
 * aggregate over `TimeWindows.ofSizeWithNoGrace(500ms)`, under `EmitStrategy.onWindowUpdate()`
 * (our `onUpdate`) and `EmitStrategy.onWindowClose()` (our `onClose`), with the original inputs
 * and expected keys, windows, values and timestamps.
 *
 * Ported:
 * - shouldCountWindowed, shouldReduceWindowed, shouldAggregateWindowed, for both strategies. Kafka
 *   runs each with and without caching and expects the same output, since TopologyTestDriver
 *   flushes after every record. We have no cache, so one port covers both.
 *
 * Divergence, by design (documented in `engine/windows.ts`): under `onClose`, our output ts
 * is the window's last millisecond (`end - 1`). Kafka Streams uses the largest record ts in the
 * window. Kafka's value is noted beside each such expectation.
 *
 * Not applicable:
 * - shouldMaterializeCount, shouldMaterializeReduced, shouldMaterializeAggregated: they query a
 *   named window store (`Materialized.as`, `driver.getWindowStore`), with and without a caching
 *   layer, and its retention (`observedStreamTime - retentionPeriod`). Our window state is
 *   internal to the step and not queryable, and there is no store cache.
 * - shouldThrowNullPointerOn* (aggregate, reduce, count; initializer, aggregator, reducer,
 *   Materialized, Named is null): Java checks nulls at run time. Here the types reject them at
 *   compile time (checked below with `@ts-expect-error`). Materialized and Named have no
 *   counterpart: state is named by the step id, which is required.
 */
import { describe, expect, it } from 'vitest';
import { tumblingWindow } from '../operators/tumblingWindow.js';
import { pipeline } from '../stream/stream.js';
import { KStreamsDriver, STRATEGIES, type Kvt, type Op } from './kstreams.js';

const TOPIC = 'input';
const windows = () => tumblingWindow({ sizeMs: 500, graceMs: 0 });

function processData(op: Op, emit: 'onUpdate' | 'onClose'): KStreamsDriver {
  const d = new KStreamsDriver([{ topic: TOPIC, window: windows(), op, emit }]);
  d.pipeInput(TOPIC, '1', '1', 10);
  d.pipeInput(TOPIC, '1', '2', 15);
  d.pipeInput(TOPIC, '1', '3', 500);
  d.pipeInput(TOPIC, '2', '10', 550);
  d.pipeInput(TOPIC, '2', '20', 500);
  d.pipeInput(TOPIC, '2', '30', 1000);
  return d;
}

describe.each(STRATEGIES)('TimeWindowedKStreamImplTest [%s]', (_kafka, emit) => {
  const emitFinal = emit === 'onClose';

  it('shouldCountWindowed', () => {
    const processed = processData('count', emit).processed<number>(TOPIC);
    if (emitFinal) {
      expect(processed).toEqual<Array<Kvt<number>>>([
        ['1', 0, 500, 2, 499], // Kafka: ts 15
        ['1', 500, 1000, 1, 999], // Kafka: ts 500
        ['2', 500, 1000, 2, 999], // Kafka: ts 550
      ]);
    } else {
      expect(processed).toEqual<Array<Kvt<number>>>([
        ['1', 0, 500, 1, 10],
        ['1', 0, 500, 2, 15],
        ['1', 500, 1000, 1, 500],
        ['2', 500, 1000, 1, 550],
        ['2', 500, 1000, 2, 550],
        ['2', 1000, 1500, 1, 1000],
      ]);
    }
  });

  it('shouldReduceWindowed', () => {
    const processed = processData('reduce', emit).processed<string>(TOPIC);
    if (emitFinal) {
      expect(processed).toEqual<Array<Kvt<string>>>([
        ['1', 0, 500, '1+2', 499], // Kafka: ts 15
        ['1', 500, 1000, '3', 999], // Kafka: ts 500
        ['2', 500, 1000, '10+20', 999], // Kafka: ts 550
      ]);
    } else {
      expect(processed).toEqual<Array<Kvt<string>>>([
        ['1', 0, 500, '1', 10],
        ['1', 0, 500, '1+2', 15],
        ['1', 500, 1000, '3', 500],
        ['2', 500, 1000, '10', 550],
        ['2', 500, 1000, '10+20', 550],
        ['2', 1000, 1500, '30', 1000],
      ]);
    }
  });

  it('shouldAggregateWindowed', () => {
    const processed = processData('aggregate', emit).processed<string>(TOPIC);
    if (emitFinal) {
      expect(processed).toEqual<Array<Kvt<string>>>([
        ['1', 0, 500, '0+1+2', 499], // Kafka: ts 15
        ['1', 500, 1000, '0+3', 999], // Kafka: ts 500
        ['2', 500, 1000, '0+10+20', 999], // Kafka: ts 550
      ]);
    } else {
      expect(processed).toEqual<Array<Kvt<string>>>([
        ['1', 0, 500, '0+1', 10],
        ['1', 0, 500, '0+1+2', 15],
        ['1', 500, 1000, '0+3', 500],
        ['2', 500, 1000, '0+10', 550],
        ['2', 500, 1000, '0+10+20', 550],
        ['2', 1000, 1500, '0+30', 1000],
      ]);
    }
  });

  it('shouldThrowNullPointerOn*: null arguments do not type-check', () => {
    const windowed = pipeline('nulls')
      .keyedSource<string>('in', { key: (v) => v, timestamp: () => 0 })
      .window(windows());
    // Never called: the assertions are the compile-time errors.
    const uncalled = () => {
      // @ts-expect-error an aggregator is required
      windowed.aggregate('a', null);
      // @ts-expect-error a reducer is required
      windowed.reduce('r', null);
      // @ts-expect-error the step id is required (it names the state, as Materialized.as does)
      windowed.count();
    };
    expect(typeof uncalled).toBe('function');
  });
});
