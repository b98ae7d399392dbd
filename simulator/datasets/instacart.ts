/**
 * Instacart grocery baskets as `pos` events, for bought-together recommendations: `orders.csv`
 * joined on order_id with `order_products__prior.csv` and `order_products__train.csv` (whichever
 * exist in the folder).
 *
 * One PosEvent per order that has product lines: `eventId` `instacart-<order_id>`, `customerId`
 * `instacart-<user_id>`, `storeId` `instacart`, items in add_to_cart_order, each
 * `{productId: product_id, category: null, quantity: 1, unitPrice: 0}`, total 0.
 *
 * **Synthetic, on purpose:** Instacart publishes no prices (hence unitPrice 0) and no dates, only
 * the day of week and hour of each order. `ts` is `base + order_dow days + order_hour_of_day hours`
 * with `base` a Sunday (default 2017-01-01T00:00Z; order_dow 0 is read as Sunday), so every order
 * lands in one synthetic week. Events come out sorted by ts, then order_id.
 *
 * Rows are the data lines of all three files. Rejected rows, by reason:
 * - orders.csv: `malformed_row`, `bad_order_field` (order_dow not 0-6, hour not 0-23, empty ids),
 *   `duplicate_order_id`, `no_products` (no product line in the sample: the `test` orders, whose
 *   baskets Instacart withholds);
 * - order_products files: `malformed_row`, `order_not_in_sample` (the line's order is not in
 *   orders.csv: the files are independent samples);
 * - both: `invalid_event` (the order's event failed `validate('PosEvent')`).
 * The order and its product lines are held in memory (a sample: 21,000 rows).
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { validate, type PosEvent } from '../../schemas/index.js';
import { readCsvRows } from './csv.js';
import { datasetPath } from './paths.js';
import { datasetLoad, newReport, rejectRow, type DatasetLoad, type LoadOptions } from './report.js';

export interface InstacartOptions extends LoadOptions {
  /** The synthetic week's Sunday 00:00, epoch ms (default 2017-01-01T00:00:00Z). */
  baseTs?: number;
}

interface Order {
  orderId: string;
  userId: string;
  ts: number;
  line: number;
  raw: string;
  lines: { order: number; productId: string; line: number; raw: string; file: string }[];
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

async function* csvObjects(path: string): AsyncGenerator<{ line: number; raw: string; row: Record<string, string> | null }> {
  let header: string[] | null = null;
  for await (const rows of readCsvRows(path)) {
    for (const { line, raw, fields } of rows) {
      if (header === null) {
        header = (fields ?? []).map((h) => h.trim());
        continue;
      }
      if (fields === null || fields.length !== header.length) {
        yield { line, raw, row: null };
        continue;
      }
      const row: Record<string, string> = {};
      header.forEach((h, i) => (row[h] = (fields[i] ?? '').trim()));
      yield { line, raw, row };
    }
  }
}

export function loadInstacart(opts: InstacartOptions = {}): DatasetLoad<PosEvent> {
  const dir = opts.path ?? datasetPath('instacart');
  const baseTs = opts.baseTs ?? Date.parse('2017-01-01T00:00:00Z');
  const report = newReport('instacart');

  async function* run(): AsyncGenerator<PosEvent> {
    const ordersPath = join(dir, 'orders.csv');
    report.files.push(ordersPath);
    const orders = new Map<string, Order>();
    const reject = (file: string, line: number, raw: string, reason: string, message: string, field?: string): void =>
      rejectRow(report, opts.onReject, { file, line, raw, reason }, message, field);

    for await (const { line, raw, row } of csvObjects(ordersPath)) {
      report.read++;
      if (row === null) {
        reject(ordersPath, line, raw, 'malformed_row', 'field count differs from the header');
        continue;
      }
      const orderId = row['order_id'] ?? '';
      const userId = row['user_id'] ?? '';
      const dow = Number(row['order_dow']);
      const hour = Number(row['order_hour_of_day']);
      if (orderId === '' || userId === '' || !Number.isInteger(dow) || dow < 0 || dow > 6 || !Number.isInteger(hour) || hour < 0 || hour > 23 || row['order_dow'] === '' || row['order_hour_of_day'] === '') {
        reject(ordersPath, line, raw, 'bad_order_field', 'order_id, user_id, order_dow (0-6) or order_hour_of_day (0-23) is missing or out of range');
        continue;
      }
      if (orders.has(orderId)) {
        reject(ordersPath, line, raw, 'duplicate_order_id', `order ${orderId} appears twice`, 'order_id');
        continue;
      }
      orders.set(orderId, { orderId, userId, ts: baseTs + dow * DAY + hour * HOUR, line, raw, lines: [] });
    }

    for (const name of ['order_products__prior.csv', 'order_products__train.csv']) {
      const path = join(dir, name);
      if (!existsSync(path)) continue;
      report.files.push(path);
      for await (const { line, raw, row } of csvObjects(path)) {
        report.read++;
        const productId = row?.['product_id'] ?? '';
        const position = Number(row?.['add_to_cart_order'] ?? NaN);
        if (row === null || productId === '' || !Number.isFinite(position)) {
          reject(path, line, raw, 'malformed_row', 'field count differs from the header, or product_id/add_to_cart_order is missing');
          continue;
        }
        const order = orders.get(row['order_id'] ?? '');
        if (order === undefined) {
          reject(path, line, raw, 'order_not_in_sample', `order ${row['order_id'] ?? ''} is not in orders.csv`, 'order_id');
          continue;
        }
        order.lines.push({ order: position, productId, line, raw, file: path });
      }
    }

    const events: PosEvent[] = [];
    for (const order of orders.values()) {
      if (order.lines.length === 0) {
        reject(ordersPath, order.line, order.raw, 'no_products', `order ${order.orderId} has no product lines in the sample`, 'order_id');
        continue;
      }
      const lines = [...order.lines].sort((a, b) => a.order - b.order);
      const event: PosEvent = {
        eventId: `instacart-${order.orderId}`,
        customerId: `instacart-${order.userId}`,
        storeId: 'instacart',
        ts: order.ts,
        items: lines.map((l) => ({ productId: l.productId, category: null, quantity: 1, unitPrice: 0 })),
        total: 0,
      };
      const checked = validate('PosEvent', event);
      if (!checked.ok) {
        reject(ordersPath, order.line, order.raw, 'invalid_event', checked.error.message, checked.error.field);
        for (const l of lines) reject(l.file, l.line, l.raw, 'invalid_event', checked.error.message, checked.error.field);
        continue;
      }
      report.emitted += 1 + lines.length;
      events.push(event);
    }
    events.sort((a, b) => a.ts - b.ts || Number(a.eventId.slice(10)) - Number(b.eventId.slice(10)) || (a.eventId < b.eventId ? -1 : 1));
    report.events = events.length;
    yield* events;
  }

  return datasetLoad(report, run);
}
