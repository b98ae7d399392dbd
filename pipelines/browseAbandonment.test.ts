import { describe, expect, it } from 'vitest';
import { fromPlain, type Json } from '../engine/plain.js';
import { pipeline } from '../stream/stream.js';
import type { ClickEvent, Trigger } from '../schemas/index.js';
import { rewriteStateTable, TestDriver } from '../testkit/driver.js';
import { buildBrowseAbandonment } from './browseAbandonment.js';
import { DEFAULT_PARAMS } from './params.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const W = 20 * MIN;
const T0 = 1_700_000_000_000;
let n = 0;
const click = (customerId: string, type: ClickEvent['type'], ts: number, category: string | null = 'shoes', productId: string | null = 'p1'): ClickEvent => ({
  eventId: `c${++n}`,
  customerId,
  sessionId: null,
  ts: T0 + ts,
  type,
  productId,
  category,
  price: null,
  quantity: null,
  channel: 'app',
});
const view = (ts: number, productId: string | null = 'p1', category: string | null = 'shoes', customerId = 'u') => click(customerId, 'product_view', ts, category, productId);
const cart = (ts: number, category: string | null = 'shoes', customerId = 'u') => click(customerId, 'add_to_cart', ts, category, 'p9');

function driver(outOfOrdernessMs = 0) {
  const p = pipeline('browse');
  buildBrowseAbandonment(p, DEFAULT_PARAMS, undefined, { outOfOrdernessMs, idleTimeoutMs: 60_000 }).to('triggers');
  return TestDriver.of(p);
}
function run(events: ClickEvent[], outOfOrdernessMs = 0): Trigger[] {
  const d = driver(outOfOrdernessMs);
  for (const e of events) d.push('clickstream', e);
  d.end();
  return d.values<Trigger>('triggers');
}
/** Trigger times relative to T0. */
const times = (ts: Trigger[]) => ts.map((t) => t.ts - T0);

describe('browse abandonment (SCENES §3.2)', () => {
  it('fires at the 3rd view when t - t_k == W, with the sorted distinct products of the k views', () => {
    const v3 = view(W, 'b');
    const out = run([view(0, 'c'), view(5 * MIN, 'a'), v3]);
    expect(out).toEqual([
      { scene: 'browse_abandonment', customerId: 'u', ts: T0 + W, storeId: null, productIds: ['a', 'b', 'c'], category: 'shoes', eventId: v3.eventId },
    ]);
    expect(run([view(0, 'a'), view(1, 'a'), view(2, null)])[0]!.productIds).toEqual(['a']); // distinct; a view without product adds none
  });

  it('does not fire when t - t_k == W + 1, nor with fewer than k views', () => {
    expect(run([view(0), view(5 * MIN), view(W + 1)])).toEqual([]);
    expect(run([view(0), view(MIN)])).toEqual([]);
  });

  it('measures from the k-th most recent view, not the first', () => {
    // at 25 min t_k = 0 (too old); at 30 min t_k = 10 min: exactly W
    expect(times(run([view(0), view(10 * MIN), view(25 * MIN), view(30 * MIN)]))).toEqual([30 * MIN]);
  });

  it('counts views per category: other categories and category-less views do not add up', () => {
    expect(run([view(0), view(MIN, 'p1', 'hats'), view(2 * MIN), view(3 * MIN, 'p1', null)])).toEqual([]);
    const out = run([view(0, 'p', 'hats'), view(0, 'p', 'shoes'), view(MIN, 'p', 'hats'), view(MIN, 'p', 'shoes'), view(2 * MIN, 'p', 'hats'), view(2 * MIN, 'p', 'shoes')]);
    expect(out.map((t) => t.category)).toEqual(['hats', 'shoes']);
  });

  it('an add_to_cart in c at exactly t_k blocks; 1 ms before t_k does not', () => {
    expect(run([view(0), cart(0), view(MIN), view(2 * MIN)])).toEqual([]);
    expect(run([cart(0), view(0), view(MIN), view(2 * MIN)])).toEqual([]);
    expect(times(run([cart(-1), view(0), view(MIN), view(2 * MIN)]))).toEqual([2 * MIN]);
  });

  it('an add_to_cart at exactly t blocks, even when it arrives after the view', () => {
    expect(run([view(0), view(MIN), view(2 * MIN), cart(2 * MIN)])).toEqual([]);
    expect(times(run([view(0), view(MIN), view(2 * MIN), cart(2 * MIN + 1)]))).toEqual([2 * MIN]);
  });

  it('an add_to_cart in another category (or none) does not block', () => {
    expect(times(run([view(0), cart(MIN, 'hats'), cart(MIN, null), view(MIN), view(2 * MIN)]))).toEqual([2 * MIN]);
  });

  it('counts an add_to_cart that arrives late (within the out-of-orderness bound) in its event-time place', () => {
    // The cart click (ts 90 s) arrives after the 3rd view (ts 2 min): it is in [t_k, t] all the same.
    expect(run([view(0), view(MIN), view(2 * MIN), cart(90_000)], 60_000)).toEqual([]);
  });

  it('cooldown: a trigger exactly 24 h after the last one fires, 1 ms less does not; per category', () => {
    const base = [view(0), view(MIN), view(2 * MIN)];
    const again = (at: number) => [view(at - 2 * MIN), view(at - MIN), view(at)];
    expect(times(run([...base, ...again(2 * MIN + 24 * HOUR)]))).toEqual([2 * MIN, 2 * MIN + 24 * HOUR]);
    expect(times(run([...base, ...again(2 * MIN + 24 * HOUR - 1)]))).toEqual([2 * MIN]);
    // right after a trigger, more views in the same category stay quiet; another category fires
    const out = run([...base, view(3 * MIN), view(4 * MIN, 'p', 'hats'), view(5 * MIN, 'p', 'hats'), view(6 * MIN, 'p', 'hats')]);
    expect(out.map((t) => [t.ts - T0, t.category])).toEqual([
      [2 * MIN, 'shoes'],
      [6 * MIN, 'hats'],
    ]);
  });

  it('the cooldown is per customer', () => {
    const out = run([view(0), view(MIN), view(2 * MIN), view(0, 'p1', 'shoes', 'v'), view(MIN, 'p1', 'shoes', 'v'), view(2 * MIN, 'p1', 'shoes', 'v')]);
    expect(out.map((t) => t.customerId)).toEqual(['u', 'v']);
  });

  it('keeps at most k views per category and drops a customer once W + cooldown has passed', () => {
    const d = driver();
    for (let i = 0; i < 10; i++) d.push('clickstream', view(i * MIN, `p${i}`));
    const rows = (tag: string) => {
      // the snapshot body is JSON-encoded, and so is each state value in it (a map state's is a Map)
      const body = fromPlain(fromPlain(d.snapshot().body) as Json) as { state: { tables: Record<string, Array<[string, unknown, number | null]>> } };
      return body.state.tables[`browse_abandonment/${tag}`] ?? [];
    };
    const categoryViews = () =>
      rows('categories').map(([key, v]) => [key, [...(v as Map<string, { viewTs: unknown[] }>)].map(([c, st]) => [c, st.viewTs.length])]);
    // nine views applied (the tenth waits for the watermark), all within W: only the newest k are kept
    expect(categoryViews()).toEqual([['u', [['shoes', 3]]]]);
    expect(rows('cleanupAt')).toHaveLength(1);
    d.push('clickstream', view(9 * MIN + W + 24 * HOUR + 1, 'x', 'other', 'someone-else'));
    expect(rows('categories')).toEqual([]);
    expect(rows('cleanupAt')).toEqual([]);
  });

  it('survives a snapshot and restore between the 2nd and 3rd view', () => {
    const d = driver();
    d.push('clickstream', view(0));
    d.push('clickstream', view(MIN));
    d.push('clickstream', view(MIN + 1, 'p1', 'hats'));
    const snap = JSON.parse(JSON.stringify(d.snapshot())) as ReturnType<TestDriver['snapshot']>;
    const e = driver().restore(snap);
    e.push('clickstream', view(2 * MIN));
    e.end();
    expect(times(e.values<Trigger>('triggers'))).toEqual([2 * MIN]);
  });

  it('restores a checkpoint of the object form an older version wrote (one object per view) and fires as from its own', () => {
    const d = driver();
    d.push('clickstream', view(0));
    d.push('clickstream', view(MIN, 'p2'));
    d.push('clickstream', view(MIN + 1, 'p1', 'hats'));
    const objectForm = (v: unknown) =>
      new Map(
        [...(v as Map<string, { viewTs: number[]; viewProducts: Array<string | null>; carts: number[]; lastFired: number | null }>)].map(([c, s]) => [
          c,
          { views: s.viewTs.map((ts, i) => ({ ts, productId: s.viewProducts[i]! })), carts: s.carts, lastFired: s.lastFired },
        ]),
      );
    const snap = JSON.parse(JSON.stringify(d.snapshot())) as ReturnType<TestDriver['snapshot']>;
    const e = driver().restore(rewriteStateTable(snap, 'browse_abandonment/categories', objectForm));
    e.push('clickstream', view(2 * MIN));
    e.end();
    expect(e.values<Trigger>('triggers').map((t) => [t.ts - T0, t.productIds])).toEqual([[2 * MIN, ['p1', 'p2']]]);
  });
});
