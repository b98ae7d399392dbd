import { describe, expect, expectTypeOf, it } from 'vitest';
import { sessionWindow } from '../operators/sessionWindow.js';
import { TestDriver } from '../testkit/driver.js';
import { CircleIndex } from '../engine/geo.js';
import type { Match } from '../engine/pattern.js';
import { KeyedStream, pipeline, Stream } from './stream.js';
import type { Windowed } from '../engine/windows.js';

interface Ev {
  k: string;
  kind: 'add' | 'buy' | 'view';
  id: string;
  ts: number;
}
interface Add extends Ev {
  kind: 'add';
}
const ev = (k: string, kind: Ev['kind'], ts: number, id = `${k}${ts}`): Ev => ({ k, kind, ts, id });
const isAdd = (e: Ev): e is Add => e.kind === 'add';

describe('fluent API wiring of the operator vocabulary', () => {
  it('keeps streams covariant: a stream of a subtype is a stream of its supertype', () => {
    expectTypeOf<Stream<Add>>().toMatchTypeOf<Stream<Ev>>();
    expectTypeOf<KeyedStream<Add>>().toMatchTypeOf<KeyedStream<Ev>>();
    expectTypeOf<KeyedStream<number>>().toMatchTypeOf<KeyedStream<unknown>>();
  });

  it('notFollowedBy fires at the deadline; followedBy pairs; pattern matches per key', () => {
    const p = pipeline('patterns');
    const k = p.source<Ev>('in', { timestamp: (e) => e.ts }).keyBy((e) => e.k);
    k.notFollowedBy('abandon', { start: isAdd, absent: (e) => e.kind === 'buy', withinMs: 10 })
      .map((a) => `${a.start.k}@${a.deadline}`)
      .to('abandoned');
    k.followedBy('add-buy', { first: isAdd, then: (e): e is Ev => e.kind === 'buy', withinMs: 10 })
      .map((m) => `${m.first.ts}->${m.then.ts}`)
      .to('pairs');
    const matches = k.pattern('view-add', (s) => s.begin('v').where((e) => e.kind === 'view').next('a').where(isAdd).within(5));
    expectTypeOf(matches).toMatchTypeOf<KeyedStream<Match<{ v: Ev; a: Add }>>>();
    matches.map((m) => `${m.v[0]!.ts}+${m.a[0]!.ts}`).to('matches');
    const d = TestDriver.of(p);
    d.pushAll('in', [ev('x', 'view', 0), ev('x', 'add', 1), ev('y', 'add', 2), ev('y', 'buy', 5), ev('z', 'view', 30)]).end();
    expect(d.values('abandoned')).toEqual(['x@11']);
    expect(d.values('pairs')).toEqual(['2->5']);
    expect(d.values('matches')).toEqual(['0+1']);
  });

  it('dedupes, rate-limits, and geofences', () => {
    const p = pipeline('misc');
    const s = p.source<Ev>('in', { timestamp: (e) => e.ts });
    s.dedupe('dedupe', { id: (e) => e.id, ttlMs: 100 }).map((e) => e.id).to('unique');
    s.keyBy((e) => e.k).rateLimit('limit', { max: 2, perMs: 100 }).map((e) => e.ts).to('limited');
    const index = CircleIndex.of([{ id: 'store-1', lat: 31.23, lon: 121.47, radiusM: 150 }]);
    s.map((e) => ({ ...e, lat: 31.23, lon: 121.47 + e.ts * 1e-6 }))
      .geofence({ index, lat: (e) => e.lat, lon: (e) => e.lon })
      .map((h) => `${h.circleId}:${h.inside}`)
      .to('hits');
    const d = TestDriver.of(p);
    d.pushAll('in', [ev('a', 'view', 0, 'i1'), ev('a', 'view', 1, 'i1'), ev('a', 'view', 2, 'i2'), ev('a', 'view', 3000, 'i3')]);
    expect(d.values('unique')).toEqual(['i1', 'i2', 'i3']);
    expect(d.values('limited')).toEqual([0, 1, 3000]);
    // The last point is ~285 m east: outside the 150 m radius, and no maxDistanceM asks for near misses.
    expect(d.values('hits')).toEqual(['store-1:true', 'store-1:true', 'store-1:true']);
  });

  it('interval-joins two keyed streams and enriches from a table and a changelog', () => {
    const p = pipeline('joins');
    const adds = p.source<Ev>('adds', { timestamp: (e) => e.ts }).keyBy((e) => e.k);
    const buys = p.source<Ev>('buys', { timestamp: (e) => e.ts }).keyBy((e) => e.k);
    adds.intervalJoin('join', buys, { lowerMs: 0, upperMs: 10 }, (a, b) => `${a.ts}-${b.ts}`).to('joined');
    adds.enrich('tier', new Map([['u', 'gold']]), { joinType: 'left' }, (e, tier) => `${e.k}:${tier ?? 'none'}`).to('tiers');
    const profile = p.source<{ k: string; tier: string | null; ts: number }>('profiles', { timestamp: (e) => e.ts }).keyBy((e) => e.k).mapValues((e) => e.tier);
    buys.enrichFromChangelog('latest-tier', profile, { joinType: 'left' }, (e, t) => `${e.ts}:${t ?? '-'}`).to('buy-tiers');
    const d = TestDriver.of(p);
    d.push('profiles', { k: 'u', tier: 'silver', ts: 0 });
    d.push('adds', ev('u', 'add', 1)).push('adds', ev('v', 'add', 2));
    d.push('buys', ev('u', 'buy', 5)).push('buys', ev('u', 'buy', 50));
    d.watermark('adds', 100).watermark('profiles', 100).watermark('buys', 100);
    expect(d.values('joined')).toEqual(['1-5']);
    expect(d.values('tiers')).toEqual(['u:gold', 'v:none']);
    expect(d.values('buy-tiers')).toEqual(['5:silver', '50:silver']);
  });

  it('gives session results their retractions', () => {
    const p = pipeline('sessions');
    const r = p
      .source<Ev>('in', { timestamp: (e) => e.ts, outOfOrdernessMs: 100 }) // keep [0,0] open for the bridge
      .keyBy((e) => e.k)
      .window(sessionWindow({ gapMs: 10, graceMs: 0 }))
      .count('sessions', { emit: 'onUpdate' });
    expectTypeOf(r.retractions()).toEqualTypeOf<KeyedStream<Windowed<number>>>();
    r.to('sessions-out');
    r.retractions().to('retracted');
    const d = TestDriver.of(p);
    d.pushAll('in', [ev('a', 'view', 0), ev('a', 'view', 20), ev('a', 'view', 10)]);
    expect(d.values<Windowed<number>>('sessions-out').at(-1)).toEqual({ key: 'a', start: 0, end: 20, value: 3 });
    expect(d.values<Windowed<number>>('retracted').map((w) => [w.start, w.end])).toEqual([
      [0, 0],
      [20, 20],
    ]);
  });
});
