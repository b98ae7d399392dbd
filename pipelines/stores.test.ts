import { describe, expect, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import type { LocationEvent, Store, Trigger } from '../schemas/index.js';
import { destination, type LatLon } from '../simulator/geo.js';
import { TestDriver } from '../testkit/driver.js';
import { profilesFrom } from './deps.js';
import { DEFAULT_PARAMS } from './params.js';
import { buildStoreProximity } from './storeProximity.js';
import { buildRetail } from './retail.js';
import { LiveStores, liveStoreIndex, storeDirectory, type StoreCatalog, type StoreChange } from './stores.js';

const S = 1000;
const HOUR = 3_600_000;
const T0 = 1_700_000_000_000;
const A: LatLon = { lat: 31.23, lon: 121.47 };
const B: LatLon = destination(A, 90, 2_000);
const store = (storeId: string, at: LatLon, radiusM = 150, name = storeId): Store => ({ storeId, name, lat: at.lat, lon: at.lon, radiusM, timezone: 'Asia/Shanghai' });
const IN_A = destination(A, 0, 50);
const IN_B = destination(B, 0, 50);

let n = 0;
const ping = (ts: number, at: LatLon, customerId = 'u'): LocationEvent => ({ eventId: `l${++n}`, customerId, ts: T0 + ts, lat: at.lat, lon: at.lon, accuracyM: 10, speedMps: null });

function proximity(stores: StoreCatalog) {
  const p = pipeline('proximity');
  buildStoreProximity(p, DEFAULT_PARAMS, { stores, profiles: profilesFrom([]) }, { outOfOrdernessMs: 0 }).to('triggers');
  return TestDriver.of(p);
}
/** Pushes a ping and moves the watermark to it, so that the scene applies it now (before a catalogue change that follows). */
const send = (d: TestDriver, e: LocationEvent): TestDriver => d.push('location', e).watermark('location', e.ts);
const fired = (d: TestDriver) => d.values<Trigger>('triggers').map((t) => [t.ts - T0, t.storeId]);

describe('LiveStores (the store catalogue as a live table)', () => {
  it('replace: reports what was added, updated and removed, bumps the version once per change, and nothing for no change', () => {
    const d = new LiveStores([store('s2', B), store('s1', A)]);
    expect(d.version).toBe(0);
    expect(d.all().map((s) => s.storeId)).toEqual(['s1', 's2']);
    const heard: StoreChange[] = [];
    d.onChange((c) => heard.push(c));

    const c = d.replace([store('s1', A, 150, 'renamed'), store('s3', B)]);
    expect(c).toEqual({ version: 1, added: [store('s3', B)], updated: [store('s1', A, 150, 'renamed')], removed: ['s2'] });
    expect(heard).toEqual([c]);
    expect(d.version).toBe(1);
    expect(d.all().map((s) => s.storeId)).toEqual(['s1', 's3']);
    expect(d.get('s2')).toBeUndefined();
    expect(d.get('s1')!.name).toBe('renamed');

    const before = d.all();
    expect(d.replace([store('s3', B), store('s1', A, 150, 'renamed')])).toBeUndefined();
    expect(d.version).toBe(1);
    expect(d.all()).toBe(before); // same array: readers may compare by identity
    expect(heard).toHaveLength(1);
  });

  it('upsert and remove change one store; a no-op leaves the version', () => {
    const d = new LiveStores();
    expect(d.upsert(store('s1', A))).toMatchObject({ version: 1, added: [{ storeId: 's1' }] });
    expect(d.upsert(store('s1', A))).toBeUndefined();
    expect(d.upsert(store('s1', B))).toMatchObject({ version: 2, updated: [{ storeId: 's1', lat: B.lat }] });
    expect(d.remove('nope')).toBeUndefined();
    expect(d.remove('s1')).toEqual({ version: 3, added: [], updated: [], removed: ['s1'] });
    expect(d.size).toBe(0);
  });

  it('rejects an invalid store with SS_ERR_VALIDATION naming it, and changes nothing', () => {
    const d = new LiveStores([store('s1', A)]);
    expect(() => d.replace([store('s2', B), { ...store('bad', B), lat: 200 }])).toThrow(expect.objectContaining({ code: 'SS_ERR_VALIDATION', message: expect.stringContaining('store bad is invalid') }));
    expect(() => d.upsert({ ...store('s1', A), radiusM: -1 })).toThrow(/store s1 is invalid/);
    expect(() => d.upsert({ ...store('s1', A), timezone: 'Mars/Base' })).toThrow(/store s1 is invalid/);
    expect(d.version).toBe(0);
    expect(d.all()).toEqual([store('s1', A)]);
  });

  it('a fixed list is a directory that never changes', () => {
    const list = [store('s1', A)];
    const d = storeDirectory(list);
    expect(d.version).toBe(0);
    expect(d.all()).toBe(list);
    expect(d.get('s1')).toBe(list[0]);
  });
});

describe('liveStoreIndex', () => {
  it('rebuilds the geofence index only when the catalogue version or the default radius changes', () => {
    const d = new LiveStores([store('s1', A)]);
    let radius = 150;
    const index = liveStoreIndex(d, () => radius);
    const first = index();
    expect(index()).toBe(first);
    expect(first.containing(IN_B.lat, IN_B.lon)).toEqual([]);

    d.upsert(store('s2', B));
    const second = index();
    expect(second).not.toBe(first);
    expect(second.containing(IN_B.lat, IN_B.lon).map((h) => h.circle.id)).toEqual(['s2']);
    expect(index()).toBe(second);

    radius = 10; // applies to stores without a radius of their own only
    expect(index()).not.toBe(second);
    d.remove('s2');
    expect(index().containing(IN_B.lat, IN_B.lon)).toEqual([]);
    expect(index().containing(IN_A.lat, IN_A.lon).map((h) => h.circle.id)).toEqual(['s1']);
  });
});

describe('store proximity over a live catalogue (processing-time changes)', () => {
  it('a store added while the pipeline runs: pings after the change start a visit there, which fires after the dwell', () => {
    const d = new LiveStores([store('s1', A)]);
    const drv = proximity(d);
    send(drv, ping(0, IN_B));
    send(drv, ping(120 * S, IN_B));
    expect(fired(drv)).toEqual([]); // no store at B yet
    d.upsert(store('s2', B));
    send(drv, ping(130 * S, IN_B)); // the visit starts here, not at 0
    send(drv, ping(249_999, IN_B));
    expect(fired(drv)).toEqual([]);
    send(drv, ping(250 * S, IN_B));
    expect(fired(drv)).toEqual([[250 * S, 's2']]);
  });

  it('a store removed during a visit: the next ping ends the visit and nothing fires there', () => {
    const d = new LiveStores([store('s1', A), store('s2', B)]);
    const drv = proximity(d);
    send(drv, ping(0, IN_B));
    d.remove('s2');
    send(drv, ping(120 * S, IN_B));
    send(drv, ping(300 * S, IN_B));
    expect(fired(drv)).toEqual([]);
    // Added again: a new visit from the first ping after that.
    d.upsert(store('s2', B));
    send(drv, ping(310 * S, IN_B));
    send(drv, ping(430 * S, IN_B));
    expect(fired(drv)).toEqual([[430 * S, 's2']]);
  });

  it('a store removed and added again within the cooldown keeps its cooldown (same storeId)', () => {
    const d = new LiveStores([store('s1', A)]);
    const drv = proximity(d);
    send(drv, ping(0, IN_A));
    send(drv, ping(120 * S, IN_A)); // fires
    d.remove('s1');
    send(drv, ping(130 * S, IN_A)); // ends the visit
    d.upsert(store('s1', A));
    send(drv, ping(140 * S, IN_A));
    send(drv, ping(300 * S, IN_A)); // cooldown holds it
    send(drv, ping(120 * S + 6 * HOUR, IN_A)); // same visit, the cooldown has passed
    expect(fired(drv)).toEqual([
      [120 * S, 's1'],
      [120 * S + 6 * HOUR, 's1'],
    ]);
  });

  it('a store moved: a visit continues if the next ping is inside the new circle, else it ends', () => {
    const near = destination(A, 0, 100);
    const d = new LiveStores([store('s1', A)]);
    const drv = proximity(d);
    send(drv, ping(0, near));
    d.upsert(store('s1', destination(A, 0, 60))); // near is still inside: the visit from 0 goes on
    send(drv, ping(120 * S, near));
    expect(fired(drv)).toEqual([[120 * S, 's1']]);

    const e = proximity((d.upsert(store('s1', A)), d));
    send(e, ping(0, near, 'v'));
    d.upsert(store('s1', B)); // moved away: the next ping is outside it
    send(e, ping(60 * S, near, 'v'));
    send(e, ping(180 * S, near, 'v'));
    expect(fired(e)).toEqual([]);
  });

  it('the retail job over a live catalogue: a customer near a store added at runtime gets a proximity trigger, an offer and a screen update', () => {
    const d = new LiveStores([store('s1', A)]);
    const p = pipeline('retail');
    const profile = { customerId: 'u', tier: 'gold' as const, timezone: 'Asia/Shanghai', consent: { push: true, sms: false, email: false, in_store: true }, lastPurchaseTs: null };
    buildRetail(p, { deps: { stores: d, profiles: profilesFrom([profile]) } });
    const drv = TestDriver.of(p);
    // 12:00 in Shanghai: outside quiet hours.
    const noon = Date.UTC(2023, 10, 15, 4, 0, 0) - T0;
    d.upsert(store('s-new', B));
    send(drv, ping(noon, IN_B));
    send(drv, ping(noon + 120 * S, IN_B));
    drv.end();
    const proximityTriggers = drv.values<Trigger>('triggers').filter((t) => t.scene === 'store_proximity');
    expect(proximityTriggers.map((t) => t.storeId)).toEqual(['s-new']);
    const offers = drv.values<{ scene: string; storeId: string | null }>('offers').filter((o) => o.scene === 'store_proximity');
    expect(offers.map((o) => o.storeId)).toEqual(['s-new']);
  });
});
