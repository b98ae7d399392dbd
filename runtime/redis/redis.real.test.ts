/**
 * Smoke test against a real Redis (see testkit/services.setup.ts): plain commands through
 * `@redis/client`, and a customer profile through redis-om stored as a HASH. The local Redis has no
 * RediSearch or RedisJSON module, so nothing here creates an index or searches.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';
import { EntityId, EntityKeyName, Repository, Schema, type Entity } from 'redis-om';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../config.js';
import { asRedisOmConnection } from './reference.js';

interface Profile extends Entity {
  customerId: string;
  tier: string;
  timezone: string;
  pushConsent: boolean;
  lifetimeValue: number;
  lastPurchase: Date;
  favouriteCategories: string[];
}

describe('Redis (real server)', () => {
  const prefix = `ss-smoke-${randomUUID().slice(0, 8)}`;
  const key = (name: string): string => `${prefix}:${name}`;
  let client: RedisClientType;

  beforeAll(async () => {
    client = createClient({ url: loadServiceConfig().redisUrl });
    client.on('error', () => undefined); // surfaced through the failing command instead
    await client.connect();
  });

  afterAll(async () => {
    if (client === undefined || !client.isOpen) return;
    const leftovers: string[] = [];
    for await (const k of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 100 })) leftovers.push(k);
    if (leftovers.length > 0) await client.del(leftovers);
    await client.quit();
  });

  it('round-trips strings, hashes, a MULTI transaction and expiry', async () => {
    expect(await client.set(key('greeting'), 'hello')).toBe('OK');
    expect(await client.get(key('greeting'))).toBe('hello');
    expect(await client.get(key('absent'))).toBeNull();

    await client.hSet(key('cart'), { sku1: '2', sku2: '1' });
    expect(await client.hIncrBy(key('cart'), 'sku1', 3)).toBe(5);
    expect(await client.hGetAll(key('cart'))).toEqual({ sku1: '5', sku2: '1' });

    const replies = await client
      .multi()
      .set(key('tx:a'), 'A')
      .incrBy(key('tx:counter'), 10)
      .hSet(key('tx:h'), 'f', 'v')
      .expire(key('tx:a'), 60)
      .exec();
    expect(replies).toEqual(['OK', 10, 1, true]);
    expect(await client.mGet([key('tx:a'), key('tx:counter')])).toEqual(['A', '10']);

    const ttl = await client.ttl(key('tx:a'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await client.ttl(key('greeting'))).toBe(-1); // no expiry set

    // An expiry in the past removes the key at once; no waiting on the wall clock.
    expect(await client.pExpireAt(key('greeting'), Date.now() - 1_000)).toBe(true);
    expect(await client.exists(key('greeting'))).toBe(0);
  });

  it('saves and fetches a customer profile with redis-om (HASH), with expiry', async () => {
    const schema = new Schema<Profile>(
      key('profile'),
      {
        customerId: { type: 'string' },
        tier: { type: 'string' },
        timezone: { type: 'string' },
        pushConsent: { type: 'boolean' },
        lifetimeValue: { type: 'number' },
        lastPurchase: { type: 'date' },
        favouriteCategories: { type: 'string[]' },
      },
      { dataStructure: 'HASH' },
    );
    const profiles = new Repository<Profile>(schema, asRedisOmConnection(client));

    const profile: Profile = {
      customerId: 'c-42',
      tier: 'gold',
      timezone: 'Europe/Berlin',
      pushConsent: true,
      lifetimeValue: 1234.5,
      lastPurchase: new Date('2024-11-29T10:15:00.000Z'),
      favouriteCategories: ['shoes', 'outdoor'],
    };
    const saved = await profiles.save('c-42', profile);
    expect(saved[EntityId]).toBe('c-42');
    expect(saved[EntityKeyName]).toBe(key('profile:c-42'));
    expect(await client.type(key('profile:c-42'))).toBe('hash');

    const fetched = await profiles.fetch('c-42');
    expect(fetched).toEqual({ ...profile, [EntityId]: 'c-42', [EntityKeyName]: key('profile:c-42') });

    await profiles.expire('c-42', 120);
    const ttl = await client.ttl(key('profile:c-42'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);

    // An unknown id is not an error: it comes back empty (string[] fields as []), so check existence yourself.
    expect(await profiles.fetch('nobody')).toEqual({
      favouriteCategories: [],
      [EntityId]: 'nobody',
      [EntityKeyName]: key('profile:nobody'),
    });

    await profiles.remove('c-42');
    expect(await client.exists(key('profile:c-42'))).toBe(0);
  });
});
