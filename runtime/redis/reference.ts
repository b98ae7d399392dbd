import { Repository, Schema, type Entity, type RedisClientConnection } from 'redis-om';
import type { ProfileLookup } from '../../pipelines/deps.js';
import { fromJson, toJson, validate, type CustomerProfile, type Product, type SchemaTypes, type Store, type Tier } from '../../schemas/index.js';
import type { ReferenceRead, RejectedRow } from './referenceFeed.js';
import { ssError, type ScenestreamError } from '../../schemas/errors.js';

/**
 * Reference data in Redis: customer profiles through redis-om (HASH entities: our Redis has no
 * search or JSON module, so profiles are fetched by id, never searched), and stores as a GEO set
 * with their details in a hash and a version counter. The engine reads both into memory (a
 * bounded profile cache filled before each batch; the store catalogue as a live table that
 * `storeFeed.ts` keeps equal to Redis), so scenes never wait on Redis per event.
 */

/** The part of a node-redis (v1 `@redis/client`) client that redis-om calls for HASH entities. */
export interface RedisOmHashSurface {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<string | null>;
  hGetAll(key: string): Promise<Record<string, string>>;
  expire(key: string, seconds: number): Promise<boolean>;
  expireAt(key: string, timestamp: number | Date): Promise<boolean>;
  unlink(keys: string | string[]): Promise<number>;
  multi(): { unlink(key: string): { hSet(key: string, data: Record<string, string>): { exec(): Promise<unknown> } } };
}

/**
 * redis-om types its connection as the `redis` package's client, which is this same
 * `@redis/client` client with module namespaces (`ft`, `json`) added to its type. The parameter
 * checks at compile time that our client has every method redis-om uses for HASH data; the module
 * namespaces it lacks are never touched without an index.
 */
export function asRedisOmConnection(client: RedisOmHashSurface): RedisClientConnection {
  return client as unknown as RedisClientConnection;
}

/** The commands of a MULTI transaction that {@link RedisStores} queues (node-redis' multi() chain). */
export interface StoresTransaction {
  del(keys: string | string[]): StoresTransaction;
  unlink(key: string): StoresTransaction;
  geoAdd(key: string, members: Array<{ longitude: number; latitude: number; member: string }>): StoresTransaction;
  zRem(key: string, members: string[]): StoresTransaction;
  hSet(key: string, data: Record<string, string>): StoresTransaction;
  hDel(key: string, fields: string[]): StoresTransaction;
  incr(key: string): StoresTransaction;
  exec(): Promise<unknown>;
}

/** What the reference loaders need of a client besides redis-om's surface. */
export interface ReferenceClient extends RedisOmHashSurface {
  scanIterator(options?: { MATCH?: string; COUNT?: number }): AsyncIterable<string>;
  hSet(key: string, field: string, value: string): Promise<number>;
  geoAdd(key: string, member: { longitude: number; latitude: number; member: string }): Promise<number>;
  del(keys: string | string[]): Promise<number>;
  multi(): StoresTransaction;
}

interface ProfileEntity extends Entity {
  customerId: string;
  tier: string;
  timezone: string;
  consentPush: boolean;
  consentSms: boolean;
  consentEmail: boolean;
  consentInStore: boolean;
  lastPurchaseTs?: number;
}

export const PROFILE_PREFIX = 'ss:profile';

const profileSchema = new Schema<ProfileEntity>(
  PROFILE_PREFIX,
  {
    customerId: { type: 'string' },
    tier: { type: 'string' },
    timezone: { type: 'string' },
    consentPush: { type: 'boolean' },
    consentSms: { type: 'boolean' },
    consentEmail: { type: 'boolean' },
    consentInStore: { type: 'boolean' },
    lastPurchaseTs: { type: 'number' },
  },
  { dataStructure: 'HASH' },
);

function toEntity(p: CustomerProfile): ProfileEntity {
  const e: ProfileEntity = {
    customerId: p.customerId,
    tier: p.tier,
    timezone: p.timezone,
    consentPush: p.consent.push,
    consentSms: p.consent.sms,
    consentEmail: p.consent.email,
    consentInStore: p.consent.in_store,
  };
  if (p.lastPurchaseTs !== null) e.lastPurchaseTs = p.lastPurchaseTs;
  return e;
}

function fromEntity(e: ProfileEntity): CustomerProfile | undefined {
  if (typeof e.customerId !== 'string' || e.customerId === '') return undefined; // redis-om returns an empty entity for a missing id
  const r = validate('CustomerProfile', {
    customerId: e.customerId,
    tier: e.tier as Tier,
    timezone: e.timezone,
    consent: { push: e.consentPush === true, sms: e.consentSms === true, email: e.consentEmail === true, in_store: e.consentInStore === true },
    lastPurchaseTs: typeof e.lastPurchaseTs === 'number' ? e.lastPurchaseTs : null,
  });
  return r.ok ? r.value : undefined;
}

/** Customer profiles in Redis, by redis-om. */
export class RedisProfiles {
  private readonly repo: Repository<ProfileEntity>;
  constructor(private readonly client: ReferenceClient) {
    this.repo = new Repository<ProfileEntity>(profileSchema, asRedisOmConnection(client));
  }

  async save(p: CustomerProfile): Promise<void> {
    await this.repo.save(p.customerId, toEntity(p));
  }

  async fetch(customerId: string): Promise<CustomerProfile | undefined> {
    return fromEntity(await this.repo.fetch(customerId));
  }

  /** The profiles of these customers that exist, in one round trip. */
  async fetchMany(customerIds: readonly string[]): Promise<Map<string, CustomerProfile>> {
    const out = new Map<string, CustomerProfile>();
    if (customerIds.length === 0) return out;
    for (const e of await this.repo.fetch([...customerIds])) {
      const p = fromEntity(e);
      if (p !== undefined) out.set(p.customerId, p);
    }
    return out;
  }

  /** Every profile (SCAN over the prefix, then fetched by id in chunks). */
  async all(): Promise<CustomerProfile[]> {
    const ids: string[] = [];
    for await (const key of this.client.scanIterator({ MATCH: `${PROFILE_PREFIX}:*`, COUNT: 1000 })) ids.push(key.slice(PROFILE_PREFIX.length + 1));
    ids.sort();
    const out: CustomerProfile[] = [];
    for (let i = 0; i < ids.length; i += 500) out.push(...(await this.fetchMany(ids.slice(i, i + 500))).values());
    return out;
  }
}

/** Where {@link ProfileCache} loads profiles from: a batch of ids in one round trip; absent ids are left out. */
export interface ProfileSource {
  fetchMany(customerIds: readonly string[]): Promise<Map<string, CustomerProfile>>;
}

export interface ProfileCacheOptions {
  /** Profiles kept at most, least recently used evicted (default 100,000). */
  readonly capacity?: number;
  /** After this long a profile is read again on its customer's next record (default 60 s): updates apply live. */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

interface CachedProfile {
  /** null: the customer has no profile (remembered too, so that it is not asked for on every record). */
  readonly profile: CustomerProfile | null;
  readonly loadedAt: number;
}

/**
 * The profiles the pipelines read synchronously, loaded on demand: before a batch is pushed, the
 * job {@link prefetch}es the profiles of its records' customers that are not cached or are older
 * than `ttlMs`, in one Redis round trip per 500. Memory is bounded by `capacity` (least recently
 * used first out), not by the number of customers in Redis.
 *
 * A timer that fires later for a customer (a cart left behind for 30 minutes) reads the profile
 * loaded with the customer's last record; keep `capacity` above the customers active within the
 * longest scene window. A lookup of a customer whose profile is not cached counts as a miss
 * ({@link misses}) and reads as no profile (no consent: nothing is sent).
 */
export class ProfileCache implements ProfileLookup {
  private readonly map = new Map<string, CachedProfile>();
  private readonly capacity: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** Lookups of a customer whose profile was never loaded or was evicted. */
  misses = 0;

  constructor(private readonly source: ProfileSource, o: ProfileCacheOptions = {}) {
    this.capacity = o.capacity ?? 100_000;
    this.ttlMs = o.ttlMs ?? 60_000;
    this.now = o.now ?? Date.now;
    if (!(Number.isSafeInteger(this.capacity) && this.capacity >= 1)) throw ssError('SS_ERR_CONFIG', `profile cache capacity must be an integer >= 1, got ${this.capacity}`, { field: 'PROFILES_CACHE_SIZE' });
  }

  get(customerId: string): CustomerProfile | undefined {
    const e = this.map.get(customerId);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    // Most recently used last: Map keeps insertion order.
    this.map.delete(customerId);
    this.map.set(customerId, e);
    return e.profile ?? undefined;
  }

  get size(): number {
    return this.map.size;
  }

  /** Loads the profiles of these customers that are not cached or have expired. */
  async prefetch(customerIds: Iterable<string>): Promise<void> {
    const now = this.now();
    const wanted = new Set<string>();
    for (const id of customerIds) {
      const e = this.map.get(id);
      if (e === undefined || now - e.loadedAt >= this.ttlMs) wanted.add(id);
    }
    const ids = [...wanted];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const found = await this.source.fetchMany(chunk);
      for (const id of chunk) {
        this.map.delete(id);
        this.map.set(id, { profile: found.get(id) ?? null, loadedAt: now });
      }
    }
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
  }
}

export const STORES_GEO = 'ss:stores:geo';
export const STORES_HASH = 'ss:stores';
/** A counter every change of the store catalogue increments, so that running jobs notice it. */
export const STORES_VERSION = 'ss:stores:version';

/** A store record in Redis that is not a valid Store: left out of the catalogue, with the reason. */
export interface RejectedStore {
  readonly storeId: string;
  /** The record as stored. */
  readonly raw: string;
  readonly error: ScenestreamError;
}

/** The catalogue as read: the valid stores (by storeId) and the records rejected. */
export interface StoresRead {
  readonly stores: Store[];
  readonly rejected: RejectedStore[];
}

/**
 * Parses and validates one record of a reference hash (stores, products): JSON of the schema,
 * filed under its own id. Errors name the table, the id and the field (`stores.s1.lat`).
 */
function parseRecord<N extends 'Store' | 'Product'>(schema: N, noun: string, table: string, idOf: (v: SchemaTypes[N]) => string, id: string, raw: string): { ok: true; value: SchemaTypes[N] } | { ok: false; error: ScenestreamError } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    return { ok: false, error: ssError('SS_ERR_DECODE', `${noun} ${id} in Redis is not JSON: ${e instanceof Error ? e.message : String(e)}`, { field: `${table}.${id}` }) };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, error: ssError('SS_ERR_VALIDATION', `${noun} ${id} in Redis is not a JSON object`, { field: `${table}.${id}` }) };
  const r = fromJson(schema, json);
  if (!r.ok) return { ok: false, error: ssError('SS_ERR_VALIDATION', `${noun} ${id} in Redis is invalid: ${r.error.message}`, { field: `${table}.${id}${r.error.field !== undefined ? `.${r.error.field}` : ''}` }) };
  const own = idOf(r.value);
  if (own !== id) return { ok: false, error: ssError('SS_ERR_VALIDATION', `${noun} ${id} in Redis has ${schema === 'Store' ? 'storeId' : 'productId'} '${own}'`, { field: `${table}.${id}.${schema === 'Store' ? 'storeId' : 'productId'}` }) };
  return { ok: true, value: r.value };
}

/** Parses and validates one store record of the hash; its field must be its storeId. */
export function parseStoreRecord(storeId: string, raw: string): { ok: true; value: Store } | { ok: false; error: ScenestreamError } {
  return parseRecord('Store', 'store', 'stores', (s) => s.storeId, storeId, raw);
}

/** Parses and validates one product record of the hash; its field must be its productId. */
export function parseProductRecord(productId: string, raw: string): { ok: true; value: Product } | { ok: false; error: ScenestreamError } {
  return parseRecord('Product', 'product', 'products', (p) => p.productId, productId, raw);
}

/** Every record of a reference hash, valid ones parsed, invalid ones rejected (never thrown), by id. */
function readHash<T>(raw: Record<string, string>, parse: (id: string, raw: string) => { ok: true; value: T } | { ok: false; error: ScenestreamError }): { rows: T[]; rejected: RejectedRow[] } {
  const rows: T[] = [];
  const rejected: RejectedRow[] = [];
  for (const id of Object.keys(raw).sort()) {
    const r = parse(id, raw[id]!);
    if (r.ok) rows.push(r.value);
    else rejected.push({ id, raw: raw[id]!, error: r.error });
  }
  return { rows, rejected };
}

/**
 * Stores in Redis, the source of truth of the store catalogue: a GEO set (positions), a hash (each
 * store's JSON by storeId) and a version counter ({@link STORES_VERSION}). Every write here is one
 * MULTI transaction that also increments the version, so a reader never sees half a change and a
 * running job ({@link StoreFeed}) notices it by polling the counter. A hand edit of the hash must
 * increment the counter too (`INCR ss:stores:version`) to be picked up.
 */
export class RedisStores {
  constructor(private readonly client: ReferenceClient) {}

  /** Makes `stores` the whole catalogue (stores not in it are removed), in one transaction. */
  async replaceAll(stores: readonly Store[]): Promise<void> {
    const tx = this.client.multi().del([STORES_GEO, STORES_HASH]);
    if (stores.length > 0) {
      tx.geoAdd(STORES_GEO, stores.map((s) => ({ longitude: s.lon, latitude: s.lat, member: s.storeId })));
      tx.hSet(STORES_HASH, Object.fromEntries(stores.map((s) => [s.storeId, JSON.stringify(s)])));
    }
    await tx.incr(STORES_VERSION).exec();
  }

  /** Adds a store or replaces its details. */
  async upsert(store: Store): Promise<void> {
    await this.client
      .multi()
      .geoAdd(STORES_GEO, [{ longitude: store.lon, latitude: store.lat, member: store.storeId }])
      .hSet(STORES_HASH, { [store.storeId]: JSON.stringify(store) })
      .incr(STORES_VERSION)
      .exec();
  }

  /** Removes a store. */
  async remove(storeId: string): Promise<void> {
    await this.client.multi().zRem(STORES_GEO, [storeId]).hDel(STORES_HASH, [storeId]).incr(STORES_VERSION).exec();
  }

  /** The catalogue's version counter (0 before any write). */
  async version(): Promise<number> {
    return Number((await this.client.get(STORES_VERSION)) ?? 0);
  }

  /** Every store, valid ones by storeId, invalid records rejected with the reason (never thrown). */
  async read(): Promise<StoresRead> {
    const { rows, rejected } = readHash(await this.client.hGetAll(STORES_HASH), parseStoreRecord);
    return { stores: rows, rejected: rejected.map((r) => ({ storeId: r.id, raw: r.raw, error: r.error })) };
  }

  /** Every store; an invalid record is `SS_ERR_CONFIG` (see {@link read} for the lenient reading). */
  async all(): Promise<Store[]> {
    const { stores, rejected } = await this.read();
    const bad = rejected[0];
    if (bad !== undefined) throw ssError('SS_ERR_CONFIG', bad.error.message, { field: `stores.${bad.storeId}`, cause: bad.error });
    return stores;
  }
}

export const PRODUCTS_HASH = 'ss:products';
/** A counter every change of the product catalogue increments, so that running jobs notice it. */
export const PRODUCTS_VERSION = 'ss:products:version';

/** What {@link RedisProducts} needs of a client. */
export interface ProductsClient {
  get(key: string): Promise<string | null>;
  hGetAll(key: string): Promise<Record<string, string>>;
  multi(): ProductsTransaction;
}

/** The commands of a MULTI transaction that {@link RedisProducts} queues. */
export interface ProductsTransaction {
  del(keys: string | string[]): ProductsTransaction;
  hSet(key: string, data: Record<string, string>): ProductsTransaction;
  hDel(key: string, fields: string[]): ProductsTransaction;
  incr(key: string): ProductsTransaction;
  exec(): Promise<unknown>;
}

/**
 * The product catalogue in Redis (the Redis form of issue 13's catalogue): each product's JSON in
 * the hash {@link PRODUCTS_HASH} by productId, and a version counter {@link PRODUCTS_VERSION} that
 * every write here increments in the same MULTI transaction, so a running job's feed notices it.
 * A hand edit of the hash must increment the counter too.
 */
export class RedisProducts {
  constructor(private readonly client: ProductsClient) {}

  /** Makes `products` the whole catalogue (products not in it are removed), in one transaction. */
  async replaceAll(products: readonly Product[]): Promise<void> {
    const tx = this.client.multi().del([PRODUCTS_HASH]);
    if (products.length > 0) tx.hSet(PRODUCTS_HASH, Object.fromEntries(products.map((p) => [p.productId, toJson('Product', p)])));
    await tx.incr(PRODUCTS_VERSION).exec();
  }

  /** Adds a product or replaces its details. */
  async upsert(product: Product): Promise<void> {
    await this.client.multi().hSet(PRODUCTS_HASH, { [product.productId]: toJson('Product', product) }).incr(PRODUCTS_VERSION).exec();
  }

  /** Removes a product. */
  async remove(productId: string): Promise<void> {
    await this.client.multi().hDel(PRODUCTS_HASH, [productId]).incr(PRODUCTS_VERSION).exec();
  }

  /** The catalogue's version counter (0 before any write). */
  async version(): Promise<number> {
    return Number((await this.client.get(PRODUCTS_VERSION)) ?? 0);
  }

  /** Every product, valid ones by productId, invalid records rejected with the reason (never thrown). */
  async read(): Promise<ReferenceRead<Product>> {
    return readHash(await this.client.hGetAll(PRODUCTS_HASH), parseProductRecord);
  }
}
