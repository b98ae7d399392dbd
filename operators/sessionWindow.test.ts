import { describe, expect, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import type { EmitMode, Windowed } from '../engine/windows.js';
import { isScenestreamError } from '../schemas/errors.js';
import { TestDriver } from '../testkit/driver.js';
import { aggregate } from './aggregate.js';
import { sessionWindow } from './sessionWindow.js';

interface Ev {
  readonly k: string;
  readonly v: string;
  readonly ts: number;
}
const ev = (k: string, v: string, ts: number): Ev => ({ k, v, ts });

/** `[key, start, end, value, ts]`, and a retraction as `['-', key, start, end, value, ts]`. */
type Row = readonly unknown[];

/** Strings joined in arrival order; `merge` keeps both sides visible: `(a|b)`. */
const joined = {
  init: () => '',
  add: (acc: string, e: Ev) => acc + e.v,
  merge: (a: string, b: string) => (a === '' ? b : `(${a}|${b})`),
};

function build(emit: EmitMode, gapMs: number, graceMs: number, agg: typeof joined = joined, retentionMs?: number) {
  const p = pipeline('sessions');
  const res = p
    .keyedSource<Ev>('in', { key: (e) => e.k, timestamp: (e) => e.ts })
    .window(sessionWindow(retentionMs === undefined ? { gapMs, graceMs } : { gapMs, graceMs, retentionMs }))
    .aggregate('s', agg, { emit });
  const rows = res.map((w, ts): Row => [w.key, w.start, w.end, w.value, ts]);
  const retractions = res.sideOutput<Windowed<string>>('retractions').map((w, ts): Row => ['-', w.key, w.start, w.end, w.value, ts]);
  rows.merge(retractions).to('out');
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

describe('sessionWindow', () => {
  it('joins a session at exactly end + gap and start - gap, and not one ms further', () => {
    const s = build('onUpdate', 10, 100);
    s.push(ev('a', 'x', 100), ev('a', 'y', 110)); // 110 = end + gap: joins
    expect(s.take()).toEqual([
      ['a', 100, 100, 'x', 100],
      ['-', 'a', 100, 100, 'x', 100],
      ['a', 100, 110, 'xy', 110],
    ]);
    s.push(ev('a', 'z', 121)); // 121 = end + gap + 1: a new session
    expect(s.take()).toEqual([['a', 121, 121, 'z', 121]]);
    s.push(ev('a', 'w', 90)); // 90 = start - gap (out of order): joins [100,110]
    expect(s.take()).toEqual([
      ['-', 'a', 100, 110, 'xy', 110],
      ['a', 90, 110, 'xyw', 110], // merge('', xy) = xy
    ]);
    s.push(ev('b', 'q', 79)); // other keys never touch a's sessions
    expect(s.take()).toEqual([['b', 79, 79, 'q', 79]]);
  });

  it('merges the sessions on both sides of a bridging record into one, in Kafka Streams order', () => {
    // init, then merge(acc, session) for each session by ascending end, then add the record.
    const s = build('onUpdate', 10, 100);
    s.push(ev('a', 'A', 0), ev('a', 'C', 20));
    s.take();
    s.push(ev('a', 'B', 10)); // within 10 of [0,0] and of [20,20]: three sessions become one
    expect(s.take()).toEqual([
      ['-', 'a', 0, 0, 'A', 0],
      ['-', 'a', 20, 20, 'C', 20],
      ['a', 0, 20, '(A|C)B', 20],
    ]);
  });

  it('chains three sessions into one through bridging records (one record reaches at most two)', () => {
    // Sessions of a key are always more than `gap` apart, so no single record can be within `gap`
    // of three of them; Kafka Streams' findSessions(ts - gap, ts + gap) has the same property.
    const s = build('onUpdate', 5, 100);
    s.push(ev('a', 'a', 0), ev('a', 'c', 12), ev('a', 'e', 24));
    expect(s.take().map((r) => r.slice(1, 3))).toEqual([[0, 0], [12, 12], [24, 24]]);
    s.push(ev('a', 'b', 7)); // 7 = 12 - gap: joins [12,12]; 7 > 0 + gap: not [0,0]
    expect(s.take()).toEqual([
      ['-', 'a', 12, 12, 'c', 12],
      ['a', 7, 12, 'cb', 12],
    ]);
    s.push(ev('a', 'x', 5)); // 5 = 0 + gap and 5 >= 7 - gap: bridges [0,0] and [7,12]
    expect(s.take()).toEqual([
      ['-', 'a', 0, 0, 'a', 0],
      ['-', 'a', 7, 12, 'cb', 12],
      ['a', 0, 12, '(a|cb)x', 12],
    ]);
    s.push(ev('a', 'd', 19)); // joins [24,24] only: [0,12] and [19,24] are 7 > gap apart
    expect(s.take()).toEqual([
      ['-', 'a', 24, 24, 'e', 24],
      ['a', 19, 24, 'ed', 24],
    ]);
    s.push(ev('a', 'y', 15)); // bridges [0,12] and [19,24]: the three original sessions are one
    expect(s.take()).toEqual([
      ['-', 'a', 0, 12, '(a|cb)x', 12],
      ['-', 'a', 19, 24, 'ed', 24],
      ['a', 0, 24, '((a|cb)x|ed)y', 24],
    ]);
  });

  it('does not retract a session whose bounds a record does not change', () => {
    const s = build('onUpdate', 10, 0);
    s.push(ev('a', 'x', 0), ev('a', 'y', 8));
    s.take();
    s.push(ev('a', 'z', 4)); // inside [0,8]
    expect(s.take()).toEqual([['a', 0, 8, 'xyz', 8]]);
  });

  it('retracts the value a merged-away session had, even when the aggregator updates in place', () => {
    const p = pipeline('in-place');
    const res = p
      .keyedSource<Ev>('in', { key: (e) => e.k, timestamp: (e) => e.ts })
      .window(sessionWindow({ gapMs: 10, graceMs: 0 }))
      .aggregate('s', {
        init: (): string[] => [],
        add: (acc, e) => (acc.push(e.v), acc),
        merge: (a, b) => (a.length === 0 ? b : (a.push(...b), a)), // hands back b itself
      }, { emit: 'onUpdate' });
    res.map((w) => structuredClone(w)).to('out');
    res.sideOutput<Windowed<string[]>>('retractions').map((w) => structuredClone(w)).to('retracted');
    const d = TestDriver.of(p);
    d.push('in', ev('a', 'x', 0)).push('in', ev('a', 'y', 5));
    expect(d.values('retracted')).toEqual([{ key: 'a', start: 0, end: 0, value: ['x'] }]);
    expect(d.values('out')).toEqual([
      { key: 'a', start: 0, end: 0, value: ['x'] },
      { key: 'a', start: 0, end: 5, value: ['x', 'y'] },
    ]);
  });

  it('closes exactly at W = end + gap + grace: one ms before, late records still join', () => {
    const s = build('onClose', 10, 5);
    s.push(ev('a', 'x', 0));
    s.push(ev('b', '-', 15)); // W = 14 < 0 + 10 + 5
    s.push(ev('a', 'y', 0)); // still joins [0,0]
    expect(s.take()).toEqual([]);
    s.push(ev('b', '-', 16)); // W = 15: [0,0] closes, emitted once at ts = end
    expect(s.take()).toEqual([['a', 0, 0, 'xy', 0]]);
    s.push(ev('a', 'late', 0)); // its session would be [0,0], closed
    expect(s.late()).toEqual([ev('a', 'late', 0)]);
    expect(s.d.executor.stats()['s']?.['late_records']).toBe(1);
    // 1 is within the gap of the closed [0,0], but with the default retention (gap + grace) a session
    // is dropped when it closes: 1 opens a new session, which is open (1 + 10 + 5 > 15). Kafka
    // Streams' session store, with its default retention, has dropped [0,0] too.
    s.push(ev('a', 'new', 1));
    s.d.end();
    expect(s.take()).toEqual([
      ['a', 1, 1, 'new', 1],
      ['b', 15, 16, '--', 16],
    ]);
  });

  it('emits closed sessions in order of their end, never retracting, under onClose', () => {
    const s = build('onClose', 5, 0);
    s.push(ev('a', '1', 0), ev('b', '1', 1), ev('a', '2', 4), ev('b', '2', 20), ev('a', '3', 30));
    // b@20 moves W to 19: b's [1,1] closed at W >= 6, a's [0,4] at W >= 9; a@30 closes b's [20,20].
    expect(s.take()).toEqual([
      ['b', 1, 1, '1', 1],
      ['a', 0, 4, '12', 4],
      ['b', 20, 20, '2', 20],
    ]);
    expect(s.d.side('s', 'retractions')).toEqual([]);
  });

  it('fires when complete under onWatermark, again for late records within grace, retracting what it replaces', () => {
    const s = build('onWatermark', 10, 20);
    s.push(ev('a', 'x', 0));
    s.push(ev('b', '-', 11)); // W = 10 >= 0 + 10: complete
    expect(s.take()).toEqual([['a', 0, 0, 'x', 0]]);
    s.push(ev('a', 'y', 0)); // late but within grace: same bounds, fires again
    expect(s.take()).toEqual([['a', 0, 0, 'xy', 0]]);
    s.push(ev('a', 'z', 8)); // extends the fired session; [0,8] is complete only at W >= 18
    expect(s.take()).toEqual([['-', 'a', 0, 0, 'xy', 0]]);
    s.push(ev('b', '-', 19)); // W = 18
    expect(s.take()).toEqual([['a', 0, 8, 'xyz', 8]]);
  });

  it('merges a closed session still retained when a late record bridges it to an open one (the TSDoc timeline)', () => {
    const s = build('onUpdate', 5, 0, joined, 10);
    s.push(ev('a', 'a', 1), ev('a', 'b', 4), ev('a', 'c', 10), ev('a', 'd', 12));
    // [1,4] closed at W = 9, retained until W = 14.
    expect(s.take()).toEqual([
      ['a', 1, 1, 'a', 1],
      ['-', 'a', 1, 1, 'a', 1],
      ['a', 1, 4, 'ab', 4],
      ['a', 10, 10, 'c', 10],
      ['-', 'a', 10, 10, 'c', 10],
      ['a', 10, 12, 'cd', 12],
    ]);
    s.push(ev('a', 'x', 6)); // late (W = 11), within the gap of the closed [1,4] and of the open [10,12]
    expect(s.take()).toEqual([
      ['-', 'a', 1, 4, 'ab', 4],
      ['-', 'a', 10, 12, 'cd', 12],
      ['a', 1, 12, '(ab|cd)x', 12],
    ]);
    s.push(ev('a', 'y', 20)); // W = 19: [1,12] closed at 17, retained until 22
    s.push(ev('a', 'late', 2)); // its session would be [1,12], closed
    expect(s.late()).toEqual([ev('a', 'late', 2)]);
    expect(s.take()).toEqual([['a', 20, 20, 'y', 20]]);
    expect(s.d.executor.stats()['s']?.['late_records']).toBe(1);
  });

  it('keeps a session exactly until W = end + retentionMs, then forgets it', () => {
    // gap 5, grace 0, retention 10: [0,0] closes at W = 5 and is dropped at W = 10.
    const run = (w: number) => {
      const s = build('onUpdate', 5, 0, joined, 10);
      s.push(ev('a', 'a', 0), ev('a', 'b', 6), ev('b', '-', w + 1));
      s.take();
      s.push(ev('a', 'x', 3)); // late; within the gap of [0,0] and of the open [6,6]
      return s.take();
    };
    expect(run(9)).toEqual([
      ['-', 'a', 0, 0, 'a', 0],
      ['-', 'a', 6, 6, 'b', 6],
      ['a', 0, 6, '(a|b)x', 6],
    ]);
    expect(run(10)).toEqual([
      ['-', 'a', 6, 6, 'b', 6],
      ['a', 3, 6, 'bx', 6],
    ]);
  });

  it('under onClose, retracts a closed session that a late record merges away, and emits the merged one when it closes', () => {
    const s = build('onClose', 5, 0, joined, 10);
    s.push(ev('a', 'a', 0), ev('a', 'b', 6)); // W = 5: [0,0] closes (0 + 5 + 0) and is emitted
    expect(s.take()).toEqual([['a', 0, 0, 'a', 0]]);
    s.push(ev('a', 'x', 3)); // late, bridges the closed [0,0] and the open [6,6]
    expect(s.take()).toEqual([['-', 'a', 0, 0, 'a', 0]]);
    s.push(ev('b', '-', 12)); // W = 11: [0,6] closes (6 + 5)
    expect(s.take()).toEqual([['a', 0, 6, '(a|b)x', 6]]);
    s.d.end();
    expect(s.take()).toEqual([['b', 12, 12, '-', 12]]);
  });

  it('under onWatermark, retracts a fired and closed session that a late record merges away', () => {
    const s = build('onWatermark', 5, 0, joined, 10);
    s.push(ev('a', 'a', 0), ev('a', 'b', 6)); // W = 5: [0,0] fires and closes
    expect(s.take()).toEqual([['a', 0, 0, 'a', 0]]);
    s.push(ev('a', 'x', 3)); // [0,6] is not complete yet (W = 5 < 11)
    expect(s.take()).toEqual([['-', 'a', 0, 0, 'a', 0]]);
    s.push(ev('b', '-', 12)); // W = 11
    expect(s.take()).toEqual([['a', 0, 6, '(a|b)x', 6]]);
  });

  it('fires under onWatermark with grace 0, where a session completes and closes at the same watermark', () => {
    const s = build('onWatermark', 10, 0);
    s.push(ev('a', 'x', 0), ev('a', 'y', 5));
    s.push(ev('b', '-', 15)); // W = 14 < 5 + 10
    expect(s.take()).toEqual([]);
    s.push(ev('b', '-', 16)); // W = 15: [0,5] is complete and closed; it fires before it is dropped
    expect(s.take()).toEqual([['a', 0, 5, 'xy', 5]]);
    s.push(ev('a', 'late', 5));
    expect(s.late()).toEqual([ev('a', 'late', 5)]);
    s.d.end();
    expect(s.take()).toEqual([['b', 15, 16, '--', 16]]);
  });

  it('survives snapshot, restore (through JSON) and continues: merges and closes restored sessions', () => {
    const build2 = () => build('onUpdate', 10, 30);
    const s = build2();
    s.push(ev('a', 'A', 0), ev('a', 'C', 20), ev('b', 'q', 3));
    s.take();
    const r = build2();
    r.d.restore(JSON.parse(JSON.stringify(s.d.snapshot())));
    r.push(ev('a', 'B', 10));
    expect(r.take()).toEqual([
      ['-', 'a', 0, 0, 'A', 0],
      ['-', 'a', 20, 20, 'C', 20],
      ['a', 0, 20, '(A|C)B', 20],
    ]);
    // The restored close timer of b's [3,3] fires at W = 3 + 10 + 30; a's merged session stays open.
    r.push(ev('c', '-', 44));
    r.push(ev('b', 'late', 3));
    expect(r.late()).toEqual([ev('b', 'late', 3)]);
    r.push(ev('a', 'D', 25));
    expect(r.take()).toEqual([
      ['c', 44, 44, '-', 44],
      ['-', 'a', 0, 20, '(A|C)B', 20],
      ['a', 0, 25, '(A|C)BD', 25],
    ]);
  });

  it('restores a closed, retained session with its drop timer: it still merges, then is dropped', () => {
    const build2 = () => build('onUpdate', 5, 0, joined, 10);
    const s = build2();
    s.push(ev('a', 'a', 0), ev('a', 'b', 6), ev('b', '-', 10)); // W = 9: [0,0] closed, retained until 10
    const r = build2();
    r.d.restore(JSON.parse(JSON.stringify(s.d.snapshot())));
    r.push(ev('a', 'x', 3));
    expect(r.take()).toEqual([
      ['-', 'a', 0, 0, 'a', 0],
      ['-', 'a', 6, 6, 'b', 6],
      ['a', 0, 6, '(a|b)x', 6],
    ]);
    const keys = () => (r.d.executor.state.snapshot().tables['s/sessions'] ?? []).map((row) => row[0]);
    expect(keys()).toEqual(['a', 'b']);
    r.push(ev('c', '-', 17)); // W = 16: [0,6] dropped (6 + 10); b's [10,10] is kept until W = 20
    expect(keys()).toEqual(['b', 'c']);
  });

  it('dead-letters a record whose aggregator throws and leaves the sessions as they were', () => {
    const agg = { ...joined, add: (acc: string, e: Ev) => (e.v === 'boom' ? (() => { throw new Error('bad'); })() : acc + e.v) };
    const s = build('onUpdate', 10, 100, agg);
    s.push(ev('a', 'x', 0), ev('a', 'z', 20));
    s.take();
    s.push(ev('a', 'boom', 10)); // would bridge both
    expect(s.d.deadLetters).toHaveLength(1);
    expect(isScenestreamError(s.d.deadLetters[0]!.error, 'SS_ERR_USER_FUNCTION')).toBe(true);
    expect(s.d.deadLetters[0]!.error.stepId).toBe('s');
    s.push(ev('a', 'y', 10));
    expect(s.take()).toEqual([
      ['-', 'a', 0, 0, 'x', 0],
      ['-', 'a', 20, 20, 'z', 20],
      ['a', 0, 20, '(x|z)y', 20],
    ]);
    expect(s.d.side('s', 'late')).toEqual([]);
  });

  it('fails at build time on a bad gap or grace, or an aggregator without merge, naming the step', () => {
    const k = () => pipeline('bad').keyedSource<Ev>('in', { key: (e) => e.k, timestamp: (e) => e.ts });
    expect(() => k().window(sessionWindow({ gapMs: 0, graceMs: 0 })).count('zero-gap')).toThrow(/\[step zero-gap\] window gapMs must be an integer >= 1/);
    expect(() => k().window(sessionWindow({ gapMs: 5, graceMs: -1 })).count('neg')).toThrow(/\[step neg\] window graceMs must be an integer >= 0/);
    expect(() => k().window(sessionWindow({ gapMs: 5, graceMs: 2, retentionMs: 6 })).count('short')).toThrow(
      /\[step short\] window retentionMs must be an integer >= 7 ms/,
    );
    // Untyped callers (the fluent API requires merge in the types).
    expect(() => k().pipeKeyed(aggregate('no-merge', sessionWindow({ gapMs: 5, graceMs: 0 }), { init: () => 0, add: (n: number) => n + 1 }))).toThrow(
      /\[step no-merge\] session windows need an aggregator with merge\(\)/,
    );
  });

  it('describes itself and declares its side outputs', () => {
    const p = pipeline('desc');
    p.keyedSource<Ev>('in', { key: (e) => e.k, timestamp: (e) => e.ts }).window(sessionWindow({ gapMs: 30_000, graceMs: 5_000 })).count('n').to('out');
    const step = p.build().describe().steps.find((x) => x.id === 'n');
    expect(step).toMatchObject({
      kind: 'sessionWindow.count',
      params: { gapMs: 30_000, graceMs: 5_000, retentionMs: 35_000, emit: 'onClose' },
      sideOutputs: ['late', 'retractions'],
    });
  });

  describe('matches a brute-force oracle on random data with disorder within grace', () => {
    /** Final sessions: records of a key sorted by ts, split where two are more than `gap` apart. */
    function oracle(evs: readonly Ev[], gap: number): Map<string, string> {
      const out = new Map<string, string>();
      const byKey = new Map<string, Ev[]>();
      for (const e of evs) byKey.set(e.k, [...(byKey.get(e.k) ?? []), e]);
      for (const [k, list] of byKey) {
        const sorted = [...list].sort((a, b) => a.ts - b.ts);
        let cur: Ev[] = [];
        const flush = () => {
          if (cur.length > 0) out.set(`${k}@${cur[0]!.ts}/${cur[cur.length - 1]!.ts}`, cur.map((e) => e.v).sort().join(''));
          cur = [];
        };
        for (const e of sorted) {
          if (cur.length > 0 && e.ts > cur[cur.length - 1]!.ts + gap) flush();
          cur.push(e);
        }
        flush();
      }
      return out;
    }

    const sorted = { init: () => '', add: (acc: string, e: Ev) => [...acc + e.v].sort().join(''), merge: (a: string, b: string) => [...a + b].sort().join('') };

    it.each([1, 7, 42, 2024, 31337])('seed %i', (seed) => {
      let x = seed;
      const rnd = (n: number) => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return (x >>> 8) % n;
      };
      for (const [gap, grace] of [[1, 0], [5, 3], [10, 10], [3, 20]] as const) {
        const evs: Ev[] = [];
        let t = 0;
        for (let i = 0; i < 120; i++) {
          t += rnd(3) === 0 ? rnd(4 * gap) : rnd(gap + 1);
          // Out of order by at most `grace` behind the largest ts so far (t).
          const ts = Math.max(0, t - rnd(grace + 1));
          evs.push(ev(['a', 'b', 'c'][rnd(3)]!, String.fromCharCode(65 + (i % 26)), ts));
        }
        // No record is late, so no record can reach a closed session: a longer retention changes nothing.
        for (const [emit, retention] of [['onUpdate', undefined], ['onClose', undefined], ['onUpdate', gap + grace + 7], ['onClose', gap + grace + 7]] as const) {
          const s = build(emit, gap, grace, sorted, retention);
          s.push(...evs);
          s.d.end();
          const last = new Map<string, string>();
          for (const row of s.take()) {
            if (row[0] === '-') last.delete(`${String(row[1])}@${String(row[2])}/${String(row[3])}`);
            else last.set(`${String(row[0])}@${String(row[1])}/${String(row[2])}`, row[3] as string);
          }
          expect(s.d.deadLetters).toEqual([]);
          expect(s.late(), `gap ${gap} grace ${grace} ${emit} retention ${retention}`).toEqual([]);
          expect(last, `gap ${gap} grace ${grace} ${emit} retention ${retention}`).toEqual(oracle(evs, gap));
        }
      }
    });
  });
});
