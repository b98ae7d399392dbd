import { describe, expect, expectTypeOf, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import { patternOf, type Match, type Pattern } from '../engine/pattern.js';
import { pipeline } from '../stream/stream.js';
import { TestDriver } from '../testkit/driver.js';
import { pattern, type PatternOptions } from './pattern.js';

interface Add {
  kind: 'add';
  user: string;
  ts: number;
  sku: string;
}
interface Buy {
  kind: 'buy';
  user: string;
  ts: number;
}
interface View {
  kind: 'view';
  user: string;
  ts: number;
}
type Shop = Add | Buy | View;
const add = (user: string, ts: number, sku = 'x'): Add => ({ kind: 'add', user, ts, sku });
const buy = (user: string, ts: number): Buy => ({ kind: 'buy', user, ts });
const view = (user: string, ts: number): View => ({ kind: 'view', user, ts });
const isAdd = (e: Shop): e is Add => e.kind === 'add';
const isBuy = (e: Shop): e is Buy => e.kind === 'buy';

const abandoned = (within = 30) => patternOf<Shop>().begin('add').where(isAdd).notFollowedBy('buy').where(isBuy).within(within);

function build<M extends object>(p: Pattern<Shop, M, string>, opts: { outOfOrdernessMs?: number; idleTimeoutMs?: number; pattern?: PatternOptions } = {}) {
  const pl = pipeline('patterns');
  const out = pl
    .keyedSource<Shop>('shop', { timestamp: (e) => e.ts, key: (e) => e.user, outOfOrdernessMs: opts.outOfOrdernessMs ?? 0, idleTimeoutMs: opts.idleTimeoutMs ?? 60_000 })
    .pipeKeyed(pattern('abandon', p, opts.pattern));
  out.to('out');
  return pl;
}

describe('pattern', () => {
  it('types each stage by its type guard and rejects a duplicate stage name', () => {
    const p = patternOf<Shop>().begin('add').where(isAdd).followedBy('buy').where(isBuy).where((b) => b.ts > 0);
    const op = pattern('s', p);
    expectTypeOf(op.__out!).toEqualTypeOf<Match<{ add: Add; buy: Buy }>>();
    // @ts-expect-error a stage name may be used once
    patternOf<Shop>().begin('add').followedBy('add');
  });

  it('fires an absence when the watermark passes the deadline, one per start (Flink semantics)', () => {
    const d = TestDriver.of(build(abandoned(30)));
    d.pushAll('shop', [add('u', 0, 'a'), add('u', 10, 'b'), view('u', 29)]);
    expect(d.values('out')).toEqual([]); // W = 28 < 30
    d.push('shop', view('u', 31)); // W = 30: deadline of add@0 passed
    expect(d.records('out')).toEqual([{ value: { add: [add('u', 0, 'a')] }, ts: 30, key: 'u' }]);
    d.push('shop', view('u', 41));
    expect(d.records<Match<{ add: Add }>>('out').map((r) => [r.value.add[0]!.sku, r.ts])).toEqual([
      ['a', 30],
      ['b', 40],
    ]);
  });

  it('cancels on a matching record at exactly the deadline, not one after it', () => {
    const d = TestDriver.of(build(abandoned(30)));
    d.pushAll('shop', [add('a', 0), add('b', 0), buy('a', 30), buy('b', 31)]);
    // buy@31 moved the watermark to 30: records at <= 30 were matched, then the deadlines fired.
    expect(d.records('out').map((r) => [r.key, r.ts])).toEqual([['b', 30]]);
  });

  it('fires on an idle input once the source goes idle, with no further record', () => {
    const d = TestDriver.of(build(abandoned(500), { idleTimeoutMs: 1_000 }));
    d.push('shop', add('u', 0));
    d.advanceTime(999);
    expect(d.values('out')).toEqual([]);
    d.advanceTime(1); // idle: event time advances with processing time, W = -1 + 1000 >= 500
    expect(d.records('out')).toEqual([{ value: { add: [add('u', 0)] }, ts: 500, key: 'u' }]);
  });

  it('gives the same matches for out-of-order input as for sorted input', () => {
    const p = patternOf<Shop>().begin('add').where(isAdd).followedBy('buy').where(isBuy).within(20);
    const sorted = [add('u', 1), view('u', 2), add('u', 3), buy('u', 5), add('v', 6), buy('u', 21), buy('v', 30)];
    const shuffled = [add('u', 3), add('u', 1), buy('u', 5), view('u', 2), add('v', 6), buy('v', 30), buy('u', 21)];
    const run = (input: Shop[]) => {
      const d = TestDriver.of(build(p, { outOfOrdernessMs: 10 }));
      d.pushAll('shop', input).end();
      expect(d.side('abandon', 'late')).toEqual([]);
      return d.records<Match<{ add: Add; buy: Buy }>>('out');
    };
    const expected = run(sorted);
    expect(expected.map((r) => [r.value.add[0]!.ts, r.value.buy[0]!.ts, r.ts])).toEqual([
      [1, 5, 5],
      [3, 5, 5],
    ]);
    expect(run(shuffled)).toEqual(expected);
  });

  it('sends records at or below the watermark to the side output late', () => {
    const d = TestDriver.of(build(abandoned(30)));
    d.pushAll('shop', [add('u', 10), buy('u', 9)]); // W = 9 after add@10
    expect(d.side('abandon', 'late')).toEqual([{ value: buy('u', 9), ts: 9, key: 'u' }]);
    expect(d.executor.stats()['abandon']!['late_records']).toBe(1);
    d.end();
    expect(d.values('out')).toHaveLength(1); // the late buy did not cancel
  });

  it('reports expired partial matches on the side output timeout when asked', () => {
    const p = patternOf<Shop>().begin('add').where(isAdd).followedBy('buy').where(isBuy).within(10);
    const d = TestDriver.of(build(p, { pattern: { timeouts: true } }));
    d.pushAll('shop', [add('u', 0), view('u', 20)]);
    expect(d.side('abandon', 'timeout')).toEqual([{ value: { add: [add('u', 0)], buy: [] }, ts: 10, key: 'u' }]);
  });

  it('keeps state only while needed', () => {
    const d = TestDriver.of(build(abandoned(30)));
    d.pushAll('shop', [add('u', 0), add('v', 5), buy('v', 6)]).end();
    const tables = d.executor.state.snapshot().tables;
    expect(tables['abandon/buffer']).toEqual([]);
    expect(tables['abandon/runs']).toEqual([]);
  });

  it('continues identically after snapshot and restore', () => {
    const input = [add('u', 0), view('u', 5), add('v', 8), buy('u', 12), add('u', 20), view('v', 30), view('u', 45), buy('u', 55), view('u', 90)];
    const whole = TestDriver.of(build(abandoned(30), { outOfOrdernessMs: 3 }));
    whole.pushAll('shop', input).end();

    const first = TestDriver.of(build(abandoned(30), { outOfOrdernessMs: 3 }));
    first.pushAll('shop', input.slice(0, 5));
    const snap = structuredClone(first.snapshot());
    const second = TestDriver.of(build(abandoned(30), { outOfOrdernessMs: 3 }));
    second.restore(snap);
    second.pushAll('shop', input.slice(5)).end();
    expect([...first.records('out'), ...second.records('out')]).toEqual(whole.records('out'));
    expect(whole.records('out').map((r) => [r.key, r.ts])).toEqual([
      ['v', 38],
      ['u', 50],
    ]);
  });

  it('sends a record whose predicate throws to the side output errors and goes on', () => {
    const p = patternOf<Shop>()
      .begin('add')
      .where((e) => {
        if (e.user === 'bad') throw new Error('boom');
        return isAdd(e);
      })
      .notFollowedBy('buy')
      .where(isBuy)
      .within(5);
    const d = TestDriver.of(build(p));
    d.pushAll('shop', [add('bad', 0), add('u', 1)]).end();
    const errs = d.side<{ value: Shop; error: unknown }>('abandon', 'errors');
    expect(errs).toHaveLength(1);
    expect(isScenestreamError(errs[0]!.value.error, 'SS_ERR_USER_FUNCTION')).toBe(true);
    expect(d.records('out').map((r) => r.key)).toEqual(['u']);
  });

  it('rejects at build time an absence at the end without within, naming the step', () => {
    const p = patternOf<Shop>().begin('add').where(isAdd).notFollowedBy('buy').where(isBuy);
    const pl = pipeline('bad');
    const k = pl.keyedSource<Shop>('shop', { timestamp: (e) => e.ts, key: (e) => e.user });
    let err: unknown;
    try {
      k.pipeKeyed(pattern('cart-abandon', p));
    } catch (e) {
      err = e;
    }
    expect(isScenestreamError(err, 'SS_ERR_GRAPH_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/\[step cart-abandon\] pattern: a pattern that ends with notFollowedBy needs within/);
    expect(() => k.pipeKeyed(pattern('after-optional', patternOf<Shop>().begin('a').optional().notFollowedBy('b').followedBy('c')))).toThrow(
      /\[step after-optional\].*cannot follow the optional stage "a"/,
    );
    expect(() => k.pipeKeyed(pattern('times0', patternOf<Shop>().begin('a').times(0, 0)))).toThrow(/\[step times0\].*not a valid range/);
  });
});
