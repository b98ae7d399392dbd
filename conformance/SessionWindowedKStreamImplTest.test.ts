/**
 * Port of Kafka Streams 3.9.2
 * `streams/src/test/java/org/apache/kafka/streams/kstream/internals/SessionWindowedKStreamImplTest.java`
 * (test-sources jar of org.apache.kafka:kafka-streams:3.9.2): count, reduce and aggregate over
 * `SessionWindows.ofInactivityGapWithNoGrace(500ms)`, under `EmitStrategy.onWindowUpdate()` (our
 * `onUpdate`) and `EmitStrategy.onWindowClose()` (our `onClose`), with the original inputs and
 * expected keys, session bounds (`[start, end]`, inclusive), values and timestamps.
 *
 * Kafka forwards a tombstone (`null`) for each session a record merges away. We emit the
 * superseded session, with its last value, on the side output `retractions`. The driver in
 * `./kstreams.ts` interleaves those as tombstones, in emission order, to compare with Kafka's
 * changelog. Output timestamps match Kafka in both modes: the session end, which is also the
 * largest record ts in the session.
 *
 * Ported:
 * - shouldCountSessionWindowedWithCachingDisabled, shouldCountSessionWindowedWithCachingEnabled:
 *   one port, since both expect the same output and we have no store cache.
 * - shouldReduceWindowed, shouldAggregateSessionWindowed.
 *
 * Not applicable:
 * - shouldMaterializeCount, shouldMaterializeReduced, shouldMaterializeAggregated: they query a
 *   named session store (`Materialized.as`, `driver.getSessionStore`). Our session state is
 *   internal to the step and not queryable.
 * - shouldNotEnableCachingWithEmitFinal: asserts which store classes wrap each other
 *   (MeteredSessionStore, ChangeLoggingSessionBytesStore, RocksDBTimeOrderedSessionStore).
 * - shouldThrowNullPointerOn* (aggregate, reduce, count; initializer, aggregator, merger,
 *   reducer, Materialized, Named is null): the types reject these at compile time (checked below
 *   with `@ts-expect-error`). A session aggregate without `merge` is a type error, and also
 *   fails at build time for untyped callers.
 */
import { describe, expect, it } from 'vitest';
import { sessionWindow } from '../operators/sessionWindow.js';
import { pipeline } from '../stream/stream.js';
import { KStreamsDriver, STRATEGIES, type Kvt, type Op } from './kstreams.js';

const TOPIC = 'input';
const windows = () => sessionWindow({ gapMs: 500, graceMs: 0 });

function processData(op: Op, emit: 'onUpdate' | 'onClose'): KStreamsDriver {
  const d = new KStreamsDriver([{ topic: TOPIC, window: windows(), op, emit }]);
  d.pipeInput(TOPIC, '1', '1', 10);
  d.pipeInput(TOPIC, '1', '2', 15);
  d.pipeInput(TOPIC, '1', '3', 600);
  d.pipeInput(TOPIC, '2', '1', 600);
  d.pipeInput(TOPIC, '2', '2', 599);
  return d;
}

describe.each(STRATEGIES)('SessionWindowedKStreamImplTest [%s]', (_kafka, emit) => {
  const emitFinal = emit === 'onClose';

  it('shouldCountSessionWindowed (caching disabled and enabled)', () => {
    const processed = processData('count', emit).processed<number>(TOPIC);
    if (emitFinal) {
      expect(processed).toEqual<Array<Kvt<number>>>([['1', 10, 15, 2, 15]]);
    } else {
      expect(processed).toEqual<Array<Kvt<number>>>([
        ['1', 10, 10, 1, 10],
        ['1', 10, 10, null, 10],
        ['1', 10, 15, 2, 15],
        ['1', 600, 600, 1, 600],
        ['2', 600, 600, 1, 600],
        ['2', 600, 600, null, 600],
        ['2', 599, 600, 2, 600],
      ]);
    }
  });

  it('shouldReduceWindowed', () => {
    const processed = processData('reduce', emit).processed<string>(TOPIC);
    if (emitFinal) {
      expect(processed).toEqual<Array<Kvt<string>>>([['1', 10, 15, '1+2', 15]]);
    } else {
      expect(processed).toEqual<Array<Kvt<string>>>([
        ['1', 10, 10, '1', 10],
        ['1', 10, 10, null, 10],
        ['1', 10, 15, '1+2', 15],
        ['1', 600, 600, '3', 600],
        ['2', 600, 600, '1', 600],
        ['2', 600, 600, null, 600],
        ['2', 599, 600, '1+2', 600],
      ]);
    }
  });

  it('shouldAggregateSessionWindowed', () => {
    const d = processData('aggregate', emit);
    const processed = d.processed<string>(TOPIC);
    if (emitFinal) {
      expect(processed).toEqual<Array<Kvt<string>>>([['1', 10, 15, '0+0+1+2', 15]]);
      expect(d.driver.side('input.agg', 'retractions')).toEqual([]);
    } else {
      expect(processed).toEqual<Array<Kvt<string>>>([
        ['1', 10, 10, '0+1', 10],
        ['1', 10, 10, null, 10],
        ['1', 10, 15, '0+0+1+2', 15],
        ['1', 600, 600, '0+3', 600],
        ['2', 600, 600, '0+1', 600],
        ['2', 600, 600, null, 600],
        ['2', 599, 600, '0+0+1+2', 600],
      ]);
      // Our retractions carry the superseded session's last value (Kafka's old value with sendOldValues).
      expect(d.driver.side('input.agg', 'retractions')).toEqual([
        { key: '1', ts: 10, value: { key: '1', start: 10, end: 10, value: '0+1' } },
        { key: '2', ts: 600, value: { key: '2', start: 600, end: 600, value: '0+1' } },
      ]);
    }
  });

  it('shouldThrowNullPointerOn*: null arguments and a missing merger do not type-check', () => {
    const windowed = pipeline('nulls')
      .keyedSource<string>('in', { key: (v) => v, timestamp: () => 0 })
      .window(windows());
    // Never called: the assertions are the compile-time errors.
    const uncalled = () => {
      // @ts-expect-error an aggregator is required
      windowed.aggregate('a', null);
      // @ts-expect-error session aggregators must merge (Kafka: sessionMerger can't be null)
      windowed.aggregate('a', { init: () => '', add: (acc: string, v: string) => acc + v });
      // @ts-expect-error a reducer is required
      windowed.reduce('r', null);
      // @ts-expect-error the step id is required (it names the state, as Materialized.as does)
      windowed.count();
    };
    expect(typeof uncalled).toBe('function');
  });
});
