import { describe, expect, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import { InMemoryStateBackend } from './state.js';

describe('InMemoryStateBackend', () => {
  it('scopes value, map and list state by step id and key', () => {
    const b = new InMemoryStateBackend();
    const v1 = b.valueState<number>('s1', 'n');
    const v2 = b.valueState<number>('s2', 'n');
    v1.set('k', 1);
    v2.set('k', 2);
    expect([v1.get('k'), v2.get('k'), v1.get('other')]).toEqual([1, 2, undefined]);
    const m = b.mapState<string>('s1', 'm');
    m.set('k', 'a', 'x');
    m.set('k', 'b', 'y');
    m.delete('k', 'a');
    expect([...m.entries('k')!]).toEqual([['b', 'y']]);
    m.delete('k', 'b');
    expect(m.entries('k')).toBeUndefined();
    const l = b.listState<number>('s1', 'l');
    l.add('k', 1);
    l.add('k', 2);
    expect(l.get('k')).toEqual([1, 2]);
    l.clear('k');
    expect(l.get('k')).toEqual([]);
  });

  it('rejects the same state declared twice in one step', () => {
    const b = new InMemoryStateBackend();
    b.valueState('s', 'n');
    let err: unknown;
    try {
      b.valueState('s', 'n');
    } catch (e) {
      err = e;
    }
    expect(isScenestreamError(err, 'SS_ERR_GRAPH_DUPLICATE_STEP')).toBe(true);
  });

  it('expires entries in event time: invisible to reads at write time + ttl, removed once the watermark passes it', () => {
    const b = new InMemoryStateBackend();
    const v = b.valueState<string>('s', 'seen', { ttlMs: 100 });
    b.time.currentTime = 1000;
    v.set('a', 'x'); // expires at 1100
    b.time.watermark = 5000; // the watermark alone does not hide it: a held-back record at 1099 still sees it
    b.time.currentTime = 1099;
    expect(v.get('a')).toBe('x');
    b.time.currentTime = 1100;
    expect(v.get('a')).toBeUndefined();
    expect(v.size).toBe(1); // still stored until swept
    b.expire();
    expect(v.size).toBe(0);
  });

  it('tracks changes for write-behind only when asked', () => {
    const off = new InMemoryStateBackend();
    off.valueState<number>('s', 'n').set('k', 1);
    expect(off.drainChanges()).toEqual([]);
    const on = new InMemoryStateBackend({ trackChanges: true });
    const v = on.valueState<number>('s', 'n');
    v.set('k', 1);
    v.set('k', 2);
    v.set('j', 3);
    v.delete('j');
    expect(on.drainChanges()).toEqual([
      { table: 's/n', key: 'k', value: 2, expiresAt: undefined },
      { table: 's/n', key: 'j', value: undefined, expiresAt: undefined },
    ]);
    expect(on.drainChanges()).toEqual([]);
  });

  it('list state: a short list grows into an exact copy, a long one in place; an element changed in place and touched is written behind as it is', () => {
    const b = new InMemoryStateBackend({ trackChanges: true });
    const l = b.listState<{ n: number }>('s', 'l');
    l.add('k', { n: 1 });
    const before = l.get('k');
    l.add('k', { n: 2 });
    expect(l.get('k')).not.toBe(before); // short: replaced by a copy one longer
    expect(l.get('k').map((x) => x.n)).toEqual([1, 2]);
    for (let i = 3; i <= 20; i++) l.add('k', { n: i });
    const long = l.get('k');
    l.add('k', { n: 21 });
    expect(l.get('k')).toBe(long); // long: grown in place
    expect(long.map((x) => x.n)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    b.drainChanges();
    l.get('k')[0]!.n = 100;
    expect(b.drainChanges()).toEqual([]); // a mutation alone is not seen
    l.touch('k');
    l.touch('absent');
    const changes = b.drainChanges();
    expect(changes.map((c) => c.key)).toEqual(['k']);
    expect((changes[0]!.value as Array<{ n: number }>)[0]!.n).toBe(100);
  });

  it('snapshots and restores tables and timers as independent copies', () => {
    const a = new InMemoryStateBackend();
    const m = a.mapState<{ n: number }>('s', 'm');
    const q = a.timers('s', 't');
    m.set('k', 'f', { n: 1 });
    q.register(10, 'k');
    const snap = a.snapshot();
    m.get('k', 'f')!.n = 99; // mutating live state must not change the snapshot
    const b = new InMemoryStateBackend();
    const m2 = b.mapState<{ n: number }>('s', 'm');
    const q2 = b.timers('s', 't');
    b.restore(snap);
    expect(m2.get('k', 'f')).toEqual({ n: 1 });
    expect(q2.entries()).toEqual([[10, 'k']]);
  });

  it('refuses a snapshot with state no step declares', () => {
    const a = new InMemoryStateBackend();
    a.valueState('old-step', 'n').set('k', 1);
    const b = new InMemoryStateBackend();
    b.valueState('new-step', 'n');
    expect(() => b.restore(a.snapshot())).toThrow(/SS_ERR_STATE_RESTORE.*old-step\/n/);
  });
});

describe('timer change tracking', () => {
  it('records timers added, deleted and fired as changes, and restoring records none', () => {
    const b = new InMemoryStateBackend({ trackChanges: true });
    const q = b.timers('s', 'event');
    q.register(10, 'a');
    q.register(20, 'b');
    q.delete(20, 'b');
    q.register(30, 'c');
    q.fire(15, () => {});
    expect(b.drainChanges().map((c) => [c.table, c.key.split('\u0002'), c.value])).toEqual([
      ['s/event#timers', ['10', 'a'], undefined],
      ['s/event#timers', ['20', 'b'], undefined],
      ['s/event#timers', ['30', 'c'], true],
    ]);
    b.restore(b.snapshot());
    expect(b.drainChanges()).toEqual([]);
    expect(q.entries()).toEqual([[30, 'c']]);
  });
});
