import { describe, expect, it } from 'vitest';
import { LiveStores } from '../../pipelines/stores.js';
import type { Store } from '../../schemas/index.js';
import { parseStoreRecord, type RejectedStore, type StoresRead } from './reference.js';
import { StoreFeed, type StoreSource } from './storeFeed.js';

const store = (storeId: string, lat = 31.23, name = storeId): Store => ({ storeId, name, lat, lon: 121.47, radiusM: 150, timezone: 'Asia/Shanghai' });

/** The catalogue in "Redis": raw records by storeId and a version counter, as RedisStores keeps them. */
class FakeRedis implements StoreSource {
  hash = new Map<string, string>();
  counter = 0;
  reads = 0;
  down = false;
  set(id: string, raw: string): void {
    this.hash.set(id, raw);
    this.counter++;
  }
  put(s: Store): void {
    this.set(s.storeId, JSON.stringify(s));
  }
  del(id: string): void {
    this.hash.delete(id);
    this.counter++;
  }
  version(): Promise<number> {
    return this.down ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve(this.counter);
  }
  read(): Promise<StoresRead> {
    this.reads++;
    const stores: Store[] = [];
    const rejected: RejectedStore[] = [];
    for (const [id, raw] of [...this.hash].sort()) {
      const r = parseStoreRecord(id, raw);
      if (r.ok) stores.push(r.value);
      else rejected.push({ storeId: id, raw, error: r.error });
    }
    return Promise.resolve({ stores, rejected });
  }
}

function feed(redis: FakeRedis, intervalMs = 5) {
  const stores = new LiveStores();
  const logs: string[] = [];
  const rejected: string[] = [];
  const f = new StoreFeed({ source: redis, stores, intervalMs, log: (level, msg) => logs.push(`${level}: ${msg}`), onRejected: (r) => rejected.push(`${r.storeId} ${r.error.code}`) });
  return { f, stores, logs, rejected };
}

describe('StoreFeed (the store catalogue from Redis, live)', () => {
  it('reads the catalogue only when its version moved, and applies adds, moves and removals to the table', async () => {
    const redis = new FakeRedis();
    redis.put(store('s1'));
    const { f, stores, logs } = feed(redis);
    expect(await f.refresh()).toMatchObject({ version: 1, added: [{ storeId: 's1' }] });
    expect(await f.refresh()).toBeUndefined();
    expect(redis.reads).toBe(1);

    redis.put(store('s2'));
    redis.put(store('s1', 31.3));
    redis.del('s0');
    const c = await f.refresh();
    expect(c).toMatchObject({ added: [{ storeId: 's2' }], updated: [{ storeId: 's1', lat: 31.3 }], removed: [] });
    redis.del('s1');
    expect(await f.refresh()).toMatchObject({ removed: ['s1'] });
    expect(stores.all().map((s) => s.storeId)).toEqual(['s2']);
    expect(logs.at(-1)).toBe('info: store catalogue version 5: 1 removed; 1 stores');
  });

  it('rejects an invalid record (logged and reported once), keeping the last valid details of a known store', async () => {
    const redis = new FakeRedis();
    redis.put(store('s1'));
    redis.set('s2', '{"storeId":"s2","name":"Bad","lat":200,"lon":0,"radiusM":150,"timezone":"Asia/Shanghai"}');
    redis.set('s3', 'not json');
    redis.set('s4', JSON.stringify(store('other')));
    const { f, stores, logs, rejected } = feed(redis);
    await f.refresh();
    expect(stores.all().map((s) => s.storeId)).toEqual(['s1']);
    expect(rejected).toEqual(['s2 SS_ERR_VALIDATION', 's3 SS_ERR_DECODE', 's4 SS_ERR_VALIDATION']);
    expect(f.rejected).toBe(3);
    expect(logs.filter((l) => l.startsWith('warn')).join('\n')).toMatch(/store s2 in Redis is invalid: .*lat.*the store is not served/);

    // A bad update of a served store: it keeps its details; logged once however often it is read.
    redis.set('s1', '{"storeId":"s1"}');
    await f.refresh();
    redis.put(store('s5'));
    await f.refresh();
    expect(stores.get('s1')).toEqual(store('s1'));
    expect(rejected).toEqual(['s2 SS_ERR_VALIDATION', 's3 SS_ERR_DECODE', 's4 SS_ERR_VALIDATION', 's1 SS_ERR_VALIDATION']);
    expect(logs.filter((l) => l.includes('store s1 in Redis is invalid'))).toHaveLength(1);
    expect(logs.find((l) => l.includes('store s1 in Redis'))).toContain('the store keeps its last valid details');

    // Fixed: applied, and no longer counted as rejected.
    redis.put(store('s1', 31.5));
    await f.refresh();
    expect(stores.get('s1')!.lat).toBe(31.5);
    expect(f.rejected).toBe(3);
  });

  it('polls on its interval; Redis down keeps the table, is logged once, and polling goes on', async () => {
    const redis = new FakeRedis();
    redis.put(store('s1'));
    const { f, stores, logs } = feed(redis, 5);
    await f.refresh();
    f.start();
    redis.down = true;
    await new Promise((r) => setTimeout(r, 60));
    expect(stores.size).toBe(1);
    expect(logs.filter((l) => l.includes('not refreshed'))).toHaveLength(1);
    redis.down = false;
    redis.put(store('s2'));
    const deadline = Date.now() + 2_000;
    while (stores.size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(stores.size).toBe(2);
    expect(logs).toContain('info: store catalogue: read from Redis again');
    await f.stop();
    redis.put(store('s3'));
    await new Promise((r) => setTimeout(r, 30));
    expect(stores.size).toBe(2);
  });
});
