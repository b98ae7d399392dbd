import { describe, expect, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import { Dependencies, redactUrl } from './dependencies.js';

function setup(intervalMs = 30_000) {
  let now = 1_000;
  const logs: string[] = [];
  const gauge: Record<string, boolean> = {};
  let failures = 0;
  const deps = new Dependencies({
    log: (level, msg) => logs.push(`${level}: ${msg}`),
    logIntervalMs: intervalMs,
    now: () => now,
    observer: { up: (s, up) => void (gauge[s] = up), failure: () => void failures++ },
  });
  deps.register('redis', 'redis://127.0.0.1:6379');
  deps.register('kafka', '127.0.0.1:9092');
  return { deps, logs, gauge, failures: () => failures, advance: (ms: number) => void (now += ms), now: () => now };
}

describe('Dependencies', () => {
  it('logs an outage once when it starts, once per interval while it lasts, and once when it ends', () => {
    const t = setup();
    for (let i = 0; i < 100; i++) {
      t.deps.down('redis', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
      t.advance(500);
    }
    t.deps.up('redis');
    expect(t.logs).toEqual([
      'error: redis at redis://127.0.0.1:6379 unreachable: connect ECONNREFUSED 127.0.0.1:6379; retrying',
      'error: redis at redis://127.0.0.1:6379 still unreachable after 30 s (61 failed attempts): connect ECONNREFUSED 127.0.0.1:6379',
      'info: redis at redis://127.0.0.1:6379 reachable again after 50 s (100 failed attempts)',
    ]);
    expect(t.failures()).toBe(100);
  });

  it('is ready only while every service is up, and says which is down', () => {
    const t = setup();
    expect(t.deps.ready()).toBe(true);
    t.deps.down('kafka', new Error('Connection error'));
    expect(t.deps.ready()).toBe(false);
    expect(t.deps.downNow()).toEqual(['kafka']);
    expect(t.gauge).toEqual({ redis: true, kafka: false });
    expect(t.deps.state()['kafka']).toMatchObject({ up: false, failures: 1, lastError: 'Connection error', target: '127.0.0.1:9092' });
    t.deps.up('kafka');
    expect(t.deps.ready()).toBe(true);
    expect(t.gauge['kafka']).toBe(true);
  });

  it('reach retries with backoff until the service answers', async () => {
    const t = setup();
    const sleeps: number[] = [];
    let calls = 0;
    const value = await t.deps.reach(
      'kafka',
      async () => {
        if (++calls < 4) throw new Error('connect ECONNREFUSED');
        return 'connected';
      },
      { timeoutMs: 60_000, initialMs: 100, maxMs: 300, sleep: async (ms) => void (sleeps.push(ms), t.advance(ms)) },
    );
    expect(value).toBe('connected');
    expect(sleeps).toEqual([100, 200, 300]);
    expect(t.deps.ready()).toBe(true);
    expect(t.logs.at(-1)).toBe('info: kafka at 127.0.0.1:9092 reachable again after 0.6 s (3 failed attempts)');
  });

  it('reach gives up after its timeout with SS_ERR_SERVICE_UNAVAILABLE naming the service, where, and why', async () => {
    const t = setup();
    const failing = t.deps.reach('redis', async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')), {
      timeoutMs: 5_000,
      initialMs: 1_000,
      maxMs: 1_000,
      sleep: async (ms) => t.advance(ms),
    });
    const error: unknown = await failing.catch((e: unknown) => e);
    expect(isScenestreamError(error, 'SS_ERR_SERVICE_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toBe('SS_ERR_SERVICE_UNAVAILABLE: redis at redis://127.0.0.1:6379 unreachable for 5 s (6 attempts): connect ECONNREFUSED 127.0.0.1:6379');
  });

  it('keeps passwords out of the targets it logs', () => {
    expect(redactUrl('redis://user:secret@redis.internal:6380/2')).toBe('redis://user:***@redis.internal:6380/2');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
