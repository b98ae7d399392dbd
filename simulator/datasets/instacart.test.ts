import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validate } from '../../schemas/index.js';
import { loadInstacart } from './instacart.js';
import { datasetPath } from './paths.js';
import { collect, rejectedTotal } from './report.js';

/** An independent, naive join of the sample files. */
function naiveJoin(dir: string): { rows: number; orders: Map<string, string>; lines: Map<string, number> } {
  const read = (name: string): string[][] =>
    readFileSync(join(dir, name), 'utf8')
      .split('\n')
      .slice(1)
      .filter((l) => l !== '')
      .map((l) => l.split(','));
  const orders = read('orders.csv');
  const products = [...read('order_products__prior.csv'), ...read('order_products__train.csv')];
  const lines = new Map<string, number>();
  for (const [orderId = ''] of products) lines.set(orderId, (lines.get(orderId) ?? 0) + 1);
  return { rows: orders.length + products.length, orders: new Map(orders.map(([id = '', user = '']) => [id, user])), lines };
}

describe('loadInstacart on the real sample', async () => {
  const dir = datasetPath('instacart');
  const { events, report } = await collect(loadInstacart());
  const naive = naiveJoin(dir);

  it('reads every row of the three files and accounts for each', () => {
    expect(report.read).toBe(naive.rows);
    expect(report.read).toBe(21_000);
    expect(report.emitted + rejectedTotal(report)).toBe(report.read);
    const withProducts = [...naive.orders.keys()].filter((id) => naive.lines.has(id));
    const joinedLines = withProducts.reduce((s, id) => s + (naive.lines.get(id) ?? 0), 0);
    expect(report.events).toBe(withProducts.length);
    expect(report.emitted).toBe(withProducts.length + joinedLines);
    expect(report.rejected).toEqual({ no_products: naive.orders.size - withProducts.length, order_not_in_sample: naive.rows - naive.orders.size - joinedLines });
    expect(report.rejected).toEqual({ no_products: 22, order_not_in_sample: 10_037 });
  });

  it('builds baskets in add-to-cart order with synthetic week timing', () => {
    const order1 = events.find((e) => e.eventId === 'instacart-1');
    // orders.csv: 1,112108,train,4,4,10 -> Thursday 10:00 of the synthetic week starting Sunday 2017-01-01.
    expect(order1).toEqual({
      eventId: 'instacart-1',
      customerId: 'instacart-112108',
      storeId: 'instacart',
      ts: Date.parse('2017-01-05T10:00:00Z'),
      items: ['49302', '11109', '10246', '49683', '43633', '13176', '47209', '22035'].map((productId) => ({ productId, category: null, quantity: 1, unitPrice: 0 })),
      total: 0,
    });
    for (let i = 1; i < events.length; i++) expect(events[i]!.ts).toBeGreaterThanOrEqual(events[i - 1]!.ts);
    expect(events.every((e) => validate('PosEvent', e).ok)).toBe(true);
  });
});
