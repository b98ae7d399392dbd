import type { LiveStores, StoreChange } from '../../pipelines/stores.js';
import type { Store } from '../../schemas/index.js';
import { errorText } from '../dependencies.js';
import type { RejectedStore, StoresRead } from './reference.js';

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
 * truth (`scenestream load-reference --stores` writes it). Every `intervalMs` it reads the
 * catalogue's version counter (one GET); when the counter moved it reads the catalogue (one
 * HGETALL) and replaces the table, which tells its listeners (the screens) and makes the location
 * scenes rebuild their geofence index before the next ping they handle.
 *
 * **Invalid records** (not JSON, not a valid Store, or filed under another storeId) never stop
 * the job: each is logged once (again only when its content changes) and reported to `onRejected`
 * (production counts it in `scenestream_dead_letters_total{source="stores"}`). The store keeps
 * its last valid details if it had any; otherwise it is not in the table.
 *
 * **Redis unreachable** during a poll: the table stays as it is, the failure is logged once until
 * a poll succeeds again, and polling goes on. Only the first {@link refresh} (at start) throws.
 */
export class StoreFeed {
  private lastVersion: number | undefined;
  private readonly loggedRejections = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<unknown> | undefined;
  private failing = false;
  private stopped = false;

  constructor(private readonly o: StoreFeedOptions) {}

  /** Records currently rejected. */
  get rejected(): number {
    return this.loggedRejections.size;
  }

  /**
   * One poll: reads the version, and the catalogue if the version moved since the last read (or
   * always with `force`). Returns the change applied to the table, if any.
   */
  async refresh(force = false): Promise<StoreChange | undefined> {
    const version = await this.o.source.version();
    if (!force && version === this.lastVersion) return undefined;
    const read = await this.o.source.read();
    this.lastVersion = version;
    const stores: Store[] = [...read.stores];
    const rejectedNow = new Set<string>();
    for (const r of read.rejected) {
      rejectedNow.add(r.storeId);
      const previous = this.o.stores.get(r.storeId);
      if (previous !== undefined) stores.push(previous);
      if (this.loggedRejections.get(r.storeId) === r.raw) continue;
      this.loggedRejections.set(r.storeId, r.raw);
      this.o.log?.('warn', `${r.error.code}: ${r.error.message}; the record is ignored (${previous !== undefined ? 'the store keeps its last valid details' : 'the store is not served'})`);
      this.o.onRejected?.(r);
    }
    for (const id of [...this.loggedRejections.keys()]) if (!rejectedNow.has(id)) this.loggedRejections.delete(id);
    const change = this.o.stores.replace(stores);
    if (change !== undefined) {
      const n = (xs: readonly unknown[], what: string) => (xs.length > 0 ? [`${xs.length} ${what}`] : []);
      const what = [...n(change.added, 'added'), ...n(change.updated, 'updated'), ...n(change.removed, 'removed')].join(', ');
      this.o.log?.('info', `store catalogue version ${version}: ${what}; ${this.o.stores.size} stores`);
    }
    return change;
  }

  /** Polls every `intervalMs` until {@link stop}; a failed poll is logged and retried at the next. */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    const tick = (): void => {
      this.inFlight = this.refresh()
        .then(() => {
          if (this.failing) this.o.log?.('info', 'store catalogue: read from Redis again');
          this.failing = false;
        })
        .catch((e: unknown) => {
          if (!this.failing) this.o.log?.('warn', `store catalogue not refreshed (kept as it is, retried every ${this.o.intervalMs} ms): ${errorText(e)}`);
          this.failing = true;
        })
        .finally(() => {
          this.inFlight = undefined;
          if (!this.stopped) {
            this.timer = setTimeout(tick, this.o.intervalMs);
            this.timer.unref();
          }
        });
    };
    this.timer = setTimeout(tick, this.o.intervalMs);
    this.timer.unref();
  }

  /** Stops polling; waits for a poll in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.inFlight;
  }
}
