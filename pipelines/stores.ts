import { CircleIndex } from '../engine/geo.js';
import type { LocationEvent, Store } from '../schemas/index.js';
import { readLive, type Live } from './live.js';
import { checkBySchema, LiveTable, type RowKind, type TableChange } from './liveTable.js';

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

/** What one change did to a {@link StoreDirectory}: stores added, updated (name, position, radius, timezone), removed. */
export type StoreChange = TableChange<Store>;

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
const checkStore = checkBySchema('Store', 'store', 'stores', (s) => s.storeId);

const STORE_ROWS: RowKind<Store> = {
  id: (s) => s.storeId,
  check: checkStore,
  same: (a, b) => a.name === b.name && a.lat === b.lat && a.lon === b.lon && a.radiusM === b.radiusM && a.timezone === b.timezone,
};

/**
 * A {@link StoreDirectory} that the runtime changes while the job runs (the production host feeds
 * it from Redis): a {@link LiveTable} of stores. A change with an invalid store (SCENES.md §2, the
 * `Store` schema: position in range, known timezone, positive radius) throws `SS_ERR_VALIDATION`
 * naming it and changes nothing, so the scenes never meet a store their geofence index cannot hold;
 * a feed rejects such records before (`runtime/redis/storeFeed.ts`).
 *
 * ```ts
 * const stores = new LiveStores(initial);
 * stores.onChange((c) => hub.removeStores(c.removed));
 * stores.replace(fromRedis); // { version: 1, added: [...], updated: [], removed: [...] } or undefined
 * ```
 */
export class LiveStores extends LiveTable<Store> implements StoreDirectory {
  constructor(initial: Iterable<Store> = []) {
    super(STORE_ROWS, initial);
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
