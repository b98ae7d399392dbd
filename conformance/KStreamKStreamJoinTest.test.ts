/**
 * Conformance port of Apache Kafka Streams' `KStreamKStreamJoinTest`
 * (streams/src/test/java/org/apache/kafka/streams/kstream/internals/KStreamKStreamJoinTest.java),
 * run against `operators/intervalJoin.ts` through `conformance/kstreamJoinHarness.ts`: both topics
 * are one source branched into the join, so the join's watermark is Kafka's stream time minus one;
 * `JoinWindows(before, after)` is `lowerMs: -before, upperMs: after`; `MockValueJoiner.TOSTRING_JOINER`
 * is `"left+right"`. Inputs and expected outputs are the original ones.
 *
 * Where our documented semantics differ on purpose (cases kept, with our expected output):
 * - **Out-of-order records behind the watermark are late.** Kafka Streams has no lateness check in
 *   an inner stream-stream join: a record far behind stream time still joins whatever its window
 *   stores retain (`before + after + grace`). Our operator follows Flink's interval join: a record
 *   with `ts < watermark - graceMs` goes to the side output `late` and joins nothing. Each such step
 *   below says what Kafka emits and asserts our output and the `late` records
 *   (`testWindowing`, `testAsymmetricWindowingAfter`, `testAsymmetricWindowingBefore`).
 * - **The one-ms boundary.** A record exactly at the watermark is taken (as Kafka and Flink take it),
 *   but a partner whose window closed at that very watermark is already gone, as in Flink
 *   (`testAsymmetricWindowingBefore`, step h).
 *
 * Not applicable (no counterpart in our engine):
 * - `shouldLogAndMeterOnSkippedRecordsWithNullValueWithBuiltInMetricsVersionLatest`: Kafka skips
 *   records with a null key or value and logs it; our keys are never null (`keyBy` rejects an empty
 *   key) and a stream value is never a tombstone.
 * - `shouldReuseRepartitionTopicWithGeneratedName`, `shouldCreateRepartitionTopicsWithUserProvidedName`:
 *   repartition-topic naming in the topology description.
 * - `shouldDisableLoggingOnStreamJoined`, `shouldEnableLoggingWithCustomConfigOnStreamJoined`:
 *   changelog-topic configuration of the join stores.
 * - `shouldThrowExceptionThisStoreSupplierRetentionDoNotMatchWindowsSizeAndGrace`,
 *   `shouldThrowExceptionThisStoreSupplierWindowSizeDoesNotMatchJoinWindowsWindowSize`,
 *   `shouldThrowExceptionWhenThisJoinStoreSetsRetainDuplicatesFalse`,
 *   `shouldThrowExceptionOtherStoreSupplierRetentionDoNotMatchWindowsSizeAndGrace`,
 *   `shouldThrowExceptionOtherStoreSupplierWindowSizeDoesNotMatchJoinWindowsWindowSize`,
 *   `shouldThrowExceptionWhenOtherJoinStoreSetsRetainDuplicatesFalse`,
 *   `shouldBuildJoinWithCustomStoresAndCorrectWindowSettings`,
 *   `shouldExceptionWhenJoinStoresDoNotHaveUniqueNames`, `shouldJoinWithDslStoreSuppliersIfNoStoreSupplied`,
 *   `shouldJoinWithDslStoreSuppliersFromStreamsConfig`, `shouldJoinWithNonTimestampedStore`: store
 *   suppliers and their validation; our buffers are the step's keyed state. The join these tests run
 *   (`runJoin`) is ported once, as `shouldJoinWithCustomStoreSuppliers`.
 * - `shouldThrottleEmitNonJoinedOuterRecordsEvenWhenClockDrift`: Kafka throttles the emission of
 *   unmatched outer records by processing time; ours are emitted by event-time timers, unthrottled.
 * - The `copartitionGroups` assertions inside `testJoin`, `testOuterJoin`, `testWindowing` and the
 *   asymmetric tests: Kafka topology metadata.
 */
import { describe, it } from 'vitest';
import { KStreamJoinDriver, ofTimeDifferenceAndGrace, ofTimeDifferenceWithNoGrace, TOSTRING_JOINER, type JoinWindows } from './kstreamJoinHarness.js';

const expectedKeys = [0, 1, 2, 3] as const;
const HOURS_24 = 24 * 60 * 60 * 1000;
/** `JoinWindows.ofTimeDifferenceWithNoGrace(ofMillis(0)).after(ofMillis(ms))` / `.before(ofMillis(ms))`. */
const after = (ms: number): JoinWindows => ({ beforeMs: 0, afterMs: ms, graceMs: 0 });
const before = (ms: number): JoinWindows => ({ beforeMs: ms, afterMs: 0, graceMs: 0 });

describe('KStreamKStreamJoinTest', () => {
  it('shouldJoinWithCustomStoreSuppliers (the join of runJoin)', () => {
    const driver = new KStreamJoinDriver<number, number>(ofTimeDifferenceWithNoGrace(100), 'inner', (a, b) => (a ?? 0) + (b ?? 0));
    driver.pipeInput('topic1', 'A', 1, 1).pipeInput('topic1', 'B', 1, 2);
    driver.pipeInput('topic2', 'A', 1, 1).pipeInput('topic2', 'B', 2, 2);
    driver.checkAndClearProcessResult([
      ['A', 2, 1],
      ['B', 3, 2],
    ]);
  });

  it('testJoin', () => {
    const driver = new KStreamJoinDriver<string, string>(ofTimeDifferenceWithNoGrace(100), 'inner', TOSTRING_JOINER);
    for (const k of expectedKeys.slice(0, 2)) driver.pipeInput('topic1', k, `A${k}`);
    driver.checkAndClearProcessResult([]);
    for (const k of expectedKeys.slice(0, 2)) driver.pipeInput('topic2', k, `a${k}`);
    driver.checkAndClearProcessResult([
      [0, 'A0+a0', 0],
      [1, 'A1+a1', 0],
    ]);
    for (const k of expectedKeys) driver.pipeInput('topic1', k, `B${k}`);
    driver.checkAndClearProcessResult([
      [0, 'B0+a0', 0],
      [1, 'B1+a1', 0],
    ]);
    for (const k of expectedKeys) driver.pipeInput('topic2', k, `b${k}`);
    driver.checkAndClearProcessResult([
      [0, 'A0+b0', 0],
      [0, 'B0+b0', 0],
      [1, 'A1+b1', 0],
      [1, 'B1+b1', 0],
      [2, 'B2+b2', 0],
      [3, 'B3+b3', 0],
    ]);
    for (const k of expectedKeys) driver.pipeInput('topic1', k, `C${k}`);
    driver.checkAndClearProcessResult([
      [0, 'C0+a0', 0],
      [0, 'C0+b0', 0],
      [1, 'C1+a1', 0],
      [1, 'C1+b1', 0],
      [2, 'C2+b2', 0],
      [3, 'C3+b3', 0],
    ]);
    for (const k of expectedKeys.slice(0, 2)) driver.pipeInput('topic2', k, `c${k}`);
    driver.checkAndClearProcessResult([
      [0, 'A0+c0', 0],
      [0, 'B0+c0', 0],
      [0, 'C0+c0', 0],
      [1, 'A1+c1', 0],
      [1, 'B1+c1', 0],
      [1, 'C1+c1', 0],
    ]);
  });

  it('testOuterJoin', () => {
    const driver = new KStreamJoinDriver<string, string>(ofTimeDifferenceAndGrace(100, HOURS_24), 'outer', TOSTRING_JOINER);
    // the other window is empty; this should not produce items yet
    for (const k of expectedKeys.slice(0, 2)) driver.pipeInput('topic1', k, `A${k}`);
    driver.checkAndClearProcessResult([]);
    for (const k of expectedKeys.slice(0, 2)) driver.pipeInput('topic2', k, `a${k}`);
    driver.checkAndClearProcessResult([
      [0, 'A0+a0', 0],
      [1, 'A1+a1', 0],
    ]);
    for (const k of expectedKeys) driver.pipeInput('topic1', k, `B${k}`);
    driver.checkAndClearProcessResult([
      [0, 'B0+a0', 0],
      [1, 'B1+a1', 0],
    ]);
    for (const k of expectedKeys) driver.pipeInput('topic2', k, `b${k}`);
    driver.checkAndClearProcessResult([
      [0, 'A0+b0', 0],
      [0, 'B0+b0', 0],
      [1, 'A1+b1', 0],
      [1, 'B1+b1', 0],
      [2, 'B2+b2', 0],
      [3, 'B3+b3', 0],
    ]);
    for (const k of expectedKeys) driver.pipeInput('topic1', k, `C${k}`);
    driver.checkAndClearProcessResult([
      [0, 'C0+a0', 0],
      [0, 'C0+b0', 0],
      [1, 'C1+a1', 0],
      [1, 'C1+b1', 0],
      [2, 'C2+b2', 0],
      [3, 'C3+b3', 0],
    ]);
    for (const k of expectedKeys.slice(0, 2)) driver.pipeInput('topic2', k, `c${k}`);
    driver.checkAndClearProcessResult([
      [0, 'A0+c0', 0],
      [0, 'B0+c0', 0],
      [0, 'C0+c0', 0],
      [1, 'A1+c1', 0],
      [1, 'B1+c1', 0],
      [1, 'C1+c1', 0],
    ]);
  });

  it('testWindowing', () => {
    const driver = new KStreamJoinDriver<string, string>(ofTimeDifferenceWithNoGrace(100), 'inner', TOSTRING_JOINER);
    const pushAll = (topic: 'topic1' | 'topic2', prefix: string, ts: number, step = 0): void => {
      expectedKeys.forEach((k, i) => driver.pipeInput(topic, k, `${prefix}${k}`, ts + i * step));
    };
    const lateOf = (prefix: string): string[] => expectedKeys.map((k) => `${prefix}${k}`);
    let time = 0;
    for (const k of expectedKeys.slice(0, 2)) driver.pipeInput('topic1', k, `A${k}`, time);
    driver.checkAndClearProcessResult([]);
    for (const k of expectedKeys.slice(0, 2)) driver.pipeInput('topic2', k, `a${k}`, time);
    driver.checkAndClearProcessResult([
      [0, 'A0+a0', 0],
      [1, 'A1+a1', 0],
    ]);
    // four items with larger and increasing timestamps to the primary stream: no items
    time = 1000;
    pushAll('topic1', 'B', time, 1);
    driver.checkAndClearProcessResult([]);
    // four items with a fixed larger timestamp to the other stream: four items
    time += 100;
    pushAll('topic2', 'b', time);
    driver.checkAndClearProcessResult([
      [0, 'B0+b0', 1100],
      [1, 'B1+b1', 1100],
      [2, 'B2+b2', 1100],
      [3, 'B3+b3', 1100],
    ]);
    time += 1;
    pushAll('topic2', 'c', time);
    driver.checkAndClearProcessResult([
      [1, 'B1+c1', 1101],
      [2, 'B2+c2', 1101],
      [3, 'B3+c3', 1101],
    ]);
    time += 1;
    pushAll('topic2', 'd', time);
    driver.checkAndClearProcessResult([
      [2, 'B2+d2', 1102],
      [3, 'B3+d3', 1102],
    ]);
    time += 1;
    pushAll('topic2', 'e', time);
    driver.checkAndClearProcessResult([[3, 'B3+e3', 1103]]);
    time += 1;
    pushAll('topic2', 'f', time);
    driver.checkAndClearProcessResult([]);
    // four items with a timestamp before the window bound to the other stream: no items
    // (stream time is 1104, so they are also behind our watermark: late)
    time = 1000 - 100 - 1;
    pushAll('topic2', 'g', time);
    driver.checkAndClearProcessResult([], lateOf('g'));
    // Kafka: [0, B0+h0, 1000]. Ours: h@900 is 204 ms behind stream time: late.
    time += 1;
    pushAll('topic2', 'h', time);
    driver.checkAndClearProcessResult([], lateOf('h'));
    // Kafka: B0+i0@1000, B1+i1@1001. Ours: late.
    time += 1;
    pushAll('topic2', 'i', time);
    driver.checkAndClearProcessResult([], lateOf('i'));
    // Kafka: B0+j0, B1+j1, B2+j2. Ours: late.
    time += 1;
    pushAll('topic2', 'j', time);
    driver.checkAndClearProcessResult([], lateOf('j'));
    // Kafka: B0+k0, B1+k1, B2+k2, B3+k3. Ours: late.
    time += 1;
    pushAll('topic2', 'k', time);
    driver.checkAndClearProcessResult([], lateOf('k'));
    // advance time to not join with existing data
    time = 2000;
    pushAll('topic2', 'l', time, 1);
    driver.checkAndClearProcessResult([]);
    time = 2000 + 100;
    pushAll('topic1', 'C', time);
    driver.checkAndClearProcessResult([
      [0, 'C0+l0', 2100],
      [1, 'C1+l1', 2100],
      [2, 'C2+l2', 2100],
      [3, 'C3+l3', 2100],
    ]);
    time += 1;
    pushAll('topic1', 'D', time);
    driver.checkAndClearProcessResult([
      [1, 'D1+l1', 2101],
      [2, 'D2+l2', 2101],
      [3, 'D3+l3', 2101],
    ]);
    time += 1;
    pushAll('topic1', 'E', time);
    driver.checkAndClearProcessResult([
      [2, 'E2+l2', 2102],
      [3, 'E3+l3', 2102],
    ]);
    time += 1;
    pushAll('topic1', 'F', time);
    driver.checkAndClearProcessResult([[3, 'F3+l3', 2103]]);
    time += 1;
    pushAll('topic1', 'G', time);
    driver.checkAndClearProcessResult([]);
    // smaller timestamps (before the window) to the primary stream: no items (ours: late)
    time = 2000 - 100 - 1;
    pushAll('topic1', 'H', time);
    driver.checkAndClearProcessResult([], lateOf('H'));
    // Kafka: [0, I0+l0, 2000]. Ours: late.
    time += 1;
    pushAll('topic1', 'I', time);
    driver.checkAndClearProcessResult([], lateOf('I'));
    // Kafka: J0+l0, J1+l1. Ours: late.
    time += 1;
    pushAll('topic1', 'J', time);
    driver.checkAndClearProcessResult([], lateOf('J'));
    // Kafka: K0+l0, K1+l1, K2+l2. Ours: late.
    time += 1;
    pushAll('topic1', 'K', time);
    driver.checkAndClearProcessResult([], lateOf('K'));
    // Kafka: L0+l0 .. L3+l3. Ours: late.
    time += 1;
    pushAll('topic1', 'L', time);
    driver.checkAndClearProcessResult([], lateOf('L'));
  });

  it('testAsymmetricWindowingAfter', () => {
    const driver = new KStreamJoinDriver<string, string>(after(100), 'inner', TOSTRING_JOINER);
    const push = (prefix: string, ts: number): void => expectedKeys.forEach((k) => driver.pipeInput('topic2', k, `${prefix}${k}`, ts));
    const lateOf = (prefix: string): string[] => expectedKeys.map((k) => `${prefix}${k}`);
    let time = 1000;
    expectedKeys.forEach((k, i) => driver.pipeInput('topic1', k, `A${k}`, time + i));
    driver.checkAndClearProcessResult([]);
    // smaller timestamps (out of window): no items; stream time is 1003, so ours are late too
    time = 1000 - 1;
    push('a', time);
    driver.checkAndClearProcessResult([], lateOf('a'));
    // Kafka: [0, A0+b0, 1000]. Ours: b@1000 <= watermark 1002: late.
    time += 1;
    push('b', time);
    driver.checkAndClearProcessResult([], lateOf('b'));
    // Kafka: A0+c0, A1+c1 @1001. Ours: late.
    time += 1;
    push('c', time);
    driver.checkAndClearProcessResult([], lateOf('c'));
    // d@1002 is at the watermark (1002), not behind it: joined, as in Kafka
    time += 1;
    push('d', time);
    driver.checkAndClearProcessResult([
      [0, 'A0+d0', 1002],
      [1, 'A1+d1', 1002],
      [2, 'A2+d2', 1002],
    ]);
    time += 1;
    push('e', time);
    driver.checkAndClearProcessResult([
      [0, 'A0+e0', 1003],
      [1, 'A1+e1', 1003],
      [2, 'A2+e2', 1003],
      [3, 'A3+e3', 1003],
    ]);
    time = 1000 + 100;
    push('f', time);
    driver.checkAndClearProcessResult([
      [0, 'A0+f0', 1100],
      [1, 'A1+f1', 1100],
      [2, 'A2+f2', 1100],
      [3, 'A3+f3', 1100],
    ]);
    time += 1;
    push('g', time);
    driver.checkAndClearProcessResult([
      [1, 'A1+g1', 1101],
      [2, 'A2+g2', 1101],
      [3, 'A3+g3', 1101],
    ]);
    time += 1;
    push('h', time);
    driver.checkAndClearProcessResult([
      [2, 'A2+h2', 1102],
      [3, 'A3+h3', 1102],
    ]);
    time += 1;
    push('i', time);
    driver.checkAndClearProcessResult([[3, 'A3+i3', 1103]]);
    time += 1;
    push('j', time);
    driver.checkAndClearProcessResult([]);
  });

  it('testAsymmetricWindowingBefore', () => {
    const driver = new KStreamJoinDriver<string, string>(before(100), 'inner', TOSTRING_JOINER);
    const push = (prefix: string, ts: number): void => expectedKeys.forEach((k) => driver.pipeInput('topic2', k, `${prefix}${k}`, ts));
    const lateOf = (prefix: string): string[] => expectedKeys.map((k) => `${prefix}${k}`);
    let time = 1000;
    expectedKeys.forEach((k, i) => driver.pipeInput('topic1', k, `A${k}`, time + i));
    driver.checkAndClearProcessResult([]);
    // Stream time is 1003 from here on (watermark 1002): every right record before 1002 is late in
    // ours. Kafka joins them with the A records its window store still holds; its expected outputs
    // are noted per step.
    time = 1000 - 100 - 1;
    push('a', time); // Kafka: none
    driver.checkAndClearProcessResult([], lateOf('a'));
    time += 1;
    push('b', time); // Kafka: A0+b0@1000
    driver.checkAndClearProcessResult([], lateOf('b'));
    time += 1;
    push('c', time); // Kafka: A0+c0@1000, A1+c1@1001
    driver.checkAndClearProcessResult([], lateOf('c'));
    time += 1;
    push('d', time); // Kafka: A0+d0, A1+d1, A2+d2
    driver.checkAndClearProcessResult([], lateOf('d'));
    time += 1;
    push('e', time); // Kafka: A0+e0 .. A3+e3
    driver.checkAndClearProcessResult([], lateOf('e'));
    time = 1000;
    push('f', time); // Kafka: A0+f0@1000 .. A3+f3@1003
    driver.checkAndClearProcessResult([], lateOf('f'));
    time += 1;
    push('g', time); // Kafka: A1+g1, A2+g2, A3+g3
    driver.checkAndClearProcessResult([], lateOf('g'));
    // h@1002 is at the watermark, so it is taken. Kafka: A2+h2@1002, A3+h3@1003. Ours misses A2+h2:
    // A2's window [1002, 1002] closed when the watermark reached 1002 (the documented one-ms
    // boundary, where Flink behaves the same).
    time += 1;
    push('h', time);
    driver.checkAndClearProcessResult([[3, 'A3+h3', 1003]]);
    time += 1;
    push('i', time);
    driver.checkAndClearProcessResult([[3, 'A3+i3', 1003]]);
    time += 1;
    push('j', time);
    driver.checkAndClearProcessResult([]);
  });
});
