/**
 * Stay points in GPS trajectories, and the places they make: where stores go when a dataset has
 * movement but no shops (GeoLife).
 *
 * A **stay** (Li et al., "Mining user similarity based on location history", 2008) is a run of one
 * user's consecutive points, all within `radiusM` of the run's first point, that lasts at least
 * `minDurationMs` from its first point to its last. The scan starts at each point in time order: the
 * longest such run from point i is a stay if it lasts long enough, and the scan goes on after it;
 * otherwise it goes on from point i + 1. A stay's position is the mean of its points. A gap in the
 * recording (the device off overnight at home) is part of a stay when the points either side are
 * within the radius: the user was there before and after.
 *
 * A **place** gathers the stays, of any user, whose position lies within `mergeM` of the place's
 * position, the position of its first stay (stays taken by arrival, then user): a home visited every
 * night is one place, not one per night.
 */

import type { LocationEvent } from '../../schemas/index.js';
import { haversineM } from '../geo.js';

export interface StayOptions {
  /** Greatest distance of a stay's points from its first point, metres (default 200). */
  readonly radiusM?: number;
  /** Least time from a stay's first point to its last, ms (default 20 minutes). */
  readonly minDurationMs?: number;
}

export interface Stay {
  readonly customerId: string;
  readonly lat: number;
  readonly lon: number;
  readonly arrivedTs: number;
  readonly leftTs: number;
  /** Points in the stay. */
  readonly points: number;
}

export interface Place {
  readonly lat: number;
  readonly lon: number;
  /** Stays gathered here, in arrival order. */
  readonly stays: readonly Stay[];
}

export const DEFAULT_STAY_RADIUS_M = 200;
export const DEFAULT_STAY_MIN_DURATION_MS = 20 * 60_000;

/** The stays of one user's points, which must be in time order (as GeoLife's file has them). */
export function detectStays(points: readonly LocationEvent[], opts: StayOptions = {}): Stay[] {
  const radiusM = opts.radiusM ?? DEFAULT_STAY_RADIUS_M;
  const minDurationMs = opts.minDurationMs ?? DEFAULT_STAY_MIN_DURATION_MS;
  const stays: Stay[] = [];
  let i = 0;
  while (i < points.length) {
    const first = points[i]!;
    let j = i + 1;
    while (j < points.length && haversineM(first, points[j]!) <= radiusM) j++;
    const last = points[j - 1]!;
    if (last.ts - first.ts >= minDurationMs) {
      let lat = 0;
      let lon = 0;
      for (let k = i; k < j; k++) {
        lat += points[k]!.lat;
        lon += points[k]!.lon;
      }
      stays.push({ customerId: first.customerId, lat: lat / (j - i), lon: lon / (j - i), arrivedTs: first.ts, leftTs: last.ts, points: j - i });
      i = j;
    } else {
      i++;
    }
  }
  return stays;
}

/** The stays of every user in `points` (any order of users; each user's points in time order). */
export function detectAllStays(points: readonly LocationEvent[], opts: StayOptions = {}): Stay[] {
  const byUser = new Map<string, LocationEvent[]>();
  for (const p of points) {
    const list = byUser.get(p.customerId);
    if (list === undefined) byUser.set(p.customerId, [p]);
    else list.push(p);
  }
  return [...byUser.values()].flatMap((list) => detectStays(list, opts));
}

/** Places from stays: each stay joins the first place within `mergeM` of it, or starts one (see the module's TSDoc). */
export function placesOf(stays: readonly Stay[], mergeM = DEFAULT_STAY_RADIUS_M): Place[] {
  const ordered = [...stays].sort((a, b) => a.arrivedTs - b.arrivedTs || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
  const places: Array<{ lat: number; lon: number; stays: Stay[] }> = [];
  for (const s of ordered) {
    const place = places.find((p) => haversineM(p, s) <= mergeM);
    if (place !== undefined) place.stays.push(s);
    else places.push({ lat: s.lat, lon: s.lon, stays: [s] });
  }
  return places;
}
