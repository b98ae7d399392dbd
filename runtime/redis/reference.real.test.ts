import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../simulator/world.js';
import { loadServiceConfig } from '../config.js';
import { ProfileCache, PROFILE_PREFIX, RedisProfiles, RedisStores, STORES_GEO, STORES_HASH, STORES_VERSION } from './reference.js';

describe('reference data in the real Redis', () => {
  const client = createClient({ url: loadServiceConfig().redisUrl, database: 3 });
  beforeAll(async () => {
    await client.connect();
    await client.flushDb();
  });
  afterAll(async () => {
    await client.flushDb();
    await client.quit();
  });

  it('stores customer profiles as HASHes with redis-om and reads them back exactly, in bulk and by id', async () => {
    const world = generateWorld({ seed: 'reference', customers: 40 });
    const profiles = new RedisProfiles(client);
    for (const p of world.profiles) await profiles.save(p);
    expect(await client.type(`${PROFILE_PREFIX}:${world.profiles[0]!.customerId}`)).toBe('hash');
    const all = await profiles.all();
    expect(all).toEqual([...world.profiles].sort((a, b) => (a.customerId < b.customerId ? -1 : 1)));
    expect(all.some((p) => p.lastPurchaseTs === null)).toBe(true);
    expect(await profiles.fetch('nobody')).toBeUndefined();
    const some = [world.profiles[3]!.customerId, 'nobody', world.profiles[7]!.customerId];
    expect([...(await profiles.fetchMany(some)).keys()]).toEqual([some[0], some[2]]);
    const cache = new ProfileCache(profiles, { capacity: 2 });
    await cache.prefetch(some);
    expect(cache.get(world.profiles[7]!.customerId)).toEqual(world.profiles[7]);
    expect(cache.get('nobody')).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  it('keeps stores in a GEO set with their details, and loads them back', async () => {
    const world = generateWorld({ seed: 'reference', stores: 7 });
    const stores = new RedisStores(client);
    await stores.replaceAll(world.stores);
    expect(await stores.all()).toEqual([...world.stores].sort((a, b) => (a.storeId < b.storeId ? -1 : 1)));
    const s = world.stores[0]!;
    const near = await client.geoSearch(STORES_GEO, { longitude: s.lon, latitude: s.lat }, { radius: 10, unit: 'm' });
    expect(near).toContain(s.storeId);
    expect(await client.hLen(STORES_HASH)).toBe(7);
  });

  it('changes the catalogue in transactions that bump its version: replace, upsert, remove; reads reject invalid records', async () => {
    const world = generateWorld({ seed: 'reference-live', stores: 3 });
    const stores = new RedisStores(client);
    const [a, b, c] = [...world.stores].sort((x, y) => (x.storeId < y.storeId ? -1 : 1)) as [typeof world.stores[0], typeof world.stores[0], typeof world.stores[0]];
    const v0 = await stores.version();
    await stores.replaceAll([a, b]);
    expect(await stores.version()).toBe(v0 + 1);
    await stores.upsert({ ...c, name: 'Added live' });
    await stores.upsert({ ...a, lat: a.lat + 0.01 });
    await stores.remove(b.storeId);
    expect(await stores.version()).toBe(v0 + 4);
    const read = await stores.read();
    expect(read.stores.map((s) => [s.storeId, s.name, s.lat])).toEqual([
      [a.storeId, a.name, a.lat + 0.01],
      [c.storeId, 'Added live', c.lat],
    ]);
    expect(await client.zScore(STORES_GEO, b.storeId)).toBeNull();
    expect(await client.geoPos(STORES_GEO, c.storeId)).toHaveLength(1);

    await client.hSet(STORES_HASH, 'broken', '{"storeId":"broken","lat":1}');
    await client.incr(STORES_VERSION);
    const withBad = await stores.read();
    expect(withBad.stores).toHaveLength(2);
    expect(withBad.rejected.map((r) => [r.storeId, r.error.code])).toEqual([['broken', 'SS_ERR_VALIDATION']]);
    await expect(stores.all()).rejects.toThrow(/store broken in Redis is invalid/);
    await stores.replaceAll([]);
    expect(await client.exists([STORES_GEO, STORES_HASH])).toBe(0);
  });
});
