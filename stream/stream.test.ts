import { describe, expect, expectTypeOf, it } from 'vitest';
import { tumblingWindow } from '../operators/tumblingWindow.js';
import { TestDriver } from '../testkit/driver.js';
import { isScenestreamError } from '../schemas/errors.js';
import type { Windowed } from '../engine/windows.js';
import { KeyedStream, pipeline, Stream } from './stream.js';

interface Click {
  user: string;
  kind: 'view' | 'cart';
  ts: number;
}
interface Cart extends Click {
  kind: 'cart';
}
const click = (user: string, kind: Click['kind'], ts: number): Click => ({ user, kind, ts });

describe('Stream API', () => {
  it('runs a stateless chain in order with event times and keys', () => {
    const p = pipeline('chain');
    p.source<Click>('clicks', { timestamp: (c) => c.ts })
      .filter((c): c is Cart => c.kind === 'cart')
      .map((c) => `${c.user}:${c.ts}`)
      .to('out');
    const d = TestDriver.of(p);
    d.pushAll('clicks', [click('a', 'view', 1), click('b', 'cart', 2), click('a', 'cart', 3)]);
    expect(d.records('out')).toEqual([
      { value: 'b:2', ts: 2, key: '' },
      { value: 'a:3', ts: 3, key: '' },
    ]);
  });

  it('narrows with type guards and keeps keyed streams keyed', () => {
    const p = pipeline('types');
    const s = p.source<Click>('clicks', { timestamp: (c) => c.ts });
    const carts = s.filter((c): c is Cart => c.kind === 'cart');
    expectTypeOf(carts).toEqualTypeOf<Stream<Cart>>();
    const keyed = carts.keyBy((c) => c.user);
    expectTypeOf(keyed).toEqualTypeOf<KeyedStream<Cart>>();
    expectTypeOf(keyed.filter((c) => c.ts > 0)).toEqualTypeOf<KeyedStream<Cart>>();
    expectTypeOf(keyed.map((c) => c.ts)).toEqualTypeOf<Stream<number>>();
    const counts = keyed.window(tumblingWindow({ sizeMs: 10, graceMs: 0 })).count('n');
    expectTypeOf(counts.late()).toEqualTypeOf<Stream<Cart>>();
    expectTypeOf(counts).toMatchTypeOf<KeyedStream<Windowed<number>>>();
    // @ts-expect-error windows exist only on keyed streams
    s.window;
  });

  it('counts per key in tumbling windows and emits on close', () => {
    const p = pipeline('count');
    const counts = p
      .source<Click>('clicks', { timestamp: (c) => c.ts })
      .keyBy((c) => c.user)
      .window(tumblingWindow({ sizeMs: 10, graceMs: 0 }))
      .count('per-user');
    counts.to('counts');
    counts.late().to('late');
    const d = TestDriver.of(p);
    d.pushAll('clicks', [click('a', 'view', 1), click('a', 'view', 4), click('b', 'view', 9), click('a', 'view', 12)]);
    // a@12 moved the watermark to 11 >= 9: [0,10) closed and emitted.
    expect(d.values('counts')).toEqual([
      { key: 'a', start: 0, end: 10, value: 2 },
      { key: 'b', start: 0, end: 10, value: 1 },
    ]);
    expect(d.records('counts')[0]!.ts).toBe(9);
    d.push('clicks', click('a', 'view', 10)); // window [10,20) is open
    d.push('clicks', click('a', 'view', 5)); // [0,10) closed once W >= 9 (at ts 12): late
    expect(d.values('late')).toEqual([click('a', 'view', 5)]);
    expect(d.side('per-user', 'late')).toHaveLength(1);
    d.push('clicks', click('b', 'view', 25));
    expect(d.values('counts')).toEqual([
      { key: 'a', start: 0, end: 10, value: 2 },
      { key: 'b', start: 0, end: 10, value: 1 },
      { key: 'a', start: 10, end: 20, value: 2 },
    ]);
  });

  it('fails at build time on duplicate step ids and bad windows, naming the step', () => {
    const p = pipeline('bad');
    const k = p.source<Click>('clicks', { timestamp: (c) => c.ts }).keyBy((c) => c.user);
    k.window(tumblingWindow({ sizeMs: 10, graceMs: 0 })).count('same');
    expect(() => k.window(tumblingWindow({ sizeMs: 10, graceMs: 0 })).count('same')).toThrow(/SS_ERR_GRAPH_DUPLICATE_STEP: \[step same\]/);
    expect(() => k.window(tumblingWindow({ sizeMs: 0, graceMs: 0 })).count('zero')).toThrow(/\[step zero\] window sizeMs must be an integer >= 1/);
  });

  it('dead-letters a record whose user function throws and goes on', () => {
    const p = pipeline('dlq');
    p.source<Click>('clicks', { timestamp: (c) => c.ts })
      .map((c) => {
        if (c.user === 'bad') throw new Error('boom');
        return c.user;
      }, { name: 'names' })
      .to('out');
    const d = TestDriver.of(p);
    d.pushAll('clicks', [click('a', 'view', 1), click('bad', 'view', 2), click('c', 'view', 3)]);
    expect(d.values('out')).toEqual(['a', 'c']);
    expect(d.deadLetters).toHaveLength(1);
    const err = d.deadLetters[0]!.error;
    expect(isScenestreamError(err, 'SS_ERR_USER_FUNCTION')).toBe(true);
    expect(err.stepId).toBe('names');
  });

  it('branches by first matching predicate with narrowed types', () => {
    const p = pipeline('branch');
    const b = p.source<Click>('clicks', { timestamp: (c) => c.ts }).branch({
      carts: (c): c is Cart => c.kind === 'cart',
      early: (c) => c.ts < 5,
    });
    expectTypeOf(b.carts).toEqualTypeOf<Stream<Cart>>();
    b.carts.map((c) => c.ts).to('carts');
    b.early.map((c) => c.ts).to('early');
    b.otherwise.map((c) => c.ts).to('rest');
    const d = TestDriver.of(p);
    d.pushAll('clicks', [click('a', 'cart', 1), click('a', 'view', 2), click('a', 'view', 7), click('a', 'cart', 8)]);
    expect(d.values('carts')).toEqual([1, 8]);
    expect(d.values('early')).toEqual([2]);
    expect(d.values('rest')).toEqual([7]);
  });
});
