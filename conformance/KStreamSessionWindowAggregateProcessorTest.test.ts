/**
 * Port of Kafka Streams'
 * `streams/src/test/java/org/apache/kafka/streams/kstream/internals/KStreamSessionWindowAggregateProcessorTest.java`
 * (apache/kafka@8156d806503d432e5534b805dfab18d309abcd1b): the session-window aggregate processor
 * over `SessionWindows.ofInactivityGapWithNoGrace(GAP_MS)`, counting (`aggregate + 1`, merger
 * `aggOne + aggTwo`), with its session store `Stores.persistentSessionStore(STORE_NAME, GAP_MS * 3)`.
 *
 * Translation:
 * - The processor under the default `EmitStrategy.onWindowUpdate()` -> `count` with `emit: 'onUpdate'`;
 *   the store's retention `GAP_MS * 3` -> `retentionMs: 3 * GAP_MS`. `processor.process(Record(k, v, ts))`
 *   -> `pipeInput`. The key of each record is the key of its session.
 * - The store (`sessionStore.findSessions(key, earliestSessionEnd, latestSessionStart)`, the value
 *   getter): our session state is internal to the step, so the port reads the table that a
 *   consumer of our changelog keeps: updates upsert a session, retractions delete it. It holds
 *   what Kafka's store holds: open sessions, and closed ones a merge has not removed.
 * - The fixture's store is cached, so Kafka's forwarded results are what a cache flush forwards:
 *   the last value of each session written since the last flush, in order of last write, minus
 *   sessions removed before they reached the store. We have no cache: those cases compare
 *   `flushed`, that view of our changelog. Uncached cases (`initStore(false)`) compare the
 *   changelog itself, with our retractions as Kafka's tombstones (`./kstreams.ts`).
 *
 * Ported: shouldCreateSingleSessionWhenWithinGap, shouldMergeSessions,
 * shouldUpdateSessionIfTheSameTime, shouldHaveMultipleSessionsForSameIdWhenTimestampApartBySessionGap,
 * shouldRemoveMergedSessionsFromStateStore, shouldHandleMultipleSessionsAndMerging,
 * shouldGetAggregatedValuesFromValueGetter, shouldImmediatelyForwardNewSessionWhenNonCachedStore,
 * shouldImmediatelyForwardRemovedSessionsWhenMerging, and the records and counts of
 * shouldLogAndMeterWhenSkippingLateRecordWithZeroGrace and
 * shouldLogAndMeterWhenSkippingLateRecordWithNonzeroGrace (Kafka drops a late record and counts
 * it in `dropped-records-total`; ours goes to the side output `late` and is counted in
 * `late_records`; the log lines are not applicable).
 *
 * Not applicable: shouldLogAndMeterWhenSkippingNullKeyWithBuiltInMetrics (a keyed stream has no
 * null keys).
 */
import { describe, expect, it } from 'vitest';
import { sessionWindow } from '../operators/sessionWindow.js';
import { KStreamsDriver, stepOf, type Kvt } from './kstreams.js';

const GAP_MS = 5 * 60 * 1000;
const TOPIC = 'input';

/** The fixture: the processor and its store (cached or not makes no difference here; see above). */
function processor(gapMs = GAP_MS, graceMs = 0): KStreamsDriver {
  const window = sessionWindow({ gapMs, graceMs, retentionMs: GAP_MS * 3 });
  return new KStreamsDriver([{ topic: TOPIC, window, op: 'count', emit: 'onUpdate' }]);
}

const id = (r: Kvt<number>): string => `${r[0]}@${r[1]}/${r[2]}`;

/** The session table a consumer of the changelog keeps, in order of last write. */
function table(out: ReadonlyArray<Kvt<number>>): Map<string, Kvt<number>> {
  const t = new Map<string, Kvt<number>>();
  for (const r of out) {
    t.delete(id(r));
    if (r[3] !== null) t.set(id(r), r);
  }
  return t;
}

/** `sessionStore.findSessions(key, earliestSessionEndTime, latestSessionStartTime)`: `[start, end, value]` by start. */
function findSessions(d: KStreamsDriver, key: string, earliestEnd: number, latestStart: number): Array<[number, number, number | null]> {
  return [...table(d.processed<number>(TOPIC)).values()]
    .filter((r) => r[0] === key && r[2] >= earliestEnd && r[1] <= latestStart)
    .sort((a, b) => a[1] - b[1])
    .map((r) => [r[1], r[2], r[3]]);
}

/** What `sessionStore.flush()` forwards from the cache, once, after all the inputs. */
const flushed = (d: KStreamsDriver): Array<Kvt<number>> => [...table(d.processed<number>(TOPIC)).values()];

describe('KStreamSessionWindowAggregateProcessorTest', () => {
  it('shouldCreateSingleSessionWhenWithinGap', () => {
    const d = processor();
    d.pipeInput(TOPIC, 'john', 'first', 0);
    d.pipeInput(TOPIC, 'john', 'second', 500);
    expect(findSessions(d, 'john', 0, 2000)[0]?.[2]).toBe(2);
  });

  it('shouldMergeSessions', () => {
    const d = processor();
    const sessionId = 'mel';
    d.pipeInput(TOPIC, sessionId, 'first', 0);
    expect(findSessions(d, sessionId, 0, 0)).toHaveLength(1);

    // "move time beyond gap": [0, 0] is now closed (0 < streamTime - gap - grace = 1), not expired.
    d.pipeInput(TOPIC, sessionId, 'second', GAP_MS + 1);
    expect(findSessions(d, sessionId, GAP_MS + 1, GAP_MS + 1)).toHaveLength(1);
    // "should still exist as not within gap"
    expect(findSessions(d, sessionId, 0, 0)).toHaveLength(1);
    // "move time back": within the gap of both; the merged [0, GAP_MS + 1] is not closed.
    d.pipeInput(TOPIC, sessionId, 'third', GAP_MS / 2);

    expect(findSessions(d, sessionId, 0, GAP_MS + 1)).toEqual([[0, GAP_MS + 1, 3]]);
    // How the store got there: both merged sessions are removed (tombstones), then the merged one put.
    expect(d.processed<number>(TOPIC)).toEqual<Array<Kvt<number>>>([
      [sessionId, 0, 0, 1, 0],
      [sessionId, GAP_MS + 1, GAP_MS + 1, 1, GAP_MS + 1],
      [sessionId, 0, 0, null, 0],
      [sessionId, GAP_MS + 1, GAP_MS + 1, null, GAP_MS + 1],
      [sessionId, 0, GAP_MS + 1, 3, GAP_MS + 1],
    ]);
    expect(d.late(TOPIC)).toEqual([]);
  });

  it('shouldUpdateSessionIfTheSameTime', () => {
    const d = processor();
    d.pipeInput(TOPIC, 'mel', 'first', 0);
    d.pipeInput(TOPIC, 'mel', 'second', 0);
    expect(findSessions(d, 'mel', 0, 0)).toEqual([[0, 0, 2]]);
  });

  it('shouldHaveMultipleSessionsForSameIdWhenTimestampApartBySessionGap', () => {
    const d = processor();
    const sessionId = 'mel';
    let time = 0;
    d.pipeInput(TOPIC, sessionId, 'first', time);
    const time1 = (time += GAP_MS + 1);
    d.pipeInput(TOPIC, sessionId, 'second', time1);
    d.pipeInput(TOPIC, sessionId, 'second', time1);
    const time2 = (time += GAP_MS + 1);
    d.pipeInput(TOPIC, sessionId, 'third', time2);
    d.pipeInput(TOPIC, sessionId, 'third', time2);
    d.pipeInput(TOPIC, sessionId, 'third', time2);

    expect(flushed(d)).toEqual<Array<Kvt<number>>>([
      [sessionId, 0, 0, 1, 0],
      [sessionId, GAP_MS + 1, GAP_MS + 1, 2, GAP_MS + 1],
      [sessionId, time, time, 3, time],
    ]);
  });

  it('shouldRemoveMergedSessionsFromStateStore', () => {
    const d = processor();
    d.pipeInput(TOPIC, 'a', '1', 0);
    // "first ensure it is in the store"
    expect(findSessions(d, 'a', 0, 0)[0]).toEqual([0, 0, 1]);

    d.pipeInput(TOPIC, 'a', '2', 100);
    // "a1 from above should have been removed; should have merged session in store"
    expect(findSessions(d, 'a', 0, 100)).toEqual([[0, 100, 2]]);
  });

  it('shouldHandleMultipleSessionsAndMerging', () => {
    const d = processor();
    d.pipeInput(TOPIC, 'a', '1', 0);
    d.pipeInput(TOPIC, 'b', '1', 0);
    d.pipeInput(TOPIC, 'c', '1', 0);
    d.pipeInput(TOPIC, 'd', '1', 0);
    d.pipeInput(TOPIC, 'd', '2', GAP_MS / 2);
    d.pipeInput(TOPIC, 'a', '2', GAP_MS + 1);
    d.pipeInput(TOPIC, 'b', '2', GAP_MS + 1);
    d.pipeInput(TOPIC, 'a', '3', GAP_MS + 1 + GAP_MS / 2);
    d.pipeInput(TOPIC, 'c', '3', GAP_MS + 1 + GAP_MS / 2);

    expect(flushed(d)).toEqual<Array<Kvt<number>>>([
      ['a', 0, 0, 1, 0],
      ['b', 0, 0, 1, 0],
      ['c', 0, 0, 1, 0],
      ['d', 0, GAP_MS / 2, 2, GAP_MS / 2],
      ['b', GAP_MS + 1, GAP_MS + 1, 1, GAP_MS + 1],
      ['a', GAP_MS + 1, GAP_MS + 1 + GAP_MS / 2, 2, GAP_MS + 1 + GAP_MS / 2],
      ['c', GAP_MS + 1 + GAP_MS / 2, GAP_MS + 1 + GAP_MS / 2, 1, GAP_MS + 1 + GAP_MS / 2],
    ]);
  });

  it('shouldGetAggregatedValuesFromValueGetter', () => {
    const d = processor();
    d.pipeInput(TOPIC, 'a', '1', 0);
    d.pipeInput(TOPIC, 'a', '1', GAP_MS + 1);
    d.pipeInput(TOPIC, 'a', '2', GAP_MS + 1);
    // getter.get(Windowed(key, SessionWindow(start, end))): the session with exactly those bounds.
    const get = (key: string, start: number, end: number) => table(d.processed<number>(TOPIC)).get(`${key}@${start}/${end}`)?.[3];
    expect(get('a', 0, 0)).toBe(1);
    expect(get('a', GAP_MS + 1, GAP_MS + 1)).toBe(2);
  });

  it('shouldImmediatelyForwardNewSessionWhenNonCachedStore', () => {
    const d = processor();
    d.pipeInput(TOPIC, 'a', '1', 0);
    d.pipeInput(TOPIC, 'b', '1', 0);
    d.pipeInput(TOPIC, 'c', '1', 0);
    expect(d.processed<number>(TOPIC)).toEqual<Array<Kvt<number>>>([
      ['a', 0, 0, 1, 0],
      ['b', 0, 0, 1, 0],
      ['c', 0, 0, 1, 0],
    ]);
  });

  it('shouldImmediatelyForwardRemovedSessionsWhenMerging', () => {
    const d = processor();
    d.pipeInput(TOPIC, 'a', '1', 0);
    d.pipeInput(TOPIC, 'a', '1', 5);
    expect(d.processed<number>(TOPIC)).toEqual<Array<Kvt<number>>>([
      ['a', 0, 0, 1, 0],
      ['a', 0, 0, null, 0],
      ['a', 0, 5, 2, 5],
    ]);
  });

  it('shouldLogAndMeterWhenSkippingLateRecordWithZeroGrace', () => {
    const d = processor(10, 0);
    // "dummy record to establish stream time = 0"
    d.pipeInput(TOPIC, 'dummy', 'dummy', 0);
    // "record arrives on time, should not be skipped"
    d.pipeInput(TOPIC, 'OnTime1', '1', 0);
    // "dummy record to advance stream time = 11, 10 for gap time plus 1 to place outside window"
    d.pipeInput(TOPIC, 'dummy', 'dummy', 11);
    // "record is late": window=[0,0] expiration=[1] streamTime=[11]
    d.pipeInput(TOPIC, 'Late1', '1', 0);

    expect(d.late(TOPIC)).toEqual([{ k: 'Late1', v: '1', ts: 0 }]);
    expect(d.driver.executor.stats()[stepOf(TOPIC)]?.['late_records']).toBe(1);
  });

  it('shouldLogAndMeterWhenSkippingLateRecordWithNonzeroGrace', () => {
    const d = processor(10, 1);
    // "dummy record to establish stream time = 0"
    d.pipeInput(TOPIC, 'dummy', 'dummy', 0);
    // "record arrives on time, should not be skipped"
    d.pipeInput(TOPIC, 'OnTime1', '1', 0);
    // "dummy record to advance stream time = 11, 10 for gap time plus 1 to place at edge of window"
    d.pipeInput(TOPIC, 'dummy', 'dummy', 11);
    // "delayed record arrives on time, should not be skipped"
    d.pipeInput(TOPIC, 'OnTime2', '1', 0);
    // "dummy record to advance stream time = 12, 10 for gap time plus 2 to place outside window"
    d.pipeInput(TOPIC, 'dummy', 'dummy', 12);
    // "delayed record arrives late": window=[0,0] expiration=[1] streamTime=[12]
    d.pipeInput(TOPIC, 'Late1', '1', 0);

    expect(d.late(TOPIC)).toEqual([{ k: 'Late1', v: '1', ts: 0 }]);
    expect(d.driver.executor.stats()[stepOf(TOPIC)]?.['late_records']).toBe(1);
  });
});
