import { describe, expect, expectTypeOf, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import type { OperatorDef } from '../engine/graph.js';
import { KeyedStream, pipeline, type Pipeline } from '../stream/stream.js';
import { TestDriver } from '../testkit/driver.js';
import { intervalJoin, type IntervalJoinOptions, type JoinLeft, type JoinRight, type JoinType } from './intervalJoin.js';

interface Ev {
  k: string;
  ts: number;
  id: string;
}
const ev = (id: string, ts: number, k = 'a'): Ev => ({ k, ts, id });

/** What the fluent `KeyedStream.intervalJoin` is meant to do; the tests build the node the same way. */
function joinStreams<L, R, O, J extends JoinType = 'inner'>(
  left: KeyedStream<L>,
  stepId: string,
  right: KeyedStream<R>,
  opts: IntervalJoinOptions<J>,
  joiner: (l: JoinLeft<L, J>, r: JoinRight<R, J>) => O,
): KeyedStream<O> {
  const builder = left['builder'];
  const def = intervalJoin<L, R, O, J>(stepId, opts, joiner) as OperatorDef<unknown, unknown>;
  return new KeyedStream<O>(builder, builder.addOperator(def, [left.edgeOf(0), right.edgeOf(1)], true));
}

/** Two keyed sources whose watermarks move only when the test says so (Flink harness style). */
function build<J extends JoinType = 'inner'>(opts: IntervalJoinOptions<J>): Pipeline {
  const p = pipeline('ij');
  const patient = { timestamp: (e: Ev) => e.ts, key: (e: Ev) => e.k, outOfOrdernessMs: 1e9 };
  const l = p.keyedSource<Ev>('L', patient);
  const r = p.keyedSource<Ev>('R', patient);
  joinStreams(l, 'join', r, opts, (a: Ev | null, b: Ev | null) => `${a?.id ?? 'null'}+${b?.id ?? 'null'}`).to('out');
  return p;
}

const wm = (d: TestDriver, w: number): TestDriver => d.watermark('L', w).watermark('R', w);
const out = (d: TestDriver): string[] => d.records<string>('out').map((r) => `${r.value}@${r.ts}/${r.key}`);
const buffered = (d: TestDriver, side: 'left' | 'right'): number[] => {
  const rows = d.executor.state.snapshot().tables[`join/${side}`] ?? [];
  return rows.flatMap(([, list]) => (list as Array<{ ts: number }>).map((e) => e.ts)).sort((x, y) => x - y);
};
const timers = (d: TestDriver): number => (d.executor.state.snapshot().timers['join/close'] ?? []).length;

describe('intervalJoin', () => {
  it('joins at both inclusive bounds exactly, not one ms outside, with ts = max and the shared key', () => {
    const d = TestDriver.of(build({ lowerMs: -2, upperMs: 3 }));
    d.push('L', ev('l', 10));
    for (const t of [7, 8, 13, 14]) d.push('R', ev(`r${t}`, t));
    d.push('R', ev('other-key', 10, 'b'));
    expect(out(d)).toEqual(['l+r8@10/a', 'l+r13@13/a']);
  });

  it('excludes a bound that is exclusive, on either side', () => {
    const d = TestDriver.of(build({ lowerMs: -2, upperMs: 3, lowerInclusive: false, upperInclusive: false }));
    d.push('L', ev('l', 10));
    for (const t of [8, 9, 12, 13]) d.push('R', ev(`r${t}`, t));
    expect(out(d)).toEqual(['l+r9@10/a', 'l+r12@12/a']);
  });

  it('finds pairs whichever side arrives first', () => {
    const d = TestDriver.of(build({ lowerMs: 0, upperMs: 5 }));
    d.push('R', ev('r', 12));
    d.push('L', ev('l1', 7)); // 12 in [7, 12]
    d.push('L', ev('l2', 6)); // 12 not in [6, 11]
    expect(out(d)).toEqual(['l1+r@12/a']);
  });

  it('sends a record behind the watermark to `late` (both sides) and takes one at it, as Flink', () => {
    const d = TestDriver.of(build({ lowerMs: -5, upperMs: 5 }));
    d.push('L', ev('l', 10));
    wm(d, 8);
    d.push('R', ev('r-behind', 7)); // 7 < 8: late
    d.push('L', ev('l-behind', 7, 'b'));
    d.push('R', ev('r-at', 8)); // 8 == W: taken, as Flink's isLate (ts < W) and Kafka Streams do
    expect(out(d)).toEqual(['l+r-at@10/a']);
    expect(d.side<Ev>('join', 'late').map((r) => r.value.id)).toEqual(['r-behind', 'l-behind']);
    expect(d.executor.stats()['join']).toMatchObject({ late_records: 2, late: 2 });
  });

  it('at the exact boundary, a record at the watermark misses a partner whose buffer closed at it (as Flink)', () => {
    const d = TestDriver.of(build({ lowerMs: -5, upperMs: 5 }));
    d.push('L', ev('l3', 3)); // closes at 3 + 5 = 8
    wm(d, 8);
    expect(buffered(d, 'left')).toEqual([]);
    d.push('R', ev('r8', 8)); // 8 == 3 + 5 would match l3, but l3 is gone
    expect(out(d)).toEqual([]);
    expect(d.side('join', 'late')).toEqual([]);
  });

  it('lets graceMs take records up to that far behind the watermark, and keeps buffers that much longer', () => {
    const d = TestDriver.of(build({ lowerMs: 0, upperMs: 2, graceMs: 3 }));
    d.push('L', ev('l', 10));
    wm(d, 14); // left l closes at 10 + 2 + 3 = 15
    d.push('R', ev('r12', 12));
    d.push('R', ev('r11', 11)); // 11 == 14 - 3: taken
    d.push('R', ev('r10', 10)); // 10 < 11: late
    expect(out(d)).toEqual(['l+r12@12/a', 'l+r11@11/a']);
    expect(d.side<Ev>('join', 'late').map((r) => r.value.id)).toEqual(['r10']);
    expect(buffered(d, 'left')).toEqual([10]);
    wm(d, 15);
    expect(buffered(d, 'left')).toEqual([]);
  });

  it('drops each buffered record exactly when the watermark passes what it can still match; state goes to 0', () => {
    const d = TestDriver.of(build({ lowerMs: -3, upperMs: 2 }));
    d.push('L', ev('l', 10)).push('R', ev('r', 10)).push('L', ev('l2', 10, 'b'));
    expect(buffered(d, 'left')).toEqual([10, 10]);
    expect(buffered(d, 'right')).toEqual([10]);
    wm(d, 11);
    expect(buffered(d, 'left')).toEqual([10, 10]); // closes at 10 + 2
    wm(d, 12);
    expect(buffered(d, 'left')).toEqual([]);
    expect(buffered(d, 'right')).toEqual([10]); // closes at 10 + 3
    wm(d, 13);
    expect(buffered(d, 'right')).toEqual([]);
    expect(timers(d)).toBe(0);
    expect(d.executor.state.snapshot().tables['join/left']).toEqual([]);
  });

  it('waits for the slower input: the step watermark is the minimum of both', () => {
    const d = TestDriver.of(build({ lowerMs: 0, upperMs: 1 }));
    d.push('L', ev('l', 10));
    d.watermark('L', 100);
    expect(buffered(d, 'left')).toEqual([10]);
    d.watermark('R', 11);
    expect(buffered(d, 'left')).toEqual([]);
  });

  it('left join: emits an unmatched left record with null when its window closes, and a matched one never', () => {
    const d = TestDriver.of(build({ lowerMs: -10, upperMs: 10, graceMs: 5, joinType: 'left' }));
    d.push('L', ev('lonely', 100)).push('L', ev('paired', 100, 'b')).push('R', ev('r', 105, 'b'));
    d.push('R', ev('r-unmatched', 50, 'c'));
    expect(out(d)).toEqual(['paired+r@105/b']);
    wm(d, 114); // closes at 100 + 10 + 5 = 115
    expect(out(d)).toEqual(['paired+r@105/b']);
    wm(d, 115);
    expect(out(d)).toEqual(['paired+r@105/b', 'lonely+null@100/a']);
    d.end();
    expect(out(d)).toHaveLength(2); // right records are never emitted alone in a left join
  });

  it('outer join: emits unmatched records of both sides with null for the missing one', () => {
    const d = TestDriver.of(build({ lowerMs: -1, upperMs: 2, joinType: 'outer' }));
    d.push('L', ev('l', 10)).push('R', ev('r', 20)).push('L', ev('l2', 30)).push('R', ev('r2', 31));
    wm(d, 11);
    expect(out(d)).toEqual(['l2+r2@31/a']);
    wm(d, 12); // l closes at 12
    expect(out(d)).toEqual(['l2+r2@31/a', 'l+null@10/a']);
    wm(d, 21); // r closes at 20 + 1
    expect(out(d)).toEqual(['l2+r2@31/a', 'l+null@10/a', 'null+r@20/a']);
    d.end();
    expect(out(d)).toHaveLength(3);
    expect(buffered(d, 'left')).toEqual([]);
    expect(buffered(d, 'right')).toEqual([]);
  });

  it('left join with a negative upper bound: a record whose window already closed is emitted with null at once', () => {
    const d = TestDriver.of(build({ lowerMs: -10, upperMs: -5, joinType: 'left' }));
    wm(d, 100);
    d.push('R', ev('r', 98));
    expect(d.side('join', 'late')).toHaveLength(1); // 98 < 100
    d.push('L', ev('l', 103)); // window [93, 98] closed at W = 100 (103 - 5 <= 100)
    expect(out(d)).toEqual(['l+null@103/a']);
    expect(buffered(d, 'left')).toEqual([]);
  });

  it('survives snapshot and restore, buffers and pending windows included', () => {
    const opts = { lowerMs: -1, upperMs: 1, joinType: 'left' } as const;
    const d1 = TestDriver.of(build(opts));
    d1.push('L', ev('l1', 1)).push('L', ev('l5', 5)).push('L', ev('l9', 9));
    wm(d1, 2); // l1 closes at 1 + 1
    expect(out(d1)).toEqual(['l1+null@1/a']);
    const snap = d1.snapshot();
    const d2 = TestDriver.of(build(opts)).restore(snap);
    d2.push('R', ev('r1', 1)); // the restored watermark (2) still holds: late
    d2.push('R', ev('r6', 6));
    expect(out(d2)).toEqual(['l5+r6@6/a']);
    wm(d2, 10);
    expect(out(d2)).toEqual(['l5+r6@6/a', 'l9+null@9/a']);
    expect(d2.side<Ev>('join', 'late').map((r) => r.value.id)).toEqual(['r1']);
    expect(buffered(d2, 'left')).toEqual([]);
    expect(buffered(d2, 'right')).toEqual([]);
    expect(timers(d2)).toBe(0);
    expect(out(d1)).toEqual(['l1+null@1/a']); // the first driver is untouched by the second
  });

  it('rejects malformed intervals at build time, naming the step', () => {
    const bad = (opts: IntervalJoinOptions<JoinType>) => () => build(opts).build();
    expect(bad({ lowerMs: 2, upperMs: 1 })).toThrow(/SS_ERR_GRAPH_INVALID: \[step join\] lowerMs \(2\) must be <= upperMs \(1\)/);
    expect(bad({ lowerMs: 1, upperMs: 1, upperInclusive: false })).toThrow(/\[step join\] the interval \[1, 1\) is empty/);
    expect(bad({ lowerMs: 0, upperMs: 1, lowerInclusive: false, upperInclusive: false })).toThrow(/\(0, 1\) is empty/);
    expect(bad({ lowerMs: 0.5, upperMs: 1 })).toThrow(/lowerMs must be an integer/);
    expect(bad({ lowerMs: 0, upperMs: 1, graceMs: -1 })).toThrow(/graceMs must be an integer >= 0/);
    expect(() => build({ lowerMs: 1, upperMs: 1 }).build()).not.toThrow();
    try {
      build({ lowerMs: 2, upperMs: 1 });
      expect.unreachable();
    } catch (e) {
      expect(isScenestreamError(e, 'SS_ERR_GRAPH_INVALID')).toBe(true);
    }
  });

  it('rejects unkeyed inputs at build time', () => {
    const p = pipeline('unkeyed');
    const l = p.source<Ev>('L', { timestamp: (e) => e.ts });
    const r = p.keyedSource<Ev>('R', { timestamp: (e) => e.ts, key: (e) => e.k });
    const def = intervalJoin<Ev, Ev, string>('join', { lowerMs: 0, upperMs: 1 }, (a, b) => a.id + b.id) as OperatorDef<unknown, unknown>;
    expect(() => p.graph.addOperator(def, [{ from: l.node, port: 'main', input: 0 }, r.edgeOf(1)], true)).toThrow(/needs a keyed input; "L" is not keyed/);
  });

  it('dead-letters the arriving record when the joiner throws, naming the step, and goes on', () => {
    const p = pipeline('ij-throw');
    const src = { timestamp: (e: Ev) => e.ts, key: (e: Ev) => e.k };
    joinStreams(p.keyedSource<Ev>('L', src), 'join', p.keyedSource<Ev>('R', src), { lowerMs: -5, upperMs: 5 }, (l: Ev, r: Ev) => {
      if (r.id === 'boom') throw new Error('bad pair');
      return `${l.id}+${r.id}`;
    }).to('out');
    const d = TestDriver.of(p);
    d.push('L', ev('l', 10)).push('R', ev('boom', 11)).push('R', ev('ok', 12));
    expect(d.values('out')).toEqual(['l+ok']);
    expect(d.deadLetters).toHaveLength(1);
    expect(d.deadLetters[0]!.error.stepId).toBe('join');
    expect(isScenestreamError(d.deadLetters[0]!.error, 'SS_ERR_USER_FUNCTION')).toBe(true);
  });

  it('types the joiner by join type and gives a keyed stream of its result', () => {
    const p = pipeline('types');
    const src = { timestamp: (e: Ev) => e.ts, key: (e: Ev) => e.k };
    const l = p.keyedSource<Ev>('L', src);
    const r = p.keyedSource<{ n: number }>('R', { timestamp: () => 0, key: () => 'a' });
    const inner = joinStreams(l, 'i', r, { lowerMs: 0, upperMs: 1 }, (a, b) => {
      expectTypeOf(a).toEqualTypeOf<Ev>();
      expectTypeOf(b).toEqualTypeOf<{ n: number }>();
      return b.n;
    });
    expectTypeOf(inner).toEqualTypeOf<KeyedStream<number>>();
    joinStreams(l, 'l', r, { lowerMs: 0, upperMs: 1, joinType: 'left' }, (a, b) => {
      expectTypeOf(a).toEqualTypeOf<Ev>();
      expectTypeOf(b).toEqualTypeOf<{ n: number } | null>();
      return 0;
    });
    joinStreams(l, 'o', r, { lowerMs: 0, upperMs: 1, joinType: 'outer' }, (a, b) => {
      expectTypeOf(a).toEqualTypeOf<Ev | null>();
      expectTypeOf(b).toEqualTypeOf<{ n: number } | null>();
      return 0;
    });
  });
});
