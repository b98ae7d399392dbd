import { describe, expect, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import { validate, type BoughtTogether, type PosEvent } from '../schemas/index.js';
import { TestDriver } from '../testkit/driver.js';
import { basketOf, boughtTogetherJsonl, buildBoughtTogether, type BoughtTogetherIndex } from './boughtTogether.js';
import { retailSources } from './sources.js';

let n = 0;
/** A till transaction; `-P` is a return line of P, `P:0` a zero-quantity line. */
const till = (ts: number, lines: string[], customerId: string | null = 'c1'): PosEvent => {
  const items = lines.map((l) => {
    const [id, q] = l.startsWith('-') ? [l.slice(1), -1] : l.endsWith(':0') ? [l.slice(0, -2), 0] : [l, 1];
    return { productId: id, category: null, quantity: q, unitPrice: 2 };
  });
  return { eventId: `t${++n}`, customerId, storeId: 's1', ts, items, total: items.reduce((s, i) => s + i.quantity * 2, 0) };
};

function driver(): { d: TestDriver; index: BoughtTogetherIndex } {
  const p = pipeline('bt');
  const { changes, index } = buildBoughtTogether(retailSources(p, { outOfOrdernessMs: 0 }).pos);
  changes.to('bought_together');
  return { d: TestDriver.of(p), index };
}
const top = (index: BoughtTogetherIndex, id: string) => index.top(id).map((i) => `${i.productId}:${i.count}`);

describe('bought together (SCENES §5)', () => {
  it('counts each distinct pair of a basket once, both ways; duplicates, returns and zero quantities do not count', () => {
    const { d, index } = driver();
    d.push('pos', till(1, ['A', 'B', 'A', 'B', 'C', '-D', 'E:0']));
    d.push('pos', till(2, ['A', 'B', '-C']));
    d.watermark('pos', 2);
    expect(top(index, 'A')).toEqual(['B:2', 'C:1']);
    expect(top(index, 'B')).toEqual(['A:2', 'C:1']);
    expect(top(index, 'C')).toEqual(['A:1', 'B:1']);
    expect(top(index, 'D')).toEqual([]);
    expect(top(index, 'E')).toEqual([]);
    expect(basketOf(till(3, ['B', 'A', 'B', '-C']))).toEqual(['A', 'B']);
  });

  it('adds nothing for a basket of one distinct product; counts anonymous shoppers', () => {
    const { d, index } = driver();
    d.push('pos', till(1, ['A', 'A', '-B']));
    d.push('pos', till(2, ['X']));
    d.watermark('pos', 2);
    expect(index.table()).toEqual([]);
    d.push('pos', till(3, ['A', 'B'], null));
    d.watermark('pos', 3);
    expect(index.table()).toEqual([
      { productId: 'A', items: [{ productId: 'B', count: 1 }] },
      { productId: 'B', items: [{ productId: 'A', count: 1 }] },
    ]);
  });

  it('orders by count descending, ties by productId ascending whatever the arrival order', () => {
    const { d, index } = driver();
    d.push('pos', till(1, ['X', 'Q']));
    d.push('pos', till(2, ['X', 'M']));
    d.push('pos', till(3, ['X', 'B']));
    d.push('pos', till(4, ['X', 'Q']));
    d.watermark('pos', 4);
    expect(top(index, 'X')).toEqual(['Q:2', 'B:1', 'M:1']);
    // Code-unit order, not locale: uppercase before lowercase.
    d.push('pos', till(5, ['X', 'a']));
    d.push('pos', till(6, ['X', 'Z']));
    d.watermark('pos', 6);
    expect(top(index, 'X')).toEqual(['Q:2', 'B:1', 'M:1', 'Z:1', 'a:1']);
  });

  it('keeps the top 10 exact: an item below the cut climbs in, a tie at the cut goes to the smaller productId', () => {
    const { d, index } = driver();
    const others = ['P01', 'P02', 'P03', 'P04', 'P05', 'P06', 'P07', 'P08', 'P09', 'P10', 'P11'];
    d.push('pos', till(1, ['X', ...others])); // 11 partners at 1: P01..P10 in, P11 out
    d.watermark('pos', 1);
    expect(top(index, 'X')).toEqual(others.slice(0, 10).map((o) => `${o}:1`));
    d.push('pos', till(2, ['X', 'P11'])); // P11 at 2 climbs to the top
    d.watermark('pos', 2);
    expect(top(index, 'X')).toEqual(['P11:2', ...others.slice(0, 9).map((o) => `${o}:1`)]);
    d.push('pos', till(3, ['X', 'P00'])); // a new item at 1 ties the cut and beats P09 on productId
    d.watermark('pos', 3);
    expect(top(index, 'X')).toEqual(['P11:2', 'P00:1', ...others.slice(0, 8).map((o) => `${o}:1`)]);
    d.push('pos', till(4, ['X', 'P10'])); // P10, pushed out at 1, comes back at 2
    d.watermark('pos', 4);
    expect(top(index, 'X')).toEqual(['P10:2', 'P11:2', 'P00:1', ...others.slice(0, 7).map((o) => `${o}:1`)]);
    expect(index.top('X')).toHaveLength(10);
  });

  it('agrees with brute force on random baskets full of ties', () => {
    const { d, index } = driver();
    let seed = 42;
    const rnd = (k: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return Math.floor(seed / 65_536) % k;
    };
    const events: PosEvent[] = [];
    for (let t = 0; t < 400; t++) {
      const lines = Array.from({ length: 1 + rnd(8) }, () => `${rnd(4) === 0 ? '-' : ''}p${rnd(30)}`);
      events.push(till(t, lines, rnd(3) === 0 ? null : `c${rnd(5)}`));
    }
    d.pushAll('pos', events);
    d.end();
    const counts = new Map<string, Map<string, number>>();
    for (const e of events) {
      const b = [...new Set(e.items.filter((i) => i.quantity > 0).map((i) => i.productId))];
      for (const x of b) for (const y of b) if (x !== y) counts.set(x, new Map(counts.get(x) ?? []).set(y, (counts.get(x)?.get(y) ?? 0) + 1));
    }
    const expected: BoughtTogether[] = [...counts.keys()].sort().map((x) => ({
      productId: x,
      items: [...counts.get(x)!]
        .map(([productId, count]) => ({ productId, count }))
        .sort((a, b) => b.count - a.count || (a.productId < b.productId ? -1 : 1))
        .slice(0, 10),
    }));
    expect(expected.some((r) => r.items.length === 10)).toBe(true);
    expect(index.table()).toEqual(expected);
  });

  it('emits a changelog record for a product only when its top list changes; the last one per product is the table', () => {
    const { d, index } = driver();
    const others = ['B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L'];
    d.push('pos', till(1, ['A', ...others]));
    d.watermark('pos', 1);
    d.clearOutputs();
    d.push('pos', till(2, ['A', 'L'])); // L: 1 -> 2 enters A's full list; A: 1 -> 2 enters L's list
    d.watermark('pos', 2);
    expect(d.values<BoughtTogether>('bought_together').map((r) => r.productId)).toEqual(['A', 'L']);
    d.clearOutputs();
    d.push('pos', till(3, ['Z', 'Y']));
    d.push('pos', till(4, ['K', 'Z'])); // K's list was full of 1s from A..L; Z at 1 ties and loses to them: no change for K
    d.watermark('pos', 4);
    expect(top(index, 'K')).toEqual(['A:1', 'B:1', 'C:1', 'D:1', 'E:1', 'F:1', 'G:1', 'H:1', 'I:1', 'J:1']);
    expect(d.values<BoughtTogether>('bought_together').map((r) => r.productId)).toEqual(['Y', 'Z', 'Z']);
    const records = d.records<BoughtTogether>('bought_together');
    expect(records.map((r) => [r.key, r.ts])).toEqual([
      ['Y', 3],
      ['Z', 3],
      ['Z', 4],
    ]);
    expect(records.at(-1)!.value).toEqual(index.table().find((r) => r.productId === 'Z'));
    for (const r of records) expect(validate('BoughtTogether', r.value).ok).toBe(true);
  });

  it('writes bought_together.jsonl one product a line, sorted by productId, fields in contract order', () => {
    const { d, index } = driver();
    d.push('pos', till(1, ['b', 'a', 'C']));
    d.end();
    const jsonl = boughtTogetherJsonl(index.table());
    expect(jsonl).toBe(
      '{"productId":"C","items":[{"productId":"a","count":1},{"productId":"b","count":1}]}\n' +
        '{"productId":"a","items":[{"productId":"C","count":1},{"productId":"b","count":1}]}\n' +
        '{"productId":"b","items":[{"productId":"C","count":1},{"productId":"a","count":1}]}\n',
    );
    for (const row of index.table()) expect(validate('BoughtTogether', row).ok).toBe(true);
  });

  it('survives a snapshot: a fresh instance restored from it reads and keeps counting the same table', () => {
    const { d } = driver();
    d.push('pos', till(1, ['A', 'B', 'C']));
    d.push('pos', till(2, ['A', 'B']));
    d.watermark('pos', 2);
    const snap = JSON.parse(JSON.stringify(d.snapshot())) as ReturnType<TestDriver['snapshot']>;
    const { d: d2, index: index2 } = driver();
    d2.restore(snap);
    expect(top(index2, 'A')).toEqual(['B:2', 'C:1']);
    d2.push('pos', till(3, ['A', 'C']));
    d2.push('pos', till(4, ['A', 'C', 'D']));
    d2.end();
    expect(top(index2, 'A')).toEqual(['C:3', 'B:2', 'D:1']);
    expect(index2.table().map((r) => r.productId)).toEqual(['A', 'B', 'C', 'D']);
  });

  it('says so when read before the graph runs', () => {
    const p = pipeline('bt');
    const { index } = buildBoughtTogether(retailSources(p).pos);
    expect(index.attached).toBe(false);
    expect(() => index.top('A')).toThrow(/before its step was instantiated/);
  });
});
