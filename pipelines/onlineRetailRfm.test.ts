import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PosEvent } from '../schemas/index.js';
import { collect, datasetPath, loadOnlineRetail } from '../simulator/datasets/index.js';
import { finalProfiles, replayRecords } from '../runtime/replay.js';
import { RETAIL_SINKS } from './retail.js';
import { parseCampaign, staticCampaign } from './campaign.js';
import type { LiveProfile } from './profile.js';

/**
 * The real UCI Online Retail file (about 22k invoices over 373 days, 4.3k customers) replayed
 * through the retail pipelines: every customer's RFM where the input ended, checked against a
 * computation here that shares no code with the profile step (plain loops, its own score table and
 * segment grid, written from docs/profiles.md). Purchases exactly as SCENES.md §1 defines them; the
 * 365-day horizon cuts the first weeks of the file.
 */
const FILE = datasetPath('online-retail', 'online-retail.csv.gz');
const DAY = 86_400_000;

/** docs/profiles.md's grid, rows R = 5..1, columns FM = 1..5. */
const GRID = [
  ['new_customers', 'potential_loyalists', 'potential_loyalists', 'champions', 'champions'],
  ['promising', 'potential_loyalists', 'potential_loyalists', 'loyal', 'loyal'],
  ['about_to_sleep', 'about_to_sleep', 'need_attention', 'loyal', 'loyal'],
  ['hibernating', 'hibernating', 'at_risk', 'at_risk', 'cant_lose_them'],
  ['lost', 'hibernating', 'at_risk', 'at_risk', 'cant_lose_them'],
];

function expected(events: readonly PosEvent[], endTs: number) {
  const out = new Map<string, { last: number; frequency: number; monetary: number }>();
  for (const e of [...events].sort((a, b) => a.ts - b.ts)) {
    if (e.customerId === null || !e.items.some((i) => i.quantity > 0)) continue;
    const c = out.get(e.customerId) ?? { last: -1, frequency: 0, monetary: 0 };
    c.last = Math.max(c.last, e.ts);
    if (e.ts > endTs - 365 * DAY) {
      c.frequency += 1;
      for (const i of e.items) if (i.quantity > 0) c.monetary += i.quantity * i.unitPrice;
    }
    out.set(e.customerId, c);
  }
  return out;
}

const days = (n: number) => n * DAY;
function scores(last: number, frequency: number, monetary: number, endTs: number) {
  const age = endTs - last;
  const r = age <= days(30) ? 5 : age <= days(90) ? 4 : age <= days(180) ? 3 : age <= days(365) ? 2 : 1;
  const f = frequency >= 8 ? 5 : frequency >= 5 ? 4 : frequency >= 3 ? 3 : frequency >= 2 ? 2 : 1;
  const m = monetary >= 3000 ? 5 : monetary >= 1000 ? 4 : monetary >= 300 ? 3 : monetary >= 100 ? 2 : 1;
  return { r, f, m, segment: GRID[5 - r]![Math.ceil((f + m) / 2) - 1]! };
}

describe.skipIf(!existsSync(FILE))('RFM over the real Online Retail file', () => {
  it('equals an independent computation for every customer', { timeout: 180_000 }, async () => {
    const { events } = await collect(loadOnlineRetail());
    // Every purchase exact: no merging of a heavy buyer's oldest purchases (docs/profiles.md, maxPurchases).
    const c = parseCampaign(JSON.stringify({ profile: { maxPurchases: 100_000 } }));
    if (!c.ok) throw c.error;
    const result = replayRecords(
      events.map((value, i) => ({ topic: 'pos', value, line: i + 1 })),
      { stores: [], profiles: new Map() },
      staticCampaign(c.value),
    );
    const profiles = new Map(finalProfiles(result.outputs[RETAIL_SINKS.profiles] as LiveProfile[], result.endTs).map((p) => [p.customerId, p]));
    const want = expected(events, result.endTs);
    expect(want.size).toBeGreaterThan(4_000);
    const bySegment = new Map<string, number>();
    for (const [id, w] of want) {
      const p = profiles.get(id);
      expect(p, id).toBeDefined();
      const s = scores(w.last, w.frequency, Math.round(w.monetary * 100) / 100, result.endTs);
      const got = { last: p!.lastPurchaseTs, frequency: p!.frequency, r: p!.recencyScore, f: p!.frequencyScore, m: p!.monetaryScore, segment: p!.segment };
      const exp = { last: w.last, frequency: w.frequency, r: s.r, f: s.f, m: s.m, segment: s.segment };
      if (JSON.stringify(got) !== JSON.stringify(exp)) expect(got, id).toEqual(exp);
      expect(Math.abs(p!.monetary - w.monetary), `monetary of ${id}`).toBeLessThan(0.011);
      bySegment.set(s.segment, (bySegment.get(s.segment) ?? 0) + 1);
    }
    // Customers with only returns have a profile but no purchase: no segment.
    for (const [id, p] of profiles) if (!want.has(id)) expect(p.segment, id).toBeUndefined();
    console.log(`online retail RFM: ${want.size} customers; ${JSON.stringify(Object.fromEntries([...bySegment].sort()))}`);
    expect(bySegment.size).toBeGreaterThanOrEqual(8);
  });
});
