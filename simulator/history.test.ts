import { describe, expect, it } from 'vitest';
import { isPurchase } from '../pipelines/sources.js';
import { purchaseHistory } from './history.js';
import { generateEvents, worldStartMs, type SimRecord } from './life.js';
import { createRng } from './prng.js';
import { generateWorld } from './world.js';

const DAY = 86_400_000;

/** A record without its eventId, which the merge numbers in output order. */
const content = (r: SimRecord): string => JSON.stringify({ ...r, value: { ...r.value, eventId: '' } });

describe('purchaseHistory', () => {
  const world = generateWorld({ seed: 'history', customers: 300 });
  const start = worldStartMs(world);

  it("ends at the profile's lastPurchaseTs, lies before the start and within the horizon, and is made of purchases", () => {
    for (const c of world.customers) {
      const h = purchaseHistory(world, c, createRng('h').fork(String(c.index)), start);
      const last = c.profile.lastPurchaseTs;
      if (last === null) {
        expect(h).toEqual([]);
        continue;
      }
      expect(h.length).toBeGreaterThan(0);
      expect(h.at(-1)!.value.ts).toBe(last);
      for (const r of h) {
        expect(r.value.ts).toBeLessThan(start);
        expect(r.value.ts).toBeGreaterThanOrEqual(Math.min(last, Math.max(last - 300 * DAY, start - 360 * DAY)));
        expect(r.topic === 'pos' ? isPurchase(r.value) : r.topic === 'clickstream' && isPurchase(r.value)).toBe(true);
        if (r.topic === 'pos') expect(c.storesByHome.slice(0, 3)).toContain(r.value.storeId);
      }
    }
  });

  it('adds to the life without changing it, and is off unless asked', () => {
    const small = generateWorld({ seed: 'history', customers: 12 });
    const plain = [...generateEvents(small, { days: 1 })];
    expect([...generateEvents(small, { days: 1, history: false })]).toEqual(plain);
    const withHistory = [...generateEvents(small, { days: 1, history: true })];
    const before = worldStartMs(small);
    expect(withHistory.filter((r) => r.value.ts >= before).map(content)).toEqual(plain.map(content));
    expect(withHistory.filter((r) => r.value.ts < before).length).toBeGreaterThan(12);
  });
});
