import { CircleIndex } from '../engine/geo.js';
import { ssError } from '../schemas/errors.js';
import { validate, type LocationEvent, type Store } from '../schemas/index.js';
import { readLive, type Live } from './live.js';

/**
 * The store catalogue as a spatial index of geofences (SCENES.md §2): one circle per store, id =
 * storeId, radius = the store's `radiusM`, or `defaultRadiusM` (default 150) for a store without a
 * positive one. The location scenes query it per ping; {@link liveStoreIndex} rebuilds it when the
 * catalogue or the default radius changes.
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

// ---------------------------------------------------------------------------------------------
// The store catalogue as a table that can change while the job runs

/** What one change did to a {@link StoreDirectory}. */
export interface StoreChange {
  /** The directory's version after the change. */
  readonly version: number;
  /** Stores that were not in the catalogue. */
  readonly added: readonly Store[];
  /** Stores whose details (name, position, radius, timezone) changed. */
  readonly updated: readonly Store[];
  /** Ids of stores no longer in the catalogue. */
  readonly removed: readonly string[];
}

/**
 * The stores as a table read by the location scenes and the screens: the current stores and a
 * version that grows by one on every change, so that a reader rebuilds what it derives from them
 * (the geofence index) only when the version moved.
 *
 * **Semantics of a change (processing time).** A change applies to the records a step handles
 * after it is applied, as a broadcast-state update does in Flink: it never rewrites what was
 * decided before, and records already handled are not judged again. The scenes read the index once
 * per ping, so a change falls between two records, never inside one. In the Kafka job this makes
 * the store scenes depend on when a change arrived relative to the input (and a task restored
 * after a crash judges the records it consumes again against the catalogue current then); a
 * replay uses a fixed catalogue (a plain array, version 0) and stays deterministic.
 */
export interface StoreDirectory {
  /** 0 for the first catalogue; one more after each change. */
  readonly version: number;
  /** The current stores, by storeId ascending. The same array until the next change. */
  all(): readonly Store[];
  get(storeId: string): Store | undefined;
}

/** Stores as a fixed list (replay, tests, the embedded mode) or as a live {@link StoreDirectory}. */
export type StoreCatalog = readonly Store[] | StoreDirectory;

/** Whether the catalogue is a live directory rather than a fixed list. */
export function isStoreDirectory(c: StoreCatalog): c is StoreDirectory {
  return !Array.isArray(c);
}

/** The catalogue as a directory: a fixed list becomes a directory that never changes (version 0). */
export function storeDirectory(c: StoreCatalog): StoreDirectory {
  if (isStoreDirectory(c)) return c;
  const list: readonly Store[] = c;
  const byId = new Map(list.map((s) => [s.storeId, s]));
  return { version: 0, all: () => list, get: (id) => byId.get(id) };
}

/** The store if it is valid; `SS_ERR_VALIDATION` naming it otherwise. */
function checkStore(s: Store): Store {
  const r = validate('Store', s);
  if (!r.ok) throw ssError('SS_ERR_VALIDATION', `store ${String(s.storeId)} is invalid: ${r.error.message}`, { field: `stores.${String(s.storeId)}${r.error.field !== undefined ? `.${r.error.field}` : ''}` });
  return s;
}

const sameStore = (a: Store, b: Store): boolean => a.name === b.name && a.lat === b.lat && a.lon === b.lon && a.radiusM === b.radiusM && a.timezone === b.timezone;

/**
 * A {@link StoreDirectory} that the runtime changes while the job runs (the production host feeds
 * it from Redis). A change with an invalid store (SCENES.md §2, the `Store` schema: position in
 * range, known timezone, positive radius) throws `SS_ERR_VALIDATION` naming it and changes nothing,
 * so the scenes never meet a store their geofence index cannot hold; a feed rejects such records
 * before (`runtime/redis/storeFeed.ts`). Listeners hear every change, after it is applied, in the
 * order of the changes.
 *
 * ```ts
 * const stores = new LiveStores(initial);
 * stores.onChange((c) => hub.removeStores(c.removed));
 * stores.replace(fromRedis); // { version: 1, added: [...], updated: [], removed: [...] } or undefined
 * ```
 */
export class LiveStores implements StoreDirectory {
  private byId = new Map<string, Store>();
  private sorted: readonly Store[] = [];
  private v = 0;
  private readonly listeners = new Set<(c: StoreChange) => void>();

  constructor(initial: Iterable<Store> = []) {
    for (const s of initial) this.byId.set(s.storeId, checkStore(s));
    this.sort();
  }

  get version(): number {
    return this.v;
  }

  all(): readonly Store[] {
    return this.sorted;
  }

  get(storeId: string): Store | undefined {
    return this.byId.get(storeId);
  }

  get size(): number {
    return this.byId.size;
  }

  /**
   * Makes `stores` the whole catalogue: stores not in it are removed. A storeId given twice keeps
   * the later one. Returns the change, or undefined (and the version stays) when nothing changed.
   */
  replace(stores: Iterable<Store>): StoreChange | undefined {
    const next = new Map<string, Store>();
    for (const s of stores) next.set(s.storeId, checkStore(s));
    const removed = [...this.byId.keys()].filter((id) => !next.has(id));
    return this.apply(next.values(), removed);
  }

  /** Adds a store or changes its details; undefined when it is already there as given. */
  upsert(store: Store): StoreChange | undefined {
    return this.apply([checkStore(store)], []);
  }

  /** Removes a store; undefined when there is none by that id. */
  remove(storeId: string): StoreChange | undefined {
    return this.apply([], [storeId]);
  }

  /** Calls `listener` after each change; returns the function that stops it. */
  onChange(listener: (c: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private apply(upserts: Iterable<Store>, removals: readonly string[]): StoreChange | undefined {
    const added: Store[] = [];
    const updated: Store[] = [];
    const removed: string[] = [];
    for (const s of upserts) {
      const prev = this.byId.get(s.storeId);
      if (prev === undefined) added.push(s);
      else if (!sameStore(prev, s)) updated.push(s);
      else continue;
      this.byId.set(s.storeId, s);
    }
    for (const id of removals) if (this.byId.delete(id)) removed.push(id);
    if (added.length + updated.length + removed.length === 0) return undefined;
    this.sort();
    this.v++;
    const byId = (a: Store, b: Store) => (a.storeId < b.storeId ? -1 : a.storeId > b.storeId ? 1 : 0);
    const change: StoreChange = { version: this.v, added: added.sort(byId), updated: updated.sort(byId), removed: removed.sort() };
    for (const l of [...this.listeners]) l(change);
    return change;
  }

  private sort(): void {
    this.sorted = Object.freeze([...this.byId.values()].sort((a, b) => (a.storeId < b.storeId ? -1 : a.storeId > b.storeId ? 1 : 0)));
  }
}

/**
 * The geofence index of a catalogue, as a getter for the location scenes: it rebuilds the index
 * (one {@link storeIndex}) only when the directory's version or the default radius (a live
 * campaign parameter) changed since the last call, so a read per ping costs two comparisons.
 */
export function liveStoreIndex(stores: StoreCatalog, defaultRadiusM: Live<number> = 150): () => CircleIndex {
  const dir = storeDirectory(stores);
  const radiusNow = readLive(defaultRadiusM);
  let radius = radiusNow();
  let version = dir.version;
  let index = storeIndex(dir.all(), radius);
  return () => {
    const r = radiusNow();
    if (r !== radius || dir.version !== version) {
      radius = r;
      version = dir.version;
      index = storeIndex(dir.all(), r);
    }
    return index;
  };
}
