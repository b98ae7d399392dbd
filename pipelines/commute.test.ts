import { describe, expect, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import type { CustomerProfile, LocationEvent, Store, Trigger } from '../schemas/index.js';
import { destination, type LatLon } from '../simulator/geo.js';
import { zonedToEpoch } from './localTime.js';
import { TestDriver } from '../testkit/driver.js';
import { buildCommute } from './commute.js';
import { profilesFrom } from './deps.js';
import { DEFAULT_PARAMS } from './params.js';

const S = 1000;
const MIN = 60 * S;
const SH = 'Asia/Shanghai';
/** 2024-01-08 is a Monday. */
const at = (day: number, h: number, m = 0, s = 0, ms = 0, tz = SH) => zonedToEpoch(tz, 2024, 1, day, h, m, s, ms);
const MON = 8;
const FRI = 12;
const SAT = 13;
const SUN = 14;

const HOME: LatLon = { lat: 31.2, lon: 121.45 };
const store = (storeId: string, p: LatLon): Store => ({ storeId, name: storeId, lat: p.lat, lon: p.lon, radiusM: 150, timezone: SH });
const STORE_300 = store('s1', destination(HOME, 90, 300));

let n = 0;
const ping = (ts: number, p: LatLon, speedMps: number | null = 2, accuracyM: number | null = 10, customerId = 'u'): LocationEvent => ({
  eventId: `l${++n}`,
  customerId,
  ts,
  lat: p.lat,
  lon: p.lon,
  accuracyM,
  speedMps,
});
/** p1 10 s before p2, 20 m apart (2 m/s either way); p2 at HOME. */
const pair = (ts: number, customerId = 'u', speedMps: number | null = 2): LocationEvent[] => [
  ping(ts - 10 * S, destination(HOME, 0, 20), speedMps, 10, customerId),
  ping(ts, HOME, speedMps, 10, customerId),
];
const profile = (customerId: string, timezone: string): CustomerProfile => ({
  customerId,
  tier: 'gold',
  timezone,
  consent: { push: true, sms: true, email: true, in_store: true },
  lastPurchaseTs: null,
});

function run(pings: LocationEvent[], stores: Store[] = [STORE_300], profiles: CustomerProfile[] = [], outOfOrdernessMs = 0): Trigger[] {
  const p = pipeline('commute');
  buildCommute(p, DEFAULT_PARAMS, { stores, profiles: profilesFrom(profiles) }, { outOfOrdernessMs }).to('triggers');
  const d = TestDriver.of(p);
  for (const e of pings) d.push('location', e);
  d.end();
  return d.values<Trigger>('triggers');
}
const fired = (ts: Trigger[]) => ts.map((t) => t.ts);

describe('commute (SCENES §3.4)', () => {
  it('fires at p2 at 07:00:00 local with the store within 1,000 m', () => {
    const ps = pair(at(MON, 7));
    expect(run(ps)).toEqual([{ scene: 'commute', customerId: 'u', ts: at(MON, 7), storeId: 's1', productIds: [], category: null, eventId: ps[1]!.eventId }]);
  });

  it('window edges: [07:00, 09:30) and [17:00, 19:30) local', () => {
    expect(fired(run(pair(at(MON, 6, 59, 59, 999))))).toEqual([]);
    expect(fired(run(pair(at(MON, 9, 29, 59, 999))))).toEqual([at(MON, 9, 29, 59, 999)]);
    expect(fired(run(pair(at(MON, 9, 30))))).toEqual([]);
    expect(fired(run(pair(at(MON, 12))))).toEqual([]);
    expect(fired(run(pair(at(MON, 17))))).toEqual([at(MON, 17)]);
    expect(fired(run(pair(at(MON, 19, 30))))).toEqual([]);
  });

  it('weekdays only, in local time: Friday fires, Saturday and Sunday do not', () => {
    expect(fired(run(pair(at(FRI, 8))))).toEqual([at(FRI, 8)]);
    expect(fired(run(pair(at(SAT, 8))))).toEqual([]);
    expect(fired(run(pair(at(SUN, 18))))).toEqual([]);
  });

  it('a customer in Europe/Paris gets the windows and weekdays of Paris; no profile means Asia/Shanghai', () => {
    const paris = [profile('fr', 'Europe/Paris')];
    const parisMorning = at(MON, 7, 0, 0, 0, 'Europe/Paris'); // 14:00 in Shanghai
    expect(run([...pair(parisMorning, 'fr'), ...pair(parisMorning, 'cn')], [STORE_300], paris).map((t) => t.customerId)).toEqual(['fr']);
    const shanghaiMorning = at(MON, 8); // 01:00 in Paris
    expect(run([...pair(shanghaiMorning, 'fr'), ...pair(shanghaiMorning, 'cn')], [STORE_300], paris).map((t) => t.customerId)).toEqual(['cn']);
    // Friday 18:00 in Paris is Saturday 01:00 in Shanghai: a Paris weekday evening
    const friEvening = at(FRI, 18, 0, 0, 0, 'Europe/Paris');
    expect(fired(run(pair(friEvening, 'fr'), [STORE_300], paris))).toEqual([friEvening]);
    // an unknown zone in a profile falls back to the default
    expect(fired(run(pair(shanghaiMorning, 'x'), [STORE_300], [profile('x', 'Mars/Olympus')]))).toEqual([shanghaiMorning]);
  });

  it('pings exactly 10 min apart make a pair; 10 min + 1 ms or the same ts do not', () => {
    const t = at(MON, 8);
    const far = destination(HOME, 0, 1000); // 1,000 m in 600 s: 1.67 m/s
    expect(fired(run([ping(t - 10 * MIN, far, null), ping(t, HOME, null)]))).toEqual([t]);
    expect(fired(run([ping(t - 10 * MIN - 1, far, null), ping(t, HOME, null)]))).toEqual([]);
    expect(fired(run([ping(t, far, 5), ping(t, HOME, 5)]))).toEqual([]);
  });

  it('speed is p2.speedMps when present, else distance over elapsed time; >= 1.5 m/s', () => {
    const t = at(MON, 8);
    const close = destination(HOME, 0, 1); // 1 m in 10 s
    const farther = destination(HOME, 0, 100); // 100 m in 10 s
    expect(fired(run([ping(t - 10 * S, close, null), ping(t, HOME, 2)]))).toEqual([t]); // reported 2 m/s wins over 0.1
    expect(fired(run([ping(t - 10 * S, farther, null), ping(t, HOME, 1)]))).toEqual([]); // reported 1 m/s wins over 10
    expect(fired(run([ping(t - 10 * S, farther, null), ping(t, HOME, null)]))).toEqual([t]); // computed 10 m/s
    expect(fired(run([ping(t - 10 * S, close, null), ping(t, HOME, null)]))).toEqual([]); // computed 0.1 m/s
    expect(fired(run([ping(t - 10 * S, close, null), ping(t, HOME, 1.5)]))).toEqual([t]);
    expect(fired(run([ping(t - 10 * S, close, null), ping(t, HOME, 1.49)]))).toEqual([]);
    // p1's own speed plays no part
    expect(fired(run([ping(t - 10 * S, close, 9), ping(t, HOME, null)]))).toEqual([]);
  });

  it('ignores pings with accuracy > 100 m (100 m is accepted): they are not part of a pair', () => {
    const t = at(MON, 8);
    const jump = destination(HOME, 0, 500);
    const s = store('s1', jump);
    // accepted: HOME -> jump is 50 m/s, p2 = jump next to the store
    expect(fired(run([ping(t - 10 * S, HOME, null), ping(t, jump, null, 100)], [s]))).toEqual([t]);
    // ignored: the pair is HOME -> HOME 20 s later, 0 m/s
    expect(fired(run([ping(t - 10 * S, HOME, null), ping(t, jump, null, 100.1), ping(t + 10 * S, HOME, null)], [s]))).toEqual([]);
  });

  it('needs a store within 1,000 m of p2, and names the nearest (ties: smallest storeId)', () => {
    const t = at(MON, 8);
    expect(fired(run(pair(t), [store('s1', destination(HOME, 90, 999))]))).toEqual([t]);
    expect(fired(run(pair(t), [store('s1', destination(HOME, 90, 1001))]))).toEqual([]);
    const nearer = run(pair(t), [store('a', destination(HOME, 90, 500)), store('b', destination(HOME, 270, 300))]);
    expect(nearer.map((x) => x.storeId)).toEqual(['b']);
    const spot = destination(HOME, 45, 400);
    const tie = run(pair(t), [store('s2', spot), store('s10', spot), store('s3', spot)]);
    expect(tie.map((x) => x.storeId)).toEqual(['s10']); // code-unit order: "s10" < "s2"
  });

  it('fires at most once per customer per window per local date', () => {
    const out = run([...pair(at(MON, 7, 5)), ...pair(at(MON, 8)), ...pair(at(MON, 9, 29)), ...pair(at(MON, 17, 30)), ...pair(at(MON, 18)), ...pair(at(MON + 1, 7, 30))]);
    expect(fired(out)).toEqual([at(MON, 7, 5), at(MON, 17, 30), at(MON + 1, 7, 30)]);
    // another customer in the same window is not held back
    expect(run([...pair(at(MON, 8), 'u'), ...pair(at(MON, 8), 'v')]).map((x) => x.customerId)).toEqual(['u', 'v']);
  });

  it('pairs pings in event-time order when they arrive out of order', () => {
    const t = at(MON, 8);
    // arrival: p2 (08:00:00), then p1 (07:59:50); in event time p1 -> p2 is a pair
    const [p1, p2] = pair(t);
    expect(fired(run([p2!, p1!], [STORE_300], [], 30 * S))).toEqual([t]);
  });

  it('survives a snapshot and restore: the last ping and the windows that fired', () => {
    const mk = () => {
      const p = pipeline('commute');
      buildCommute(p, DEFAULT_PARAMS, { stores: [STORE_300], profiles: profilesFrom([]) }, { outOfOrdernessMs: 0 }).to('triggers');
      return TestDriver.of(p);
    };
    const restored = (d: TestDriver) => mk().restore(JSON.parse(JSON.stringify(d.snapshot())) as ReturnType<TestDriver['snapshot']>);
    const [a1, a2] = pair(at(MON, 7, 30));
    const [b1, b2] = pair(at(MON, 8, 30));
    const tick = (ts: number) => ping(ts, HOME, 0, 10, 'z'); // another customer's ping moves event time on
    const d = mk();
    d.push('location', a1).push('location', tick(a1!.ts + 1)); // a1 applied
    const e = restored(d);
    e.push('location', a2).push('location', tick(a2!.ts + 1)).push('location', b1).push('location', tick(b1!.ts + 1)); // a2 fires; b1 applied
    const f = restored(e);
    f.push('location', b2);
    f.end();
    expect(fired(e.values<Trigger>('triggers'))).toEqual([at(MON, 7, 30)]);
    expect(fired(f.values<Trigger>('triggers'))).toEqual([]); // b2 pairs with b1, but the morning window has fired
  });
});
