import type { LiveStores } from '../../pipelines/stores.js';
import type { Store } from '../../schemas/index.js';
import type { RejectedStore, StoresRead } from './reference.js';
import { ReferenceFeed } from './referenceFeed.js';

/** What {@link StoreFeed} reads of the catalogue in Redis ({@link RedisStores}). */
export interface StoreSource {
  version(): Promise<number>;
  read(): Promise<StoresRead>;
}

export interface StoreFeedOptions {
  readonly source: StoreSource;
  /** The live table the pipelines and the screens read. */
  readonly stores: LiveStores;
  /** Between two polls of the version counter (`STORES_REFRESH_MS`). */
  readonly intervalMs: number;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Called once for each invalid record (again only if its content changes), after it is logged. */
  readonly onRejected?: (r: RejectedStore) => void;
}

/**
 * Keeps a {@link LiveStores} table equal to the store catalogue in Redis, the catalogue's source of
 * truth (`scenestream load-reference --stores` writes it): a {@link ReferenceFeed} of stores. A
 * change makes the location scenes rebuild their geofence index before the next ping they handle
 * and tells the screens.
 *
 * **Invalid records** (not JSON, not a valid Store, or filed under another storeId) never stop
 * the job: each is logged once (again only when its content changes) and reported to `onRejected`
 * (production counts it in `scenestream_dead_letters_total{source="stores"}`). The store keeps
 * its last valid details if it had any; otherwise it is not in the table.
 *
 * **Redis unreachable** during a poll: the table stays as it is, the failure is logged once until
 * a poll succeeds again, and polling goes on. Only the first {@link refresh} (at start) throws.
 */
export class StoreFeed extends ReferenceFeed<Store> {
  constructor(o: StoreFeedOptions) {
    super({
      source: {
        version: () => o.source.version(),
        read: async () => {
          const r = await o.source.read();
          return { rows: r.stores, rejected: r.rejected.map((x) => ({ id: x.storeId, raw: x.raw, error: x.error })) };
        },
      },
      table: o.stores,
      intervalMs: o.intervalMs,
      what: 'store catalogue',
      noun: 'store',
      ...(o.log !== undefined ? { log: o.log } : {}),
      ...(o.onRejected !== undefined ? { onRejected: (r) => o.onRejected!({ storeId: r.id, raw: r.raw, error: r.error }) } : {}),
    });
  }
}
