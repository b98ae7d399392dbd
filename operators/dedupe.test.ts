import { describe, expect, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import type { ExecutorSnapshot } from '../engine/executor.js';
import { pipeline } from '../stream/stream.js';
import { TestDriver } from '../testkit/driver.js';
import { dedupe } from './dedupe.js';

interface Ev {
  id: string;
  ts: number;
}
const ev = (id: string, ts: number): Ev => ({ id, ts });

/** Source with bounded disorder `bound`: the watermark trails the largest ts by bound + 1. */
function build(ttlMs = 10, bound = 0) {
  const p = pipeline('dedupe-test');
  const out = p.source<Ev>('events', { timestamp: (e) => e.ts, outOfOrdernessMs: bound }).pipe(dedupe('dedupe', { id: (e) => e.id, ttlMs }));
  out.to('out');
  out.sideOutput<Ev>('duplicates').to('dups');
  return p;
}
const seenRows = (d: TestDriver) => d.executor.state.snapshot().tables['dedupe/seen'] ?? [];
/** The ids of the remembered occurrences (state keys are `id \u0001 bucket`). */
const seenIds = (d: TestDriver) => seenRows(d).map((r) => r[0].slice(0, r[0].lastIndexOf('\u0001')));

describe('dedupe', () => {
  it('lets the first occurrence through and sends repeats within ttlMs to "duplicates", counted', () => {
    const d = TestDriver.of(build(10, 100));
    d.pushAll('events', [ev('A', 0), ev('A', 4), ev('B', 5), ev('A', 9), ev('A', 10), ev('A', 15)]);
    expect(d.values('out')).toEqual([ev('A', 0), ev('B', 5), ev('A', 10)]);
    expect(d.values('dups')).toEqual([ev('A', 4), ev('A', 9), ev('A', 15)]);
    expect(d.side('dedupe', 'duplicates').map((r) => r.ts)).toEqual([4, 9, 15]);
    expect(d.executor.stats()['dedupe']?.['duplicates']).toBe(3);
  });

  it('passes a record exactly ttlMs later (the span is half-open), and measures it in event time both ways', () => {
    const d = TestDriver.of(build(10, 100));
    d.pushAll('events', [ev('A', 50), ev('A', 59), ev('A', 41), ev('A', 60), ev('A', 40)]);
    // 59 and 41 are 9 away from 50: duplicates; 60 and 40 are exactly 10 away: new occurrences.
    expect(d.values('out')).toEqual([ev('A', 50), ev('A', 60), ev('A', 40)]);
    expect(d.values('dups')).toEqual([ev('A', 59), ev('A', 41)]);
  });

  it('drops an exact re-send of a record it let through, even when an older copy passed in between', () => {
    const d = TestDriver.of(build(10, 100));
    d.pushAll('events', [ev('A', 100), ev('A', 90), ev('A', 100), ev('A', 95), ev('A', 85), ev('A', 110)]);
    // 90 is 10 before 100: a new occurrence. 100 again is a re-send of the first; 95 and 85 are
    // within 10 of an occurrence that passed (100 or 90); 110 is 10 after the latest (100).
    expect(d.values('out')).toEqual([ev('A', 100), ev('A', 90), ev('A', 110)]);
    expect(d.values('dups')).toEqual([ev('A', 100), ev('A', 95), ev('A', 85)]);
  });

  it('follows the TSDoc timeline', () => {
    const d = TestDriver.of(build(10, 100));
    d.pushAll('events', [ev('A', 0), ev('A', 4), ev('B', 5), ev('A', 9), ev('A', 10), ev('A', 15), ev('A', 0)]);
    expect(d.values('out')).toEqual([ev('A', 0), ev('B', 5), ev('A', 10)]);
    expect(d.values('dups')).toEqual([ev('A', 4), ev('A', 9), ev('A', 15), ev('A', 0)]);
  });

  it('keeps state bounded for an id that recurs every ttlMs forever', () => {
    const d = TestDriver.of(build(10));
    for (let t = 0; t <= 10_000; t += 10) d.push('events', ev('A', t));
    expect(d.values('out')).toHaveLength(1_001);
    // Each occurrence is forgotten once the watermark passes t0 + 10 (swept every 2.5 ms of watermark).
    expect(seenRows(d).length).toBeLessThanOrEqual(3);
  });

  it('does not let duplicates extend the span', () => {
    const d = TestDriver.of(build(10, 100));
    d.pushAll('events', [ev('A', 0), ev('A', 6), ev('A', 9), ev('A', 12), ev('A', 19)]);
    // 12 is 12 after the one that passed (0), though only 3 after the duplicate at 9.
    expect(d.values('out')).toEqual([ev('A', 0), ev('A', 12)]);
  });

  it('keeps the key of each record on a keyed stream and works on unkeyed ones', () => {
    const p = pipeline('dedupe-keyed');
    p.keyedSource<Ev & { user: string }>('events', { timestamp: (e) => e.ts, key: (e) => e.user })
      .pipe(dedupe('dd', { id: (e) => e.id, ttlMs: 100 }))
      .to('out');
    const d = TestDriver.of(p);
    d.pushAll('events', [{ id: 'x', ts: 1, user: 'u1' }, { id: 'x', ts: 2, user: 'u2' }, { id: 'y', ts: 3, user: 'u2' }]);
    // The id is the state key: the same id under another stream key is still a duplicate.
    expect(d.records<Ev>('out').map((r) => [r.value.id, r.key])).toEqual([
      ['x', 'u1'],
      ['y', 'u2'],
    ]);
  });

  it('drops state once the watermark passes t0 + ttlMs, so state shrinks', () => {
    const d = TestDriver.of(build(10));
    for (let i = 0; i < 50; i++) d.push('events', ev(`id${i}`, i));
    // Watermark 48: entries written at t <= 38 expired (swept when the watermark moves ttl/4).
    const live = seenRows(d).length;
    expect(live).toBeLessThan(50);
    expect(live).toBeGreaterThanOrEqual(10);
    d.watermark('events', 1_000);
    expect(seenRows(d)).toHaveLength(0);
    // Forgotten ids pass again.
    d.push('events', ev('id3', 2_000));
    expect(d.values('out').at(-1)).toEqual(ev('id3', 2_000));
  });

  it('expires at exactly t0 + ttlMs of watermark, not before', () => {
    const d = TestDriver.of(build(10, 1_000));
    d.push('events', ev('A', 0));
    d.watermark('events', 9);
    expect(seenIds(d)).toEqual(['A']);
    d.push('events', ev('A', 9)); // late (<= watermark) but retained: still a duplicate
    expect(d.values('dups')).toEqual([ev('A', 9)]);
    d.watermark('events', 10);
    // A late copy is judged at its own event time (5): A@0's entry (expires at 10) is live for it.
    d.push('events', ev('A', 5));
    expect(d.values('dups')).toEqual([ev('A', 9), ev('A', 5)]);
    // Once the watermark has passed the expiry everywhere, the sweep removes the entry from memory.
    d.watermark('events', 20);
    expect(seenRows(d)).toHaveLength(0);
    // A late copy now passes as a new occurrence (documented), kept until its own ts + ttlMs.
    d.push('events', ev('A', 6));
    expect(d.values('out')).toEqual([ev('A', 0), ev('A', 6)]);
    expect(seenIds(d)).toEqual(['A']);
  });

  it('gives the same result after snapshot -> JSON -> restore as an uninterrupted run', () => {
    const input = [ev('A', 0), ev('B', 3), ev('A', 5), ev('C', 8), ev('B', 12), ev('A', 13), ev('C', 14), ev('A', 20), ev('B', 21)];
    const whole = TestDriver.of(build(10, 2));
    whole.pushAll('events', input);
    const first = TestDriver.of(build(10, 2));
    first.pushAll('events', input.slice(0, 5));
    const snap = JSON.parse(JSON.stringify(first.snapshot())) as ExecutorSnapshot;
    const second = TestDriver.of(build(10, 2)).restore(snap);
    second.pushAll('events', input.slice(5));
    expect([...first.values('out'), ...second.values('out')]).toEqual(whole.values('out'));
    expect([...first.values('dups'), ...second.values('dups')]).toEqual(whole.values('dups'));
    expect(whole.values('dups')).toEqual([ev('A', 5), ev('B', 12), ev('C', 14), ev('A', 20)]);
  });

  it('rejects a bad ttl at build time and dead-letters a bad id', () => {
    const p = pipeline('dedupe-bad');
    const s = p.source<Ev>('events', { timestamp: (e) => e.ts });
    expect(() => s.pipe(dedupe('zero', { id: (e) => e.id, ttlMs: 0 }))).toThrow(/SS_ERR_GRAPH_INVALID: \[step zero\] dedupe ttlMs/);
    s.pipe(dedupe('ok', { id: (e) => e.id, ttlMs: 5 })).to('out');
    const d = TestDriver.of(p);
    d.pushAll('events', [ev('', 1), ev('A', 2)]);
    expect(d.values('out')).toEqual([ev('A', 2)]);
    expect(d.deadLetters).toHaveLength(1);
    expect(isScenestreamError(d.deadLetters[0]!.error, 'SS_ERR_USER_FUNCTION')).toBe(true);
    expect(d.deadLetters[0]!.error.stepId).toBe('ok');
  });
});
