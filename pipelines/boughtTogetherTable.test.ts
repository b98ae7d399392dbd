import { describe, expect, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import type { BasketMember, BoughtTogetherChange, PosEvent } from '../schemas/index.js';
import { TestDriver } from '../testkit/driver.js';
import { buildBoughtTogether, buildGlobalBoughtTogether, GLOBAL_BOUGHT_TOGETHER, MARK_ID } from './boughtTogether.js';
import { BoughtTogetherTable } from './boughtTogetherTable.js';
import { retailSources } from './sources.js';
import { createRng } from '../simulator/prng.js';

const change = (productId: string, ts: number, items: Array<[string, number]>): BoughtTogetherChange => ({ productId, ts, items: items.map(([p, count]) => ({ productId: p, count })) });

describe('BoughtTogetherTable (the global table materialised from the changelog)', () => {
  it('keeps the last list read per product; the table is sorted by productId and leaves out empty lists', () => {
    const t = new BoughtTogetherTable();
    expect(t.apply(change('B', 1, [['A', 1]]))).toBe(true);
    expect(t.apply(change('A', 1, [['B', 1]]))).toBe(true);
    expect(t.apply(change('A', 3, [['B', 2], ['C', 1]]))).toBe(true);
    // A counting task replayed after a crash writes the same lists again: nothing changes.
    expect(t.apply(change('A', 3, [['B', 2], ['C', 1]]))).toBe(false);
    expect(t.apply(change('Z', 2, []))).toBe(true);
    expect(t.table()).toEqual([
      { productId: 'A', items: [{ productId: 'B', count: 2 }, { productId: 'C', count: 1 }] },
      { productId: 'B', items: [{ productId: 'A', count: 1 }] },
    ]);
    expect(t.get('A')?.ts).toBe(3);
    expect(t.size).toBe(2);
    expect(t.ts).toBe(3);
    expect(t.read).toBe(5);
  });

  it('reads the latest list whatever the time asked (eventually consistent, not as of t)', () => {
    const t = new BoughtTogetherTable();
    t.addReader();
    t.apply(change('A', 10, [['B', 1]]));
    t.apply(change('A', 20, [['B', 2]]));
    expect(t.topAsOf('A', 5)).toEqual([{ productId: 'B', count: 2 }]);
    expect(t.topAsOf('missing', 5)).toEqual([]);
  });

  it('does not share its rows with the records applied', () => {
    const t = new BoughtTogetherTable();
    const c = change('A', 1, [['B', 1]]);
    t.apply(c);
    c.items[0]!.count = 99;
    expect(t.top('A')).toEqual([{ productId: 'B', count: 1 }]);
  });
});

function tills(n: number, seed: number): PosEvent[] {
  const rng = createRng(seed);
  const r = () => rng.next();
  return Array.from({ length: n }, (_, i) => {
    const items = Array.from({ length: 1 + Math.floor(r() * 5) }, () => ({ productId: `P${Math.floor(r() * 30)}`, category: null, quantity: r() < 0.1 ? -1 : 1, unitPrice: 1 }));
    return { eventId: `e${i}`, customerId: r() < 0.2 ? null : `c${Math.floor(r() * 10)}`, storeId: 's', ts: 1_000 * i + Math.floor(r() * 3_000), items, total: items.length };
  });
}

/** One task of the global graph (origin = its partition), as the Kafka job instantiates it. */
function task(origin: number): TestDriver {
  const p = pipeline('retail');
  const src = retailSources(p, { outOfOrdernessMs: 0 });
  buildGlobalBoughtTogether(p, src.pos, { origin, outOfOrdernessMs: 0 });
  return TestDriver.of(p);
}

const partitionOf = (productId: string, n: number): number => [...productId].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % n;

describe('global bought-together (repartitioned count)', () => {
  it('numbers each basket of an origin once, one member per distinct product bought, baskets of one left out', () => {
    const d = task(3);
    d.push('pos', { eventId: 'a', customerId: null, storeId: 's', ts: 5, items: [{ productId: 'B', category: null, quantity: 1, unitPrice: 1 }, { productId: 'A', category: null, quantity: 2, unitPrice: 1 }, { productId: 'A', category: null, quantity: 1, unitPrice: 1 }], total: 3 });
    d.push('pos', { eventId: 'b', customerId: 'c', storeId: 's', ts: 6, items: [{ productId: 'A', category: null, quantity: 1, unitPrice: 1 }, { productId: 'C', category: null, quantity: -1, unitPrice: 1 }], total: 0 });
    d.push('pos', { eventId: 'c', customerId: 'c', storeId: 's', ts: 7, items: [{ productId: 'C', category: null, quantity: 1, unitPrice: 1 }, { productId: 'A', category: null, quantity: 1, unitPrice: 1 }], total: 2 });
    expect(d.values<BasketMember>(GLOBAL_BOUGHT_TOGETHER.membersOut)).toEqual([
      { productId: 'A', basket: ['A', 'B'], ts: 5, origin: 3, seq: 1 },
      { productId: 'B', basket: ['A', 'B'], ts: 5, origin: 3, seq: 1 },
      { productId: 'A', basket: ['A', 'C'], ts: 7, origin: 3, seq: 2 },
      { productId: 'C', basket: ['A', 'C'], ts: 7, origin: 3, seq: 2 },
    ]);
  });

  it('three tasks, members repartitioned by product, replays upstream and a restore: the table equals the in-process one', () => {
    const N = 3;
    const events = tills(600, 11);
    const tasks = Array.from({ length: N }, (_, i) => task(i));
    // Upstream: each task numbers the baskets of its own input partition (by customer, anonymous to 0).
    events.forEach((e, i) => tasks[e.customerId === null ? 0 : (i % N)]!.push('pos', e));
    const members = tasks.flatMap((d) => d.values<BasketMember>(GLOBAL_BOUGHT_TOGETHER.membersOut));
    expect(members.length).toBeGreaterThan(500);
    // The repartition topic: per partition, what every origin produced, in order, with a stretch of
    // each origin produced again right after it (a crash between produce and checkpoint upstream).
    const byPartition: BasketMember[][] = Array.from({ length: N }, () => []);
    for (const m of members) byPartition[partitionOf(m.productId, N)]!.push(m);
    for (const part of byPartition) {
      for (let origin = 0; origin < N; origin++) {
        const again = part.filter((m) => m.origin === origin && m.seq > 50 && m.seq <= 80);
        part.splice(part.lastIndexOf(again.at(-1)!) + 1, 0, ...again);
      }
    }
    const table = new BoughtTogetherTable();
    byPartition.forEach((part, i) => {
      let d = tasks[i]!;
      const half = Math.floor(part.length / 2);
      for (const m of part.slice(0, half)) d.push(GLOBAL_BOUGHT_TOGETHER.members, m);
      // A restart of the counting task from its checkpoint (state with the seqs it applied), then
      // the first half delivered again: nothing is counted twice.
      const snapshot = d.snapshot();
      for (const out of d.values<BoughtTogetherChange>(GLOBAL_BOUGHT_TOGETHER.changes)) table.apply(out);
      d = task(i).restore(snapshot);
      for (const m of part) d.push(GLOBAL_BOUGHT_TOGETHER.members, m);
      for (const out of d.values<BoughtTogetherChange>(GLOBAL_BOUGHT_TOGETHER.changes)) table.apply(out);
      expect(d.deadLetters.map((l) => l.error.message)).toEqual([]);
    });

    const p = pipeline('bt');
    const { changes, index } = buildBoughtTogether(retailSources(p, { outOfOrdernessMs: 0 }).pos);
    changes.to('bought_together');
    const reference = TestDriver.of(p);
    for (const e of events) reference.push('pos', e);
    reference.end();
    expect(index.table().length).toBeGreaterThan(20);
    expect(table.table()).toEqual(index.table());
    // Each change carries the latest basket ts counted for its product.
    const last = Math.max(...events.map((e) => e.ts));
    expect(table.ts).toBeLessThanOrEqual(last);
    expect(table.ts).toBeGreaterThan(last - 20_000);
  });

  it('exact reads: lists by ts, a list written again replaces its own ts, the watermark is the least counting mark, old history pruned', () => {
    const t = new BoughtTogetherTable({ reads: 'exact', tasks: 2, historyMs: 1_000 });
    const mark = (ts: number): BoughtTogetherChange => ({ productId: MARK_ID, ts, items: [] });
    expect(t.watermark).toBe(-Infinity);
    t.apply(change('A', 10, [['B', 1]]), 0);
    t.apply(change('A', 20, [['B', 2]]), 0);
    expect(t.apply(change('A', 10, [['B', 1]]), 0)).toBe(false); // a replayed counting task
    t.apply(mark(25), 0);
    expect(t.watermark).toBe(-Infinity); // task 1 has not written a mark yet
    t.apply(mark(15), 1);
    expect(t.watermark).toBe(15);
    expect(t.topAsOf('A', 9)).toEqual([]);
    expect(t.topAsOf('A', 10)).toEqual([{ productId: 'B', count: 1 }]);
    expect(t.topAsOf('A', 19)).toEqual([{ productId: 'B', count: 1 }]);
    expect(t.topAsOf('A', 20)).toEqual([{ productId: 'B', count: 2 }]);
    expect(t.table()).toEqual([{ productId: 'A', items: [{ productId: 'B', count: 2 }] }]);
    expect(t.size).toBe(1);
    // Far on: the history behind the watermark is dropped, the latest before it kept.
    t.apply(change('A', 5_000_000, [['B', 3]]), 0);
    t.apply(mark(5_000_000), 0);
    t.apply(mark(5_000_000), 1);
    expect(t.topAsOf('A', 12)).toEqual([{ productId: 'B', count: 2 }]);
    expect(t.topAsOf('A', 5_000_000)).toEqual([{ productId: 'B', count: 3 }]);
    // Latest reads ignore t.
    const latest = new BoughtTogetherTable();
    latest.apply(change('A', 10, [['B', 1]]));
    latest.apply(change('A', 20, [['B', 2]]));
    expect(latest.topAsOf('A', 10)).toEqual([{ productId: 'B', count: 2 }]);
  });
});
