import { ssError } from '../schemas/errors.js';
import type { CircleIndex } from '../engine/geo.js';
import type { OperatorDef } from '../engine/graph.js';
import { userError } from '../engine/userFn.js';

/** One (point, circle) match. */
export interface GeofenceHit<T> {
  readonly point: T;
  readonly circleId: string;
  /** Haversine distance from the point to the circle's centre, metres. */
  readonly distanceM: number;
  /** `distanceM <= radiusM`: the rim counts as inside. */
  readonly inside: boolean;
}

export interface GeofenceOptions<T> {
  /** The circles (store geofences); built once, shared by every record. */
  readonly index: CircleIndex;
  /** Latitude of a record, degrees. */
  readonly lat: (value: T) => number;
  /** Longitude of a record, degrees. */
  readonly lon: (value: T) => number;
  /** Also report circles whose centre is within this many metres (inclusive), inside or not. */
  readonly maxDistanceM?: number;
  /** Step name (default `geofence#n`). */
  readonly name?: string;
}

/**
 * Matches each point against an index of circles. Stateless; keeps each record's event time and
 * key; emits immediately, for each input point, one {@link GeofenceHit} per circle within reach:
 * every circle whose disc holds the point (`distance <= radiusM`, the rim included) and, with
 * `maxDistanceM`, every circle whose centre is within `maxDistanceM` metres (inclusive, with
 * `inside: false` when the point is outside it). Hits of one point come out nearest centre first,
 * then by circle id; a point within reach of no circle emits nothing. Distances are
 * {@link haversineM} (Earth radius 6,371,008.8 m).
 *
 * A point whose latitude is not in `[-90, 90]` or longitude not in `[-180, 180]` (or not a number)
 * is dead-lettered (`SS_ERR_VALIDATION`, naming the step and `lat`/`lon`); so is a record whose
 * `lat`/`lon` function throws (`SS_ERR_USER_FUNCTION`).
 *
 * ```text
 * circles: s1 r=100 m, s2 r=50 m (centres 30 m and 80 m from p)
 * in:   p@t
 * out:  {p, s1, 30, inside}@t  {p, s2, 80, outside}@t   (s2 only with maxDistanceM >= 80)
 * ```
 */
export function geofence<T>(opts: GeofenceOptions<T>): OperatorDef<T, GeofenceHit<T>> {
  const { index, lat: latOf, lon: lonOf, maxDistanceM } = opts;
  return {
    kind: 'geofence',
    stepId: opts.name,
    stateful: false,
    keyed: false,
    params: { circles: index.size, ...(maxDistanceM !== undefined ? { maxDistanceM } : {}) },
    validate(stepId) {
      if (maxDistanceM !== undefined && !(maxDistanceM >= 0 && Number.isFinite(maxDistanceM))) {
        throw ssError('SS_ERR_GRAPH_INVALID', `maxDistanceM must be a finite number >= 0, got ${maxDistanceM}`, { stepId });
      }
    },
    create(rt) {
      const id = rt.stepId;
      const emit = rt.emit;
      return {
        process(value, ts, key) {
          let lat: number;
          let lon: number;
          try {
            lat = latOf(value);
            lon = lonOf(value);
          } catch (e) {
            throw userError(id, e);
          }
          if (typeof lat !== 'number' || !(lat >= -90 && lat <= 90)) {
            throw ssError('SS_ERR_VALIDATION', `latitude ${String(lat)} is not in [-90, 90]`, { stepId: id, field: 'lat' });
          }
          if (typeof lon !== 'number' || !(lon >= -180 && lon <= 180)) {
            throw ssError('SS_ERR_VALIDATION', `longitude ${String(lon)} is not in [-180, 180]`, { stepId: id, field: 'lon' });
          }
          for (const h of index.reach(lat, lon, maxDistanceM)) {
            emit({ point: value, circleId: h.circle.id, distanceM: h.distanceM, inside: h.inside }, ts, key);
          }
        },
      };
    },
  };
}
