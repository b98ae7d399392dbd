import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../engine/clock.js';
import { MemoryLedger, RedisLedger, type RedisLedgerClient } from './ledger.js';

describe('MemoryLedger', () => {
  it('grants the first claim of an id only, until it is released', async () => {
    const l = new MemoryLedger({ clock: new VirtualClock(0) });
    expect(await l.claim('off_1')).toBe(true);
    expect(await l.claim('off_1')).toBe(false);
    expect(await l.claim('off_2')).toBe(true);
    await l.release('off_1');
    expect(await l.claim('off_1')).toBe(true);
    expect(await l.claim('off_1')).toBe(false);
  });

  it('forgets a claim after its TTL, not a millisecond before', async () => {
    const clock = new VirtualClock(1_000);
    const l = new MemoryLedger({ ttlMs: 500, clock });
    expect(await l.claim('a')).toBe(true);
    clock.advance(499);
    expect(await l.claim('a')).toBe(false);
    clock.advance(1);
    expect(await l.claim('a')).toBe(true);
    expect(l.size).toBe(1);
  });

  it('stays bounded: the oldest claim goes first when full', async () => {
    const l = new MemoryLedger({ maxEntries: 3, clock: new VirtualClock(0) });
    for (const id of ['a', 'b', 'c', 'd']) expect(await l.claim(id)).toBe(true);
    expect(l.size).toBe(3);
    expect(await l.claim('b')).toBe(false);
    expect(await l.claim('d')).toBe(false);
    expect(await l.claim('a')).toBe(true); // 'a' was evicted to make room for 'd'
  });

  it('rejects nonsense bounds at construction', () => {
    expect(() => new MemoryLedger({ maxEntries: 0 })).toThrow(/SS_ERR_CONFIG: maxEntries/);
    expect(() => new MemoryLedger({ ttlMs: 1.5 })).toThrow(/SS_ERR_CONFIG: ttlMs/);
  });
});

describe('RedisLedger (commands, against a fake client)', () => {
  it('claims with SET <prefix>{id} 1 NX EX ttl and releases with DEL; Redis errors become SS_ERR_SERVICE_UNAVAILABLE', async () => {
    const sent: string[] = [];
    const keys = new Set<string>();
    let down = false;
    const client: RedisLedgerClient = {
      set: (key, value, o) => {
        sent.push(`SET ${key} ${value} NX=${String(o?.NX)} EX=${o?.EX}`);
        if (down) return Promise.reject(new Error('ECONNREFUSED'));
        if (keys.has(key)) return Promise.resolve(null);
        keys.add(key);
        return Promise.resolve('OK');
      },
      get: () => Promise.resolve(null),
      del: (key) => {
        sent.push(`DEL ${key}`);
        return Promise.resolve(keys.delete(key) ? 1 : 0);
      },
    };
    let trips = 0;
    const l = new RedisLedger(client, { ttlSeconds: 60, onRoundTrip: () => trips++ });
    expect(await l.claim('off_1')).toBe(true);
    expect(await l.claim('off_1')).toBe(false);
    await l.release('off_1');
    expect(sent).toEqual(['SET ss:delivered:{off_1} 1 NX=true EX=60', 'SET ss:delivered:{off_1} 1 NX=true EX=60', 'DEL ss:delivered:{off_1}']);
    expect(trips).toBe(3);
    down = true;
    await expect(l.claim('off_2')).rejects.toMatchObject({ code: 'SS_ERR_SERVICE_UNAVAILABLE', retryable: true });
    expect(() => new RedisLedger(client, { ttlSeconds: 0 })).toThrow(/SS_ERR_CONFIG: ttlSeconds/);
  });

  it('with rebuild: a lost memory (marker gone) is rebuilt from the ids given before any claim, so nothing claimed before the loss is claimed again', async () => {
    const store = new Map<string, string>();
    const client: RedisLedgerClient = {
      set: (key, value, o) => {
        if (o?.NX === true && store.has(key)) return Promise.resolve(null);
        store.set(key, value);
        return Promise.resolve('OK');
      },
      get: (key) => Promise.resolve(store.get(key) ?? null),
      del: (key) => Promise.resolve(store.delete(key) ? 1 : 0),
    };
    // What the offers topic holds: every offer produced (an offer is produced before it is delivered).
    const produced = ['off_1', 'off_2', 'off_3'];
    const rebuilt: Array<[number, string]> = [];
    const ledger = () => new RedisLedger(client, { rebuild: () => Promise.resolve(produced), onRebuilt: (n, why) => void rebuilt.push([n, why]) });
    const a = ledger();
    await a.beforeBatch();
    expect(rebuilt).toEqual([[3, 'its marker is missing (Redis lost its data, or this is the first start)']]);
    expect(await a.claim('off_1')).toBe(false); // produced before: maybe delivered, never again
    expect(await a.claim('off_4')).toBe(true);
    await a.beforeBatch(); // the marker is there: one GET, nothing rebuilt
    expect(rebuilt).toHaveLength(1);

    // Redis restarted empty: every claim is gone, the marker too.
    store.clear();
    produced.push('off_4');
    const b = ledger(); // a second instance, which sees the loss first
    await b.beforeBatch();
    expect(await b.claim('off_4')).toBe(false);
    // The first instance sees a marker it does not know: another instance rebuilt after a loss; it rebuilds too.
    await a.beforeBatch();
    expect(rebuilt.map(([n, why]) => `${n} ${why}`)).toEqual([
      '3 its marker is missing (Redis lost its data, or this is the first start)',
      '4 its marker is missing (Redis lost its data, or this is the first start)',
      '4 another instance rebuilt it after a loss',
    ]);
    expect(await a.claim('off_1')).toBe(false);
    expect(await a.claim('off_5')).toBe(true);
  });
});
