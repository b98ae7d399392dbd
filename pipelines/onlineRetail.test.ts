import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Executor } from '../engine/executor.js';
import { pipeline } from '../stream/stream.js';
import { validate, type BoughtTogether, type PosEvent } from '../schemas/index.js';
import { collect, datasetPath, loadOnlineRetail } from '../simulator/datasets/index.js';
import { boughtTogetherJsonl, buildBoughtTogether } from './boughtTogether.js';
import { retailSources } from './sources.js';

/**
 * The real UCI Online Retail file (541,909 rows, ~23k invoices, ~3.9k products, 56.7 million
 * ordered pair increments) replayed as pos events through the bought-together step, checked
 * product by product against a computation that shares no code with the step.
 */
const FILE = datasetPath('online-retail', 'online-retail.csv.gz');

/**
 * The independent computation: plain loops over the invoices, a dense count matrix over interned
 * stock codes, then one sort per product. Same definition (SCENES.md §5), other code.
 */
function expectedTable(events: readonly PosEvent[]): BoughtTogether[] {
  const ids = new Map<string, number>();
  const codes: string[] = [];
  const baskets: number[][] = [];
  for (const e of events) {
    const distinct = new Set<number>();
    for (const item of e.items) {
      if (!(item.quantity > 0)) continue;
      let id = ids.get(item.productId);
      if (id === undefined) {
        id = codes.length;
        ids.set(item.productId, id);
        codes.push(item.productId);
      }
      distinct.add(id);
    }
    if (distinct.size > 1) baskets.push([...distinct]);
  }
  const n = codes.length;
  const matrix = new Uint32Array(n * n);
  for (const b of baskets) {
    for (let i = 0; i < b.length; i++) {
      for (let j = i + 1; j < b.length; j++) {
        matrix[b[i]! * n + b[j]!]! += 1;
        matrix[b[j]! * n + b[i]!]! += 1;
      }
    }
  }
  const table: BoughtTogether[] = [];
  for (let x = 0; x < n; x++) {
    const row: Array<{ productId: string; count: number }> = [];
    for (let y = 0; y < n; y++) {
      const count = matrix[x * n + y]!;
      if (count > 0) row.push({ productId: codes[y]!, count });
    }
    if (row.length === 0) continue;
    row.sort((a, b) => b.count - a.count || (a.productId < b.productId ? -1 : 1));
    table.push({ productId: codes[x]!, items: row.slice(0, 10) });
  }
  return table.sort((a, b) => (a.productId < b.productId ? -1 : 1));
}

describe.skipIf(!existsSync(FILE))('bought together over the real Online Retail file', () => {
  it('matches an independent pair count for every product', { timeout: 180_000 }, async () => {
    const t0 = performance.now();
    const { events } = await collect(loadOnlineRetail());
    const tLoad = performance.now();

    const p = pipeline('online-retail');
    const { changes, index } = buildBoughtTogether(retailSources(p).pos);
    changes.to('bought_together');
    const lastChange = new Map<string, BoughtTogether>();
    let changeRecords = 0;
    const exec = new Executor(p.build(), {
      sinks: {
        bought_together: (v) => {
          changeRecords++;
          lastChange.set((v as BoughtTogether).productId, v as BoughtTogether);
        },
      },
      onDeadLetter: (d) => {
        throw d.error;
      },
    });
    for (let i = 0; i < events.length; i += 1000) exec.pushBatch('pos', events.slice(i, i + 1000));
    exec.end();
    const table = index.table();
    const tStep = performance.now();

    const expected = expectedTable(events);
    const tExpected = performance.now();

    console.log(
      `online retail: ${events.length} invoices, ${table.length} products with bought-together lists, ${changeRecords} changelog records; ` +
        `load ${((tLoad - t0) / 1000).toFixed(1)} s, step ${((tStep - tLoad) / 1000).toFixed(1)} s, independent ${((tExpected - tStep) / 1000).toFixed(1)} s`,
    );

    expect(events.length).toBeGreaterThan(20_000);
    expect(expected.length).toBeGreaterThan(3_000);
    expect(table.map((r) => r.productId)).toEqual(expected.map((r) => r.productId));
    for (let i = 0; i < expected.length; i++) {
      // One product at a time, so a failure names the product rather than diffing 3,900 rows.
      if (JSON.stringify(table[i]) !== JSON.stringify(expected[i])) expect(table[i]).toEqual(expected[i]);
    }
    expect(boughtTogetherJsonl(table)).toBe(expected.map((r) => JSON.stringify(r)).join('\n') + '\n');
    // The changelog's last record per product is the table's entry.
    expect([...lastChange.values()].sort((a, b) => (a.productId < b.productId ? -1 : 1))).toEqual(expected);
    for (const r of table) expect(validate('BoughtTogether', r).ok).toBe(true);
    expect(tStep - tLoad).toBeLessThan(60_000);
  });
});
