/**
 * City-scale geography for the simulator. Distances are haversine great-circle distances with the
 * Earth radius of SCENES.md (6,371,008.8 m), the same definition the engine uses.
 */

import { EARTH_RADIUS_M, haversineM as haversineDeg } from '../engine/geo.js';

export { EARTH_RADIUS_M };

export interface LatLon {
  readonly lat: number;
  readonly lon: number;
}

const toRad = (deg: number): number => (deg * Math.PI) / 180;
const toDeg = (rad: number): number => (rad * 180) / Math.PI;

/** Great-circle distance in metres: the engine's own definition (`engine/geo.ts`), on points. */
export function haversineM(a: LatLon, b: LatLon): number {
  return haversineDeg(a.lat, a.lon, b.lat, b.lon);
}

/** The point `distanceM` metres from `from` on initial bearing `bearingDeg` (0 = north, 90 = east). */
export function destination(from: LatLon, bearingDeg: number, distanceM: number): LatLon {
  const delta = distanceM / EARTH_RADIUS_M;
  const theta = toRad(bearingDeg);
  const phi1 = toRad(from.lat);
  const lambda1 = toRad(from.lon);
  const phi2 = Math.asin(Math.sin(phi1) * Math.cos(delta) + Math.cos(phi1) * Math.sin(delta) * Math.cos(theta));
  const lambda2 =
    lambda1 + Math.atan2(Math.sin(theta) * Math.sin(delta) * Math.cos(phi1), Math.cos(delta) - Math.sin(phi1) * Math.sin(phi2));
  return { lat: toDeg(phi2), lon: ((toDeg(lambda2) + 540) % 360) - 180 };
}

/** Shift a point by metres north and east (small offsets: GPS jitter, placing things near a point). */
export function offsetM(from: LatLon, northM: number, eastM: number): LatLon {
  const lat = from.lat + toDeg(northM / EARTH_RADIUS_M);
  const lon = from.lon + toDeg(eastM / (EARTH_RADIUS_M * Math.cos(toRad(from.lat))));
  return { lat, lon };
}

/** Linear interpolation in degrees; accurate enough over the few kilometres of a city leg. */
export function lerp(a: LatLon, b: LatLon, f: number): LatLon {
  return { lat: a.lat + (b.lat - a.lat) * f, lon: a.lon + (b.lon - a.lon) * f };
}

/** A path through waypoints, with its cumulative length, to sample positions by distance travelled. */
export class Polyline {
  readonly lengthM: number;
  private readonly cumulative: number[];

  constructor(readonly points: readonly LatLon[]) {
    if (points.length < 2) throw new RangeError('a polyline needs at least two points');
    const cumulative = [0];
    let total = 0;
    for (let i = 1; i < points.length; i++) {
      total += haversineM(points[i - 1] as LatLon, points[i] as LatLon);
      cumulative.push(total);
    }
    this.cumulative = cumulative;
    this.lengthM = total;
  }

  /** The position after travelling `distanceM` from the start (clamped to the ends). */
  at(distanceM: number): LatLon {
    const d = Math.max(0, Math.min(this.lengthM, distanceM));
    let i = 1;
    while (i < this.cumulative.length - 1 && (this.cumulative[i] as number) < d) i++;
    const start = this.cumulative[i - 1] as number;
    const end = this.cumulative[i] as number;
    const f = end > start ? (d - start) / (end - start) : 0;
    return lerp(this.points[i - 1] as LatLon, this.points[i] as LatLon, f);
  }

  /** The distance from `p` to the nearest sampled point of the path (sampled every `stepM`). */
  distanceToM(p: LatLon, stepM = 50): number {
    let best = Infinity;
    for (let d = 0; d <= this.lengthM; d += stepM) best = Math.min(best, haversineM(p, this.at(d)));
    return Math.min(best, haversineM(p, this.at(this.lengthM)));
  }

  reversed(): Polyline {
    return new Polyline([...this.points].reverse());
  }
}

/** Round to a number of decimals (coordinates to 6 decimals is ~0.1 m). */
export function round(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}
