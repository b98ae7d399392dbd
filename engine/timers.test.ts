import { describe, expect, it } from 'vitest';
import { TimerQueue } from './timers.js';

describe('TimerQueue', () => {
  it('fires in timestamp order, then registration order, and dedupes (ts, key)', () => {
    const q = new TimerQueue();
    q.register(30, 'a');
    q.register(10, 'b');
    q.register(10, 'a');
    expect(q.register(10, 'b')).toBe(false);
    q.register(20, 'c');
    expect(q.size).toBe(4);
    const fired: string[] = [];
    q.fire(20, (ts, k) => fired.push(`${ts}:${k}`));
    expect(fired).toEqual(['10:b', '10:a', '20:c']);
    expect(q.size).toBe(1);
    expect(q.peek()).toBe(30);
  });

  it('deletes timers and skips emptied timestamps', () => {
    const q = new TimerQueue();
    q.register(5, 'a');
    q.register(6, 'b');
    expect(q.delete(5, 'a')).toBe(true);
    expect(q.delete(5, 'a')).toBe(false);
    expect(q.peek()).toBe(6);
    const fired: string[] = [];
    q.fire(100, (_, k) => fired.push(k));
    expect(fired).toEqual(['b']);
    expect(q.size).toBe(0);
  });

  it('fires timers registered by a callback when they are due in the same call', () => {
    const q = new TimerQueue();
    q.register(1, 'a');
    const fired: string[] = [];
    q.fire(10, (ts, k) => {
      fired.push(`${ts}:${k}`);
      if (k === 'a') {
        q.register(5, 'b');
        q.register(50, 'c');
      }
    });
    expect(fired).toEqual(['1:a', '5:b']);
    expect(q.entries()).toEqual([[50, 'c']]);
  });

  it('keeps heap order under many random operations', () => {
    const q = new TimerQueue();
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const expected = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const ts = Math.floor(rnd() * 1000);
      const key = `k${Math.floor(rnd() * 300)}`;
      if (q.register(ts, key)) expected.set(`${ts}|${key}`, ts);
      if (rnd() < 0.2) {
        const [id] = [...expected.keys()].slice(-1);
        if (id !== undefined) {
          const [t, k] = id.split('|');
          q.delete(Number(t), k!);
          expected.delete(id);
        }
      }
    }
    const seen: number[] = [];
    q.fire(Infinity, (ts) => seen.push(ts));
    expect(seen.length).toBe(expected.size);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });
});

describe('TimerQueue with many keys at one timestamp', () => {
  it('lets a callback delete a key of the timestamp being fired, and fires the rest once each', () => {
    const q = new TimerQueue();
    for (const k of ['a', 'b', 'c', 'd']) q.register(10, k);
    const fired: string[] = [];
    q.fire(10, (_ts, k) => {
      fired.push(k);
      if (k === 'a') expect(q.delete(10, 'c')).toBe(true);
      if (k === 'b') expect(q.has(10, 'd')).toBe(true);
    });
    expect(fired).toEqual(['a', 'b', 'd']);
    expect(q.size).toBe(0);
  });

  it('fires every one of many keys of one timestamp exactly once, in registration order', () => {
    const q = new TimerQueue();
    const n = 200_000;
    for (let i = 0; i < n; i++) q.register(5, `k${i}`);
    let expected = 0;
    let inOrder = true;
    q.fire(5, (_ts, k) => {
      if (k !== `k${expected++}`) inOrder = false;
    });
    expect([expected, inOrder, q.size]).toEqual([n, true, 0]);
  });
});
