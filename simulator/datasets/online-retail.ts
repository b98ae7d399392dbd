/**
 * UCI "Online Retail" (a UK gift retailer, 2010-12-01 to 2011-12-09) as `pos` events: one PosEvent
 * per InvoiceNo, its accepted lines as the items.
 *
 * - `eventId` `online-retail-<InvoiceNo>`; `ts` the InvoiceDate of the invoice's first accepted line,
 *   read as UK local time (Europe/London, so GMT in winter and BST in summer). Dates are
 *   `YYYY-MM-DD HH:MM[:SS]` (this file) or `M/D/YYYY H:MM` (the original UCI spreadsheet export).
 * - `customerId`: CustomerID without its float suffix (`17850.0` → `"17850"`); empty → null (anonymous).
 * - `storeId`: `uk-<country slug>` (`United Kingdom` → `uk-united-kingdom`): the retailer is one UK
 *   business selling to many countries, so the country is the nearest thing to a store.
 * - Items: `{productId: StockCode, category: null, quantity, unitPrice}`. Cancellation invoices
 *   (`C…`) keep their negative quantities: returns. `total` is the sum of quantity × unitPrice,
 *   rounded to cents (half away from zero).
 * - Duplicate lines (the same StockCode, Description, Quantity and UnitPrice twice in one invoice)
 *   are kept as the data has them (the till may well have scanned twice) and counted in
 *   `notes.duplicateRowsKept`.
 *
 * Rejected rows, by reason:
 * - `malformed_row`: not 8 fields, an unclosed quote, or an empty InvoiceNo/StockCode/Country;
 * - `non_product_code`: postage, fees and adjustments, not goods: `POST`, `DOT` (dotcom postage),
 *   `C2` (carriage), `M`/`m` (manual), `D` (discount), `S` (samples), `B` (bad-debt adjustment),
 *   `BANK CHARGES`, `AMAZONFEE`, `CRUK` (commission), and gift vouchers `gift_*`;
 * - `zero_price`: UnitPrice 0: stock write-offs ("damaged", "found", "check") and free lines, not sales;
 * - `negative_price`, `bad_price`, `bad_quantity`, `zero_quantity`, `bad_date`, `bad_customer_id`;
 * - `invoice_mismatch`: a line whose CustomerID or Country differs from its invoice's first line;
 * - `late_invoice_line`: a line of an invoice already emitted (see below);
 * - `invalid_event`: the invoice's event failed `validate('PosEvent')` (all its rows).
 *
 * Streaming: the file is in time order and an invoice's lines sit together (one invoice in this file
 * is interrupted by another), so an invoice is held open until a row more than `closeAfterMs`
 * (default 60 min) later than its last line arrives, then emitted. Events come out in order of
 * their invoice's first line, so in ts order for a time-ordered file.
 */

import { validate, type PosEvent, type PosItem } from '../../schemas/index.js';
import { posTotal } from '../money.js';
import { zonedToEpoch } from '../../pipelines/localTime.js';
import { readCsvRows } from './csv.js';
import { datasetPath } from './paths.js';
import { datasetLoad, newReport, note, rejectRow, type DatasetLoad, type LoadOptions } from './report.js';

export interface OnlineRetailOptions extends LoadOptions {
  /** Zone of InvoiceDate (default Europe/London). */
  timezone?: string;
  /** Emit an invoice once a row is this much later than its last line (default 60 min). */
  closeAfterMs?: number;
}

/** The file's columns, in order (rows are read by position). */
const COLUMNS = ['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'] as const;

const NON_PRODUCT_CODES = new Set(['POST', 'DOT', 'C2', 'M', 'D', 'S', 'B', 'BANK CHARGES', 'AMAZONFEE', 'CRUK']);

export function isNonProductCode(code: string): boolean {
  return NON_PRODUCT_CODES.has(code.toUpperCase()) || /^gift_/i.test(code);
}

export function countrySlug(country: string): string {
  return country
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** CustomerID `17850.0` → `17850`; empty → null; anything else → undefined (rejected). */
export function normaliseCustomerId(text: string): string | null | undefined {
  const t = text.trim();
  if (t === '') return null;
  const m = /^(\d+)(?:\.0*)?$/.exec(t);
  return m === null ? undefined : (m[1] as string);
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const US = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?$/;

/** A parser of local date-times in a zone, cached per distinct text (invoices share their minute). */
export function localDateParser(timezone: string): (text: string) => number | undefined {
  const cache = new Map<string, number | undefined>();
  return (text) => {
    if (cache.has(text)) return cache.get(text);
    let y: number, mo: number, d: number, h: number, mi: number, s: number;
    const iso = ISO.exec(text);
    const us = iso === null ? US.exec(text) : null;
    if (iso !== null) [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(iso[i] ?? 0)) as [number, number, number, number, number, number];
    else if (us !== null) [mo, d, y, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(us[i] ?? 0)) as [number, number, number, number, number, number];
    else {
      cache.set(text, undefined);
      return undefined;
    }
    const probe = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
    const valid = probe.getUTCFullYear() === y && probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
    const ts = valid ? zonedToEpoch(timezone, y, mo, d, h, mi, s) : undefined;
    if (cache.size > 100_000) cache.clear();
    cache.set(text, ts);
    return ts;
  };
}

interface OpenInvoice {
  invoiceNo: string;
  ts: number;
  lastTs: number;
  customerIdText: string;
  customerId: string | null;
  country: string;
  items: PosItem[];
  /** Line number and text of each row, to reject them all if the event turns out invalid. */
  rows: { line: number; raw: string }[];
  seen: Set<string>;
}

/** Why a row cannot be an invoice line, or the parsed line. */
type ParsedRow =
  | { ok: false; reason: string; message: string; field?: string }
  | { ok: true; invoiceNo: string; stockCode: string; description: string; quantity: number; unitPrice: number; ts: number; customerIdText: string; customerId: string | null; country: string };

function parseRow(fields: string[] | null, parseDate: (text: string) => number | undefined): ParsedRow {
  if (fields === null || fields.length !== 8) {
    return { ok: false, reason: 'malformed_row', message: fields === null ? 'unclosed quote' : `expected 8 fields, got ${fields.length}` };
  }
  const [invoiceNo = '', stockCode = '', description = '', quantityText = '', dateText = '', priceText = '', customerIdText = '', country = ''] = fields;
  if (invoiceNo === '' || stockCode === '' || country.trim() === '') {
    return { ok: false, reason: 'malformed_row', message: 'empty InvoiceNo, StockCode or Country' };
  }
  if (isNonProductCode(stockCode.trim())) return { ok: false, reason: 'non_product_code', message: `StockCode ${stockCode} is not a product`, field: 'StockCode' };
  if (!/^-?\d+$/.test(quantityText.trim())) {
    return { ok: false, reason: 'bad_quantity', message: `Quantity ${JSON.stringify(quantityText)} is not an integer`, field: 'Quantity' };
  }
  const quantity = Number(quantityText);
  if (quantity === 0) return { ok: false, reason: 'zero_quantity', message: 'Quantity is 0', field: 'Quantity' };
  const unitPrice = priceText.trim() === '' ? NaN : Number(priceText);
  if (!Number.isFinite(unitPrice)) return { ok: false, reason: 'bad_price', message: `UnitPrice ${JSON.stringify(priceText)} is not a number`, field: 'UnitPrice' };
  if (unitPrice === 0) return { ok: false, reason: 'zero_price', message: 'UnitPrice is 0 (stock adjustment or free line)', field: 'UnitPrice' };
  if (unitPrice < 0) return { ok: false, reason: 'negative_price', message: `UnitPrice ${unitPrice} is negative`, field: 'UnitPrice' };
  const ts = parseDate(dateText.trim());
  if (ts === undefined) return { ok: false, reason: 'bad_date', message: `InvoiceDate ${JSON.stringify(dateText)} is not a date`, field: 'InvoiceDate' };
  const customerId = normaliseCustomerId(customerIdText);
  if (customerId === undefined) {
    return { ok: false, reason: 'bad_customer_id', message: `CustomerID ${JSON.stringify(customerIdText)} is not a number`, field: 'CustomerID' };
  }
  return { ok: true, invoiceNo, stockCode, description, quantity, unitPrice, ts, customerIdText, customerId, country };
}

export function loadOnlineRetail(opts: OnlineRetailOptions = {}): DatasetLoad<PosEvent> {
  const path = opts.path ?? datasetPath('online-retail', 'online-retail.csv.gz');
  const timezone = opts.timezone ?? 'Europe/London';
  const closeAfterMs = opts.closeAfterMs ?? 60 * 60_000;
  const report = newReport('online-retail');
  const parseDate = localDateParser(timezone);
  const open = new Map<string, OpenInvoice>();
  const closed = new Set<string>();

  /** Close an invoice: its event, or null if it fails validation (then all its rows are rejected). */
  function close(inv: OpenInvoice): PosEvent | null {
    open.delete(inv.invoiceNo);
    closed.add(inv.invoiceNo);
    const event: PosEvent = {
      eventId: `online-retail-${inv.invoiceNo}`,
      customerId: inv.customerId,
      storeId: `uk-${countrySlug(inv.country)}`,
      ts: inv.ts,
      items: inv.items,
      total: posTotal(inv.items),
    };
    const checked = validate('PosEvent', event);
    if (!checked.ok) {
      for (const r of inv.rows) rejectRow(report, opts.onReject, { file: path, line: r.line, raw: r.raw, reason: 'invalid_event' }, checked.error.message, checked.error.field);
      return null;
    }
    report.emitted += inv.rows.length;
    report.events++;
    if (inv.invoiceNo.startsWith('C')) note(report, 'cancellationEvents');
    if (inv.customerId === null) note(report, 'anonymousEvents');
    return event;
  }

  /** Close the invoices, oldest first, whose last line is more than closeAfterMs before ts. */
  function closeBefore(ts: number, out: PosEvent[]): void {
    for (const inv of open.values()) {
      if (inv.lastTs + closeAfterMs >= ts) return;
      const e = close(inv);
      if (e !== null) out.push(e);
    }
  }

  async function* run(): AsyncGenerator<PosEvent> {
    report.files.push(path);
    let header = true;
    let lastFlushTs = -Infinity;
    const ready: PosEvent[] = [];
    for await (const batch of readCsvRows(path)) {
      for (const { line, raw, fields } of batch) {
        if (header) {
          header = false;
          continue;
        }
        report.read++;
        const row = parseRow(fields, parseDate);
        if (!row.ok) {
          rejectRow(report, opts.onReject, { file: path, line, raw, reason: row.reason }, row.message, row.field);
          continue;
        }
        if (row.ts !== lastFlushTs) {
          closeBefore(row.ts, ready);
          lastFlushTs = row.ts;
          // Handed over at once, not at the end of the read's batch: a reader that stops after n
          // events has then seen the same rows (onRow, the report) whatever the batches were.
          yield* ready;
          ready.length = 0;
        }
        if (closed.has(row.invoiceNo)) {
          rejectRow(report, opts.onReject, { file: path, line, raw, reason: 'late_invoice_line' }, `invoice ${row.invoiceNo} was already emitted`, 'InvoiceNo');
          continue;
        }
        let inv = open.get(row.invoiceNo);
        if (inv === undefined) {
          inv = { invoiceNo: row.invoiceNo, ts: row.ts, lastTs: row.ts, customerIdText: row.customerIdText, customerId: row.customerId, country: row.country, items: [], rows: [], seen: new Set() };
          open.set(row.invoiceNo, inv);
        } else if (inv.customerId !== row.customerId || inv.country !== row.country) {
          const message = `invoice ${row.invoiceNo} has CustomerID ${JSON.stringify(inv.customerIdText)} and Country ${inv.country} on its first line`;
          rejectRow(report, opts.onReject, { file: path, line, raw, reason: 'invoice_mismatch' }, message, 'CustomerID');
          continue;
        }
        if (row.ts > inv.lastTs) inv.lastTs = row.ts;
        const key = `${row.stockCode}\u0000${row.description}\u0000${row.quantity}\u0000${row.unitPrice}`;
        if (inv.seen.has(key)) note(report, 'duplicateRowsKept');
        else inv.seen.add(key);
        inv.items.push({ productId: row.stockCode, category: null, quantity: row.quantity, unitPrice: row.unitPrice });
        inv.rows.push({ line, raw });
        if (opts.onRow !== undefined && fields !== null) opts.onRow(Object.fromEntries(COLUMNS.map((c, i) => [c, fields[i] ?? ''])));
      }
    }
    closeBefore(Infinity, ready);
    yield* ready;
  }

  return datasetLoad(report, run);
}
