import { CircleIndex } from '../engine/geo.js';
import type { LocationEvent, Store } from '../schemas/index.js';

/**
 * The store catalogue as a spatial index of geofences (SCENES.md §2): one circle per store, id =
 * storeId, radius = the store's `radiusM`, or `defaultRadiusM` (default 150) for a store without a
 * positive one. Built once per pipeline; the location scenes query it per ping.
 */
export function storeIndex(stores: readonly Store[], defaultRadiusM = 150): CircleIndex {
  return CircleIndex.of(stores.map((s) => ({ id: s.storeId, lat: s.lat, lon: s.lon, radiusM: s.radiusM > 0 ? s.radiusM : defaultRadiusM })));
}

/**
 * SCENES.md §3.3/§3.4: a location ping is accepted unless its `accuracyM` exceeds the limit
 * (exactly the limit is accepted; a null accuracy, i.e. unknown, is accepted).
 */
export function isAcceptedPing(maxAccuracyM: number): (e: LocationEvent) => boolean {
  return (e) => e.accuracyM === null || e.accuracyM <= maxAccuracyM;
}
