import { describe, expect, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import { CircleIndex, compareHits, EARTH_RADIUS_M, haversineM, type Circle, type CircleHit } from './geo.js';

/** mulberry32: a small seeded PRNG, so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ids = (hits: readonly CircleHit[]) => hits.map((h) => h.circle.id);

function bruteContaining(circles: readonly Circle[], lat: number, lon: number): string[] {
  return circles
    .map((c) => ({ circle: c, distanceM: haversineM(lat, lon, c.lat, c.lon), inside: true }))
    .filter((h) => h.distanceM <= h.circle.radiusM)
    .sort(compareHits)
    .map((h) => h.circle.id);
}

function bruteWithin(circles: readonly Circle[], lat: number, lon: number, d: number): string[] {
  return circles
    .map((c) => ({ circle: c, distanceM: haversineM(lat, lon, c.lat, c.lon), inside: false }))
    .filter((h) => h.distanceM <= d)
    .sort(compareHits)
    .map((h) => h.circle.id);
}

describe('haversineM', () => {
  it('gives one degree of a great circle as R·π/180 and zero for the same point', () => {
    expect(haversineM(0, 0, 1, 0)).toBeCloseTo((EARTH_RADIUS_M * Math.PI) / 180, 6);
    expect(haversineM(0, 0, 0, 1)).toBeCloseTo((EARTH_RADIUS_M * Math.PI) / 180, 6);
    expect(haversineM(48.85, 2.35, 48.85, 2.35)).toBe(0);
  });

  it('is symmetric, crosses the antimeridian short way, and gives half the circumference antipodally', () => {
    expect(haversineM(10, 20, -30, 40)).toBe(haversineM(-30, 40, 10, 20));
    expect(haversineM(0, 179.5, 0, -179.5)).toBeCloseTo((EARTH_RADIUS_M * Math.PI) / 180, 6);
    expect(haversineM(0, 0, 0, 180)).toBeCloseTo(EARTH_RADIUS_M * Math.PI, 3);
    expect(haversineM(90, 0, 90, 123)).toBeLessThan(1e-6); // every longitude is the pole (cos 90° is not exactly 0)
  });
});

describe('CircleIndex', () => {
  it('counts the rim as inside and orders by distance, then id', () => {
    const centre = { lat: 31.2304, lon: 121.4737 };
    const p = { lat: 31.2314, lon: 121.4747 };
    const d = haversineM(p.lat, p.lon, centre.lat, centre.lon);
    const idx = CircleIndex.of([
      { id: 'rim', ...centre, radiusM: d },
      { id: 'short', ...centre, radiusM: d - 1e-6 },
      { id: 'b-same', ...centre, radiusM: 500 },
      { id: 'a-same', ...centre, radiusM: 500 },
      { id: 'near', lat: p.lat, lon: p.lon, radiusM: 10 },
    ]);
    const hits = idx.containing(p.lat, p.lon);
    expect(ids(hits)).toEqual(['near', 'a-same', 'b-same', 'rim']);
    expect(hits[3]!.distanceM).toBe(d);
    expect(hits.every((h) => h.inside)).toBe(true);
  });

  it('answers "centres within D" inclusively, with inside flags', () => {
    const idx = CircleIndex.of([
      { id: 'a', lat: 0, lon: 0, radiusM: 10 },
      { id: 'b', lat: 0, lon: 0.01, radiusM: 2000 },
    ]);
    const dB = haversineM(0, 0, 0, 0.01);
    expect(idx.within(0, 0, dB).map((h) => [h.circle.id, h.inside])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    expect(ids(idx.within(0, 0, dB - 1e-6))).toEqual(['a']);
    expect(ids(idx.nearest(0, 0.009, 5000, 1))).toEqual(['b']);
  });

  it('rejects bad circles by field', () => {
    const bad = (c: Partial<Circle>, field: string) => {
      try {
        CircleIndex.of([{ id: 'ok', lat: 0, lon: 0, radiusM: 1 }, { id: 'x', lat: 0, lon: 0, radiusM: 1, ...c } as Circle]);
        expect.unreachable();
      } catch (e) {
        expect(isScenestreamError(e, 'SS_ERR_CONFIG')).toBe(true);
        expect((e as { field?: string }).field).toBe(`circles.1.${field}`);
      }
    };
    bad({ lat: 91 }, 'lat');
    bad({ lon: Number.NaN }, 'lon');
    bad({ radiusM: -1 }, 'radiusM');
    bad({ id: 'ok' }, 'id');
    bad({ id: '' }, 'id');
  });

  // Brute force over thousands of random points and circles: cities, high latitudes, the poles,
  // the antimeridian, and circles centred exactly on cell corners and edges.
  const scenarios: Array<{ name: string; cellDeg: number; lat: [number, number]; lon: [number, number]; rMax: number }> = [
    { name: 'a city', cellDeg: 0.01, lat: [31.1, 31.4], lon: [121.3, 121.6], rMax: 3000 },
    { name: 'the whole globe', cellDeg: 1, lat: [-90, 90], lon: [-180, 180], rMax: 400_000 },
    { name: 'near the north pole', cellDeg: 0.05, lat: [88.5, 90], lon: [-180, 180], rMax: 60_000 },
    { name: 'the antimeridian in the south', cellDeg: 0.02, lat: [-70, -66], lon: [179, 180], rMax: 20_000 },
  ];
  for (const s of scenarios) {
    it(`equals brute force in ${s.name}`, () => {
      const r = rng(s.cellDeg * 1e6 + s.lat[0]);
      const pick = (range: [number, number]) => range[0] + r() * (range[1] - range[0]);
      const wrap = (lon: number) => (lon > 180 ? lon - 360 : lon);
      const circles: Circle[] = [];
      for (let i = 0; i < 1500; i++) {
        let lat = pick(s.lat);
        let lon = wrap(pick(s.lon) + (s.name.includes('antimeridian') && r() < 0.5 ? 1 : 0));
        if (i % 3 === 0) {
          // Snap onto a grid line or corner of cellDeg (row lines; column lines at the equator's width).
          lat = Math.min(90, Math.round(lat / s.cellDeg) * s.cellDeg);
          if (i % 2 === 0) lon = Math.max(-180, Math.min(180, Math.round(lon / s.cellDeg) * s.cellDeg));
        }
        circles.push({ id: `c${i}`, lat, lon, radiusM: r() < 0.05 ? 0 : r() * s.rMax });
      }
      circles.push({ id: 'north-pole', lat: 90, lon: 0, radiusM: s.rMax }, { id: 'date-line', lat: 0, lon: 180, radiusM: s.rMax });
      const idx = CircleIndex.of(circles, { cellDeg: s.cellDeg });
      let matched = 0;
      for (let i = 0; i < 3000; i++) {
        let lat = pick(s.lat);
        let lon = wrap(pick(s.lon) + (s.name.includes('antimeridian') && r() < 0.5 ? 1 : 0));
        if (i % 4 === 0) {
          // Points on the rim of a random circle, and on cell lines.
          const c = circles[Math.floor(r() * circles.length)]!;
          lat = c.lat;
          lon = c.lon;
        } else if (i % 4 === 1) {
          lat = Math.min(90, Math.round(lat / s.cellDeg) * s.cellDeg);
        }
        const got = ids(idx.containing(lat, lon));
        expect(got, `containing(${lat}, ${lon})`).toEqual(bruteContaining(circles, lat, lon));
        matched += got.length;
        const d = r() * s.rMax * 2;
        expect(ids(idx.within(lat, lon, d)), `within(${lat}, ${lon}, ${d})`).toEqual(bruteWithin(circles, lat, lon, d));
      }
      expect(matched).toBeGreaterThan(100); // the scenario exercises hits, not only misses
    });
  }

  it('finds points exactly on the rim of circles that straddle cell borders', () => {
    const r = rng(7);
    const cellDeg = 0.01;
    const circles: Circle[] = [];
    const points: Array<[number, number]> = [];
    for (let i = 0; i < 1000; i++) {
      // Centre on a cell corner at a random latitude; a rim point in a random direction.
      const lat = Math.round((-85 + r() * 170) / cellDeg) * cellDeg;
      const lon = Math.round((-180 + r() * 360) / cellDeg) * cellDeg;
      const bearing = r() * 2 * Math.PI;
      const dist = r() * 3000;
      const pLat = lat + ((dist * Math.cos(bearing)) / EARTH_RADIUS_M) * (180 / Math.PI);
      const pLonRaw = lon + ((dist * Math.sin(bearing)) / (EARTH_RADIUS_M * Math.cos((lat * Math.PI) / 180))) * (180 / Math.PI);
      const pLon = pLonRaw > 180 ? pLonRaw - 360 : pLonRaw < -180 ? pLonRaw + 360 : pLonRaw;
      circles.push({ id: `rim${i}`, lat, lon, radiusM: haversineM(pLat, pLon, lat, lon) });
      points.push([pLat, pLon]);
    }
    const idx = CircleIndex.of(circles, { cellDeg });
    points.forEach(([lat, lon], i) => {
      expect(ids(idx.containing(lat, lon))).toContain(`rim${i}`);
      expect(ids(idx.containing(lat, lon))).toEqual(bruteContaining(circles, lat, lon));
    });
  });

  it('finds the extreme north, south, east and west rim points, with the north/south ones on cell lines', () => {
    const r = rng(11);
    const cellDeg = 0.01;
    const toDeg = 180 / Math.PI;
    const circles: Circle[] = [];
    const points: Array<[number, number, string]> = [];
    for (let i = 0; i < 1500; i++) {
      const radius = 200 + r() * 5_000;
      const rDeg = (radius / EARTH_RADIUS_M) * toDeg;
      const lon = -179 + r() * 358;
      // North rim point exactly on a row line, south rim point too (same centre shifted).
      const north = Math.round((-80 + r() * 160) / cellDeg) * cellDeg;
      const latN = north - rDeg;
      circles.push({ id: `n${i}`, lat: latN, lon, radiusM: haversineM(north, lon, latN, lon) });
      points.push([north, lon, `n${i}`]);
      const south = Math.round((-80 + r() * 160) / cellDeg) * cellDeg;
      const latS = south + rDeg;
      circles.push({ id: `s${i}`, lat: latS, lon, radiusM: haversineM(south, lon, latS, lon) });
      points.push([south, lon, `s${i}`]);
      // East and west tangent points: the largest longitude offset of the cap.
      const lat = -80 + r() * 160;
      const phi = lat / toDeg;
      const d = radius / EARTH_RADIUS_M;
      const latT = Math.asin(Math.sin(phi) / Math.cos(d)) * toDeg;
      const dLon = Math.asin(Math.sin(d) / Math.cos(phi)) * toDeg;
      circles.push({ id: `e${i}`, lat, lon, radiusM: haversineM(latT, lon + dLon, lat, lon) });
      points.push([latT, lon + dLon, `e${i}`]);
      circles.push({ id: `w${i}`, lat, lon, radiusM: haversineM(latT, lon - dLon, lat, lon) });
      points.push([latT, lon - dLon, `w${i}`]);
    }
    const idx = CircleIndex.of(circles, { cellDeg });
    for (const [lat, lon, id] of points) expect(ids(idx.containing(lat, lon)), `${id} at (${lat}, ${lon})`).toContain(id);
  });

  it('reach() is the union of containing and within, each circle once', () => {
    const idx = CircleIndex.of([
      { id: 'big', lat: 0, lon: 0.05, radiusM: 10_000 },
      { id: 'small', lat: 0, lon: 0.001, radiusM: 50 },
      { id: 'far', lat: 0, lon: 0.2, radiusM: 10 },
    ]);
    expect(ids(idx.reach(0, 0))).toEqual(['big']);
    expect(idx.reach(0, 0, 200).map((h) => [h.circle.id, h.inside])).toEqual([
      ['small', false],
      ['big', true],
    ]);
    expect(ids(idx.reach(0, 0, 30_000))).toEqual(['small', 'big', 'far']);
  });
});
