/**
 * Delivery ledgers: who has already delivered an offer, so that a replay, a restart or a second
 * engine instance never pushes the same offer twice (offer ids are deterministic, SCENES.md §4).
 *
 * A delivery claims the offer id first; only the first claim within the ledger's TTL wins. A
 * delivery that finally fails releases its claim, so a later attempt (a retry of the input, a
 * restart) may deliver it. Between claim and release a concurrent delivery of the same id is a
 * duplicate: at most one delivery is ever in flight per id.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../engine/clock.js';
import { systemClock } from '../../engine/clock.js';
import { ssError } from '../../schemas/errors.js';

export interface DeliveryLedger {
  /** true exactly once per id within the TTL (the caller may deliver); false if already claimed. */
  claim(id: string): Promise<boolean>;
  /** Forgets a claim (the delivery failed for good), so the id may be claimed again. */
  release(id: string): Promise<void>;
  /**
   * Called before each batch of deliveries: a ledger that can lose its memory (Redis restarted
   * empty) checks it still has it, and rebuilds it before anything is sent if not.
   */
  beforeBatch?(): Promise<void>;
}

const DAY_MS = 86_400_000;

export interface MemoryLedgerOptions {
  /** At most this many ids are remembered; the oldest claims go first (default 100,000). */
  readonly maxEntries?: number;
  /** A claim expires after this long (default 7 days, longer than any offer's validity by default). */
  readonly ttlMs?: number;
  readonly clock?: Clock;
}

/**
 * A ledger in this process's memory: right for one engine instance and for tests. Bounded: when
 * full, the oldest claim is forgotten (its offer could then be delivered again, after
 * `maxEntries` newer offers). Every claim has the same TTL, so insertion order is expiry order
 * and expired claims are dropped from the front in O(1) each.
 */
export class MemoryLedger implements DeliveryLedger {
  private readonly expiry = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly clock: Clock;

  constructor(opts: MemoryLedgerOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.ttlMs = opts.ttlMs ?? 7 * DAY_MS;
    this.clock = opts.clock ?? systemClock;
    if (!(Number.isSafeInteger(this.maxEntries) && this.maxEntries >= 1)) throw ssError('SS_ERR_CONFIG', `maxEntries must be an integer >= 1, got ${this.maxEntries}`, { field: 'maxEntries' });
    if (!(Number.isSafeInteger(this.ttlMs) && this.ttlMs >= 1)) throw ssError('SS_ERR_CONFIG', `ttlMs must be an integer >= 1, got ${this.ttlMs}`, { field: 'ttlMs' });
  }

  /** Claims currently remembered (expired ones may linger until the next claim). */
  get size(): number {
    return this.expiry.size;
  }

  private prune(now: number): void {
    for (const [id, until] of this.expiry) {
      if (until > now) break;
      this.expiry.delete(id);
    }
  }

  claim(id: string): Promise<boolean> {
    const now = this.clock.now();
    this.prune(now);
    const until = this.expiry.get(id);
    if (until !== undefined && until > now) return Promise.resolve(false);
    while (this.expiry.size >= this.maxEntries) {
      const oldest = this.expiry.keys().next();
      if (oldest.done === true) break;
      this.expiry.delete(oldest.value);
    }
    this.expiry.set(id, now + this.ttlMs);
    return Promise.resolve(true);
  }

  release(id: string): Promise<void> {
    this.expiry.delete(id);
    return Promise.resolve();
  }
}

/** The commands a {@link RedisLedger} sends (a `@redis/client` v1 client fits). */
export interface RedisLedgerClient {
  set(key: string, value: string, options?: { NX: true; EX?: number }): Promise<string | null>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<number>;
}

export interface RedisLedgerOptions {
  /** Claim lifetime in whole seconds (default 7 days). */
  readonly ttlSeconds?: number;
  /** Key prefix (default `ss:delivered:`); the key is `<prefix>{<id>}`. */
  readonly prefix?: string;
  /** Called once per command sent (`Metrics.redisRoundTrips`). */
  readonly onRoundTrip?: () => void;
  /**
   * Every offer id that may have been delivered (production: the ids of the offers topic, where an
   * offer is produced before it is delivered). With it the ledger detects that Redis lost its data
   * (its marker key is gone, or was written again by another instance since this one last looked)
   * and, before delivering anything more, claims every one of these ids again: a delivery cut by
   * the loss is then never repeated (at most once), at the price of skipping the offers of that batch
   * not yet sent. Without it, a Redis restarted empty forgets every claim.
   */
  readonly rebuild?: () => Promise<Iterable<string>>;
  /** Told once a rebuild is done: how many ids were claimed again, and why. */
  readonly onRebuilt?: (ids: number, why: string) => void;
}

/** The key whose absence means the ledger's Redis lost its data (`<prefix>marker`). */
const MARKER = 'marker';
/** Claims sent at once while rebuilding. */
const REBUILD_CHUNK = 1_000;

/**
 * A ledger in Redis, shared by every engine instance: `SET <prefix>{<id>} 1 NX EX <ttl>` claims
 * atomically (one round trip), `DEL` releases. The id sits in a hash tag `{...}`, so on a Redis
 * Cluster the key's slot is the id's alone, whatever the prefix.
 */
export class RedisLedger implements DeliveryLedger {
  private readonly ttlSeconds: number;
  private readonly prefix: string;

  constructor(
    private readonly client: RedisLedgerClient,
    private readonly opts: RedisLedgerOptions = {},
  ) {
    this.ttlSeconds = opts.ttlSeconds ?? 7 * 24 * 3600;
    this.prefix = opts.prefix ?? 'ss:delivered:';
    if (!(Number.isSafeInteger(this.ttlSeconds) && this.ttlSeconds >= 1)) throw ssError('SS_ERR_CONFIG', `ttlSeconds must be an integer >= 1, got ${this.ttlSeconds}`, { field: 'ttlSeconds' });
  }

  /** The Redis key of an offer id. */
  keyOf(id: string): string {
    return `${this.prefix}{${id}}`;
  }

  /** The marker this instance last saw (undefined before its first check). */
  private marker: string | undefined;

  /**
   * With a {@link RedisLedgerOptions.rebuild}: one GET of the marker per batch. Missing (Redis
   * restarted empty, or a first start: rebuilding is safe either way) or not the one this instance
   * saw last (another instance found it missing and wrote a new one): claims every id `rebuild`
   * gives, then writes or adopts the marker. An instance's first look adopts a marker it finds.
   */
  async beforeBatch(): Promise<void> {
    const rebuild = this.opts.rebuild;
    if (rebuild === undefined) return;
    const markerKey = `${this.prefix}${MARKER}`;
    const seen = await this.command(`GET ${markerKey}`, () => this.client.get(markerKey));
    // An instance that starts adopts the marker it finds: the claims behind it are intact.
    if (seen !== null && (seen === this.marker || this.marker === undefined)) {
      this.marker = seen;
      return;
    }
    const why = seen === null ? 'its marker is missing (Redis lost its data, or this is the first start)' : 'another instance rebuilt it after a loss';
    const ids = [...(await rebuild())];
    for (let i = 0; i < ids.length; i += REBUILD_CHUNK) {
      await Promise.all(ids.slice(i, i + REBUILD_CHUNK).map((id) => this.command(`SET NX ${this.keyOf(id)}`, () => this.client.set(this.keyOf(id), '1', { NX: true, EX: this.ttlSeconds }))));
    }
    if (seen === null) await this.command(`SET NX ${markerKey}`, () => this.client.set(markerKey, randomUUID(), { NX: true }));
    this.marker = (await this.command(`GET ${markerKey}`, () => this.client.get(markerKey))) ?? undefined;
    this.opts.onRebuilt?.(ids.length, why);
  }

  private async command<T>(what: string, f: () => Promise<T>): Promise<T> {
    this.opts.onRoundTrip?.();
    try {
      return await f();
    } catch (cause) {
      throw ssError('SS_ERR_SERVICE_UNAVAILABLE', `delivery ledger: ${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  async claim(id: string): Promise<boolean> {
    return (await this.command(`SET NX ${this.keyOf(id)}`, () => this.client.set(this.keyOf(id), '1', { NX: true, EX: this.ttlSeconds }))) !== null;
  }

  async release(id: string): Promise<void> {
    await this.command(`DEL ${this.keyOf(id)}`, () => this.client.del(this.keyOf(id)));
  }
}
