import { describe, expect, it } from 'vitest';
import { createRng, cyrb128, shortHash } from './prng.js';

describe('createRng', () => {
  it('gives the same sequence for the same seed, and a number seed equals its decimal text', () => {
    const a = createRng('alpha');
    const b = createRng('alpha');
    const xs = Array.from({ length: 50 }, () => a.uint32());
    expect(Array.from({ length: 50 }, () => b.uint32())).toEqual(xs);
    const n = createRng(42);
    const s = createRng('42');
    expect([n.next(), n.next()]).toEqual([s.next(), s.next()]);
  });

  it('gives different sequences for different seeds', () => {
    const a = createRng('alpha');
    const b = createRng('beta');
    expect(Array.from({ length: 8 }, () => a.uint32())).not.toEqual(Array.from({ length: 8 }, () => b.uint32()));
  });

  it('forks from the seed, not from the state', () => {
    const a = createRng('root');
    const forkBefore = a.fork('child').uint32();
    a.uint32();
    a.uint32();
    expect(a.fork('child').uint32()).toBe(forkBefore);
    expect(a.fork('other').uint32()).not.toBe(forkBefore);
  });

  it('stays in range and is roughly uniform', () => {
    const r = createRng('uniform');
    const buckets = new Array<number>(10).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r.next();
      if (!(x >= 0 && x < 1)) outOfRange++;
      else buckets[Math.floor(x * 10)]! += 1;
    }
    expect(outOfRange).toBe(0);
    for (const b of buckets) expect(Math.abs(b - 10_000)).toBeLessThan(500);
    const ints = new Set(Array.from({ length: 1000 }, () => r.int(3, 7)));
    expect([...ints].sort()).toEqual([3, 4, 5, 6, 7]);
  });

  it('draws normals with about the asked mean and deviation', () => {
    const r = createRng('normal');
    const xs = Array.from({ length: 20_000 }, () => r.normal(5, 2));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
    expect(mean).toBeCloseTo(5, 1);
    expect(sd).toBeCloseTo(2, 1);
  });

  it('picks by weight and refuses empty choices', () => {
    const r = createRng('weights');
    let heads = 0;
    for (let i = 0; i < 10_000; i++) if (r.weighted([['h', 3], ['t', 1]] as const) === 'h') heads++;
    expect(heads / 10_000).toBeCloseTo(0.75, 1);
    expect(r.weighted([['only', 0], ['this', 1]] as const)).toBe('this');
    expect(() => r.pick([])).toThrow(RangeError);
    expect(() => r.weighted([])).toThrow(RangeError);
  });
});

describe('cyrb128 / shortHash', () => {
  it('is stable across platforms and releases (pinned values: changing them changes every simulation)', () => {
    expect(shortHash('scenestream')).toBe('57d65834');
    const r = createRng('alpha');
    expect([r.uint32(), r.uint32(), r.uint32()]).toEqual([3177561853, 1310840500, 1120686013]);
    expect(cyrb128('x')).toHaveLength(4);
    expect(shortHash('a')).not.toBe(shortHash('b'));
  });
});
