/**
 * Port of Kafka Streams 3.9.2
 * `streams/src/test/java/org/apache/kafka/streams/kstream/internals/KStreamSlidingWindowAggregateTest.java`
 * (test-sources jar of org.apache.kafka:kafka-streams:3.9.2): the sliding-window aggregate
 * processor under `EmitStrategy.onWindowUpdate()` (our `onUpdate`) and
 * `EmitStrategy.onWindowClose()` (our `onClose`). Kafka compares, per window start, the set of
 * `(value, ts)` forwarded (`gatherOutput`). Order within a record does not matter.
 *
 * Kafka runs each case with a forward and a reverse store iterator and with and without caching,
 * and expects the same sets. Our engine follows the reverse-iterator path (the default stores').
 *
 * Ported: testAggregateSmallInput, testReduceSmallInput, testEarlyRecordsSmallInput,
 * testEarlyRecordsRepeatedInput, testEarlyNoGracePeriodSmallInput, testNoGracePeriodSmallInput,
 * shouldLogAndMeterWhenSkippingExpiredWindowByGrace (outputs and dropped records; the log lines
 * and lateness metrics are not applicable), testAggregateRandomInput (with fixed seeds instead
 * of a random one).
 *
 * Divergences, by design:
 * - `onClose` output ts is the window's last millisecond (`end`, inclusive). Kafka uses the largest
 *   record ts, which differs for right windows (noted beside each expectation).
 * - testAggregateRandomInput under ON_WINDOW_CLOSE: Kafka expects final results only for windows
 *   still in its store when the last record moves stream time from 80 to 181. Windows whose
 *   retention (`2 * timeDifference + grace`) had passed are gone from the store before they are
 *   emitted, so their final results are lost. Ours emits every window when it closes, before
 *   purging it. Our final set is Kafka's plus the windows it lost.
 *
 * Not applicable: testAggregateLargeInput, testEarlyRecordsLargeInput,
 * testEarlyNoGracePeriodLargeInput, testNoGracePeriodLargeInput. They are the same algorithm on
 * longer inputs, not ported for length: the randomized test and our oracle property test
 * (`operators/slidingWindow.test.ts`) cover that ground. testJoin needs KTable-KTable joins.
 * shouldLogAndMeterWhenSkippingNullKey needs a null key, which keyed streams cannot have.
 */
import { describe, expect, it } from 'vitest';
import { slidingWindow } from '../operators/slidingWindow.js';
import { KStreamsDriver, STRATEGIES, type Aggregation, type Kvt } from './kstreams.js';

/** `gatherOutput`: per window start, the distinct `value@ts` forwarded, sorted. */
function gather(out: ReadonlyArray<Kvt<unknown>>): Record<number, string[]> {
  const sets = new Map<number, Set<string>>();
  for (const [, start, , value, ts] of out) {
    let s = sets.get(start);
    if (s === undefined) sets.set(start, (s = new Set()));
    s.add(`${String(value)}@${ts}`);
  }
  return Object.fromEntries([...sets].map(([start, s]) => [start, [...s].sort()]));
}
/** An expected set, as `gather` shows it. */
const set = (...values: string[]): string[] => [...values].sort();

function run(agg: Omit<Aggregation, 'topic'>, rows: ReadonlyArray<readonly [string, number]>): KStreamsDriver {
  const d = new KStreamsDriver([{ topic: 'topic', ...agg }]);
  for (const [v, ts] of rows) d.pipeInput('topic', 'A', v, ts);
  return d;
}

describe.each(STRATEGIES)('KStreamSlidingWindowAggregateTest [%s]', (_kafka, emit) => {
  const emitFinal = emit === 'onClose';

  it('testAggregateSmallInput', () => {
    const d = run({ window: slidingWindow({ timeDifferenceMs: 10, graceMs: 5 }), op: 'aggregate', emit }, [
      ['1', 10], ['2', 10], ['3', 14], ['4', 15], ['5', 20], ['6', 22], ['7', 30],
    ]);
    if (emitFinal) {
      expect(gather(d.processed('topic'))).toEqual({
        0: set('0+1+2@10'),
        4: set('0+1+2+3@14'),
        5: set('0+1+2+3+4@15'),
        10: set('0+1+2+3+4+5@20'),
        11: set('0+3+4+5@21'), // Kafka: ts 20
        12: set('0+3+4+5+6@22'),
      });
    } else {
      expect(gather(d.processed('topic'))).toEqual({
        0: set('0+1@10', '0+1+2@10'),
        4: set('0+1+2+3@14'),
        5: set('0+1+2+3+4@15'),
        10: set('0+1+2+3+4+5@20'),
        11: set('0+3@14', '0+3+4@15', '0+3+4+5@20'),
        12: set('0+3+4+5+6@22'),
        15: set('0+4@15', '0+4+5@20', '0+4+5+6@22'),
        16: set('0+5@20', '0+5+6@22'),
        20: set('0+5+6+7@30'),
        21: set('0+6@22', '0+6+7@30'),
        23: set('0+7@30'),
      });
    }
  });

  it('testReduceSmallInput', () => {
    const d = run({ window: slidingWindow({ timeDifferenceMs: 10, graceMs: 5 }), op: 'reduce', emit }, [
      ['1', 10], ['2', 14], ['3', 15], ['4', 22], ['5', 26], ['6', 30],
    ]);
    if (emitFinal) {
      expect(gather(d.processed('topic'))).toEqual({
        0: set('1@10'),
        4: set('1+2@14'),
        5: set('1+2+3@15'),
        11: set('2+3@21'), // Kafka: ts 15
        12: set('2+3+4@22'),
      });
    } else {
      expect(gather(d.processed('topic'))).toEqual({
        0: set('1@10'),
        4: set('1+2@14'),
        5: set('1+2+3@15'),
        11: set('2@14', '2+3@15'),
        12: set('2+3+4@22'),
        15: set('3@15', '3+4@22'),
        16: set('4@22', '4+5@26'),
        20: set('4+5+6@30'),
        23: set('5@26', '5+6@30'),
        27: set('6@30'),
      });
    }
  });

  // testEarlyRecordsSmallInput (grace 0) and testEarlyNoGracePeriodSmallInput (no grace) share
  // inputs and expectations, except the last record's value ("7" vs "6").
  it.each([
    ['testEarlyRecordsSmallInput', '7'],
    ['testEarlyNoGracePeriodSmallInput', '6'],
  ])('%s', (_name, last) => {
    const d = run({ window: slidingWindow({ timeDifferenceMs: 50, graceMs: 0 }), op: 'aggregate', emit }, [
      ['1', 0], ['2', 5], ['3', 6], ['4', 3], ['5', 13], ['6', 10], [last, 70],
    ]);
    if (emitFinal) {
      expect(gather(d.processed('topic'))).toEqual({
        0: set('0+1+2+3+4+5+6@50'), // Kafka: ts 13
        1: set('0+2+3+4+5+6@51'), // Kafka: ts 13
        4: set('0+2+3+5+6@54'), // Kafka: ts 13
        6: set('0+3+5+6@56'), // Kafka: ts 13
        7: set('0+5+6@57'), // Kafka: ts 13
        11: set('0+5@61'), // Kafka: ts 13
      });
    } else {
      expect(gather(d.processed('topic'))).toEqual({
        0: set('0+1@0', '0+1+2@5', '0+1+2+3@6', '0+1+2+3+4@6', '0+1+2+3+4+5@13', '0+1+2+3+4+5+6@13'),
        1: set('0+2@5', '0+2+3@6', '0+2+3+4@6', '0+2+3+4+5@13', '0+2+3+4+5+6@13'),
        4: set('0+2+3@6', '0+2+3+5@13', '0+2+3+5+6@13'),
        6: set('0+3@6', '0+3+5@13', '0+3+5+6@13'),
        7: set('0+5@13', '0+5+6@13'),
        11: set('0+5@13'),
        20: set(`0+${last}@70`),
      });
    }
  });

  it('testEarlyRecordsRepeatedInput', () => {
    const d = run({ window: slidingWindow({ timeDifferenceMs: 5, graceMs: 0 }), op: 'aggregate', emit }, [
      ['1', 0], ['2', 2], ['3', 4], ['4', 0], ['5', 2], ['6', 2], ['7', 0], ['8', 7],
    ]);
    if (emitFinal) {
      expect(gather(d.processed('topic'))).toEqual({
        0: set('0+1+2+3+4+5+6+7@5'), // Kafka: ts 4
        1: set('0+2+3+5+6@6'), // Kafka: ts 4
      });
    } else {
      expect(gather(d.processed('topic'))).toEqual({
        0: set('0+1@0', '0+1+2@2', '0+1+2+3+4+5@4', '0+1+2+3+4+5+6@4', '0+1+2+3@4', '0+1+2+3+4@4', '0+1+2+3+4+5+6+7@4'),
        1: set('0+2+3+5+6@4', '0+2@2', '0+2+3@4', '0+2+3+5@4'),
        2: set('0+2+3+5+6+8@7'),
        3: set('0+3@4', '0+3+8@7'),
        5: set('0+8@7'),
      });
    }
  });

  it('testNoGracePeriodSmallInput', () => {
    const d = run({ window: slidingWindow({ timeDifferenceMs: 50, graceMs: 0 }), op: 'aggregate', emit }, [
      ['1', 100], ['2', 105], ['3', 106], ['4', 103], ['5', 113], ['6', 110],
    ]);
    if (emitFinal) {
      expect(gather(d.processed('topic'))).toEqual({
        50: set('0+1@100'),
        55: set('0+1+2@105'),
        56: set('0+1+2+3+4@106'),
      });
    } else {
      expect(gather(d.processed('topic'))).toEqual({
        50: set('0+1@100'),
        55: set('0+1+2@105'),
        56: set('0+1+2+3@106', '0+1+2+3+4@106'),
        63: set('0+1+2+3+4+5@113', '0+1+2+3+4+5+6@113'),
        101: set('0+2@105', '0+2+3@106', '0+2+3+4@106', '0+2+3+4+5@113', '0+2+3+4+5+6@113'),
        104: set('0+2+3@106', '0+2+3+5@113', '0+2+3+5+6@113'),
        106: set('0+3@106', '0+3+5@113', '0+3+5+6@113'),
        107: set('0+5@113', '0+5+6@113'),
        111: set('0+5@113'),
      });
    }
    // 4@103 came at W=105, after its left window [53,103] had closed. It still counts in
    // [56,106], [101,151] and [104,154] ("Skipping record for expired window" for [53,103]).
    expect(d.late('topic')).toEqual([]);
  });

  it('shouldLogAndMeterWhenSkippingExpiredWindowByGrace', () => {
    const d = run({ window: slidingWindow({ timeDifferenceMs: 10, graceMs: 90 }), op: 'aggregate', emit }, [
      ['100', 200], ['0', 100], ['1', 101], ['2', 102], ['3', 103], ['4', 104], ['5', 105], ['6', 15], ['101', 300], ['102', 400],
    ]);
    // Kafka: 7 dropped. 100..105 were skipped from their left windows [90,100]..[95,105], closed at
    // streamTime 200 (expiration 110), and belonged to no other window. 15 was dropped outright.
    expect(d.late('topic').map((r) => r.ts)).toEqual([100, 101, 102, 103, 104, 105, 15]);
    if (emitFinal) {
      expect(d.processed<string>('topic')).toEqual<Array<Kvt<string>>>([
        ['A', 190, 200, '0+100', 200],
        ['A', 290, 300, '0+101', 300],
      ]);
    } else {
      expect(d.processed<string>('topic')).toEqual<Array<Kvt<string>>>([
        ['A', 190, 200, '0+100', 200],
        ['A', 290, 300, '0+101', 300],
        ['A', 390, 400, '0+102', 400],
      ]);
    }
  });

  describe('testAggregateRandomInput', () => {
    const input: ReadonlyArray<readonly [string, number]> = [
      ['A', 10], ['B', 15], ['C', 16], ['D', 18], ['E', 30], ['F', 40], ['G', 55], ['H', 56], ['I', 58], ['J', 58], ['K', 62],
      ['L', 63], ['M', 63], ['N', 63], ['O', 76], ['P', 77], ['Q', 80], ['R', 2], ['S', 3], ['T', 5], ['U', 8],
    ];
    // Kafka's verifyRandomTestResults under ON_WINDOW_UPDATE: the last value and ts per window start.
    const finalValues: Record<number, readonly [string, number]> = {
      0: ['ARSTU', 10], 3: ['ASTU', 10], 4: ['ATU', 10], 5: ['ABTU', 15], 6: ['ABCU', 16], 8: ['ABCDU', 18], 9: ['ABCD', 18],
      11: ['BCD', 18], 16: ['CD', 18], 17: ['D', 18], 20: ['E', 30], 30: ['EF', 40], 31: ['F', 40], 45: ['G', 55], 46: ['GH', 56],
      48: ['GHIJ', 58], 52: ['GHIJK', 62], 53: ['GHIJKLMN', 63], 56: ['HIJKLMN', 63], 57: ['IJKLMN', 63], 59: ['KLMN', 63],
      63: ['LMN', 63], 66: ['O', 76], 67: ['OP', 77], 70: ['OPQ', 80], 77: ['PQ', 80], 78: ['Q', 80], 171: ['V', 181],
    };

    const sortedConcat = (acc: string, v: string): string => [...acc + v].sort().join('');

    /** Fisher-Yates with a seeded LCG, so a failure names its seed. */
    function shuffled<T>(xs: readonly T[], seed: number): T[] {
      const out = [...xs];
      let s = seed >>> 0;
      for (let i = out.length - 1; i > 0; i--) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        const j = s % (i + 1);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    }

    it.each([1, 2, 3, 42, 1234, 99991, 31337, 2024])('seed %i', (seed) => {
      const d = new KStreamsDriver([
        // The aggregator sorts the characters, so a window's value does not depend on arrival order.
        { topic: 'topic1', window: slidingWindow({ timeDifferenceMs: 10, graceMs: 100 }), op: 'aggregate', emit, init: () => '', add: sortedConcat },
      ]);
      for (const [v, ts] of shuffled(input, seed)) d.pipeInput('topic1', 'A', v, ts);
      d.pipeInput('topic1', 'A', 'V', 181);
      const last: Record<number, readonly [string, number]> = {};
      for (const [, start, , value, ts] of d.processed<string>('topic1')) last[start] = [value ?? '', ts];

      if (emitFinal) {
        // Every window closed by W = 180 (end + 100 <= 180), once, with ts = end. Kafka emits only
        // 52..70 of these: the others left its store before stream time jumped to 181.
        const closed = Object.entries(finalValues)
          .filter(([start]) => Number(start) + 10 + 100 <= 180)
          .map(([start, [value]]) => [Number(start), [value, Number(start) + 10]] as const);
        expect(last).toEqual(Object.fromEntries(closed));
        expect(d.processed('topic1')).toHaveLength(closed.length);
      } else {
        expect(last).toEqual(finalValues);
      }
    });
  });
});
