/**
 * Conformance port of Apache Flink's `IntervalJoinOperatorTest`
 * (flink-streaming-java/src/test/java/org/apache/flink/streaming/api/operators/co/IntervalJoinOperatorTest.java),
 * run against `operators/intervalJoin.ts`. Inputs and expected outputs are the original ones; only
 * the API is translated:
 *
 * - Flink's keyed two-input harness becomes two keyed sources, `lhs` (input 0) and `rhs` (input 1),
 *   every element keyed "key". Their out-of-orderness is so large that pushing an element never
 *   moves a watermark; `processWatermark1/2(w)` is `driver.watermark('lhs' | 'rhs', w)`, and the
 *   join's watermark is the minimum of the two, as in Flink.
 * - `streamRecordOf(l, r)` is the pair `lhs:l + rhs:r` with event time `max(l, r)`; outputs are
 *   compared as multisets, as Flink's `assertOutput` does.
 * - Flink's `noLateRecords()` checks that no output record is at or behind a watermark emitted before
 *   it; here each output's event time is checked against the join step's watermark when it came out.
 * - `assertLeftBufferContainsOnly(ts...)` reads the step's `left`/`right` state (the distinct event
 *   times buffered, Flink's MapState keys).
 * - The whole suite runs with `lhsFasterThanRhs` true and false, as Flink's parameterization.
 *
 * Not applicable:
 * - `testContextCorrectLeftTimestamp`, `testContextCorrectRightTimestamp`: our joiner takes the two
 *   values and no context object; a record's own event time is part of the value where needed. The
 *   output timestamp they also rely on is checked by `testReturnsCorrectTimestamp`.
 *
 * Where our documented semantics differ on purpose (the case is kept, with our expected output):
 * - Late records are never dropped silently: without late tags Flink discards them, we send them to
 *   the side output `late` (`testDiscardsLateData`). Flink's two tags `left_late`/`right_late` are one
 *   `late` output here, told apart by the record (`testLateData`).
 * - A record without a timestamp cannot reach the join: the source dead-letters a non-finite event
 *   time (`testFailsWithNoTimestampsLeft/Right`).
 */
import { describe, expect, it } from 'vitest';
import type { OperatorDef } from '../engine/graph.js';
import { KeyedStream, pipeline, type Pipeline } from '../stream/stream.js';
import { TestDriver } from '../testkit/driver.js';
import { intervalJoin } from '../operators/intervalJoin.js';

interface TestElem {
  key: string;
  ts: number;
  source: 'lhs' | 'rhs';
}
const elem = (ts: number, source: 'lhs' | 'rhs'): TestElem => ({ key: 'key', ts, source });
const show = (e: TestElem): string => `${e.source}:${e.ts}`;
/** Flink's `streamRecordOf(lhsTs, rhsTs)`. */
const rec = (l: number, r: number): string => `lhs:${l}+rhs:${r}@${Math.max(l, r)}`;
const multiset = (xs: readonly string[]): string[] => [...xs].sort();

function joinPipeline(lower: number, lowerInclusive: boolean, upper: number, upperInclusive: boolean, timestamp = (e: TestElem) => e.ts): Pipeline {
  const p = pipeline('interval-join-operator-test');
  const opts = { timestamp, key: (e: TestElem) => e.key, outOfOrdernessMs: 1e12 };
  const lhs = p.keyedSource<TestElem>('lhs', opts);
  const rhs = p.keyedSource<TestElem>('rhs', opts);
  const def = intervalJoin<TestElem, TestElem, [TestElem, TestElem]>(
    'join',
    { lowerMs: lower, lowerInclusive, upperMs: upper, upperInclusive },
    (l, r) => [l, r],
  ) as OperatorDef<unknown, unknown>;
  const builder = p.graph;
  new KeyedStream<[TestElem, TestElem]>(builder, builder.addOperator(def, [lhs.edgeOf(0), rhs.edgeOf(1)], true)).to('out');
  return p;
}

/** Flink's JoinTestBuilder over our test driver. */
class JoinTest {
  readonly d: TestDriver;
  private outputsBehindWatermark = 0;

  constructor(
    d: TestDriver,
    private readonly lhsFasterThanRhs: boolean,
  ) {
    this.d = d;
  }

  static setup(lhsFaster: boolean, lower: number, lowerInclusive: boolean, upper: number, upperInclusive: boolean): JoinTest {
    return new JoinTest(TestDriver.of(joinPipeline(lower, lowerInclusive, upper, upperInclusive)), lhsFaster);
  }

  private push(source: 'lhs' | 'rhs', ts: number): this {
    const before = this.d.records('out').length;
    const wm = this.d.watermarkOf('join');
    this.d.push(source, elem(ts, source));
    for (const r of this.d.records('out').slice(before)) if (r.ts <= wm) this.outputsBehindWatermark++;
    return this;
  }
  processElement1(ts: number): this {
    return this.push('lhs', ts);
  }
  processElement2(ts: number): this {
    return this.push('rhs', ts);
  }
  processWatermark1(w: number): this {
    this.d.watermark('lhs', w);
    return this;
  }
  processWatermark2(w: number): this {
    this.d.watermark('rhs', w);
    return this;
  }
  processElementsAndWatermarks(from: number, to: number): this {
    const side = (s: 1 | 2): void => {
      for (let i = from; i <= to; i++) {
        if (s === 1) this.processElement1(i).processWatermark1(i);
        else this.processElement2(i).processWatermark2(i);
      }
    };
    if (this.lhsFasterThanRhs) {
      side(1);
      side(2);
    } else {
      side(2);
      side(1);
    }
    return this;
  }
  output(): string[] {
    return this.d.records<[TestElem, TestElem]>('out').map((r) => `${show(r.value[0])}+${show(r.value[1])}@${r.ts}`);
  }
  andExpect(...expected: string[]): this {
    expect(multiset(this.output())).toEqual(multiset(expected));
    return this;
  }
  noLateRecords(): this {
    expect(this.outputsBehindWatermark).toBe(0);
    return this;
  }
  lateRecords(): string[] {
    return this.d.side<TestElem>('join', 'late').map((r) => show(r.value));
  }
  private buffer(side: 'left' | 'right'): number[] {
    const rows = this.d.executor.state.snapshot().tables[`join/${side}`] ?? [];
    const ts = new Set(rows.flatMap(([, list]) => (list as Array<{ ts: number }>).map((e) => e.ts)));
    return [...ts].sort((a, b) => a - b);
  }
  assertLeftBufferContainsOnly(...ts: number[]): this {
    expect(this.buffer('left')).toEqual(ts);
    return this;
  }
  assertRightBufferContainsOnly(...ts: number[]): this {
    expect(this.buffer('right')).toEqual(ts);
    return this;
  }
  assertLeftBufferEmpty(): this {
    return this.assertLeftBufferContainsOnly();
  }
  assertRightBufferEmpty(): this {
    return this.assertRightBufferContainsOnly();
  }
}

describe.each([true, false])('IntervalJoinOperatorTest (lhs faster than rhs: %s)', (lhsFaster) => {
  const setupHarness = (lower: number, lowerInclusive: boolean, upper: number, upperInclusive: boolean): JoinTest =>
    JoinTest.setup(lhsFaster, lower, lowerInclusive, upper, upperInclusive);

  it('testImplementationMirrorsCorrectly', () => {
    const lowerBound = 1;
    const upperBound = 3;
    const lowerBoundInclusive = true;
    const upperBoundInclusive = false;
    setupHarness(lowerBound, lowerBoundInclusive, upperBound, upperBoundInclusive)
      .processElementsAndWatermarks(1, 4)
      .andExpect(rec(1, 2), rec(1, 3), rec(2, 3), rec(2, 4), rec(3, 4))
      .noLateRecords();
    setupHarness(-1 * upperBound, upperBoundInclusive, -1 * lowerBound, lowerBoundInclusive)
      .processElementsAndWatermarks(1, 4)
      .andExpect(rec(2, 1), rec(3, 1), rec(3, 2), rec(4, 2), rec(4, 3))
      .noLateRecords();
  });

  it('testNegativeInclusiveAndNegativeInclusive', () => {
    setupHarness(-2, true, -1, true)
      .processElementsAndWatermarks(1, 4)
      .andExpect(rec(2, 1), rec(3, 1), rec(3, 2), rec(4, 2), rec(4, 3))
      .noLateRecords();
  });

  it('testNegativeInclusiveAndPositiveInclusive', () => {
    setupHarness(-1, true, 1, true)
      .processElementsAndWatermarks(1, 4)
      .andExpect(rec(1, 1), rec(1, 2), rec(2, 1), rec(2, 2), rec(2, 3), rec(3, 2), rec(3, 3), rec(3, 4), rec(4, 3), rec(4, 4))
      .noLateRecords();
  });

  it('testPositiveInclusiveAndPositiveInclusive', () => {
    setupHarness(1, true, 2, true)
      .processElementsAndWatermarks(1, 4)
      .andExpect(rec(1, 2), rec(1, 3), rec(2, 3), rec(2, 4), rec(3, 4))
      .noLateRecords();
  });

  it('testNegativeExclusiveAndNegativeExlusive', () => {
    setupHarness(-3, false, -1, false).processElementsAndWatermarks(1, 4).andExpect(rec(3, 1), rec(4, 2)).noLateRecords();
  });

  it('testNegativeExclusiveAndPositiveExlusive', () => {
    setupHarness(-1, false, 1, false)
      .processElementsAndWatermarks(1, 4)
      .andExpect(rec(1, 1), rec(2, 2), rec(3, 3), rec(4, 4))
      .noLateRecords();
  });

  it('testPositiveExclusiveAndPositiveExlusive', () => {
    setupHarness(1, false, 3, false).processElementsAndWatermarks(1, 4).andExpect(rec(1, 3), rec(2, 4)).noLateRecords();
  });

  const fillBothBuffers = (h: JoinTest): JoinTest => {
    for (let i = 1; i <= 5; i++) h.processElement1(i);
    for (let i = 1; i <= 5; i++) h.processElement2(i);
    return h;
  };

  it('testStateCleanupNegativeInclusiveNegativeInclusive', () => {
    fillBothBuffers(setupHarness(-1, true, 0, true))
      .processWatermark1(1)
      .processWatermark2(1)
      .assertLeftBufferContainsOnly(2, 3, 4, 5)
      .assertRightBufferContainsOnly(1, 2, 3, 4, 5)
      .processWatermark1(4)
      .processWatermark2(4)
      .assertLeftBufferContainsOnly(5)
      .assertRightBufferContainsOnly(4, 5)
      .processWatermark1(6)
      .processWatermark2(6)
      .assertLeftBufferEmpty()
      .assertRightBufferEmpty();
  });

  it('testStateCleanupNegativePositiveNegativeExlusive', () => {
    fillBothBuffers(setupHarness(-2, false, 1, false))
      .processWatermark1(1)
      .processWatermark2(1)
      .assertLeftBufferContainsOnly(2, 3, 4, 5)
      .assertRightBufferContainsOnly(1, 2, 3, 4, 5)
      .processWatermark1(4)
      .processWatermark2(4)
      .assertLeftBufferContainsOnly(5)
      .assertRightBufferContainsOnly(4, 5)
      .processWatermark1(6)
      .processWatermark2(6)
      .assertLeftBufferEmpty()
      .assertRightBufferEmpty();
  });

  it('testStateCleanupPositiveInclusivePositiveInclusive', () => {
    fillBothBuffers(setupHarness(0, true, 1, true))
      .processWatermark1(1)
      .processWatermark2(1)
      .assertLeftBufferContainsOnly(1, 2, 3, 4, 5)
      .assertRightBufferContainsOnly(2, 3, 4, 5)
      .processWatermark1(4)
      .processWatermark2(4)
      .assertLeftBufferContainsOnly(4, 5)
      .assertRightBufferContainsOnly(5)
      .processWatermark1(6)
      .processWatermark2(6)
      .assertLeftBufferEmpty()
      .assertRightBufferEmpty();
  });

  it('testStateCleanupPositiveExlusivePositiveExclusive', () => {
    fillBothBuffers(setupHarness(-1, false, 2, false))
      .processWatermark1(1)
      .processWatermark2(1)
      .assertLeftBufferContainsOnly(1, 2, 3, 4, 5)
      .assertRightBufferContainsOnly(2, 3, 4, 5)
      .processWatermark1(4)
      .processWatermark2(4)
      .assertLeftBufferContainsOnly(4, 5)
      .assertRightBufferContainsOnly(5)
      .processWatermark1(6)
      .processWatermark2(6)
      .assertLeftBufferEmpty()
      .assertRightBufferEmpty();
  });

  it('testRestoreFromSnapshot', () => {
    const first = setupHarness(-1, true, 1, true);
    first
      .processElement1(1)
      .processWatermark1(1)
      .processElement2(1)
      .processWatermark2(1)
      .processElement1(2)
      .processWatermark1(2)
      .processElement2(2)
      .processWatermark2(2)
      .processElement1(3)
      .processWatermark1(3)
      .processElement2(3)
      .processWatermark2(3);
    const handles = first.d.snapshot();
    first.noLateRecords().andExpect(rec(1, 1), rec(1, 2), rec(2, 1), rec(2, 2), rec(2, 3), rec(3, 2), rec(3, 3));

    const restored = setupHarness(-1, true, 1, true);
    restored.d.restore(handles);
    restored.processElement1(4).processWatermark1(4).processElement2(4).processWatermark2(4);
    restored.noLateRecords().andExpect(rec(3, 4), rec(4, 3), rec(4, 4));
  });

  it('testReturnsCorrectTimestamp', () => {
    const h = setupHarness(-1, true, 1, true).processElementsAndWatermarks(1, 4);
    const out = h.d.records<[TestElem, TestElem]>('out');
    expect(out.length).toBeGreaterThan(0);
    for (const r of out) expect(r.ts).toBe(Math.max(r.value[0].ts, r.value[1].ts));
  });

  // Differs on purpose: no StreamRecord without a timestamp exists here; the source dead-letters a
  // non-finite event time, so the join never sees the record.
  it.each([
    ['testFailsWithNoTimestampsLeft', 'lhs'],
    ['testFailsWithNoTimestampsRight', 'rhs'],
  ] as const)('%s', (_name, source) => {
    const d = TestDriver.of(joinPipeline(0, true, 0, true, () => Number.NaN));
    d.push(source, elem(0, source));
    expect(d.deadLetters.map((l) => l.error.code)).toEqual(['SS_ERR_VALIDATION']);
    expect(d.records('out')).toEqual([]);
  });

  it('testDiscardsLateData', () => {
    const h = setupHarness(-1, true, 1, true)
      .processElement1(1)
      .processElement2(1)
      .processElement1(2)
      .processElement2(2)
      .processElement1(3)
      .processElement2(3)
      .processWatermark1(3)
      .processWatermark2(3)
      .processElement1(1) // this element is late and should not be joined again
      .processElement1(4)
      .processElement2(4)
      .processElement1(5)
      .processElement2(5)
      .andExpect(
        rec(1, 1),
        rec(1, 2),
        rec(2, 1),
        rec(2, 2),
        rec(2, 3),
        rec(3, 2),
        rec(3, 3),
        rec(3, 4),
        rec(4, 3),
        rec(4, 4),
        rec(4, 5),
        rec(5, 4),
        rec(5, 5),
      )
      .noLateRecords();
    // Differs on purpose: Flink drops the late element silently; we never do.
    expect(h.lateRecords()).toEqual(['lhs:1']);
  });

  it('testLateData', () => {
    const h = setupHarness(-1, true, 1, true)
      .processElement1(3)
      .processElement2(3)
      .processWatermark1(3)
      .processWatermark2(3)
      .processElement1(4)
      .processElement2(4)
      .processElement1(1) // the left side element is late
      .processElement2(2) // the right side element is late
      .processElement1(5)
      .processElement2(5)
      .andExpect(rec(3, 3), rec(3, 4), rec(4, 3), rec(4, 4), rec(4, 5), rec(5, 4), rec(5, 5));
    // Flink's left_late / right_late tags are one `late` output; the records say which side.
    expect(h.lateRecords()).toEqual(['lhs:1', 'rhs:2']);
    expect(h.d.side('join', 'late').map((r) => r.ts)).toEqual([1, 2]);
  });
});
