/**
 * The simulated life against the contract of SCENES.md. The scene checks below are deliberately
 * naive, independent re-readings of the spec (their own haversine, their own local time via Intl),
 * not the engine's operators and not the simulator's helpers.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { validate, type ClickEvent, type CustomerProfile, type LocationEvent, type PosEvent, type Store } from '../schemas/index.js';
import { generateEvents, type SimRecord } from './life.js';
import { simulate } from './simulate.js';
import { generateWorld } from './world.js';

const MIN = 60_000;
const DAY = 86_400_000;

function distanceM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const R = 6_371_008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}

const clocks = new Map<string, Intl.DateTimeFormat>();

function localClock(ts: number, timeZone: string): { weekday: string; minutes: number } {
  let f = clocks.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    clocks.set(timeZone, f);
  }
  const parts = f.formatToParts(ts);
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '';
  return { weekday: get('weekday'), minutes: Number(get('hour')) * 60 + Number(get('minute')) };
}

async function jsonl(seed: string): Promise<string> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  await simulate({ seed, customers: 40, stores: 5, days: 2, out: sink });
  return Buffer.concat(chunks).toString('utf8');
}

describe('determinism', () => {
  it('gives byte-identical JSONL for the same seed and different JSONL for another', async () => {
    const a = await jsonl('same-seed');
    const b = await jsonl('same-seed');
    const c = await jsonl('other-seed');
    expect(a.length).toBeGreaterThan(10_000);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    // Stable key order: topic then value, value keys in schema order.
    const first = a.slice(0, a.indexOf('\n'));
    expect(first).toMatch(/^\{"topic":"(clickstream|pos|location)","value":\{"eventId":"sim-[0-9a-f]{8}-\d+","customerId":/);
  });

  it('streams: the first records of a large, long run come without generating all of it', () => {
    const world = generateWorld({ customers: 1500 });
    const started = Date.now();
    const it = generateEvents(world, { days: 365 });
    for (let i = 0; i < 100; i++) expect(it.next().done).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('rejects a bad number of days', () => {
    expect(() => generateEvents(generateWorld({ customers: 2 }), { days: 0 }).next()).toThrow(/SS_ERR_CONFIG/);
  });
});

interface Life {
  records: SimRecord[];
  clicks: ClickEvent[];
  pos: PosEvent[];
  pings: LocationEvent[];
  stores: readonly Store[];
  profiles: Map<string, CustomerProfile>;
  purchases: Map<string, number[]>;
}

function live(seed: string): Life {
  const world = generateWorld({ seed });
  const records = [...generateEvents(world)];
  const clicks: ClickEvent[] = [];
  const pos: PosEvent[] = [];
  const pings: LocationEvent[] = [];
  const purchases = new Map<string, number[]>();
  const bought = (c: string, ts: number): void => {
    const list = purchases.get(c) ?? [];
    list.push(ts);
    purchases.set(c, list);
  };
  for (const r of records) {
    if (r.topic === 'clickstream') {
      clicks.push(r.value);
      if (r.value.type === 'checkout') bought(r.value.customerId, r.value.ts);
    } else if (r.topic === 'pos') {
      pos.push(r.value);
      if (r.value.customerId !== null && r.value.items.some((i) => i.quantity > 0)) bought(r.value.customerId, r.value.ts);
    } else {
      pings.push(r.value);
    }
  }
  return { records, clicks, pos, pings, stores: world.stores, profiles: new Map(world.profiles.map((p) => [p.customerId, p])), purchases };
}

const purchasedIn = (life: Life, customerId: string, from: number, to: number): boolean =>
  (life.purchases.get(customerId) ?? []).some((t) => t > from && t <= to);

function byCustomer<T extends { customerId: string | null }>(events: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const e of events) {
    if (e.customerId === null) continue;
    const list = m.get(e.customerId) ?? [];
    list.push(e);
    m.set(e.customerId, list);
  }
  return m;
}

describe.each(['scenestream', 'second-seed'])('the life of seed %s', (seed) => {
  const life = live(seed);

  it('produces only valid events, in non-decreasing ts order, with unique eventIds', () => {
    const names = { clickstream: 'ClickEvent', pos: 'PosEvent', location: 'LocationEvent' } as const;
    let invalid = 0;
    for (const r of life.records) if (!validate(names[r.topic], r.value).ok) invalid++;
    expect(invalid).toBe(0);
    let backwards = 0;
    for (let i = 1; i < life.records.length; i++) if (life.records[i]!.value.ts < life.records[i - 1]!.value.ts) backwards++;
    expect(backwards).toBe(0);
    expect(new Set(life.records.map((r) => r.value.eventId)).size).toBe(life.records.length);
    for (const p of life.pos) {
      const sum = p.items.reduce((s, i) => s + i.quantity * i.unitPrice, 0);
      expect(Math.abs(p.total - sum)).toBeLessThan(0.006);
    }
  });

  it('has carts abandoned: the deadline t_a + 30 min passes with a non-empty cart and no purchase', () => {
    let fires = 0;
    for (const [customerId, clicks] of byCustomer(life.clicks)) {
      // A purchase (online or at a till) empties the cart.
      const purchases = (life.purchases.get(customerId) ?? []).map((ts) => ({ ts, purchase: true as const }));
      const events = [...clicks.map((c) => ({ ts: c.ts, click: c })), ...purchases].sort((a, b) => a.ts - b.ts);
      const cart = new Map<string, number>();
      let deadline: number | null = null;
      let armedAt = 0;
      const expire = (until: number): void => {
        if (deadline !== null && deadline < until) {
          if (!purchasedIn(life, customerId, armedAt, deadline) && cart.size > 0) fires++;
          deadline = null;
        }
      };
      for (const e of events) {
        expire(e.ts);
        if ('purchase' in e) {
          cart.clear();
          continue;
        }
        const c = e.click;
        if (c.type === 'add_to_cart' && c.productId !== null) {
          cart.set(c.productId, (cart.get(c.productId) ?? 0) + (c.quantity ?? 1));
          deadline = c.ts + 30 * MIN;
          armedAt = c.ts;
        } else if (c.type === 'remove_from_cart' && c.productId !== null) {
          const left = (cart.get(c.productId) ?? 0) - (c.quantity ?? 1);
          if (left > 0) cart.set(c.productId, left);
          else cart.delete(c.productId);
        }
      }
      expire(Infinity);
    }
    expect(fires).toBeGreaterThanOrEqual(5);
    // And the plain reading of the brief: an add_to_cart with no purchase in the next 30 minutes.
    expect(life.clicks.some((c) => c.type === 'add_to_cart' && !purchasedIn(life, c.customerId, c.ts, c.ts + 30 * MIN))).toBe(true);
  });

  it('has carts bought online (checkout) and at a till (POS of the carted product within 30 min)', () => {
    const adds = life.clicks.filter((c) => c.type === 'add_to_cart');
    const online = adds.filter((a) => life.clicks.some((c) => c.customerId === a.customerId && c.type === 'checkout' && c.ts > a.ts && c.ts <= a.ts + 30 * MIN));
    const till = adds.filter((a) =>
      life.pos.some((p) => p.customerId === a.customerId && p.ts > a.ts && p.ts <= a.ts + 30 * MIN && p.items.some((i) => i.productId === a.productId && i.quantity > 0)),
    );
    expect(online.length).toBeGreaterThanOrEqual(3);
    expect(till.length).toBeGreaterThanOrEqual(2);
    expect(life.clicks.some((c) => c.type === 'remove_from_cart')).toBe(true);
  });

  it('has browse abandonment: 3 views in a category within 20 min and no add_to_cart in it', () => {
    let found = 0;
    for (const [, events] of byCustomer(life.clicks)) {
      for (const e of events) {
        if (e.type !== 'product_view' || e.category === null) continue;
        const views = events.filter((v) => v.type === 'product_view' && v.category === e.category && v.ts <= e.ts);
        const tk = views[views.length - 3]?.ts;
        if (tk === undefined || e.ts - tk > 20 * MIN) continue;
        if (events.some((a) => a.type === 'add_to_cart' && a.category === e.category && a.ts >= tk && a.ts <= e.ts)) continue;
        found++;
      }
    }
    expect(found).toBeGreaterThanOrEqual(5);
  });

  it('has store visits with a dwell of 2 minutes or more, and short ones under 2 minutes', () => {
    let long = 0;
    let short = 0;
    for (const [, pings] of byCustomer(life.pings)) {
      for (const store of life.stores) {
        let start: number | null = null;
        let last = 0;
        for (const p of pings) {
          if (p.accuracyM !== null && p.accuracyM > 100) continue;
          const inside = distanceM(p, store) <= store.radiusM;
          if (inside) {
            start ??= p.ts;
            last = p.ts;
          } else if (start !== null) {
            if (last - start >= 120_000) long++;
            else short++;
            start = null;
          }
        }
      }
    }
    expect(long).toBeGreaterThanOrEqual(10);
    expect(short).toBeGreaterThanOrEqual(3);
  });

  it('has weekday commutes: pings in the local windows at >= 1.5 m/s within 1,000 m of a store', () => {
    let found = 0;
    const inWindow = (m: number): boolean => (m >= 7 * 60 && m < 9 * 60 + 30) || (m >= 17 * 60 && m < 19 * 60 + 30);
    for (const [customerId, all] of byCustomer(life.pings)) {
      const tz = life.profiles.get(customerId)?.timezone ?? 'Asia/Shanghai';
      const pings = all.filter((p) => p.accuracyM === null || p.accuracyM <= 100);
      for (let i = 1; i < pings.length; i++) {
        const p1 = pings[i - 1]!;
        const p2 = pings[i]!;
        const dt = p2.ts - p1.ts;
        if (dt <= 0 || dt > 10 * MIN) continue;
        const speed = p2.speedMps ?? distanceM(p1, p2) / (dt / 1000);
        const local = localClock(p2.ts, tz);
        if (['Sat', 'Sun'].includes(local.weekday) || !inWindow(local.minutes) || speed < 1.5) continue;
        if (life.stores.some((s) => distanceM(p2, s) <= 1000)) found++;
      }
    }
    expect(found).toBeGreaterThanOrEqual(10);
  });

  it('has lapsed customers opening the app 30+ days after their last purchase, and new ones who are not dormant', () => {
    const opens = life.clicks.filter((c) => c.type === 'app_open');
    const lastPurchase = (c: string, t: number): number | null => {
      const seen = (life.purchases.get(c) ?? []).filter((p) => p <= t);
      const profile = life.profiles.get(c)?.lastPurchaseTs ?? null;
      const all = profile === null ? seen : [...seen, profile];
      return all.length === 0 ? null : Math.max(...all);
    };
    const dormant = opens.filter((o) => {
      const last = lastPurchase(o.customerId, o.ts);
      return last !== null && last <= o.ts - 30 * DAY;
    });
    expect(new Set(dormant.map((o) => o.customerId)).size).toBeGreaterThanOrEqual(5);
    expect(opens.some((o) => lastPurchase(o.customerId, o.ts) === null)).toBe(true);
  });

  it('has the messy parts of real life: poor fixes, missing speeds, anonymous shoppers, returns, every channel', () => {
    expect(life.pings.some((p) => p.accuracyM !== null && p.accuracyM > 100)).toBe(true);
    expect(life.pings.some((p) => p.speedMps === null)).toBe(true);
    expect(life.pings.some((p) => p.speedMps !== null && p.speedMps > 1.5)).toBe(true);
    expect(life.pos.some((p) => p.customerId === null)).toBe(true);
    expect(life.pos.some((p) => p.items.some((i) => i.quantity < 0))).toBe(true);
    expect(life.pos.some((p) => p.customerId !== null && p.items.every((i) => i.quantity <= 0))).toBe(true);
    expect(new Set(life.clicks.map((c) => c.channel))).toEqual(new Set(['app', 'web', 'mini_program']));
    expect(new Set(life.clicks.map((c) => c.type)).size).toBe(7);
    expect(life.clicks.some((c) => c.sessionId === null)).toBe(true);
    // Customers on another clock live by it: their pings are at their own local morning too.
    const foreign = [...life.profiles.values()].filter((p) => p.timezone !== 'Asia/Shanghai').map((p) => p.customerId);
    expect(foreign.length).toBeGreaterThan(0);
  });
});
