import { describe, expect, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import type { BasketMember, BoughtTogetherChange, BoughtTogetherItem } from '../schemas/index.js';
import { TestDriver } from '../testkit/driver.js';
import { createRng } from '../simulator/prng.js';
import { BOUGHT_TOGETHER_TOP, compareBoughtTogether, countRepartitionedBasketsExact, isWatermarkMark, MARK_ID, watermarkMark } from './boughtTogether.js';
import { BoughtTogetherTable } from './boughtTogetherTable.js';

interface Basket {
  readonly ts: number;
  readonly products: readonly string[];
}

/** The replay's list of `x` as of `t`: pair counts over every basket with `ts <= t`. */
function listAsOf(baskets: readonly Basket[], x: string, t: number): BoughtTogetherItem[] {
  const counts = new Map<string, number>();
  for (const b of baskets) {
    if (b.ts > t || !b.products.includes(x)) continue;
    for (const y of b.products) if (y !== x) counts.set(y, (counts.get(y) ?? 0) + 1);
  }
  return [...counts].map(([productId, count]) => ({ productId, count })).sort(compareBoughtTogether).slice(0, BOUGHT_TOGETHER_TOP);
}

const STEP = 'bought_together_global';

function countingTask(origins: number): TestDriver {
  const p = pipeline('bt');
  const members = p.keyedSource<BasketMember>('members', { key: (m) => m.productId, timestamp: (m) => m.ts, outOfOrdernessMs: 5_000 });
  countRepartitionedBasketsExact(STEP, members, origins).to('changes');
  return TestDriver.of(p);
}

const hash = (s: string, n: number): number => [...s].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % n;

/**
 * Origins number their baskets and announce `maxTs - bound - 1` after each (and the end), members
 * routed by product and marks to every counting partition; origins replay a suffix of their output
 * (a crash before their checkpoint); counting tasks consume at random speeds and crash back to a
 * snapshot (re-reading their log from its offset, writing some lists again); the table reads the
 * changelog partitions at random speeds. At random moments, every read as of a time up to the
 * table's watermark must be the replay's list.
 */
function run(seed: number): { reads: number; table: BoughtTogetherTable; baskets: Basket[] } {
  const rng = createRng(`bought-together-exact-${seed}`);
  const rnd = () => rng.next();
  const ORIGINS = 3;
  const TASKS = 3;
  const BOUND = 5_000;
  const END = 10_000_000;
  const products = Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(2, '0')}`);
  const baskets: Basket[] = [];
  // Each origin's tills in arrival order: ts rising, out of order by less than the bound.
  const tills: Basket[][] = Array.from({ length: ORIGINS }, () => {
    const out: Basket[] = [];
    let t = 1_000;
    for (let i = 0; i < 40; i++) {
      t += Math.floor(rnd() * 3_000);
      const ts = Math.max(0, t - Math.floor(rnd() * (BOUND - 1)));
      const size = 1 + Math.floor(rnd() * 4);
      const set = new Set<string>();
      for (let k = 0; k < size; k++) set.add(products[Math.floor(rnd() * products.length)]!);
      const b = { ts, products: [...set].sort() };
      out.push(b);
      if (b.products.length > 1) baskets.push(b);
    }
    return out;
  });
  const logs: BasketMember[][] = Array.from({ length: TASKS }, () => []);
  /** What each origin appended, in order, with the partition: a replay appends a suffix again. */
  const sent: Array<Array<[number, BasketMember]>> = Array.from({ length: ORIGINS }, () => []);
  const send = (o: number, q: number, m: BasketMember) => {
    logs[q]!.push(m);
    sent[o]!.push([q, m]);
  };
  const originState = tills.map(() => ({ next: 0, seq: 0, maxTs: -Infinity, announced: -Infinity }));
  const stepOrigin = (o: number) => {
    const s = originState[o]!;
    const till = tills[o]![s.next++];
    let w: number;
    if (till === undefined) w = END;
    else {
      if (till.products.length > 1) {
        s.seq++;
        for (const x of till.products) send(o, hash(x, TASKS), { productId: x, basket: [...till.products], ts: till.ts, origin: o, seq: s.seq });
      }
      s.maxTs = Math.max(s.maxTs, till.ts);
      w = s.maxTs - BOUND - 1;
    }
    if (w > s.announced) {
      s.announced = w;
      for (let q = 0; q < TASKS; q++) send(o, q, watermarkMark(o, w));
    }
    if (rnd() < 0.05) {
      // A crash between producing and checkpointing: the last records produced again, in order.
      const k = Math.floor(rnd() * 6);
      for (const [q, m] of sent[o]!.slice(-k)) logs[q]!.push(m);
    }
  };
  const tasks = Array.from({ length: TASKS }, () => ({ driver: countingTask(ORIGINS), offset: 0, emitted: 0, checkpoint: { offset: 0, snapshot: countingTask(ORIGINS).snapshot() } }));
  const changelog: Array<Array<BoughtTogetherChange>> = Array.from({ length: TASKS }, () => []);
  const stepTask = (q: number) => {
    const t = tasks[q]!;
    const m = logs[q]![t.offset];
    if (m === undefined) return;
    t.offset++;
    t.driver.push('members', m, m.ts);
    const out = t.driver.values<BoughtTogetherChange>('changes');
    for (const c of out.slice(t.emitted)) changelog[q]!.push(c);
    t.emitted = out.length;
    if (rnd() < 0.2) t.checkpoint = { offset: t.offset, snapshot: JSON.parse(JSON.stringify(t.driver.snapshot())) as ReturnType<TestDriver['snapshot']> };
    else if (rnd() < 0.05) {
      // Crash: restored from the last checkpoint, its log read again from there.
      t.driver = countingTask(ORIGINS).restore(t.checkpoint.snapshot);
      t.offset = t.checkpoint.offset;
      t.emitted = 0;
    }
  };
  const table = new BoughtTogetherTable({ reads: 'exact', tasks: TASKS });
  const readOffsets = changelog.map(() => 0);
  const stepReader = (q: number) => {
    const c = changelog[q]![readOffsets[q]!];
    if (c === undefined) return;
    readOffsets[q]!++;
    table.apply(c, q);
  };
  let reads = 0;
  const check = () => {
    const w = table.watermark;
    if (!(w > -Infinity)) return;
    for (let i = 0; i < 3; i++) {
      const x = products[Math.floor(rnd() * products.length)]!;
      const t = Math.min(w, END - 1) - Math.floor(rnd() * 20_000);
      expect(table.topAsOf(x, t), `${x} as of ${t} (watermark ${w})`).toEqual(listAsOf(baskets, x, t));
      reads++;
    }
  };
  for (let i = 0; i < 20_000; i++) {
    const r = rnd();
    if (r < 0.3) stepOrigin(Math.floor(rnd() * ORIGINS));
    else if (r < 0.7) stepTask(Math.floor(rnd() * TASKS));
    else stepReader(Math.floor(rnd() * TASKS));
    if (rnd() < 0.1) check();
  }
  // Drain: every origin to its end, every log and changelog read.
  for (let o = 0; o < ORIGINS; o++) while (originState[o]!.next <= tills[o]!.length) stepOrigin(o);
  for (let q = 0; q < TASKS; q++) while (tasks[q]!.offset < logs[q]!.length) stepTask(q);
  for (let q = 0; q < TASKS; q++) while (readOffsets[q]! < changelog[q]!.length) stepReader(q);
  return { reads, table, baskets };
}

describe('exact global bought-together (counting in event-time order behind the origins\' watermarks)', () => {
  it('a read as of any time up to the table watermark is the replay\'s list, under random interleavings, replays and crashes', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const { reads, table, baskets } = run(seed);
      expect(reads).toBeGreaterThan(50);
      expect(table.watermark).toBeGreaterThanOrEqual(10_000_000);
      for (const row of table.table()) expect(row.items).toEqual(listAsOf(baskets, row.productId, Infinity));
    }
  });

  it('holds members until every origin has announced past them; an origin that never announced holds all', () => {
    const d = countingTask(2);
    d.push('members', { productId: 'A', basket: ['A', 'B'], ts: 5, origin: 0, seq: 1 }, 5);
    d.push('members', watermarkMark(0, 10), 10);
    expect(d.values('changes')).toEqual([]);
    d.push('members', { productId: 'A', basket: ['A', 'C'], ts: 3, origin: 1, seq: 1 }, 3);
    d.push('members', watermarkMark(1, 4), 4);
    expect(d.values<BoughtTogetherChange>('changes')).toEqual([
      { productId: 'A', ts: 3, items: [{ productId: 'C', count: 1 }] },
      { productId: MARK_ID, ts: 4, items: [] },
    ]);
    d.push('members', { productId: 'A', basket: ['A', 'C'], ts: 3, origin: 1, seq: 1 }, 3); // a replay: dropped
    d.push('members', watermarkMark(1, 12), 12);
    expect(d.values<BoughtTogetherChange>('changes').slice(2)).toEqual([
      { productId: 'A', ts: 5, items: [{ productId: 'B', count: 1 }, { productId: 'C', count: 1 }] },
      { productId: MARK_ID, ts: 10, items: [] },
    ]);
    expect(isWatermarkMark(watermarkMark(1, 12))).toBe(true);
  });

  it('refuses a count without origins', () => {
    expect(() => countingTask(0)).toThrow(/origins is 0/);
  });
});
