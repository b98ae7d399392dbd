import { describe, expect, it } from 'vitest';
import { SourceWatermarks } from './watermarks.js';

const opts = { outOfOrdernessMs: 5, idleTimeoutMs: 1000, partitions: 2 };

describe('SourceWatermarks', () => {
  it('is the minimum over partitions of maxTs - bound - 1, and never goes back', () => {
    const w = new SourceWatermarks(opts, 0);
    w.observe(0, 100, 0);
    expect(w.update(0)).toBe(-Infinity); // partition 1 has no data yet
    w.observe(1, 50, 0);
    expect(w.update(0)).toBe(44);
    w.observe(1, 40, 0); // out of order: maxTs stays 50
    expect(w.update(0)).toBe(44);
    w.observe(1, 200, 0);
    expect(w.update(0)).toBe(94);
  });

  it('leaves out a partition idle for idleTimeoutMs', () => {
    const w = new SourceWatermarks(opts, 0);
    w.observe(0, 100, 0);
    expect(w.update(999)).toBe(-Infinity);
    w.observe(0, 120, 1000); // partition 1 never spoke: idle since start
    expect(w.update(1000)).toBe(114);
  });

  it('advances with processing time when every partition is idle', () => {
    const w = new SourceWatermarks({ ...opts, partitions: 1 }, 0);
    w.observe(0, 10_000, 0);
    expect(w.update(0)).toBe(9_994);
    expect(w.update(999)).toBe(9_994); // not idle yet
    expect(w.update(1_000)).toBe(10_994); // idle: event time moves with the clock
    expect(w.update(31_000)).toBe(40_994);
    w.observe(0, 10_500, 31_000); // data again: the watermark holds, it never goes back
    expect(w.update(31_000)).toBe(40_994);
  });

  it('goes to +Infinity at end of input', () => {
    const w = new SourceWatermarks(opts, 0);
    w.end();
    expect(w.update(0)).toBe(Infinity);
  });
});

describe('SourceWatermarks.maxEventTime (the input\'s own progress)', () => {
  it('is the latest event time seen on any partition, -Infinity before any', () => {
    const w = new SourceWatermarks({ outOfOrdernessMs: 5, idleTimeoutMs: 1_000, partitions: 2 }, 0);
    expect(w.maxEventTime).toBe(-Infinity);
    w.observe(0, 100, 1);
    w.observe(1, 40, 1);
    w.observe(0, 90, 2);
    expect(w.maxEventTime).toBe(100);
  });
});
