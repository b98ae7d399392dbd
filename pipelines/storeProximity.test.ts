import { describe, expect, it } from 'vitest';
import { haversineM } from '../engine/geo.js';
import { pipeline } from '../stream/stream.js';
import type { LocationEvent, Store, Trigger } from '../schemas/index.js';
import { destination, type LatLon } from '../simulator/geo.js';
import { TestDriver } from '../testkit/driver.js';
import { profilesFrom } from './deps.js';
import { DEFAULT_PARAMS } from './params.js';
import { buildStoreProximity } from './storeProximity.js';

const S = 1000;
const HOUR = 3_600_000;
const T0 = 1_700_000_000_000;
const A: LatLon = { lat: 31.23, lon: 121.47 };
const store = (storeId: string, at: LatLon, radiusM = 150): Store => ({ storeId, name: storeId, lat: at.lat, lon: at.lon, radiusM, timezone: 'Asia/Shanghai' });
const near = (bearing: number, m: number, from: LatLon = A) => destination(from, bearing, m);
const IN = near(0, 50);
const OUT = near(0, 500);

let n = 0;
const ping = (ts: number, at: LatLon, accuracyM: number | null = 10, customerId = 'u'): LocationEvent => ({
  eventId: `l${++n}`,
  customerId,
  ts: T0 + ts,
  lat: at.lat,
  lon: at.lon,
  accuracyM,
  speedMps: null,
});

function driver(stores: Store[], outOfOrdernessMs = 0) {
  const p = pipeline('proximity');
  buildStoreProximity(p, DEFAULT_PARAMS, { stores, profiles: profilesFrom([]) }, { outOfOrdernessMs }).to('triggers');
  return TestDriver.of(p);
}
function run(pings: LocationEvent[], stores: Store[] = [store('s1', A)], outOfOrdernessMs = 0): Trigger[] {
  const d = driver(stores, outOfOrdernessMs);
  for (const e of pings) d.push('location', e);
  d.end();
  return d.values<Trigger>('triggers');
}
const fired = (ts: Trigger[]) => ts.map((t) => [t.ts - T0, t.storeId]);

describe('store proximity (SCENES §3.3)', () => {
  it('fires at the first inside ping with a dwell of exactly 120 s, with the storeId and no products', () => {
    const last = ping(120 * S, IN);
    expect(run([ping(0, IN), ping(60 * S, IN), last, ping(180 * S, IN)])).toEqual([
      { scene: 'store_proximity', customerId: 'u', ts: T0 + 120 * S, storeId: 's1', productIds: [], category: null, eventId: last.eventId },
    ]);
  });

  it('does not fire at a dwell of 119.999 s', () => {
    expect(run([ping(0, IN), ping(119_999, IN)])).toEqual([]);
  });

  it('accepts accuracy exactly 100 m (and null); ignores 100.1 m, which neither starts a visit...', () => {
    expect(fired(run([ping(0, IN, 100), ping(60 * S, IN), ping(179_999, IN)]))).toEqual([[179_999, 's1']]);
    expect(fired(run([ping(0, IN, null), ping(120 * S, IN, null)]))).toEqual([[120 * S, 's1']]);
    // the visit starts at 60 s, not 0: 179.999 s is a dwell of 119.999 s
    expect(run([ping(0, IN, 100.1), ping(60 * S, IN), ping(179_999, IN)])).toEqual([]);
  });

  it('...nor ends one', () => {
    expect(fired(run([ping(0, IN), ping(60 * S, OUT, 100.1), ping(120 * S, IN)]))).toEqual([[120 * S, 's1']]);
    expect(run([ping(0, IN), ping(60 * S, OUT, 100), ping(120 * S, IN)])).toEqual([]);
  });

  it('a ping exactly on the radius is inside', () => {
    const rim = near(45, 80);
    const r = haversineM(A.lat, A.lon, rim.lat, rim.lon);
    expect(fired(run([ping(0, rim), ping(120 * S, rim)], [store('s1', A, r)]))).toEqual([[120 * S, 's1']]);
    expect(run([ping(0, rim), ping(120 * S, rim)], [store('s1', A, r * (1 - 1e-9))])).toEqual([]);
  });

  it('an outside ping ends the visit; the next inside ping starts a new one', () => {
    expect(run([ping(0, IN), ping(60 * S, OUT), ping(90 * S, IN), ping(209_999, IN)])).toEqual([]);
    expect(fired(run([ping(0, IN), ping(60 * S, OUT), ping(90 * S, IN), ping(210 * S, IN)]))).toEqual([[210 * S, 's1']]);
    // a ping inside another store only is outside this one
    const B = near(90, 2000);
    expect(run([ping(0, IN), ping(60 * S, B), ping(120 * S, IN)], [store('s1', A), store('s2', B)])).toEqual([]);
  });

  it('overlapping stores are evaluated on their own and both fire on the same ping', () => {
    const b = near(90, 100);
    const mid = near(90, 50);
    const out = run([ping(0, mid), ping(120 * S, mid)], [store('s2', b), store('s1', A)]);
    expect(fired(out)).toEqual([
      [120 * S, 's1'],
      [120 * S, 's2'],
    ]);
    // leaving one of them (still inside the other) ends only that visit
    const inAOnly = near(270, 60);
    const out2 = run([ping(0, mid), ping(60 * S, inAOnly), ping(70 * S, mid), ping(120 * S, mid), ping(190 * S, mid)], [store('s1', A), store('s2', b)]);
    expect(fired(out2)).toEqual([
      [120 * S, 's1'],
      [190 * S, 's2'],
    ]);
  });

  it('fires at most once per visit', () => {
    const pings = [0, 120, 240, 7 * 3600, 14 * 3600].map((s) => ping(s * S, IN));
    expect(fired(run(pings))).toEqual([[120 * S, 's1']]);
  });

  it('cooldown 6 h: a later ping of the same visit fires once the cooldown has passed (exactly 6 h fires)', () => {
    const F = 120 * S;
    const first = [ping(0, IN), ping(F, IN), ping(F + 10 * S, OUT)];
    const start = F + 6 * HOUR - 200 * S;
    // dwell reached at start + 120 s (blocked: 5 h 58 min 40 s after the last trigger), again at + 180 s (blocked), then exactly 6 h
    const second = [0, 60, 120, 180, 200, 260].map((s) => ping(start + s * S, IN));
    expect(fired(run([...first, ...second]))).toEqual([
      [F, 's1'],
      [F + 6 * HOUR, 's1'],
    ]);
    // one ms short of 6 h: the visit fires at its next ping instead
    const second2 = [0, 60, 120, 199.999, 260].map((s) => ping(start + s * S, IN));
    expect(fired(run([...first, ...second2]))).toEqual([
      [F, 's1'],
      [start + 260 * S, 's1'],
    ]);
  });

  it('the cooldown is per (customer, store)', () => {
    const B = near(90, 2000);
    const pings = [ping(0, IN), ping(120 * S, IN), ping(130 * S, B), ping(250 * S, B), ping(0, IN, 10, 'v'), ping(120 * S, IN, 10, 'v')];
    const out = run(pings.sort((a, b) => a.ts - b.ts), [store('s1', A), store('s2', B)]);
    expect(out.map((t) => [t.ts - T0, t.customerId, t.storeId])).toEqual([
      [120 * S, 'u', 's1'],
      [120 * S, 'v', 's1'],
      [250 * S, 'u', 's2'],
    ]);
  });

  it('applies pings in event-time order: an outside ping that arrives late still ends the visit', () => {
    expect(run([ping(0, IN), ping(120 * S, IN), ping(60 * S, OUT)], undefined, 60 * S)).toEqual([]);
  });

  it('keeps no state for a customer once outside every store and past every cooldown', () => {
    const d = driver([store('s1', A)]);
    for (const e of [ping(0, IN), ping(120 * S, IN), ping(130 * S, OUT), ping(140 * S, OUT, 10, 'v')]) d.push('location', e);
    const rows = () => (d.snapshot().body as { state: { tables: Record<string, unknown[]> } }).state.tables['store_proximity/customers'] ?? [];
    expect(rows()).toHaveLength(1); // u: the cooldown of s1 runs
    d.push('location', ping(120 * S + 6 * HOUR + 1, OUT, 10, 'v'));
    expect(rows()).toEqual([]);
    expect(fired(d.values<Trigger>('triggers'))).toEqual([[120 * S, 's1']]);
  });

  it('survives a snapshot and restore in the middle of a visit', () => {
    const d = driver([store('s1', A)]);
    d.push('location', ping(0, IN));
    d.push('location', ping(60 * S, IN));
    const snap = JSON.parse(JSON.stringify(d.snapshot())) as ReturnType<TestDriver['snapshot']>;
    const e = driver([store('s1', A)]).restore(snap);
    e.push('location', ping(120 * S, IN));
    e.end();
    expect(fired(e.values<Trigger>('triggers'))).toEqual([[120 * S, 's1']]);
  });
});
