import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../simulator/world.js';
import { loadServiceConfig } from '../config.js';
import { ProfileCache, PROFILE_PREFIX, RedisProfiles, RedisStores, STORES_GEO, STORES_HASH } from './reference.js';

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
});
