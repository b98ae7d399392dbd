import type { Message } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { chunkMessages, heartbeating } from './job.js';

const msg = (i: number, bytes: number): Message => ({ key: `k${i}`, value: Buffer.alloc(bytes), headers: { 'ss-id': `id-${i}` } });

describe('chunkMessages', () => {
  it('splits produce requests under the byte bound, keeping every message once and in order per topic', () => {
    const a = Array.from({ length: 1000 }, (_, i) => msg(i, 100));
    const b = Array.from({ length: 10 }, (_, i) => msg(i, 50));
    const requests = chunkMessages(new Map([['a', a], ['b', b]]), 10_000);
    expect(requests.length).toBeGreaterThan(10);
    for (const r of requests) {
      const size = r.flatMap((e) => e.messages).reduce((s, m) => s + (m.value as Buffer).length, 0);
      expect(size).toBeLessThanOrEqual(10_000);
    }
    expect(requests.flatMap((r) => r.filter((e) => e.topic === 'a').flatMap((e) => e.messages))).toEqual(a);
    expect(requests.flatMap((r) => r.filter((e) => e.topic === 'b').flatMap((e) => e.messages))).toEqual(b);
  });

  it('sends a message bigger than the bound alone, and small batches in one request', () => {
    const big = msg(0, 50_000);
    expect(chunkMessages(new Map([['a', [msg(1, 10), big, msg(2, 10)]]]), 10_000).map((r) => r[0]!.messages.length)).toEqual([1, 1, 1]);
    expect(chunkMessages(new Map([['a', [msg(1, 10)]], ['b', [msg(2, 10)]]]), 10_000)).toHaveLength(1);
  });
});

describe('heartbeating', () => {
  it('heartbeats every second while a delivery runs, survives a failed heartbeat, and stops with it', async () => {
    vi.useFakeTimers();
    try {
      let beats = 0;
      const heartbeat = async () => {
        beats++;
        if (beats === 2) throw new Error('rebalance in progress');
      };
      const done = heartbeating(heartbeat, () => new Promise<string>((r) => setTimeout(() => r('delivered'), 3_500)));
      await vi.advanceTimersByTimeAsync(3_500);
      expect(await done).toBe('delivered');
      expect(beats).toBe(3);
      await vi.advanceTimersByTimeAsync(5_000);
      expect(beats).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
