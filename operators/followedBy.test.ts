import { describe, expect, expectTypeOf, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import { TestDriver } from '../testkit/driver.js';
import { followedBy, type FollowedBy } from './followedBy.js';

interface View {
  kind: 'view';
  user: string;
  ts: number;
}
interface Add {
  kind: 'add';
  user: string;
  ts: number;
}
type Ev = View | Add | { kind: 'other'; user: string; ts: number };
const view = (user: string, ts: number): Ev => ({ kind: 'view', user, ts });
const add = (user: string, ts: number): Ev => ({ kind: 'add', user, ts });
const other = (user: string, ts: number): Ev => ({ kind: 'other', user, ts });
const isView = (e: Ev): e is View => e.kind === 'view';
const isAdd = (e: Ev): e is Add => e.kind === 'add';

function run(input: Ev[], contiguity?: 'relaxed' | 'any' | 'strict', withinMs = 10) {
  const pl = pipeline('fb');
  pl.keyedSource<Ev>('ev', { timestamp: (e) => e.ts, key: (e) => e.user, outOfOrdernessMs: 5 })
    .pipeKeyed(followedBy('view-then-add', { first: isView, then: isAdd, withinMs, ...(contiguity ? { contiguity } : {}) }))
    .to('out');
  const d = TestDriver.of(pl);
  d.pushAll('ev', input).end();
  return d.records<FollowedBy<View, Add>>('out').map((r) => [r.key, r.value.first.ts, r.value.then.ts, r.ts]);
}

describe('followedBy', () => {
  it('narrows both sides', () => {
    expectTypeOf(followedBy('s', { first: isView, then: isAdd, withinMs: 1 }).__out!).toEqualTypeOf<FollowedBy<View, Add>>();
  });

  it('pairs each first with the first later then, within the bound (inclusive)', () => {
    expect(run([view('u', 0), view('u', 4), add('u', 8), add('u', 9), view('v', 20), add('v', 30), view('w', 40), add('w', 51)])).toEqual([
      ['u', 0, 8, 8],
      ['u', 4, 8, 8],
      ['v', 20, 30, 30],
    ]);
  });

  it('any: pairs with every later then; strict: only with the very next record', () => {
    const input = [view('u', 0), other('u', 1), add('u', 2), add('u', 3)];
    expect(run(input, 'any')).toEqual([
      ['u', 0, 2, 2],
      ['u', 0, 3, 3],
    ]);
    expect(run(input, 'strict')).toEqual([]);
    expect(run([view('u', 0), add('u', 2), add('u', 3)], 'strict')).toEqual([['u', 0, 2, 2]]);
  });

  it('matches in event-time order whatever the arrival order', () => {
    expect(run([add('u', 6), view('u', 3), add('u', 4)])).toEqual([['u', 3, 4, 4]]);
  });
});
