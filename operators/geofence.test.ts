import { describe, expect, expectTypeOf, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import { CircleIndex, haversineM } from '../engine/geo.js';
import { pipeline, type Stream } from '../stream/stream.js';
import { TestDriver } from '../testkit/driver.js';
import { geofence, type GeofenceHit } from './geofence.js';

interface Ping {
  device: string;
  lat: number;
  lon: number;
  ts: number;
}

// Two overlapping store circles in Shanghai and one far away.
const A = { id: 'store-a', lat: 31.2304, lon: 121.4737, radiusM: 300 };
const B = { id: 'store-b', lat: 31.2324, lon: 121.4737, radiusM: 300 };
const FAR = { id: 'store-far', lat: 31.3, lon: 121.6, radiusM: 100 };
const index = CircleIndex.of([FAR, B, A]);

function build(maxDistanceM?: number) {
  const p = pipeline('geofence-test');
  const s = p
    .keyedSource<Ping>('pings', { timestamp: (x) => x.ts, key: (x) => x.device })
    .pipe(geofence<Ping>({ index, lat: (x) => x.lat, lon: (x) => x.lon, ...(maxDistanceM !== undefined ? { maxDistanceM } : {}) }));
  expectTypeOf(s).toEqualTypeOf<Stream<GeofenceHit<Ping>>>();
  s.to('hits');
  return p;
}
const summary = (d: TestDriver) => d.records<GeofenceHit<Ping>>('hits').map((r) => [r.value.circleId, r.value.inside, r.ts, r.key]);

describe('geofence', () => {
  it('emits one hit per containing circle, nearest first, keeping event time and key', () => {
    const d = TestDriver.of(build());
    const mid = { device: 'd1', lat: 31.2312, lon: 121.4737, ts: 5 }; // 0.0008° (89 m) from A, 0.0012° (133 m) from B
    d.push('pings', mid);
    expect(summary(d)).toEqual([
      ['store-a', true, 5, 'd1'],
      ['store-b', true, 5, 'd1'],
    ]);
    const first = d.values<GeofenceHit<Ping>>('hits')[0]!;
    expect(first.point).toBe(mid);
    expect(first.distanceM).toBe(haversineM(mid.lat, mid.lon, A.lat, A.lon));
  });

  it('orders circles at equal distance by id', () => {
    const twins = CircleIndex.of([
      { id: 'z', lat: 0, lon: 0, radiusM: 50 },
      { id: 'm', lat: 0, lon: 0, radiusM: 50 },
    ]);
    const p = pipeline('twins');
    p.source<Ping>('pings', { timestamp: (x) => x.ts }).pipe(geofence<Ping>({ index: twins, lat: (x) => x.lat, lon: (x) => x.lon })).to('hits');
    const d = TestDriver.of(p);
    d.push('pings', { device: 'd', lat: 0.0001, lon: 0, ts: 1 });
    expect(d.values<GeofenceHit<Ping>>('hits').map((h) => h.circleId)).toEqual(['m', 'z']);
  });

  it('counts a point exactly on the radius as inside, and a hair beyond it as outside', () => {
    const p0 = { lat: 31.2331, lon: 121.4751 };
    const onRim = haversineM(p0.lat, p0.lon, A.lat, A.lon);
    const rim = CircleIndex.of([
      { id: 'rim', lat: A.lat, lon: A.lon, radiusM: onRim },
      { id: 'short', lat: A.lat, lon: A.lon, radiusM: onRim * (1 - 1e-12) },
    ]);
    const p = pipeline('rim');
    p.source<Ping>('pings', { timestamp: (x) => x.ts }).pipe(geofence<Ping>({ index: rim, lat: (x) => x.lat, lon: (x) => x.lon, maxDistanceM: onRim })).to('hits');
    const d = TestDriver.of(p);
    d.push('pings', { device: 'd', ...p0, ts: 1 });
    expect(d.values<GeofenceHit<Ping>>('hits').map((h) => [h.circleId, h.inside])).toEqual([
      ['rim', true],
      ['short', false],
    ]);
  });

  it('with maxDistanceM also reports nearby circles the point is outside of', () => {
    const d = TestDriver.of(build(1_000));
    const south = { device: 'd2', lat: 31.2274, lon: 121.4737, ts: 7 }; // 334 m south of A, 556 m from B
    d.push('pings', south);
    expect(summary(d)).toEqual([
      ['store-a', false, 7, 'd2'],
      ['store-b', false, 7, 'd2'],
    ]);
    const nothing = TestDriver.of(build());
    nothing.push('pings', south);
    expect(nothing.values('hits')).toEqual([]);
  });

  it('dead-letters points off the globe, naming the step and the field, and goes on', () => {
    const d = TestDriver.of(build());
    d.pushAll('pings', [
      { device: 'x', lat: 91, lon: 0, ts: 1 },
      { device: 'x', lat: 0, lon: Number.NaN, ts: 2 },
      { device: 'x', lat: A.lat, lon: A.lon, ts: 3 },
    ]);
    expect(d.deadLetters.map((l) => [l.error.code, l.error.field])).toEqual([
      ['SS_ERR_VALIDATION', 'lat'],
      ['SS_ERR_VALIDATION', 'lon'],
    ]);
    expect(d.deadLetters[0]!.error.stepId).toMatch(/^geofence#/);
    expect(summary(d).map((h) => h[0])).toEqual(['store-a', 'store-b']); // B's centre is 222 m away
  });

  it('rejects a negative maxDistanceM at build time', () => {
    const p = pipeline('bad');
    const s = p.source<Ping>('pings', { timestamp: (x) => x.ts });
    try {
      s.pipe(geofence<Ping>({ index, lat: (x) => x.lat, lon: (x) => x.lon, maxDistanceM: -1, name: 'fence' }));
      expect.unreachable();
    } catch (e) {
      expect(isScenestreamError(e, 'SS_ERR_GRAPH_INVALID')).toBe(true);
      expect((e as Error).message).toMatch(/\[step fence\] maxDistanceM/);
    }
  });
});
