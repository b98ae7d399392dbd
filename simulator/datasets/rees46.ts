/**
 * REES46 multi-category e-commerce events
 * (`event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session`)
 * as `clickstream` events: `view` → `product_view`, `cart` → `add_to_cart`, `purchase` → `checkout`
 * (REES46 logs a purchase per product, so a checkout here names its product and price).
 * `customerId` is user_id, `sessionId` user_session (null if empty), `category` category_code or,
 * when that is empty, category_id; `price` null if empty; `quantity` null (1); `channel` `web`;
 * `eventId` `rees46-<line>`; `ts` from event_time (`YYYY-MM-DD HH:MM:SS UTC`). Columns are found by
 * their header names.
 *
 * Rejected rows, by reason: `malformed_row` (field count differs from the header, or an unclosed
 * quote), `unsupported_event_type` (e.g. `remove_from_cart`, which some REES46 exports have),
 * `bad_event_time`, `missing_user_id`, `missing_product_id`, `bad_price` (not a number, or
 * negative), `invalid_event` (failed `validate('ClickEvent')`).
 */

import { ssError } from '../../schemas/errors.js';
import { validate, type ClickEvent, type ClickType } from '../../schemas/index.js';
import { readCsvRows } from './csv.js';
import { parseUtcDateTime } from './geolife.js';
import { datasetPath } from './paths.js';
import { datasetLoad, newReport, rejectRow, type DatasetLoad, type LoadOptions } from './report.js';

const TYPES: Readonly<Record<string, ClickType>> = { view: 'product_view', cart: 'add_to_cart', purchase: 'checkout' };
const COLUMNS = ['event_time', 'event_type', 'product_id', 'category_id', 'category_code', 'price', 'user_id', 'user_session'] as const;
type Column = (typeof COLUMNS)[number];

export function loadRees46(opts: LoadOptions = {}): DatasetLoad<ClickEvent> {
  const path = opts.path ?? datasetPath('rees46', '2019-Oct-sample.csv');
  const report = newReport('rees46');

  async function* run(): AsyncGenerator<ClickEvent> {
    report.files.push(path);
    let index: Record<Column, number> | null = null;
    let header: string[] = [];
    let width = 0;
    for await (const rows of readCsvRows(path)) {
      for (const { line, raw, fields } of rows) {
        if (index === null) {
          header = (fields ?? []).map((h) => h.trim());
          const missing = COLUMNS.filter((c) => !header.includes(c));
          if (missing.length > 0) throw ssError('SS_ERR_DATASET_ROW', `rees46 ${path}:${line}: header lacks ${missing.join(', ')}`, { field: missing[0] as string });
          index = Object.fromEntries(COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<Column, number>;
          width = header.length;
          continue;
        }
        report.read++;
        const reject = (reason: string, message: string, field?: string): void =>
          rejectRow(report, opts.onReject, { file: path, line, raw, reason }, message, field);
        if (fields === null || fields.length !== width) {
          reject('malformed_row', fields === null ? 'unclosed quote' : `expected ${width} fields, got ${fields.length}`);
          continue;
        }
        const at = index;
        const get = (c: Column): string => (fields[at[c]] ?? '').trim();
        const type = TYPES[get('event_type')];
        if (type === undefined) {
          reject('unsupported_event_type', `event_type ${JSON.stringify(get('event_type'))} has no clickstream counterpart`, 'event_type');
          continue;
        }
        const ts = parseUtcDateTime(get('event_time').replace(/ UTC$/, ''));
        if (ts === undefined) {
          reject('bad_event_time', `event_time ${JSON.stringify(get('event_time'))} is not a UTC date-time`, 'event_time');
          continue;
        }
        const customerId = get('user_id');
        if (customerId === '') {
          reject('missing_user_id', 'empty user_id', 'user_id');
          continue;
        }
        const productId = get('product_id');
        if (productId === '') {
          reject('missing_product_id', 'empty product_id', 'product_id');
          continue;
        }
        const priceText = get('price');
        const price = priceText === '' ? null : Number(priceText);
        if (price !== null && !(Number.isFinite(price) && price >= 0)) {
          reject('bad_price', `price ${JSON.stringify(priceText)} is not a number >= 0`, 'price');
          continue;
        }
        const session = get('user_session');
        const category = get('category_code') || get('category_id') || null;
        const event: ClickEvent = {
          eventId: `rees46-${line}`,
          customerId,
          sessionId: session === '' ? null : session,
          ts,
          type,
          productId,
          category,
          price,
          quantity: null,
          channel: 'web',
        };
        const checked = validate('ClickEvent', event);
        if (!checked.ok) {
          reject('invalid_event', checked.error.message, checked.error.field);
          continue;
        }
        report.emitted++;
        report.events++;
        if (opts.onRow !== undefined) opts.onRow(Object.fromEntries(header.map((h, i) => [h, fields[i] ?? ''])));
        // Each event at once, not at the end of the read's batch: a reader that stops after n events
        // has then seen the same rows (onRow, the report) whatever the batches were.
        yield event;
      }
    }
  }

  return datasetLoad(report, run);
}
