import { describe, expect, expectTypeOf, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import { pipeline } from '../stream/stream.js';
import { TestDriver } from '../testkit/driver.js';
import { notFollowedBy, type Absence } from './notFollowedBy.js';

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
type Shop = Add | Buy | { kind: 'view'; user: string; ts: number };
const add = (user: string, ts: number, sku = 'x'): Add => ({ kind: 'add', user, ts, sku });
const buy = (user: string, ts: number): Buy => ({ kind: 'buy', user, ts });
const view = (user: string, ts: number): Shop => ({ kind: 'view', user, ts });
const isAdd = (e: Shop): e is Add => e.kind === 'add';
const isBuy = (e: Shop): boolean => e.kind === 'buy';

function build(withinMs = 30, src: { outOfOrdernessMs?: number; idleTimeoutMs?: number } = {}) {
  const pl = pipeline('absence');
  pl.keyedSource<Shop>('shop', { timestamp: (e) => e.ts, key: (e) => e.user, ...src })
    .pipeKeyed(notFollowedBy('abandon', { start: isAdd, absent: isBuy, withinMs }))
    .to('out');
  return pl;
}
const fired = (d: TestDriver) => d.records<Absence<Add>>('out').map((r) => [r.key, r.value.start.sku, r.value.startTs, r.value.deadline, r.ts]);

describe('notFollowedBy', () => {
  it('narrows the start type', () => {
    expectTypeOf(notFollowedBy('s', { start: isAdd, absent: isBuy, withinMs: 1 }).__out!).toEqualTypeOf<Absence<Add>>();
  });

  it('re-arms on the latest start and fires at its deadline', () => {
    const d = TestDriver.of(build(30));
    d.pushAll('shop', [add('u', 0, 'a'), add('u', 10, 'b'), view('u', 39)]);
    expect(fired(d)).toEqual([]); // add@0's deadline was replaced by add@10's (40)
    d.push('shop', view('u', 41));
    expect(fired(d)).toEqual([['u', 'b', 10, 40, 40]]);
    d.end();
    expect(fired(d)).toHaveLength(1); // nothing re-arms after firing
  });

  it('is cancelled by an absent record in (start, deadline], including at the deadline', () => {
    const d = TestDriver.of(build(30));
    d.pushAll('shop', [add('a', 0), add('b', 0), add('c', 0), buy('c', 0), buy('a', 30), buy('b', 31)]).end();
    // a: cancelled at exactly the deadline; b: the buy came after it; c: a buy at the start's own ts does not cancel
    expect(fired(d).map((f) => f[0])).toEqual(['b', 'c']);
  });

  it('a start at exactly the armed deadline re-arms instead of firing', () => {
    const d = TestDriver.of(build(30));
    d.pushAll('shop', [add('u', 0, 'a'), add('u', 30, 'b')]).end();
    expect(fired(d)).toEqual([['u', 'b', 30, 60, 60]]);
  });

  it('fires on an idle input via processing time, with no further record', () => {
    const d = TestDriver.of(build(500, { idleTimeoutMs: 1_000 }));
    d.push('shop', add('u', 0));
    d.advanceTime(999);
    expect(fired(d)).toEqual([]);
    d.advanceTime(1);
    expect(fired(d)).toEqual([['u', 'x', 0, 500, 500]]);
  });

  it('gives the same result for out-of-order input (disorder < within) as for sorted input', () => {
    const sorted = [add('u', 0, 'a'), add('v', 2, 'v'), buy('v', 5), add('u', 8, 'b'), add('w', 9), buy('w', 45), add('u', 50, 'c'), view('x', 100)];
    const shuffled = [add('u', 8, 'b'), add('v', 2, 'v'), add('u', 0, 'a'), add('w', 9), buy('v', 5), add('u', 50, 'c'), buy('w', 45), view('x', 100)];
    const run = (input: Shop[]) => {
      const d = TestDriver.of(build(30, { outOfOrdernessMs: 10 }));
      d.pushAll('shop', input).end();
      expect(d.side('abandon', 'late')).toEqual([]);
      return fired(d);
    };
    const expected = run(sorted);
    expect(expected).toEqual([
      ['u', 'b', 8, 38, 38],
      ['w', 'x', 9, 39, 39],
      ['u', 'c', 50, 80, 80],
    ]);
    expect(run(shuffled)).toEqual(expected);
  });

  it('keeps a start whose deadline passed before the next start arrived', () => {
    // add@50 arrives while the watermark (-1 + ...) is still before add@0's deadline 30
    const d = TestDriver.of(build(30, { outOfOrdernessMs: 100 }));
    d.pushAll('shop', [add('u', 0, 'a'), add('u', 50, 'b')]).end();
    expect(fired(d)).toEqual([
      ['u', 'a', 0, 30, 30],
      ['u', 'b', 50, 80, 80],
    ]);
  });

  it('sends late records to the side output late', () => {
    const d = TestDriver.of(build(30));
    d.pushAll('shop', [add('u', 10), buy('u', 5)]);
    expect(d.side('abandon', 'late')).toEqual([{ value: buy('u', 5), ts: 5, key: 'u' }]);
    expect(d.executor.stats()['abandon']!['late_records']).toBe(1);
  });

  it('drops a key once fired or cancelled and the watermark has passed', () => {
    const d = TestDriver.of(build(30));
    d.pushAll('shop', [add('u', 0), add('v', 1), buy('v', 2), view('z', 100)]);
    expect(d.executor.state.snapshot().tables['abandon/arms']).toEqual([]);
  });

  it('continues identically after snapshot and restore', () => {
    const input = [add('u', 0), add('v', 3), view('u', 10), buy('v', 12), add('u', 20), add('v', 25), view('w', 45), buy('u', 49), view('w', 90)];
    const whole = TestDriver.of(build(30, { outOfOrdernessMs: 2 }));
    whole.pushAll('shop', input).end();
    const first = TestDriver.of(build(30, { outOfOrdernessMs: 2 }));
    first.pushAll('shop', input.slice(0, 5));
    const second = TestDriver.of(build(30, { outOfOrdernessMs: 2 }));
    second.restore(JSON.parse(JSON.stringify(first.snapshot())));
    second.pushAll('shop', input.slice(5)).end();
    expect([...fired(first), ...fired(second)]).toEqual(fired(whole));
    expect(fired(whole)).toEqual([['v', 'x', 25, 55, 55]]);
  });

  it('rejects a missing or negative withinMs at build time, naming the step', () => {
    const pl = pipeline('bad');
    const k = pl.keyedSource<Shop>('shop', { timestamp: (e) => e.ts, key: (e) => e.user });
    let err: unknown;
    try {
      k.pipeKeyed(notFollowedBy('cart', { start: isAdd, absent: isBuy, withinMs: -1 }));
    } catch (e) {
      err = e;
    }
    expect(isScenestreamError(err, 'SS_ERR_GRAPH_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/\[step cart\] notFollowedBy needs withinMs/);
  });
});
