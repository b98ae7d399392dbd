/**
 * Conformance port of Apache Flink's `WindowOperatorTest`
 * (flink-streaming-java/src/test/java/org/apache/flink/streaming/runtime/operators/windowing/
 * WindowOperatorTest.java, apache/flink@6da38a6aa24b44272e977aba91258693d437875b; the
 * `testDropDueToLateness*` cases are from the Flink 1.2 version of the same file, before late data
 * got a side output).
 *
 * Translation:
 * - Flink's `KeyedOneInputStreamOperatorTestHarness` with `TupleKeySelector` -> a keyed source
 *   keyed by the tuple's first field; `processElement(StreamRecord(v, ts))` ->
 *   `driver.push(source, v, ts)`; `processWatermark(w)` -> `driver.watermark(source, w)`. The source
 *   has an out-of-orderness bound of 10^12 ms, so only the explicit watermarks move event time,
 *   as in the harness.
 * - `TumblingEventTimeWindows.of(size)` -> `tumblingWindow({ sizeMs, graceMs })`;
 *   `SlidingEventTimeWindows.of(size, slide)` -> `hoppingWindow({ sizeMs, advanceMs, graceMs })`;
 *   allowed lateness -> `graceMs`; `EventTimeTrigger` -> `emit: 'onWatermark'`; late-data output
 *   tag -> the side output `late`.
 * - `ReducingStateDescriptor(SumReducer)` + `PassThroughWindowFunction` -> `reduce`;
 *   `ListStateDescriptor` + a window function over the elements (`RichSumReducer`,
 *   `PassThroughFunction`) -> `aggregate` collecting the elements, then the same function (a
 *   `map` or `flatMap`). Every input of the tumbling and sliding harnesses carries 1, so the same
 *   expectations also run with `count` and with a summing `aggregate`.
 * - Expected outputs are Flink's: `(key, sum)` at timestamp `window end - 1`, compared sorted by
 *   (timestamp, key, sum) as Flink's `Tuple2ResultSortComparator` does. Snapshot, close and
 *   restore -> `driver.snapshot()` through JSON into a fresh driver of the same pipeline.
 *
 * Where our documented semantics differ on purpose, the case keeps our expected output and says
 * why at the spot:
 * - Hopping windows never start before 0 (Kafka Streams' rule, `operators/hoppingWindow.ts`);
 *   Flink's sliding assigner creates windows with negative starts, so Flink fires
 *   `[-2000, 1000)` and `[-1000, 2000)`, which we do not have.
 * - Late records are never dropped silently: Flink 1.2's `testDropDueToLateness*` drop them, we
 *   send them to the side output `late` (and count them).
 * - `testLateness` uses `PurgingTrigger`; our `onWatermark` mode accumulates (Flink's plain
 *   `EventTimeTrigger`), so the late firing carries the whole window.
 *
 * Not applicable here:
 * - Processing-time windows (`testProcessingTimeTumblingWindows`, `testProcessingTimeSlidingWindows`,
 *   `testProcessingTimeSessionWindows`, `testDynamicProcessingTimeSessionWindows`): our windows
 *   are event-time only.
 * - Global windows and custom or non-event-time triggers (`testContinuousWatermarkTrigger`,
 *   `testCountTrigger`, `testEndOfStreamTrigger`, `testSessionWindowsWithCountTrigger`,
 *   `testSessionWindowsWithContinuousEventTimeTrigger`,
 *   `testCleanupTimerWithEmptyListStateForTumblingWindows2` (EventTimeTriggerAccumGC),
 *   `testCleanupTimerWithEmptyStateNoResultForTumblingWindows`
 *   (FireEverytimeOnElementAndEventTimeTrigger), and the `PurgingTrigger` session cases): we have
 *   no pluggable triggers, only the three emit modes.
 * - Merging-window internals and custom assigners (`testPointSessions` with a point-window
 *   assigner, `testDynamicEventTimeSessionWindows` with a per-record gap extractor): our sessions
 *   have one fixed gap.
 * - `testCleanupTimeOverflow`: about Java `long` wrap-around of `maxTimestamp + lateness` near
 *   `Long.MAX_VALUE`; JavaScript numbers do not wrap, and timestamps that large are not exact.
 * - `RichFunction` lifecycle checks (`closeCalled` in the `*Apply` cases): our user functions have
 *   no open/close; the window results of those cases are ported.
 *
 * Session windows (`EventTimeSessionWindows.withGap(gap)` -> `sessionWindow({ gapMs, graceMs })`):
 * - Bounds: Flink's session window is `[first ts, last ts + gap)`; ours is `[first ts, last ts]`
 *   (Kafka Streams' bounds). The ports show Flink's window, that is our end + gap.
 * - Merging: the same records share a session. Flink merges windows that overlap or touch
 *   (`TimeWindow.intersects` is inclusive), so records at most `gap` apart; ours joins records
 *   at most `gap` apart.
 * - Firing: Flink's `EventTimeTrigger` fires at `W >= last ts + gap - 1` (the window's
 *   `maxTimestamp()`), and the window is cleaned up at `maxTimestamp() + allowedLateness`. Ours
 *   fires at `W >= last ts + gap` (complete: a record at `last ts + gap` could still join) and
 *   closes at `W >= last ts + gap + grace`: one ms later. The output ts is the session's last
 *   record ts, not Flink's `maxTimestamp()`; Flink's is noted beside each expectation.
 *
 * Ported session cases: `testSideOutputDueToLatenessSessionZeroLateness`.
 *
 * Pending: the other event-time session cases (`testSessionWindows`,
 * `testSessionWindowsWithProcessFunction`, `testReduceSessionWindows`,
 * `testReduceSessionWindowsWithProcessFunction`, `testNotSideOutputDueToLatenessSessionWithLateness`,
 * `testNotSideOutputDueToLatenessSessionWithHugeLateness`,
 * `testCleanupTimerWithEmptyListStateForSessionWindows`,
 * `testCleanupTimerWithEmptyReduceStateForSessionWindows`), translated the same way.
 */
import { describe, expect, it } from 'vitest';
import { hoppingWindow } from '../operators/hoppingWindow.js';
import { sessionWindow } from '../operators/sessionWindow.js';
import { tumblingWindow } from '../operators/tumblingWindow.js';
import type { ExecutorSnapshot } from '../engine/executor.js';
import { pipeline, type Pipeline, type Stream } from '../stream/stream.js';
import type { TimeWindowSpec } from '../engine/windows.js';
import { TestDriver } from '../testkit/driver.js';

type Tuple2 = readonly [string, number];
/** What `ReducedSessionWindowFunction` emits: `key-sum`, window start, window end. */
type Tuple3 = readonly [string, number, number];
/** A Flink `StreamRecord<Tuple2<String, Integer>>`: key, value, timestamp. */
type Rec = readonly [string, number, number];
/** A Flink `StreamRecord<Tuple3<String, Long, Long>>`: `key-sum`, window start, window end, timestamp. */
type SessionRec = readonly [string, number, number, number];

/** How the window contents become a `(key, sum)`: Flink's state descriptor + window function, or ours. */
type Fn = 'reduce' | 'apply' | 'passThrough' | 'aggregate' | 'count';

const SOURCE = 'in';
const WINDOW = 'window';
const OUT = 'out';
const LATE = 'late';

function build(spec: TimeWindowSpec, fn: Fn): Pipeline {
  const p = pipeline('window-operator-test');
  const keyed = p.keyedSource<Tuple2>(SOURCE, {
    // Every record is pushed with its timestamp; this is never called.
    timestamp: () => Number.NaN,
    key: (t) => t[0],
    outOfOrdernessMs: 1e12,
  });
  const windowed = keyed.window(spec);
  const opts = { emit: 'onWatermark' } as const;
  let results: Stream<Tuple2>;
  let late: Stream<Tuple2>;
  switch (fn) {
    case 'reduce': {
      // Flink's SumReducer keeps the later record's key and adds the counts.
      const w = windowed.reduce(WINDOW, (a, b) => [b[0], a[1] + b[1]] as const, opts);
      results = w.map((r) => r.value);
      late = w.late();
      break;
    }
    case 'apply': {
      // ListState of the elements; RichSumReducer sums them when the window fires.
      const w = windowed.aggregate<Tuple2[]>(WINDOW, { init: () => [], add: (acc, v) => (acc.push(v), acc) }, opts);
      results = w.map((r) => [r.key, r.value.reduce((s, t) => s + t[1], 0)] as const);
      late = w.late();
      break;
    }
    case 'passThrough': {
      // ListState of the elements; PassThroughFunction emits each of them when the window fires.
      const w = windowed.aggregate<Tuple2[]>(WINDOW, { init: () => [], add: (acc, v) => (acc.push(v), acc) }, opts);
      results = w.flatMap((r) => r.value);
      late = w.late();
      break;
    }
    case 'aggregate': {
      const w = windowed.aggregate<number>(WINDOW, { init: () => 0, add: (acc, v) => acc + v[1] }, opts);
      results = w.map((r) => [r.key, r.value] as const);
      late = w.late();
      break;
    }
    case 'count': {
      const w = windowed.count(WINDOW, opts);
      results = w.map((r) => [r.key, r.value] as const);
      late = w.late();
      break;
    }
  }
  results.to(OUT);
  late.to(LATE);
  return p;
}

/**
 * `EventTimeSessionWindows.withGap(gap)` with allowed lateness `graceMs`, `EventTimeTrigger`,
 * `ReducingStateDescriptor(SumReducer)` and `ReducedSessionWindowFunction` -> `sessionWindow` with
 * `reduce` and `emit: 'onWatermark'`, each result shown as Flink's `(key-sum, start, end)` with
 * Flink's window end (ours + gap).
 */
function buildSessions(gapMs: number, graceMs: number): Pipeline {
  const p = pipeline('window-operator-test-sessions');
  const keyed = p.keyedSource<Tuple2>(SOURCE, { timestamp: () => Number.NaN, key: (t) => t[0], outOfOrdernessMs: 1e12 });
  const w = keyed.window(sessionWindow({ gapMs, graceMs })).reduce(WINDOW, (a, b) => [b[0], a[1] + b[1]] as const, { emit: 'onWatermark' });
  w.map((r): Tuple3 => [`${r.key}-${r.value[1]}`, r.start, r.end + gapMs]).to(OUT);
  w.late().to(LATE);
  return p;
}

/**
 * A driver that reports, per check, what was emitted since the last check, sorted as Flink's
 * comparator. `O` is the output tuple (`Tuple2`, or `Tuple3` for sessions); each record is read
 * as the tuple's fields followed by its timestamp.
 */
class Harness<O extends ReadonlyArray<string | number> = Tuple2> {
  readonly d: TestDriver;
  private seen = 0;
  private seenLate = 0;
  constructor(
    private readonly make: () => Pipeline,
    snapshot?: ExecutorSnapshot,
  ) {
    this.d = TestDriver.of(make());
    if (snapshot !== undefined) this.d.restore(snapshot);
  }
  element(key: string, value: number, ts: number): this {
    this.d.push(SOURCE, [key, value], ts);
    return this;
  }
  watermark(w: number): this {
    this.d.watermark(SOURCE, w);
    return this;
  }
  /** Outputs since the previous call, sorted by ts, then field by field. */
  output(): Array<readonly [...O, number]> {
    const all = this.d.records<O>(OUT);
    const fresh = all.slice(this.seen);
    this.seen = all.length;
    return sorted(fresh.map((r): readonly [...O, number] => [...r.value, r.ts]));
  }
  lateOutput(): Rec[] {
    const all = this.d.records<Tuple2>(LATE);
    const fresh = all.slice(this.seenLate);
    this.seenLate = all.length;
    return sorted(fresh.map((r) => [r.value[0], r.value[1], r.ts] as const));
  }
  /** Snapshot -> JSON -> a fresh harness of the same pipeline (Flink: snapshot, close, initializeState, open). */
  restart(): Harness<O> {
    expect(this.d.deadLetters).toEqual([]);
    const snap = JSON.parse(JSON.stringify(this.d.snapshot())) as ExecutorSnapshot;
    return new Harness<O>(this.make, snap);
  }
  windowStateRows(): number {
    return this.d.executor.state.snapshot().tables[`${WINDOW}/windows`]?.length ?? 0;
  }
}

/** By timestamp (the last field), then field by field: Flink's `Tuple2ResultSortComparator` for `Rec`. */
function sorted<R extends ReadonlyArray<string | number>>(recs: R[]): R[] {
  const cmp = (x: string | number, y: string | number): number => (x < y ? -1 : x > y ? 1 : 0);
  return recs.sort((a, b) => {
    const byTs = cmp(a[a.length - 1]!, b[b.length - 1]!);
    if (byTs !== 0) return byTs;
    for (let i = 0; i < a.length - 1; i++) {
      const c = cmp(a[i]!, b[i]!);
      if (c !== 0) return c;
    }
    return 0;
  });
}

const rec = (key: string, value: number, ts: number): Rec => [key, value, ts];
const sessionRec = (keySum: string, start: number, end: number, ts: number): SessionRec => [keySum, start, end, ts];

/** The elements both shared harnesses start with, out of order. */
function addOutOfOrderElements(h: Harness): void {
  h.element('key2', 1, 3999).element('key2', 1, 3000);
  h.element('key1', 1, 20).element('key1', 1, 0).element('key1', 1, 999);
  h.element('key2', 1, 1998).element('key2', 1, 1999).element('key2', 1, 1000);
}

/** Flink's private `testSlidingEventTimeWindows(operator)`: size 3 s, slide 1 s, lateness 0. */
function slidingEventTimeWindows(fn: Fn): void {
  const make = () => build(hoppingWindow({ sizeMs: 3000, advanceMs: 1000, graceMs: 0 }), fn);
  let h = new Harness(make);
  addOutOfOrderElements(h);

  h.watermark(999);
  // Flink: [('key1', 3) @ 999] from window [-2000, 1000). Our hopping windows start at >= 0.
  expect(h.output()).toEqual([]);

  h.watermark(1999);
  // Flink: [('key1', 3) @ 1999, ('key2', 3) @ 1999] from window [-1000, 2000). Same reason.
  expect(h.output()).toEqual([]);

  h.watermark(2999);
  expect(h.output()).toEqual([rec('key1', 3, 2999), rec('key2', 3, 2999)]);

  h = h.restart();

  h.watermark(3999);
  expect(h.output()).toEqual([rec('key2', 5, 3999)]);
  h.watermark(4999);
  expect(h.output()).toEqual([rec('key2', 2, 4999)]);
  h.watermark(5999);
  expect(h.output()).toEqual([rec('key2', 2, 5999)]);

  // "those don't have any effect..."
  h.watermark(6999).watermark(7999);
  expect(h.output()).toEqual([]);
  expect(h.d.deadLetters).toEqual([]);
}

/** Flink's private `testTumblingEventTimeWindows(operator)`: size 3 s, lateness 0. */
function tumblingEventTimeWindows(fn: Fn): void {
  const make = () => build(tumblingWindow({ sizeMs: 3000, graceMs: 0 }), fn);
  let h = new Harness(make);
  addOutOfOrderElements(h);

  h.watermark(999);
  expect(h.output()).toEqual([]);
  h.watermark(1999);
  expect(h.output()).toEqual([]);

  h = h.restart();

  h.watermark(2999);
  expect(h.output()).toEqual([rec('key1', 3, 2999), rec('key2', 3, 2999)]);
  h.watermark(3999);
  expect(h.output()).toEqual([]);
  h.watermark(4999);
  expect(h.output()).toEqual([]);
  h.watermark(5999);
  expect(h.output()).toEqual([rec('key2', 2, 5999)]);

  // "those don't have any effect..."
  h.watermark(6999).watermark(7999);
  expect(h.output()).toEqual([]);
  expect(h.d.deadLetters).toEqual([]);
}

describe('Flink WindowOperatorTest: event-time tumbling and sliding windows', () => {
  it('testSlidingEventTimeWindowsReduce', () => slidingEventTimeWindows('reduce'));
  it('testSlidingEventTimeWindowsApply', () => slidingEventTimeWindows('apply'));
  it('testSlidingEventTimeWindowsReduce, with aggregate (same harness)', () => slidingEventTimeWindows('aggregate'));
  it('testSlidingEventTimeWindowsReduce, with count (same harness; every input carries 1)', () => slidingEventTimeWindows('count'));

  it('testTumblingEventTimeWindowsReduce', () => tumblingEventTimeWindows('reduce'));
  it('testTumblingEventTimeWindowsApply', () => tumblingEventTimeWindows('apply'));
  it('testTumblingEventTimeWindowsReduce, with aggregate (same harness)', () => tumblingEventTimeWindows('aggregate'));
  it('testTumblingEventTimeWindowsReduce, with count (same harness; every input carries 1)', () => tumblingEventTimeWindows('count'));
});

describe('Flink WindowOperatorTest: lateness', () => {
  it('testLateness', () => {
    // Tumbling 2 s, allowed lateness 500 ms, PurgingTrigger.of(EventTimeTrigger), late-data tag.
    const h = new Harness(() => build(tumblingWindow({ sizeMs: 2000, graceMs: 500 }), 'reduce'));

    h.element('key2', 1, 500).watermark(1500);
    expect(h.output()).toEqual([]);

    h.element('key2', 1, 1300).watermark(2300);
    expect(h.output()).toEqual([rec('key2', 2, 1999)]);

    // Not late: window.maxTimestamp() + allowedLateness (2499) > watermark (2300); fires at once.
    h.element('key2', 1, 1997);
    // Flink: ('key2', 1) @ 1999, "1 and not 3 because the trigger fires and purges". We have no
    // purging trigger: onWatermark accumulates (Flink's plain EventTimeTrigger), so 3.
    expect(h.output()).toEqual([rec('key2', 3, 1999)]);
    h.watermark(6000);
    expect(h.output()).toEqual([]);

    // Late: 2499 <= 6000.
    h.element('key2', 1, 1998).watermark(7000);
    expect(h.output()).toEqual([]);
    expect(h.lateOutput()).toEqual([rec('key2', 1, 1998)]);
    expect(h.d.executor.stats()[WINDOW]?.['late']).toBe(1);
  });

  /** Shared by testSideOutputDueToLatenessTumbling and testDropDueToLatenessTumbling (same inputs). */
  function latenessTumbling(): Harness {
    const h = new Harness(() => build(tumblingWindow({ sizeMs: 2000, graceMs: 0 }), 'reduce'));
    h.element('key2', 1, 1000).watermark(1985);
    expect(h.output()).toEqual([]);
    // Not late: window.maxTimestamp() (1999) + allowedLateness (0) > watermark (1985).
    h.element('key2', 1, 1980).watermark(1999);
    expect(h.output()).toEqual([rec('key2', 2, 1999)]);
    // Late: its only window [0, 2000) closed at watermark 1999.
    h.element('key2', 1, 1998);
    h.element('key2', 1, 2001).watermark(2999);
    expect(h.output()).toEqual([]);
    h.watermark(3999);
    expect(h.output()).toEqual([rec('key2', 1, 3999)]);
    return h;
  }

  it('testSideOutputDueToLatenessTumbling', () => {
    const h = latenessTumbling();
    expect(h.lateOutput()).toEqual([rec('key2', 1, 1998)]);
  });

  it('testDropDueToLatenessTumbling (Flink 1.2)', () => {
    const h = latenessTumbling();
    // Flink 1.2 drops the late record silently. Ours never vanish: side output `late`, counted.
    expect(h.lateOutput()).toEqual([rec('key2', 1, 1998)]);
    expect(h.d.executor.stats()[WINDOW]?.['late']).toBe(1);
  });

  /** Shared by testSideOutputDueToLatenessSliding and testDropDueToLatenessSliding (same inputs). */
  function latenessSliding(): Harness {
    const h = new Harness(() => build(hoppingWindow({ sizeMs: 3000, advanceMs: 1000, graceMs: 0 }), 'reduce'));
    h.element('key2', 1, 1000).watermark(1999);
    // Flink: [('key2', 1) @ 1999] from window [-1000, 2000); our hopping windows start at >= 0.
    expect(h.output()).toEqual([]);

    h.element('key2', 1, 2000).watermark(3000);
    expect(h.output()).toEqual([rec('key2', 2, 2999)]);

    h.element('key1', 1, 3001);
    // 2400 belongs to [0, 3000), [1000, 4000) and [2000, 5000); [0, 3000) is closed (2999 <= 3000),
    // the others take it.
    h.element('key2', 1, 2400).element('key2', 1, 2400);
    h.element('key1', 1, 3001).element('key2', 1, 3900);
    h.watermark(6000);
    expect(h.output()).toEqual([
      rec('key1', 2, 3999),
      rec('key2', 5, 3999),
      rec('key1', 2, 4999),
      rec('key2', 4, 4999),
      rec('key1', 2, 5999),
      rec('key2', 1, 5999),
    ]);
    expect(h.lateOutput()).toEqual([]);

    // Late: every window of 3001 ([1000, 4000), [2000, 5000), [3000, 6000)) is closed.
    h.element('key1', 1, 3001).watermark(25000);
    expect(h.output()).toEqual([]);
    return h;
  }

  it('testSideOutputDueToLatenessSliding', () => {
    const h = latenessSliding();
    expect(h.lateOutput()).toEqual([rec('key1', 1, 3001)]);
  });

  it('testDropDueToLatenessSliding (Flink 1.2)', () => {
    const h = latenessSliding();
    // Flink 1.2 drops it silently; ours goes to the side output `late`, counted.
    expect(h.lateOutput()).toEqual([rec('key1', 1, 3001)]);
    expect(h.d.executor.stats()[WINDOW]?.['late']).toBe(1);
  });

  /** Tumbling 2 s, allowed lateness 1 ms: fires at 1999, cleans up at 2000 (window state gone). */
  function cleanupTimerTumbling(fn: Fn): void {
    const h = new Harness(() => build(tumblingWindow({ sizeMs: 2000, graceMs: 1 }), fn));
    h.element('key2', 1, 1000);
    h.watermark(1599);
    expect(h.output()).toEqual([]);
    h.watermark(1999);
    expect(h.output()).toEqual([rec('key2', 1, 1999)]); // "here it fires"
    expect(h.windowStateRows()).toBe(1); // kept for the allowed lateness
    h.watermark(2000); // "here is the cleanup timer"
    expect(h.output()).toEqual([]);
    expect(h.windowStateRows()).toBe(0);
    h.watermark(5000);
    expect(h.output()).toEqual([]);
    expect(h.d.deadLetters).toEqual([]);
  }

  it('testCleanupTimerWithEmptyReduceStateForTumblingWindows', () => cleanupTimerTumbling('reduce'));
  it('testCleanupTimerWithEmptyListStateForTumblingWindows', () => cleanupTimerTumbling('passThrough'));
});

describe('Flink WindowOperatorTest: event-time session windows', () => {
  it('testSideOutputDueToLatenessSessionZeroLateness', () => {
    // Gap 3 s, allowed lateness 0, EventTimeTrigger, late-data tag.
    const h = new Harness<Tuple3>(() => buildSessions(3000, 0));

    h.element('key2', 1, 1000).watermark(1999);
    expect(h.output()).toEqual([]);

    h.element('key2', 1, 2000).watermark(4998);
    expect(h.output()).toEqual([]);

    // "this will not be dropped because the session we're adding two has maxTimestamp after the
    // current watermark": [1000, 2000] closes at W >= 2000 + 3000 (Flink: 4999).
    h.element('key2', 1, 4500);

    // "new session": 8500 is 4000 > gap after 4500.
    h.element('key2', 1, 8500).watermark(7400);
    expect(h.output()).toEqual([]);

    // "this will merge the two sessions into one": 7000 is within the gap of 4500 and of 8500.
    h.element('key2', 1, 7000).watermark(11501);
    // Flink: @ 11499 (maxTimestamp of [1000, 11500)).
    expect(h.output()).toEqual([sessionRec('key2-5', 1000, 11500, 8500)]);

    // "new session"
    h.element('key2', 1, 11600).watermark(14600);
    // Flink: @ 14599. Ours fires at W >= 11600 + 3000, which is also when it closes (grace 0).
    expect(h.output()).toEqual([sessionRec('key2-1', 11600, 14600, 11600)]);

    // "this is sideoutput as late": its session, even merged with [11600, 11600], closed at W = 14600.
    h.element('key2', 1, 10000);
    expect(h.lateOutput()).toEqual([rec('key2', 1, 10000)]);

    // 14500 is within the gap of 11600, but that session is closed and gone: a new session.
    h.element('key2', 1, 14500).watermark(20000);
    // Flink: @ 17499.
    expect(h.output()).toEqual([sessionRec('key2-1', 14500, 17500, 14500)]);

    h.watermark(100000);
    expect(h.output()).toEqual([]);
    expect(h.lateOutput()).toEqual([]);
    expect(h.d.deadLetters).toEqual([]);
  });
});
