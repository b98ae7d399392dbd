import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RFM_SEGMENTS } from '../pipelines/rfm.js';
import { isPurchase } from '../pipelines/sources.js';
import { replayFiles } from '../runtime/replay.js';
import { parseCli } from '../runtime/simulateCli.js';
import { purchaseHistory } from './history.js';
import { generateEvents, worldStartMs, type SimRecord } from './life.js';
import { createRng } from './prng.js';
import { simulate } from './simulate.js';
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

describe('the default simulation (issue 13 item 6)', () => {
  it('puts customers in every RFM segment, as the replay profiles them', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ss-segments-'));
    try {
      // `scenestream simulate --dir DIR`: the command's defaults, histories and responses included.
      const opts = parseCli(['--dir', join(dir, 'sim')])!;
      await simulate(opts);
      await replayFiles({ input: join(dir, 'sim', 'events.jsonl'), stores: join(dir, 'sim', 'stores.json'), profiles: join(dir, 'sim', 'profiles.jsonl'), out: join(dir, 'out') });
      const profiles = (await readFile(join(dir, 'out', 'profiles.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { segment?: string });
      const sizes = new Map<string, number>();
      for (const p of profiles) if (p.segment !== undefined) sizes.set(p.segment, (sizes.get(p.segment) ?? 0) + 1);
      expect([...sizes.keys()].sort()).toEqual([...RFM_SEGMENTS].sort());
      // Not one customer in most of them: the largest holds less than half the city.
      expect(Math.max(...sizes.values())).toBeLessThan(profiles.length / 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
