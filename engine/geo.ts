import { ssError } from '../schemas/errors.js';

/**
 * Geography for the engine: the one great-circle distance, and a spatial index of circles (store
 * geofences) that answers "which circles contain this point" and "which circle centres lie within
 * D metres of it".
 *
 * Distances are haversine great-circle distances on a sphere of radius 6,371,008.8 m (the mean
 * Earth radius of SCENES.md). A point is inside a circle when its distance to the centre is
 * `<= radiusM` (the rim belongs to the circle).
 *
 * The index is a latitude/longitude grid whose rows keep cells about `cellDeg` wide in metres: a
 * row has fewer longitude cells the closer it is to a pole (one cell at the pole), so a small
 * circle covers few cells at any latitude. Each circle is filed under every cell that its
 * spherical cap's bounding box touches (exact bounding box of a cap, padded by a few millimetres
 * against rounding), so a containment query reads one cell; a distance query reads the cells of
 * the query cap's bounding box. Every candidate is confirmed with {@link haversineM}, so answers
 * equal a brute-force scan, across cell borders, the antimeridian and the poles.
 */

export const EARTH_RADIUS_M = 6_371_008.8;

const RAD = Math.PI / 180;

/** Great-circle distance in metres between two points given in degrees. */
export function haversineM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const s1 = Math.sin(dLat / 2);
  const s2 = Math.sin(dLon / 2);
  const h = s1 * s1 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * s2 * s2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** A circle on the sphere: a store's geofence. */
export interface Circle {
  readonly id: string;
  /** Centre, degrees, `[-90, 90]`. */
  readonly lat: number;
  /** Centre, degrees, `[-180, 180]`. */
  readonly lon: number;
  /** Radius in metres, `>= 0`. */
  readonly radiusM: number;
}

/** A circle found by a query, with the distance from the query point to its centre. */
export interface CircleHit {
  readonly circle: Circle;
  readonly distanceM: number;
  /** `distanceM <= circle.radiusM`. */
  readonly inside: boolean;
}

export interface CircleIndexOptions {
  /** Grid cell height in degrees of latitude (about 111 km per degree); default 0.01 (~1.1 km). */
  readonly cellDeg?: number;
}

/** Padding of bounding boxes: covers rounding of the trigonometry (far below a millimetre). */
const PAD_RAD = 1e-9;
const PAD_DEG = 1e-9;

interface LatLonBox {
  readonly latMin: number;
  readonly latMax: number;
  /** Unwrapped longitudes (may leave [-180, 180)); `full` when every longitude is covered. */
  readonly lonMin: number;
  readonly lonMax: number;
  readonly full: boolean;
}

/** Bounding box (degrees) of the spherical cap of `distM` metres around a point, padded. */
function capBox(lat: number, lon: number, distM: number): LatLonBox {
  const r = distM / EARTH_RADIUS_M + PAD_RAD;
  if (r >= Math.PI) return { latMin: -90, latMax: 90, lonMin: -180, lonMax: 180, full: true };
  const phi = lat * RAD;
  const latMin = (phi - r) / RAD - PAD_DEG;
  const latMax = (phi + r) / RAD + PAD_DEG;
  if (latMax >= 90 || latMin <= -90) {
    // The cap holds a pole: every longitude.
    return { latMin: Math.max(-90, latMin), latMax: Math.min(90, latMax), lonMin: -180, lonMax: 180, full: true };
  }
  const ratio = Math.sin(r) / Math.cos(phi);
  if (!(ratio < 1)) return { latMin, latMax, lonMin: -180, lonMax: 180, full: true };
  const dLon = Math.asin(ratio) / RAD + PAD_DEG;
  return { latMin, latMax, lonMin: lon - dLon, lonMax: lon + dLon, full: dLon >= 180 };
}

function checkCircle(c: Circle, i: number, seen: Set<string>): void {
  const at = (f: string) => `circles.${i}.${f}`;
  if (typeof c.id !== 'string' || c.id === '') throw ssError('SS_ERR_CONFIG', `circle ${i} needs a non-empty string id`, { field: at('id') });
  if (seen.has(c.id)) throw ssError('SS_ERR_CONFIG', `circle id "${c.id}" is used twice`, { field: at('id') });
  seen.add(c.id);
  if (!(c.lat >= -90 && c.lat <= 90)) throw ssError('SS_ERR_CONFIG', `circle "${c.id}" has latitude ${c.lat}, not in [-90, 90]`, { field: at('lat') });
  if (!(c.lon >= -180 && c.lon <= 180)) throw ssError('SS_ERR_CONFIG', `circle "${c.id}" has longitude ${c.lon}, not in [-180, 180]`, { field: at('lon') });
  if (!(c.radiusM >= 0) || !Number.isFinite(c.radiusM)) {
    throw ssError('SS_ERR_CONFIG', `circle "${c.id}" has radiusM ${c.radiusM}; it must be a finite number >= 0`, { field: at('radiusM') });
  }
}

/** Distance order, then id (code-unit order), for deterministic output. */
export function compareHits(a: CircleHit, b: CircleHit): number {
  return a.distanceM - b.distanceM || (a.circle.id < b.circle.id ? -1 : a.circle.id > b.circle.id ? 1 : 0);
}

/**
 * An immutable grid index of circles. Build once (from the store catalogue), query per event.
 *
 * ```ts
 * const stores = CircleIndex.of([{ id: 's1', lat: 31.23, lon: 121.47, radiusM: 150 }]);
 * stores.containing(31.2301, 121.4702); // [{ circle: s1, distanceM: 21.9, inside: true }]
 * stores.within(31.24, 121.47, 2_000);  // centres within 2 km, nearest first
 * ```
 */
export class CircleIndex {
  readonly circles: readonly Circle[];
  private readonly rows: number;
  private readonly rowDeg: number;
  /** Longitude cells per row. */
  private readonly cols: Int32Array;
  private readonly stride: number;
  /** Circles by every cell their cap's bounding box touches. */
  private readonly cover = new Map<number, Circle[]>();
  /** Circles by the cell of their centre. */
  private readonly centres = new Map<number, Circle[]>();
  private maxRadiusM = 0;

  static of(circles: readonly Circle[], opts: CircleIndexOptions = {}): CircleIndex {
    return new CircleIndex(circles, opts);
  }

  constructor(circles: readonly Circle[], opts: CircleIndexOptions = {}) {
    const cellDeg = opts.cellDeg ?? 0.01;
    if (!(cellDeg > 0 && cellDeg <= 90)) throw ssError('SS_ERR_CONFIG', `cellDeg must be in (0, 90], got ${cellDeg}`, { field: 'cellDeg' });
    const seen = new Set<string>();
    circles.forEach((c, i) => checkCircle(c, i, seen));
    this.circles = [...circles];
    this.rows = Math.ceil(180 / cellDeg);
    this.rowDeg = 180 / this.rows;
    const equatorCols = Math.ceil(360 / cellDeg);
    this.stride = equatorCols + 1;
    this.cols = new Int32Array(this.rows);
    for (let r = 0; r < this.rows; r++) {
      // The poleward edge decides: cells there are no narrower (in metres) than cellDeg of latitude.
      const a = Math.abs(-90 + r * this.rowDeg);
      const b = Math.abs(-90 + (r + 1) * this.rowDeg);
      this.cols[r] = Math.max(1, Math.min(equatorCols, Math.floor(equatorCols * Math.cos(Math.max(a, b) * RAD))));
    }
    for (const c of this.circles) {
      this.file(this.centres, this.cellOf(c.lat, c.lon), c);
      this.forEachCell(capBox(c.lat, c.lon, c.radiusM), (cell) => this.file(this.cover, cell, c));
      if (c.radiusM > this.maxRadiusM) this.maxRadiusM = c.radiusM;
    }
  }

  get size(): number {
    return this.circles.length;
  }

  /** Circles whose disc holds the point (`distance <= radiusM`), nearest centre first, then by id. */
  containing(lat: number, lon: number): CircleHit[] {
    const out: CircleHit[] = [];
    for (const c of this.cover.get(this.cellOf(lat, lon)) ?? []) {
      const d = haversineM(lat, lon, c.lat, c.lon);
      if (d <= c.radiusM) out.push({ circle: c, distanceM: d, inside: true });
    }
    return out.sort(compareHits);
  }

  /** Circles whose centre is within `maxDistanceM` metres of the point (inclusive), nearest first, then by id. */
  within(lat: number, lon: number, maxDistanceM: number): CircleHit[] {
    const out: CircleHit[] = [];
    this.forEachCell(capBox(lat, lon, maxDistanceM), (cell) => {
      for (const c of this.centres.get(cell) ?? []) {
        const d = haversineM(lat, lon, c.lat, c.lon);
        if (d <= maxDistanceM) out.push({ circle: c, distanceM: d, inside: d <= c.radiusM });
      }
    });
    return out.sort(compareHits);
  }

  /** The `k` circles with the nearest centres within `maxDistanceM` metres. */
  nearest(lat: number, lon: number, maxDistanceM: number, k: number): CircleHit[] {
    return this.within(lat, lon, maxDistanceM).slice(0, Math.max(0, k));
  }

  /**
   * Circles that hold the point, and (with `maxDistanceM`) those whose centre is within that
   * distance; each once, nearest first, then by id.
   */
  reach(lat: number, lon: number, maxDistanceM?: number): CircleHit[] {
    const inside = this.containing(lat, lon);
    if (maxDistanceM === undefined) return inside;
    // Any circle that holds the point has its centre within maxRadius: one scan covers both.
    if (maxDistanceM >= this.maxRadiusM) return this.within(lat, lon, maxDistanceM);
    const near = this.within(lat, lon, maxDistanceM);
    const ids = new Set(near.map((h) => h.circle.id));
    for (const h of inside) if (!ids.has(h.circle.id)) near.push(h);
    return near.sort(compareHits);
  }

  private rowOf(lat: number): number {
    const r = Math.floor((lat + 90) / this.rowDeg);
    return r < 0 ? 0 : r >= this.rows ? this.rows - 1 : r;
  }

  private colOf(row: number, lon: number): number {
    const n = this.cols[row]!;
    const c = Math.floor(((lon + 180) / 360) * n);
    return ((c % n) + n) % n;
  }

  private cellOf(lat: number, lon: number): number {
    const r = this.rowOf(lat);
    return r * this.stride + this.colOf(r, lon);
  }

  private forEachCell(box: LatLonBox, fn: (cell: number) => void): void {
    const r0 = this.rowOf(box.latMin);
    const r1 = this.rowOf(box.latMax);
    for (let r = r0; r <= r1; r++) {
      const n = this.cols[r]!;
      const base = r * this.stride;
      const c0 = Math.floor(((box.lonMin + 180) / 360) * n);
      const c1 = Math.floor(((box.lonMax + 180) / 360) * n);
      if (box.full || c1 - c0 + 1 >= n) {
        for (let c = 0; c < n; c++) fn(base + c);
      } else {
        for (let c = c0; c <= c1; c++) fn(base + (((c % n) + n) % n));
      }
    }
  }

  private file(map: Map<number, Circle[]>, cell: number, c: Circle): void {
    const list = map.get(cell);
    if (list === undefined) map.set(cell, [c]);
    else list.push(c);
  }
}
