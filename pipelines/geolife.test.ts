/**
 * The location scenes over real GPS data: the GeoLife sample (users 001 and 005 in Beijing,
 * 217,653 points, 2008-10 to 2009-03; `accuracyM` and `speedMps` are null in it). Stores are
 * placed where the data says people stayed and where they moved on weekday mornings and evenings;
 * the triggers of `buildStoreProximity` and `buildCommute` are checked against a straightforward
 * re-implementation of SCENES.md §3.3 and §3.4 over each user's sorted pings (brute-force store
 * scans, Beijing time as UTC+8: China has had no daylight saving time since 1991).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { pipeline, type Pipeline, type Stream } from '../stream/stream.js';
import type { CustomerProfile, LocationEvent, Store, Trigger } from '../schemas/index.js';
import { collect } from '../simulator/datasets/report.js';
import { loadGeoLife } from '../simulator/datasets/geolife.js';
import { TestDriver } from '../testkit/driver.js';
import { buildCommute } from './commute.js';
import { profilesFrom, type RetailDeps } from './deps.js';
import { DEFAULT_PARAMS, type RetailParams } from './params.js';
import { buildStoreProximity } from './storeProximity.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const BEIJING_OFFSET = 8 * HOUR;

/** Haversine on the sphere of SCENES.md, written out again so the reference shares no code with the scenes. */
function distM(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const r = Math.PI / 180;
  const h = Math.sin(((bLat - aLat) * r) / 2) ** 2 + Math.cos(aLat * r) * Math.cos(bLat * r) * Math.sin(((bLon - aLon) * r) / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Beijing wall time of an instant: ISO weekday, minute of the day, date. */
function beijing(ts: number): { weekday: number; minute: number; date: string } {
  const d = new Date(ts + BEIJING_OFFSET);
  return { weekday: d.getUTCDay() === 0 ? 7 : d.getUTCDay(), minute: d.getUTCHours() * 60 + d.getUTCMinutes(), date: d.toISOString().slice(0, 10) };
}
const COMMUTE_WINDOWS = [
  [7 * 60, 9 * 60 + 30],
  [17 * 60, 19 * 60 + 30],
] as const;
const commuteWindow = (ts: number): string | null => {
  const b = beijing(ts);
  if (b.weekday > 5) return null;
  const w = COMMUTE_WINDOWS.findIndex(([s, e]) => b.minute >= s && b.minute < e);
  return w < 0 ? null : `${b.date}/${w}`;
};

type Fired = [customerId: string, ts: number, storeId: string];

/** SCENES.md §3.3 literally: per (customer, store), over the customer's pings in order. */
function referenceProximity(byUser: Map<string, LocationEvent[]>, stores: Store[]): { fired: Fired[]; heldByCooldown: number } {
  const fired: Fired[] = [];
  let heldByCooldown = 0;
  for (const [customerId, pings] of byUser) {
    for (const s of stores) {
      let open = false;
      let start = 0;
      let done = false;
      let last = -Infinity;
      for (const p of pings) {
        if (p.accuracyM !== null && p.accuracyM > 100) continue;
        if (distM(p.lat, p.lon, s.lat, s.lon) > s.radiusM) {
          open = false;
          continue;
        }
        if (!open) {
          open = true;
          start = p.ts;
          done = false;
        }
        if (done || p.ts - start < 120_000) continue;
        if (p.ts - last < 6 * HOUR) {
          heldByCooldown++;
          continue;
        }
        fired.push([customerId, p.ts, s.storeId]);
        done = true;
        last = p.ts;
      }
    }
  }
  return { fired, heldByCooldown };
}

/** SCENES.md §3.4 literally, with Beijing time for every customer (their profiles say Asia/Shanghai). */
function referenceCommute(byUser: Map<string, LocationEvent[]>, stores: Store[]): Fired[] {
  const fired: Fired[] = [];
  for (const [customerId, pings] of byUser) {
    const done = new Set<string>();
    let prev: LocationEvent | null = null;
    for (const p of pings) {
      if (p.accuracyM !== null && p.accuracyM > 100) continue;
      const p1 = prev;
      prev = p;
      if (p1 === null) continue;
      const gap = p.ts - p1.ts;
      if (gap <= 0 || gap > 10 * MIN) continue;
      const speed = p.speedMps ?? distM(p1.lat, p1.lon, p.lat, p.lon) / (gap / 1000);
      if (speed < 1.5) continue;
      const w = commuteWindow(p.ts);
      if (w === null || done.has(w)) continue;
      let best: { id: string; d: number } | null = null;
      for (const s of stores) {
        const d = distM(p.lat, p.lon, s.lat, s.lon);
        if (d > 1000) continue;
        if (best === null || d < best.d || (d === best.d && s.storeId < best.id)) best = { id: s.storeId, d };
      }
      if (best === null) continue;
      done.add(w);
      fired.push([customerId, p.ts, best.id]);
    }
  }
  return fired;
}

/** Stays: a run of consecutive pings all within 50 m of its first (so within 100 m of each other) lasting > 10 min. */
function stays(pings: LocationEvent[]): Array<{ lat: number; lon: number; ms: number; n: number }> {
  const out: Array<{ lat: number; lon: number; ms: number; n: number }> = [];
  let i = 0;
  while (i < pings.length) {
    const a = pings[i]!;
    let j = i + 1;
    while (j < pings.length && distM(a.lat, a.lon, pings[j]!.lat, pings[j]!.lon) <= 50) j++;
    const ms = pings[j - 1]!.ts - a.ts;
    if (ms > 10 * MIN && j - i >= 30) {
      const run = pings.slice(i, j);
      out.push({ lat: run.reduce((s, p) => s + p.lat, 0) / run.length, lon: run.reduce((s, p) => s + p.lon, 0) / run.length, ms, n: j - i });
    }
    i = j;
  }
  return out;
}

const sortFired = (f: Fired[]) => [...f].sort((a, b) => a[0].localeCompare(b[0]) || a[1] - b[1] || a[2].localeCompare(b[2]));
const fromTriggers = (ts: Trigger[]): Fired[] => ts.map((t) => [t.customerId, t.ts, t.storeId ?? '']);

describe('location scenes over GeoLife (real GPS data)', () => {
  let events: LocationEvent[] = [];
  const byUser = new Map<string, LocationEvent[]>();
  const stores: Store[] = [];
  let deps: RetailDeps;

  beforeAll(async () => {
    const loaded = await collect(loadGeoLife());
    expect(loaded.report.complete).toBe(true);
    // One stream in event time (stable: equal ts keep file order), as a topic with bounded disorder would deliver it.
    events = loaded.events.map((e, i) => ({ e, i })).sort((a, b) => a.e.ts - b.e.ts || a.i - b.i).map((x) => x.e);
    for (const e of events) {
      const list = byUser.get(e.customerId);
      if (list === undefined) byUser.set(e.customerId, [e]);
      else list.push(e);
    }

    // Stores where people stayed: the longest stays of each user, at least 1 km apart.
    const place = (id: string, lat: number, lon: number, radiusM: number) => stores.push({ storeId: id, name: id, lat, lon, radiusM, timezone: 'Asia/Shanghai' });
    for (const [user, pings] of byUser) {
      const picked: Array<{ lat: number; lon: number }> = [];
      for (const s of stays(pings).sort((a, b) => b.ms - a.ms)) {
        if (picked.some((p) => distM(p.lat, p.lon, s.lat, s.lon) < 1000)) continue;
        picked.push(s);
        place(`stay-${user}-${picked.length}`, s.lat, s.lon, 100);
        if (picked.length === 4) break;
      }
    }
    // Stores 300 m off points passed on weekday commutes (Beijing time) at walking speed or more,
    // on a few different dates.
    const dates = new Set<string>();
    for (const [user, pings] of byUser) {
      for (let k = 1; k < pings.length && dates.size < 12; k += 7) {
        const [p1, p2] = [pings[k - 1]!, pings[k]!];
        const gap = p2.ts - p1.ts;
        const w = commuteWindow(p2.ts);
        if (w === null || dates.has(w) || gap <= 0 || gap > 10 * MIN || distM(p1.lat, p1.lon, p2.lat, p2.lon) / (gap / 1000) < 1.5) continue;
        dates.add(w);
        const north = 300 / 111_195; // degrees of latitude in 300 m
        place(`route-${user}-${dates.size}`, p2.lat + north, p2.lon, 150);
      }
    }
    const profiles: CustomerProfile[] = [...byUser.keys()].map((customerId) => ({
      customerId,
      tier: 'basic',
      timezone: 'Asia/Shanghai',
      consent: { push: true, sms: false, email: false, in_store: false },
      lastPurchaseTs: null,
    }));
    deps = { stores, profiles: profilesFrom(profiles) };
  }, 120_000);

  function replay(build: (p: Pipeline, params: RetailParams, deps: RetailDeps) => Stream<Trigger>, input: LocationEvent[] = events): Trigger[] {
    const p = pipeline('geolife');
    build(p, DEFAULT_PARAMS, deps).to('triggers');
    const d = TestDriver.of(p);
    for (const e of input) d.push('location', e);
    d.end();
    expect(d.deadLetters).toEqual([]);
    return d.values<Trigger>('triggers');
  }

  it('found stays and commutes to place stores at', () => {
    expect(events.length).toBe(217_653);
    expect([...byUser.keys()].sort()).toEqual(['geolife-001', 'geolife-005']);
    expect(stores.filter((s) => s.storeId.startsWith('stay-')).length).toBeGreaterThanOrEqual(4);
    expect(stores.filter((s) => s.storeId.startsWith('route-')).length).toBeGreaterThanOrEqual(4);
  });

  it('store proximity: the scene fires exactly where the rule over the sorted pings does', () => {
    const ref = referenceProximity(byUser, stores);
    const got = replay((p, params, d) => buildStoreProximity(p, params, d, { outOfOrdernessMs: 0 }));
    expect(sortFired(fromTriggers(got))).toEqual(sortFired(ref.fired));
    expect(ref.fired.length).toBeGreaterThanOrEqual(10);
    expect(new Set(ref.fired.map((f) => f[2])).size).toBeGreaterThanOrEqual(4);
    // the real data reaches the subtle cases: dwells held back by the 6 h cooldown
    expect(ref.heldByCooldown).toBeGreaterThan(0);
  });

  it('commute: the scene fires exactly where the rule over the sorted pings does', () => {
    const ref = referenceCommute(byUser, stores);
    const got = replay((p, params, d) => buildCommute(p, params, d, { outOfOrdernessMs: 0 }));
    expect(sortFired(fromTriggers(got))).toEqual(sortFired(ref));
    expect(ref.length).toBeGreaterThanOrEqual(8);
    expect(new Set(ref.map(([c, ts]) => `${c} ${commuteWindow(ts)}`)).size).toBe(ref.length); // once per window per date
  });

  it('both scenes agree with the rules when some fixes are poor (accuracy 150 m ignored, 100 m accepted)', () => {
    // GeoLife has no accuracy: give every 5th point 150 m and every 7th 100 m, deterministically.
    const degraded = events.map((e, i) => ({ ...e, accuracyM: i % 5 === 0 ? 150 : i % 7 === 0 ? 100 : null }));
    const users = new Map<string, LocationEvent[]>();
    for (const e of degraded) {
      const list = users.get(e.customerId);
      if (list === undefined) users.set(e.customerId, [e]);
      else list.push(e);
    }
    const proximity = referenceProximity(users, stores).fired;
    const commuting = referenceCommute(users, stores);
    expect(sortFired(fromTriggers(replay((p, params, d) => buildStoreProximity(p, params, d, { outOfOrdernessMs: 0 }), degraded)))).toEqual(sortFired(proximity));
    expect(sortFired(fromTriggers(replay((p, params, d) => buildCommute(p, params, d, { outOfOrdernessMs: 0 }), degraded)))).toEqual(sortFired(commuting));
    // the ignored fixes change the outcome: other visits and other pairs than with every fix
    expect(sortFired(proximity)).not.toEqual(sortFired(referenceProximity(byUser, stores).fired));
    expect(sortFired(commuting)).not.toEqual(sortFired(referenceCommute(byUser, stores)));
  });
});
