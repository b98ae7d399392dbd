/**
 * The Redis delivery ledger against the real Redis of testkit/services.setup.ts (127.0.0.1:6379 by
 * default, REDIS_URL otherwise). Keys use a unique prefix and are deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../config.js';
import { RedisLedger } from './ledger.js';

describe('RedisLedger (real Redis)', () => {
  const prefix = `ss-test-${randomUUID().slice(0, 8)}:delivered:`;
  let client: RedisClientType;

  beforeAll(async () => {
    client = createClient({ url: loadServiceConfig().redisUrl });
    await client.connect();
  });

  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(keys);
    await client.quit();
  });

  it('the default key is ss:delivered:{<id>}', () => {
    expect(new RedisLedger(client).keyOf('off_x')).toBe('ss:delivered:{off_x}');
  });

  it('grants one claim per id, with the TTL set, and a release frees it', async () => {
    const ledger = new RedisLedger(client, { prefix, ttlSeconds: 120 });
    const id = `off_${randomUUID()}`;
    expect(await ledger.claim(id)).toBe(true);
    expect(await ledger.claim(id)).toBe(false);
    expect(await client.get(ledger.keyOf(id))).toBe('1');
    const ttl = await client.ttl(ledger.keyOf(id));
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
    await ledger.release(id);
    expect(await client.exists(ledger.keyOf(id))).toBe(0);
    expect(await ledger.claim(id)).toBe(true);
  });

  it('two ledgers (two engine instances) racing for the same ids: exactly one wins each', async () => {
    const a = new RedisLedger(client, { prefix, ttlSeconds: 60 });
    const b = new RedisLedger(client, { prefix, ttlSeconds: 60 });
    const ids = Array.from({ length: 50 }, () => `off_${randomUUID()}`);
    const results = await Promise.all(ids.flatMap((id) => [a.claim(id), b.claim(id)]));
    for (let i = 0; i < ids.length; i++) expect([results[2 * i], results[2 * i + 1]].filter((x) => x === true)).toHaveLength(1);
  });

  it('a claim expires with its TTL', async () => {
    const ledger = new RedisLedger(client, { prefix, ttlSeconds: 1 });
    const id = `off_${randomUUID()}`;
    expect(await ledger.claim(id)).toBe(true);
    // Real Redis expiry: poll, bounded (TTL 1 s; Redis expires keys lazily on access or within ~100 ms).
    const deadline = Date.now() + 5_000;
    let again = false;
    while (!again && Date.now() < deadline) {
      again = await ledger.claim(id);
      if (!again) await new Promise((r) => setTimeout(r, 50));
    }
    expect(again).toBe(true);
  });
});
