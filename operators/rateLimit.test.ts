import { describe, expect, it } from 'vitest';
import type { ExecutorSnapshot } from '../engine/executor.js';
import { pipeline } from '../stream/stream.js';
import { TestDriver } from '../testkit/driver.js';
import { rateLimit } from './rateLimit.js';

interface Hit {
  user: string;
  ts: number;
}
const hit = (user: string, ts: number): Hit => ({ user, ts });

function build(max: number, perMs: number, bound = 1_000) {
  const p = pipeline('rate-test');
  const out = p
    .keyedSource<Hit>('hits', { timestamp: (h) => h.ts, key: (h) => h.user, outOfOrdernessMs: bound })
    .pipeKeyed(rateLimit<Hit>('limit', { max, perMs }));
  out.to('out');
  out.sideOutput<Hit>('limited').to('limited');
  return p;
}
const ts = (d: TestDriver, sink: string) => d.values<Hit>(sink).map((h) => `${h.user}@${h.ts}`);
const logRows = (d: TestDriver) => d.executor.state.snapshot().tables['limit/log'] ?? [];

describe('rateLimit', () => {
  it('limits the (max+1)-th record within perMs, counts it, and lets one exactly perMs later through', () => {
    const d = TestDriver.of(build(2, 10));
    d.pushAll('hits', [hit('a', 0), hit('a', 3), hit('a', 5), hit('a', 10), hit('a', 12), hit('a', 13)]);
    expect(ts(d, 'out')).toEqual(['a@0', 'a@3', 'a@10', 'a@13']);
    expect(ts(d, 'limited')).toEqual(['a@5', 'a@12']);
    expect(d.executor.stats()['limit']?.['limited']).toBe(2);
    expect(d.side('limit', 'limited').map((r) => r.key)).toEqual(['a', 'a']);
  });

  it('keeps keys apart', () => {
    const d = TestDriver.of(build(1, 100));
    d.pushAll('hits', [hit('a', 0), hit('b', 1), hit('a', 2), hit('b', 99), hit('b', 101)]);
    expect(ts(d, 'out')).toEqual(['a@0', 'b@1', 'b@101']);
    expect(ts(d, 'limited')).toEqual(['a@2', 'b@99']);
  });

  it('holds for any window of perMs when records arrive out of order', () => {
    const d = TestDriver.of(build(2, 10));
    // 20 and 12 pass; 15 would put {12, 15, 20} in [11, 21): limited; 5 joins 12 only ([3, 13)
    // holds {5, 12}): passes; 3 would put {3, 5, 12} in [3, 13): limited; 22 spans 10 with 12
    // (22 - 12 = perMs, never in one half-open window): passes.
    d.pushAll('hits', [hit('a', 20), hit('a', 12), hit('a', 15), hit('a', 5), hit('a', 3), hit('a', 22)]);
    expect(ts(d, 'out')).toEqual(['a@20', 'a@12', 'a@5', 'a@22']);
    expect(ts(d, 'limited')).toEqual(['a@15', 'a@3']);
    // Check the invariant directly: no window of 10 holds more than 2 passed records.
    const passed = d.values<Hit>('out').map((h) => h.ts);
    for (const s of passed) expect(passed.filter((t) => t >= s && t < s + 10).length).toBeLessThanOrEqual(2);
  });

  it('treats equal timestamps as within the window', () => {
    const d = TestDriver.of(build(2, 1));
    d.pushAll('hits', [hit('a', 7), hit('a', 7), hit('a', 7), hit('a', 8)]);
    expect(ts(d, 'out')).toEqual(['a@7', 'a@7', 'a@8']);
    expect(ts(d, 'limited')).toEqual(['a@7']);
  });

  it('keeps per-key state bounded and drops quiet keys', () => {
    const d = TestDriver.of(build(3, 10, 0));
    for (let t = 0; t < 200; t++) d.push('hits', hit('a', t));
    // Only times within perMs of the watermark are kept, never more than max of them.
    const rows = logRows(d);
    expect(rows).toHaveLength(1);
    expect((rows[0]![1] as number[]).length).toBeLessThanOrEqual(3);
    expect(ts(d, 'out')).toHaveLength(60); // 3 per 10 ms
    d.push('hits', hit('b', 200));
    d.watermark('hits', 1_000);
    expect(logRows(d)).toHaveLength(0);
  });

  it('gives the same result after snapshot -> JSON -> restore as an uninterrupted run', () => {
    const input = [hit('a', 0), hit('b', 1), hit('a', 2), hit('a', 4), hit('b', 5), hit('a', 9), hit('a', 11), hit('b', 12), hit('a', 13), hit('a', 14)];
    const whole = TestDriver.of(build(2, 10, 3));
    whole.pushAll('hits', input);
    const first = TestDriver.of(build(2, 10, 3));
    first.pushAll('hits', input.slice(0, 4));
    const snap = JSON.parse(JSON.stringify(first.snapshot())) as ExecutorSnapshot;
    const second = TestDriver.of(build(2, 10, 3)).restore(snap);
    second.pushAll('hits', input.slice(4));
    expect([...ts(first, 'out'), ...ts(second, 'out')]).toEqual(ts(whole, 'out'));
    expect([...ts(first, 'limited'), ...ts(second, 'limited')]).toEqual(ts(whole, 'limited'));
    expect(ts(whole, 'limited')).toEqual(['a@4', 'a@9', 'a@14']);
  });

  it('fails at build time on bad limits and on an unkeyed stream', () => {
    const p = pipeline('rate-bad');
    const k = p.keyedSource<Hit>('hits', { timestamp: (h) => h.ts, key: (h) => h.user });
    expect(() => k.pipeKeyed(rateLimit<Hit>('zero', { max: 0, perMs: 10 }))).toThrow(/\[step zero\] rateLimit max must be an integer >= 1/);
    expect(() => k.pipeKeyed(rateLimit<Hit>('frac', { max: 1, perMs: 0.5 }))).toThrow(/\[step frac\] rateLimit perMs/);
    const s = pipeline('rate-unkeyed').source<Hit>('hits', { timestamp: (h) => h.ts });
    expect(() => s.pipe(rateLimit<Hit>('rl', { max: 1, perMs: 10 }))).toThrow(/needs a keyed input/);
  });
});
