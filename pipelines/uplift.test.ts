import { describe, expect, it } from 'vitest';
import { newcombeInterval, upliftStats, wilson } from './uplift.js';

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

describe("Newcombe's hybrid score interval (method 10)", () => {
  // The worked examples of Newcombe (1998), Table II, method 10: (x1/n1 - x2/n2) -> [lower, upper].
  it.each([
    [56, 70, 48, 80, 0.0524, 0.3339],
    [9, 10, 3, 10, 0.1705, 0.809],
    [6, 7, 2, 7, 0.0582, 0.8062],
    [5, 56, 0, 29, -0.0381, 0.1926],
    [0, 10, 0, 20, -0.1611, 0.2775],
    [0, 10, 0, 10, -0.2775, 0.2775],
    [10, 10, 0, 20, 0.6791, 1],
    [10, 10, 0, 10, 0.6075, 1],
  ])('%i/%i - %i/%i: [%f, %f]', (x1, n1, x2, n2, lower, upper) => {
    const r = newcombeInterval(x1, n1, x2, n2)!;
    expect([r4(r.lower), r4(r.upper)]).toEqual([lower, upper]);
    expect(r.difference).toBeCloseTo(x1 / n1 - x2 / n2, 12);
  });

  it('is symmetric: swapping the arms negates the interval', () => {
    const a = newcombeInterval(23, 60, 18, 72)!;
    const b = newcombeInterval(18, 72, 23, 60)!;
    expect([r4(b.lower), r4(b.upper)]).toEqual([r4(-a.upper), r4(-a.lower)]);
  });

  it('is undefined when an arm is empty; Wilson of an empty sample is [0, 1]', () => {
    expect(newcombeInterval(0, 0, 3, 10)).toBeUndefined();
    expect(newcombeInterval(3, 10, 0, 0)).toBeUndefined();
    expect(wilson(0, 0)).toEqual({ lower: 0, upper: 1 });
  });
});

describe('upliftStats', () => {
  it('gives rates, uplift in pp with its interval, relative and incremental figures, and ROI', () => {
    const s = upliftStats({ decisions: 70, converted: 56, revenue: 7000 }, { decisions: 80, converted: 48, revenue: 4000 }, 700, 30);
    expect(s.enoughData).toBe(true);
    expect([s.treatedRate, s.holdoutRate]).toEqual([0.8, 0.6]);
    // Newcombe's example (a) in percentage points: 20 [5.24, 33.39].
    expect(s.upliftPp).toBeCloseTo(20, 9);
    expect(s.upliftPpLow!).toBeCloseTo(5.24, 2);
    expect(s.upliftPpHigh!).toBeCloseTo(33.39, 2);
    expect(s.relativeUplift).toBeCloseTo(1 / 3, 12);
    expect(s.incrementalConversions).toBeCloseTo(14, 9); // 0.2 * 70
    expect(s.incrementalRevenue).toBeCloseTo((100 - 50) * 70, 9);
    expect(s.roi).toBeCloseTo((3500 - 700) / 700, 9);
  });

  it('says "not enough data" (nulls) below the minimum sample per arm, with one arm empty, or zero counts', () => {
    for (const [t, h] of [
      [{ decisions: 500, converted: 50, revenue: 1 }, { decisions: 2, converted: 1, revenue: 1 }],
      [{ decisions: 500, converted: 50, revenue: 1 }, { decisions: 0, converted: 0, revenue: 0 }],
      [{ decisions: 0, converted: 0, revenue: 0 }, { decisions: 0, converted: 0, revenue: 0 }],
    ]) {
      const s = upliftStats(t!, h!, 10, 30);
      expect(s.enoughData).toBe(false);
      expect([s.upliftPp, s.upliftPpLow, s.upliftPpHigh, s.relativeUplift, s.incrementalConversions, s.incrementalRevenue, s.roi]).toEqual([null, null, null, null, null, null, null]);
    }
    expect(upliftStats({ decisions: 0, converted: 0, revenue: 0 }, { decisions: 40, converted: 4, revenue: 1 }, 0, 30).treatedRate).toBeNull();
    // Zero conversions in both arms: a defined interval around 0, no relative uplift, no ROI without cost.
    const zero = upliftStats({ decisions: 100, converted: 0, revenue: 0 }, { decisions: 100, converted: 0, revenue: 0 }, 0, 30);
    expect([zero.upliftPp, zero.relativeUplift, zero.roi]).toEqual([0, null, null]);
    expect(zero.upliftPpLow!).toBeLessThan(0);
    expect(zero.upliftPpHigh!).toBeGreaterThan(0);
  });
});
