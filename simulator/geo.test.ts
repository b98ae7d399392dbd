import { describe, expect, it } from 'vitest';
import { destination, EARTH_RADIUS_M, haversineM, offsetM, Polyline } from './geo.js';

describe('haversineM', () => {
  it('uses the spec radius: a degree of latitude is R * pi / 180', () => {
    expect(haversineM({ lat: 0, lon: 0 }, { lat: 1, lon: 0 })).toBeCloseTo((EARTH_RADIUS_M * Math.PI) / 180, 6);
    expect(EARTH_RADIUS_M).toBe(6_371_008.8);
  });

  it('matches a known city distance (People\'s Square to the Bund, about 1.5 km)', () => {
    const d = haversineM({ lat: 31.2304, lon: 121.4737 }, { lat: 31.2400, lon: 121.4900 });
    expect(d).toBeGreaterThan(1800);
    expect(d).toBeLessThan(1950);
  });
});

describe('destination / offsetM', () => {
  it('lands at the asked distance', () => {
    const from = { lat: 31.2304, lon: 121.4737 };
    for (const bearing of [0, 45, 90, 180, 270]) {
      expect(haversineM(from, destination(from, bearing, 750))).toBeCloseTo(750, 3);
    }
    expect(haversineM(from, offsetM(from, 300, 400))).toBeCloseTo(500, 0);
  });
});

describe('Polyline', () => {
  it('samples positions by distance travelled and clamps at the ends', () => {
    const a = { lat: 31.2, lon: 121.4 };
    const b = destination(a, 90, 1000);
    const c = destination(b, 0, 500);
    const path = new Polyline([a, b, c]);
    expect(path.lengthM).toBeCloseTo(1500, 0);
    expect(haversineM(path.at(500), destination(a, 90, 500))).toBeLessThan(1);
    expect(haversineM(path.at(1250), destination(b, 0, 250))).toBeLessThan(1);
    expect(path.at(-5)).toEqual(a);
    expect(haversineM(path.at(99_999), c)).toBeLessThan(1e-6);
    expect(path.reversed().at(0)).toEqual(c);
    expect(() => new Polyline([a])).toThrow(RangeError);
  });
});
