import { describe, expect, it } from 'vitest';
import type { CustomerProfile } from '../../schemas/index.js';
import { ProfileCache, type ProfileSource } from './reference.js';

const profile = (customerId: string, tier: CustomerProfile['tier'] = 'basic'): CustomerProfile => ({
  customerId,
  tier,
  timezone: 'Europe/London',
  consent: { push: true, sms: false, email: false, in_store: true },
  lastPurchaseTs: null,
});

function source(initial: CustomerProfile[]) {
  const db = new Map(initial.map((p) => [p.customerId, p]));
  const asked: string[][] = [];
  const s: ProfileSource = {
    fetchMany: async (ids) => {
      asked.push([...ids]);
      return new Map(ids.filter((id) => db.has(id)).map((id) => [id, db.get(id)!]));
    },
  };
  return { s, db, asked };
}

describe('ProfileCache', () => {
  it('loads only what is not cached, remembers customers without a profile, and counts lookups of unloaded ones as misses', async () => {
    const { s, asked } = source([profile('a'), profile('b')]);
    const cache = new ProfileCache(s);
    await cache.prefetch(['a', 'x', 'a']);
    await cache.prefetch(['a', 'b', 'x']);
    expect(asked).toEqual([['a', 'x'], ['b']]);
    expect(cache.get('a')).toEqual(profile('a'));
    expect(cache.get('x')).toBeUndefined();
    expect(cache.misses).toBe(0);
    expect(cache.get('never')).toBeUndefined();
    expect(cache.misses).toBe(1);
  });

  it('reads a profile again once it is older than its ttl: updates apply live', async () => {
    let now = 0;
    const { s, db } = source([profile('a')]);
    const cache = new ProfileCache(s, { ttlMs: 1_000, now: () => now });
    await cache.prefetch(['a']);
    db.set('a', profile('a', 'gold'));
    now = 999;
    await cache.prefetch(['a']);
    expect(cache.get('a')?.tier).toBe('basic');
    now = 1_000;
    await cache.prefetch(['a']);
    expect(cache.get('a')?.tier).toBe('gold');
  });

  it('keeps at most capacity profiles, evicting the least recently used', async () => {
    const { s } = source(['a', 'b', 'c', 'd'].map((id) => profile(id)));
    const cache = new ProfileCache(s, { capacity: 3 });
    await cache.prefetch(['a', 'b', 'c']);
    cache.get('a'); // a is now the most recently used
    await cache.prefetch(['d']);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('d')).toBeDefined();
  });
});
