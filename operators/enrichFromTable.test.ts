import { describe, expect, expectTypeOf, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import type { OperatorDef } from '../engine/graph.js';
import { pipeline } from '../stream/stream.js';
import { TestDriver } from '../testkit/driver.js';
import { enrichFromTable } from './enrichFromTable.js';

interface Order {
  customer: string;
  store: string;
  amount: number;
  ts: number;
}
interface Store {
  city: string;
}
const order = (customer: string, store: string, ts: number, amount = 10): Order => ({ customer, store, amount, ts });
const stores: ReadonlyMap<string, Store> = new Map([
  ['s1', { city: 'Lyon' }],
  ['s2', { city: 'Nantes' }],
]);

describe('enrichFromTable', () => {
  it('inner: joins by a key function, keeps ts and stream key, and sends misses to `unmatched`', () => {
    const p = pipeline('enrich');
    p.keyedSource<Order>('orders', { timestamp: (o) => o.ts, key: (o) => o.customer })
      .pipeKeyed(enrichFromTable<Order, Store, string>('by-store', stores, { key: (o) => o.store }, (o, s) => `${o.customer}@${s.city}`))
      .to('out');
    const d = TestDriver.of(p);
    d.push('orders', order('c1', 's1', 5)).push('orders', order('c2', 's9', 6)).push('orders', order('c3', 's2', 7));
    expect(d.records('out')).toEqual([
      { value: 'c1@Lyon', ts: 5, key: 'c1' },
      { value: 'c3@Nantes', ts: 7, key: 'c3' },
    ]);
    expect(d.side<Order>('by-store', 'unmatched').map((r) => r.value)).toEqual([order('c2', 's9', 6)]);
    expect(d.executor.stats()['by-store']).toMatchObject({ unmatched: 1 });
  });

  it('left: joins a miss with null; a lookup function stands in for the map, by stream key', () => {
    const p = pipeline('enrich-left');
    const lookups: string[] = [];
    const profile = (k: string): { tier: string } | undefined => {
      lookups.push(k);
      return k === 'c1' ? { tier: 'gold' } : undefined;
    };
    p.keyedSource<Order>('orders', { timestamp: (o) => o.ts, key: (o) => o.customer })
      .pipeKeyed(enrichFromTable<Order, { tier: string }, string, 'left'>('by-customer', profile, { joinType: 'left' }, (o, t) => `${o.customer}:${t?.tier ?? 'none'}`))
      .to('out');
    const d = TestDriver.of(p);
    d.push('orders', order('c1', 's1', 1)).push('orders', order('c2', 's1', 2));
    expect(d.values('out')).toEqual(['c1:gold', 'c2:none']);
    expect(lookups).toEqual(['c1', 'c2']);
    expect(d.side('by-customer', 'unmatched')).toEqual([]);
  });

  it('needs a keyed stream when no key function is given', () => {
    const p = pipeline('enrich-unkeyed');
    const s = p.source<Order>('orders', { timestamp: (o) => o.ts });
    const def = enrichFromTable<Order, Store, string>('by-key', stores, {}, (o, st) => o.store + st.city);
    expect(() => s.pipe(def)).toThrow(/SS_ERR_GRAPH_INVALID: \[step by-key\] "enrichFromTable" needs a keyed input/);
  });

  it('dead-letters a record whose key function returns no key, or whose lookup or joiner throws', () => {
    const p = pipeline('enrich-bad');
    const lookup = (k: string): Store | undefined => {
      if (k === 'explode') throw new Error('lookup down');
      return stores.get(k);
    };
    p.source<Order>('orders', { timestamp: (o) => o.ts })
      .pipe(
        enrichFromTable<Order, Store, string>('e', lookup, { key: (o) => o.store }, (o, s) => {
          if (o.amount < 0) throw new Error('negative');
          return s.city;
        }),
      )
      .to('out');
    const d = TestDriver.of(p);
    d.push('orders', order('c', '', 1)).push('orders', order('c', 'explode', 2)).push('orders', order('c', 's1', 3, -1)).push('orders', order('c', 's2', 4));
    expect(d.values('out')).toEqual(['Nantes']);
    expect(d.deadLetters.map((l) => [l.error.code, l.error.stepId])).toEqual([
      ['SS_ERR_VALIDATION', 'e'],
      ['SS_ERR_USER_FUNCTION', 'e'],
      ['SS_ERR_USER_FUNCTION', 'e'],
    ]);
    expect(isScenestreamError(d.deadLetters[1]!.error)).toBe(true);
  });

  it('types the table value as nullable only for a left join', () => {
    enrichFromTable<Order, Store, number>('t1', stores, {}, (o, s) => {
      expectTypeOf(s).toEqualTypeOf<Store>();
      return o.amount;
    });
    enrichFromTable<Order, Store, number, 'left'>('t2', stores, { joinType: 'left' }, (o, s) => {
      expectTypeOf(s).toEqualTypeOf<Store | null>();
      return o.amount;
    });
    expectTypeOf(enrichFromTable<Order, Store, number>('t3', stores, {}, (o) => o.amount)).toEqualTypeOf<OperatorDef<Order, number>>();
  });
});
