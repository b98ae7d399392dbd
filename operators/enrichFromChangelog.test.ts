import { describe, expect, expectTypeOf, it } from 'vitest';
import type { OperatorDef } from '../engine/graph.js';
import { KeyedStream, pipeline, type Pipeline, type Stream } from '../stream/stream.js';
import { TestDriver } from '../testkit/driver.js';
import { enrichFromChangelog } from './enrichFromChangelog.js';
import type { EnrichJoinType, EnrichOptions, EnrichValue } from './enrichFromTable.js';

interface Order {
  customer: string;
  id: string;
  ts: number;
}
interface Profile {
  tier: string;
}
/** A changelog record as read from a compacted topic: key, and value or tombstone. */
interface Change {
  customer: string;
  profile: Profile | null;
  ts: number;
}
const order = (customer: string, id: string, ts: number): Order => ({ customer, id, ts });
const upsert = (customer: string, tier: string, ts: number): Change => ({ customer, profile: { tier }, ts });
const tombstone = (customer: string, ts: number): Change => ({ customer, profile: null, ts });

/** What the fluent `enrichFromChangelog` is meant to do: stream as input 0, changelog as input 1. */
function enrichStream<T, R, O, J extends EnrichJoinType = 'inner'>(
  stream: Stream<T>,
  stepId: string,
  changelog: KeyedStream<R | null>,
  opts: EnrichOptions<T, J>,
  joiner: (value: T, ref: EnrichValue<R, J>) => O,
): Stream<O> {
  const builder = stream['builder'];
  const def = enrichFromChangelog<T, R, O, J>(stepId, opts, joiner) as OperatorDef<unknown, unknown>;
  const node = builder.addOperator(def, [{ from: stream.node, port: 'main', input: 0 }, changelog.edgeOf(1)], stream.node.keyed);
  return new KeyedStream<O>(builder, node);
}

function build(joinType: EnrichJoinType, keyedStream = true): Pipeline {
  const p = pipeline('enrich-cl');
  const orders = keyedStream
    ? p.keyedSource<Order>('orders', { timestamp: (o) => o.ts, key: (o) => o.customer })
    : p.source<Order>('orders', { timestamp: (o) => o.ts });
  const profiles = p
    .keyedSource<Change>('profiles', { timestamp: (c) => c.ts, key: (c) => c.customer })
    .mapValues((c) => c.profile);
  const opts = keyedStream ? { joinType } : { joinType, key: (o: Order) => o.customer };
  enrichStream(orders, 'with-profile', profiles, opts, (o: Order, pr: Profile | null) => `${o.id}:${pr?.tier ?? 'null'}`).to('out');
  return p;
}

describe('enrichFromChangelog', () => {
  it('joins each record with the value current in processing order, whatever the event times', () => {
    const d = TestDriver.of(build('left'));
    d.push('orders', order('c1', 'o1', 100)); // nothing in the table yet
    d.push('profiles', upsert('c1', 'silver', 500)); // event time after o2's, but it arrives first
    d.push('orders', order('c1', 'o2', 200));
    d.push('profiles', upsert('c1', 'gold', 50)); // an older event time still replaces the value
    d.push('orders', order('c1', 'o3', 300));
    d.push('profiles', tombstone('c1', 600));
    d.push('orders', order('c1', 'o4', 700));
    expect(d.records('out')).toEqual([
      { value: 'o1:null', ts: 100, key: 'c1' },
      { value: 'o2:silver', ts: 200, key: 'c1' },
      { value: 'o3:gold', ts: 300, key: 'c1' },
      { value: 'o4:null', ts: 700, key: 'c1' },
    ]);
  });

  it('inner: sends records with no table value to `unmatched`; table updates never emit', () => {
    const d = TestDriver.of(build('inner'));
    d.push('orders', order('c1', 'o1', 1));
    d.push('profiles', upsert('c1', 'gold', 2)).push('profiles', upsert('c2', 'bronze', 2));
    d.push('orders', order('c1', 'o2', 3)).push('orders', order('c3', 'o3', 4));
    expect(d.values('out')).toEqual(['o2:gold']);
    expect(d.side<Order>('with-profile', 'unmatched').map((r) => r.value.id)).toEqual(['o1', 'o3']);
  });

  it('keys an unkeyed stream with the key function and keeps its (empty) stream key', () => {
    const d = TestDriver.of(build('left', false));
    d.push('profiles', upsert('c1', 'gold', 1));
    d.push('orders', order('c1', 'o1', 2)).push('orders', order('c2', 'o2', 3));
    expect(d.records('out')).toEqual([
      { value: 'o1:gold', ts: 2, key: '' },
      { value: 'o2:null', ts: 3, key: '' },
    ]);
  });

  it('keeps one value per live key in state, drops it on a tombstone, and restores it from a snapshot', () => {
    const d1 = TestDriver.of(build('inner'));
    d1.push('profiles', upsert('c1', 'gold', 1)).push('profiles', upsert('c2', 'silver', 1)).push('profiles', upsert('c1', 'platinum', 2));
    d1.push('profiles', tombstone('c2', 3)).push('profiles', tombstone('c9', 3));
    const rows = d1.executor.state.snapshot().tables['with-profile/table'] ?? [];
    expect(rows.map(([k, v]) => [k, v])).toEqual([['c1', { tier: 'platinum' }]]);
    const d2 = TestDriver.of(build('inner')).restore(d1.snapshot());
    d2.push('orders', order('c1', 'o1', 10)).push('orders', order('c2', 'o2', 11));
    expect(d2.values('out')).toEqual(['o1:platinum']);
    expect(d2.side('with-profile', 'unmatched')).toHaveLength(1);
  });

  it('dead-letters a changelog record without a key, and a record whose joiner throws', () => {
    const p = pipeline('enrich-cl-bad');
    const orders = p.keyedSource<Order>('orders', { timestamp: (o) => o.ts, key: (o) => o.customer });
    const profiles = p.keyedSource<Change>('profiles', { timestamp: (c) => c.ts, key: (c) => c.customer }).mapValues((c) => c.profile);
    enrichStream(orders, 'e', profiles, { joinType: 'left' }, (o: Order, pr: Profile | null) => {
      if (o.id === 'boom') throw new Error('joiner failed');
      return `${o.id}:${pr?.tier ?? 'null'}`;
    }).to('out');
    const d = TestDriver.of(p);
    d.push('profiles', upsert('', 'gold', 1)).push('orders', order('c1', 'boom', 2)).push('orders', order('c1', 'ok', 3));
    expect(d.values('out')).toEqual(['ok:null']);
    expect(d.deadLetters.map((l) => [l.source, l.error.code, l.error.stepId])).toEqual([
      ['profiles', 'SS_ERR_VALIDATION', 'e'],
      ['orders', 'SS_ERR_USER_FUNCTION', 'e'],
    ]);
  });

  it('rejects an unkeyed stream without a key function at build time', () => {
    const p = pipeline('enrich-cl-unkeyed');
    const orders = p.source<Order>('orders', { timestamp: (o) => o.ts });
    const profiles = p.keyedSource<Profile | null>('profiles', { timestamp: () => 0, key: () => 'k' });
    expect(() => enrichStream(orders, 'e', profiles, {}, (o: Order) => o.id)).toThrow(/\[step e\] "enrichFromChangelog" needs a keyed input; "orders" is not keyed/);
  });

  it('types the table value as nullable only for a left join', () => {
    enrichFromChangelog<Order, Profile, string>('t1', {}, (o, pr) => {
      expectTypeOf(pr).toEqualTypeOf<Profile>();
      return o.id;
    });
    const def = enrichFromChangelog<Order, Profile, string, 'left'>('t2', { joinType: 'left' }, (o, pr) => {
      expectTypeOf(pr).toEqualTypeOf<Profile | null>();
      return o.id;
    });
    expectTypeOf(def).toEqualTypeOf<OperatorDef<Order | Profile | null, string>>();
  });
});
