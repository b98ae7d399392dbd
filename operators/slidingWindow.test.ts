import { describe, expect, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import type { Aggregator, EmitMode } from '../engine/windows.js';
import { isScenestreamError } from '../schemas/errors.js';
import { TestDriver } from '../testkit/driver.js';
import { slidingWindow } from './slidingWindow.js';

interface Ev {
  readonly k: string;
  readonly v: string;
  readonly ts: number;
}
const ev = (k: string, v: string, ts: number): Ev => ({ k, v, ts });

/** `[key, start, end, value, ts]`. */
type Row = readonly [string, number, number, unknown, number];

const count: Aggregator<Ev, number> = { init: () => 0, add: (n) => n + 1 };
/** Mutates its accumulator in place: windows built from other windows must get copies. */
const letters: Aggregator<Ev, string[]> = {
  init: () => [],
  add: (acc, e) => {
    acc.push(e.v);
    acc.sort();
    return acc;
  },
};

function build<A>(emit: EmitMode, timeDifferenceMs: number, graceMs: number, agg: Aggregator<Ev, A>) {
  const p = pipeline('sliding');
  const res = p
    .keyedSource<Ev>('in', { key: (e) => e.k, timestamp: (e) => e.ts })
    .window(slidingWindow({ timeDifferenceMs, graceMs }))
    .aggregate('w', agg, { emit });
  res.map((w, ts): Row => [w.key, w.start, w.end, structuredClone(w.value), ts]).to('out');
  res.late().to('late');
  const d = TestDriver.of(p);
  return {
    d,
    push: (...es: Ev[]) => {
      for (const e of es) d.push('in', e);
    },
    take: (): Row[] => {
      const out = d.values<Row>('out').slice();
      d.records('out').length = 0;
      return out;
    },
    late: () => d.values<Ev>('late'),
  };
}

describe('slidingWindow', () => {
  it('includes both ends: a record exactly d later shares a window, one ms later it does not', () => {
    const s = build('onUpdate', 10, 100, count);
    s.push(ev('a', 'x', 10));
    expect(s.take()).toEqual([['a', 0, 10, 1, 10]]);
    s.push(ev('a', 'y', 20)); // 10's right window [11,21] is created; 20's left window [10,20] holds both
    expect(s.take()).toEqual([
      ['a', 11, 21, 1, 20],
      ['a', 10, 20, 2, 20],
    ]);
    s.push(ev('a', 'z', 21)); // [11,21] is 21's left window: 20 and 21, not 10
    expect(s.take()).toEqual([
      ['a', 11, 21, 2, 21],
      ['a', 21, 31, 1, 21],
    ]);
  });

  it('creates once the window that is both the previous record’s right window and this one’s left window', () => {
    const s = build('onClose', 10, 0, count);
    s.push(ev('a', '', 20), ev('a', '', 26));
    s.push(ev('a', '', 37)); // 26's right window [27,37] is 37's left window (Kafka puts it twice)
    s.d.end();
    const rows = s.take();
    expect(rows.filter((r) => r[1] === 27)).toEqual([['a', 27, 37, 1, 37]]);
    expect(rows.map((r) => r[1])).toEqual([10, 16, 21, 27]);
  });

  it('puts records earlier than d into the shared window [0, d]', () => {
    const s = build('onUpdate', 10, 100, count);
    s.push(ev('a', 'x', 3), ev('a', 'y', 7));
    expect(s.take()).toEqual([
      ['a', 0, 10, 1, 3],
      ['a', 4, 14, 1, 7], // 3's right window
      ['a', 0, 10, 2, 7],
    ]);
  });

  it('closes exactly at W = end + grace: one ms before, late records still count', () => {
    const s = build('onClose', 10, 5, count);
    s.push(ev('a', '', 20)); // [10,20]
    s.push(ev('b', '', 24)); // W = 23
    s.push(ev('a', '', 19)); // [9,19] created (19 + 5 > 23), [10,20] updated, right window [20,30]
    s.push(ev('b', '', 25)); // W = 24: [9,19] closes
    expect(s.take()).toEqual([['a', 9, 19, 1, 19]]);
    s.push(ev('a', '', 15)); // W = 24 < 20 + 5: [10,20] still takes it; its left window [5,15] is closed
    expect(s.late()).toEqual([]);
    s.push(ev('b', '', 26)); // W = 25 = 20 + 5: [10,20] closes with 15, 19 and 20
    expect(s.take()).toEqual([['a', 10, 20, 3, 20]]);
    s.push(ev('a', '', 14)); // all its windows ([4,14], [10,20]) are closed: late, though 14 + 10 + 5 > 25
    expect(s.late()).toEqual([ev('a', '', 14)]);
    s.push(ev('a', '', 5)); // 5 + 10 + 5 <= 25: late before any window is looked at
    expect(s.late()).toEqual([ev('a', '', 14), ev('a', '', 5)]);
    expect(s.d.executor.stats()['w']?.['late_records']).toBe(2);
  });

  it('fires when complete under onWatermark, and again for late records within grace', () => {
    const s = build('onWatermark', 10, 10, count);
    s.push(ev('a', '', 20));
    expect(s.take()).toEqual([]);
    s.push(ev('b', '', 21)); // W = 20 >= end of [10,20]
    expect(s.take()).toEqual([['a', 10, 20, 1, 20]]);
    s.push(ev('a', '', 12)); // late within grace: [10,20] fires again; [2,12] is created complete and fires now
    expect(s.take()).toEqual([
      ['a', 10, 20, 2, 20],
      ['a', 2, 12, 1, 12],
    ]);
  });

  it('survives snapshot, restore (through JSON) and continues', () => {
    const make = () => build('onUpdate', 10, 20, letters);
    const s = make();
    s.push(ev('a', 'A', 10), ev('a', 'B', 15), ev('b', 'X', 12));
    s.take();
    const r = make();
    r.d.restore(JSON.parse(JSON.stringify(s.d.snapshot())));
    r.push(ev('a', 'C', 18));
    expect(r.take()).toEqual([
      ['a', 11, 21, ['B', 'C'], 18], // 10's right window (restored), updated
      ['a', 16, 26, ['C'], 18], // 15's right window, created
      ['a', 8, 18, ['A', 'B', 'C'], 18], // 18's left window, from the restored [5,15]
    ]);
  });

  it('rejects a negative event time as a dead letter and goes on', () => {
    const s = build('onUpdate', 10, 0, count);
    s.push(ev('a', '', -1), ev('a', '', 1));
    expect(s.d.deadLetters).toHaveLength(1);
    expect(isScenestreamError(s.d.deadLetters[0]!.error, 'SS_ERR_VALIDATION')).toBe(true);
    expect(s.take()).toEqual([['a', 0, 10, 1, 1]]);
  });

  it('fails at build time on a bad time difference or grace, naming the step', () => {
    const k = () => pipeline('bad').keyedSource<Ev>('in', { key: (e) => e.k, timestamp: (e) => e.ts });
    expect(() => k().window(slidingWindow({ timeDifferenceMs: -1, graceMs: 0 })).count('neg')).toThrow(/\[step neg\] window timeDifferenceMs must be an integer >= 0/);
    expect(() => k().window(slidingWindow({ timeDifferenceMs: 5, graceMs: 1.5 })).count('frac')).toThrow(/\[step frac\] window graceMs must be an integer >= 0/);
    expect(() => k().window(slidingWindow({ timeDifferenceMs: 0, graceMs: 0 })).count('zero')).not.toThrow();
  });

  it('describes itself', () => {
    const p = pipeline('desc');
    p.keyedSource<Ev>('in', { key: (e) => e.k, timestamp: (e) => e.ts }).window(slidingWindow({ timeDifferenceMs: 600_000, graceMs: 0 })).count('n', { emit: 'onUpdate' }).to('out');
    expect(p.build().describe().steps.find((x) => x.id === 'n')).toMatchObject({
      kind: 'slidingWindow.count',
      params: { timeDifferenceMs: 600_000, graceMs: 0, emit: 'onUpdate' },
      sideOutputs: ['late'],
    });
  });

  describe('matches a brute-force oracle on random data with disorder within grace', () => {
    /**
     * Kafka Streams' windows: each record's left window `[ts - d, ts]` (`[0, d]` if ts < d), and its
     * right window `[ts + 1, ts + 1 + d]` if some record falls in it; each holds the records within it.
     */
    function oracle(evs: readonly Ev[], d: number): Map<string, string[]> {
      const out = new Map<string, string[]>();
      const byKey = new Map<string, Ev[]>();
      for (const e of evs) byKey.set(e.k, [...(byKey.get(e.k) ?? []), e]);
      for (const [k, list] of byKey) {
        const starts = new Set<number>();
        for (const r of list) {
          starts.add(r.ts >= d ? r.ts - d : 0);
          if (list.some((q) => q.ts > r.ts && q.ts <= r.ts + 1 + d)) starts.add(r.ts + 1);
        }
        for (const s of starts) out.set(`${k}@${s}`, list.filter((r) => r.ts >= s && r.ts <= s + d).map((r) => r.v).sort());
      }
      return out;
    }

    it.each([1, 7, 42, 2024, 31337])('seed %i', (seed) => {
      let x = seed;
      const rnd = (n: number) => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return (x >>> 8) % n;
      };
      for (const [d, grace] of [[0, 0], [3, 0], [10, 4], [10, 30], [25, 10]] as const) {
        const evs: Ev[] = [];
        let t = 0;
        for (let i = 0; i < 100; i++) {
          t += rnd(4) === 0 ? rnd(3 * d + 2) : rnd(Math.max(1, Math.ceil(d / 2)));
          const ts = Math.max(0, t - rnd(grace + 1)); // at most `grace` behind the largest ts so far
          evs.push(ev(['a', 'b'][rnd(2)]!, String.fromCharCode(65 + (i % 26)) + i, ts));
        }
        const want = oracle(evs, d);
        for (const emit of ['onUpdate', 'onClose', 'onWatermark'] as const) {
          const s = build(emit, d, grace, letters);
          s.push(...evs);
          s.d.end();
          const rows = s.take();
          const last = new Map<string, string[]>();
          for (const [k, start, end, value] of rows) {
            expect(end).toBe(start + d);
            last.set(`${k}@${start}`, value as string[]);
          }
          const ctx = `d ${d} grace ${grace} ${emit}`;
          expect(s.d.deadLetters, ctx).toEqual([]);
          expect(s.late(), ctx).toEqual([]);
          expect(last, ctx).toEqual(want);
          if (emit === 'onClose') {
            expect(rows, ctx).toHaveLength(want.size); // once per window
            for (const [, start, end, , ts] of rows) expect(ts).toBe(end);
          }
        }
      }
    });
  });
});
