import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, createGunzip } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { validate, type PosEvent } from '../../schemas/index.js';
import { countrySlug, isNonProductCode, loadOnlineRetail, normaliseCustomerId } from './online-retail.js';
import { datasetPath } from './paths.js';
import { collect, rejectedTotal, type RejectedRow } from './report.js';

const FILE = datasetPath('online-retail', 'online-retail.csv.gz');

/** Count newline-terminated lines of a gzipped file, independently of the loader's reader. */
async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(path).pipe(createGunzip()) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

describe('loadOnlineRetail on the real file', async () => {
  const started = Date.now();
  const events: PosEvent[] = [];
  const load = loadOnlineRetail();
  for await (const e of load) events.push(e);
  const elapsed = Date.now() - started;
  const { report } = load;

  it('reads every row and accounts for each: read = emitted + rejected (rows)', async () => {
    const lines = await countLines(FILE);
    expect(report.read).toBe(lines - 1); // minus the header
    expect(report.read).toBe(541_909);
    expect(report.emitted + rejectedTotal(report)).toBe(report.read);
    expect(report.complete).toBe(true);
    expect(report.units).toEqual({ read: 'rows', emitted: 'rows', rejected: 'rows', events: 'events' });
    expect(report.events).toBe(events.length);
    expect(elapsed).toBeLessThan(20_000);
  });

  it('rejects non-products and zero-price adjustments, and nothing else on this file', () => {
    expect(report.rejected).toEqual({ non_product_code: 2946, zero_price: 2498 });
    expect(report.events).toBe(23_195);
    expect(report.notes).toMatchObject({ cancellationEvents: 3422, anonymousEvents: 1410, duplicateRowsKept: 5258 });
  });

  it('turns the first invoice into one event with its items and total', () => {
    const first = events[0]!;
    expect(first).toEqual({
      eventId: 'online-retail-536365',
      customerId: '17850',
      storeId: 'uk-united-kingdom',
      ts: Date.parse('2010-12-01T08:26:00Z'), // GMT in December
      items: [
        { productId: '85123A', category: null, quantity: 6, unitPrice: 2.55 },
        { productId: '71053', category: null, quantity: 6, unitPrice: 3.39 },
        { productId: '84406B', category: null, quantity: 8, unitPrice: 2.75 },
        { productId: '84029G', category: null, quantity: 6, unitPrice: 3.39 },
        { productId: '84029E', category: null, quantity: 6, unitPrice: 3.39 },
        { productId: '22752', category: null, quantity: 2, unitPrice: 7.65 },
        { productId: '21730', category: null, quantity: 6, unitPrice: 4.25 },
      ],
      total: 139.12, // 15.30 + 20.34 + 22.00 + 20.34 + 20.34 + 15.30 + 25.50
    });
  });

  it('keeps cancellations as returns, anonymous shoppers as null, summer dates in BST', () => {
    const cancellation = events.find((e) => e.eventId.startsWith('online-retail-C'))!;
    expect(cancellation.items.every((i) => i.quantity < 0)).toBe(true);
    expect(cancellation.total).toBeLessThan(0);
    expect(events.some((e) => e.customerId === null)).toBe(true);
    // 581587 is the last invoice: 2011-12-09 12:50 GMT, France.
    const last = events.find((e) => e.eventId === 'online-retail-581587')!;
    expect(last).toMatchObject({ customerId: '12680', storeId: 'uk-france', ts: Date.parse('2011-12-09T12:50:00Z') });
    // Summer wall times are BST (UTC+1): 2011-06-01 07:37 in London is 06:37 UTC.
    expect(events.find((e) => e.eventId === 'online-retail-555156')?.ts).toBe(Date.parse('2011-06-01T06:37:00Z'));
  });

  it('emits only valid events with unique ids, in ts order', () => {
    // The loader runs validate('PosEvent') on every event (a failure would be an invalid_event
    // rejection, and there is none); re-check a spread sample here, independently.
    expect(report.rejected['invalid_event']).toBeUndefined();
    let invalid = 0;
    let backwards = 0;
    for (let i = 0; i < events.length; i++) {
      if ((i % 7 === 0 || i === events.length - 1) && !validate('PosEvent', events[i]).ok) invalid++;
      if (i > 0 && events[i]!.ts < events[i - 1]!.ts) backwards++;
    }
    expect(invalid).toBe(0);
    expect(backwards).toBe(0);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
  });
});

describe('loadOnlineRetail on a small messy file', () => {
  const header = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
  const rows = [
    '1001,85123A,"HEART, WHITE",2,2011-06-01 10:00:00,2.55,17850.0,United Kingdom', // BST: 09:00Z
    '1001,POST,POSTAGE,1,2011-06-01 10:00:00,18.0,17850.0,United Kingdom',
    '1001,85123A,"HEART, WHITE",2,2011-06-01 10:00:00,2.55,17850.0,United Kingdom', // duplicate, kept
    '1002,22633,"RECORD FRAME 7"" SINGLE",1,2011-06-01 10:05:00,1.85,,EIRE',
    '1003,22633,damaged,-5,2011-06-01 10:06:00,0.0,,United Kingdom',
    '1004,22633,X,one,2011-06-01 10:06:00,1.0,,United Kingdom',
    '1004,22633,X,1,2011-06-31 10:06:00,1.0,,United Kingdom',
    '1004,22633,X,1,2011-06-01 10:06:00,1.0,abc,United Kingdom',
    'too,few,fields',
    'C1005,22633,X,-3,2011-06-01 10:07:00,1.1,12345.0,Germany',
    '1002,22634,Y,1,2011-06-01 12:00:00,1.0,,EIRE', // the invoice closed an hour ago
    '1006,gift_0001_20,VOUCHER,1,2011-06-01 12:01:00,20.0,,United Kingdom',
    '1006,21000,Z,1,2011-06-01 12:01:00,1.0,999.0,United Kingdom',
    '1006,21001,Z,1,2011-06-01 12:01:00,1.0,,United Kingdom', // other customer than the first line
  ];

  it('counts each rejection by reason, tells onReject, and still accounts for every row', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'online-retail-'));
    const path = join(dir, 'small.csv.gz');
    writeFileSync(path, gzipSync(`${[header, ...rows].join('\r\n')}\r\n`));
    const rejected: RejectedRow[] = [];
    const { events, report } = await collect(
      loadOnlineRetail({
        path,
        onReject: (err, row) => {
          expect(err.code).toBe('SS_ERR_DATASET_ROW');
          rejected.push(row);
        },
      }),
    );
    expect(report.read).toBe(rows.length);
    expect(report.rejected).toEqual({
      non_product_code: 2,
      zero_price: 1,
      bad_quantity: 1,
      bad_date: 1,
      bad_customer_id: 1,
      malformed_row: 1,
      late_invoice_line: 1,
      invoice_mismatch: 1,
    });
    expect(rejected.map((r) => r.line)).toEqual([3, 6, 7, 8, 9, 10, 12, 13, 15]);
    expect(report.emitted + rejectedTotal(report)).toBe(report.read);
    expect(report.notes['duplicateRowsKept']).toBe(1);
    expect(events.map((e) => [e.eventId, e.customerId, e.storeId, e.ts, e.total])).toEqual([
      ['online-retail-1001', '17850', 'uk-united-kingdom', Date.parse('2011-06-01T09:00:00Z'), 10.2],
      ['online-retail-1002', null, 'uk-eire', Date.parse('2011-06-01T09:05:00Z'), 1.85],
      ['online-retail-C1005', '12345', 'uk-germany', Date.parse('2011-06-01T09:07:00Z'), -3.3],
      ['online-retail-1006', '999', 'uk-united-kingdom', Date.parse('2011-06-01T11:01:00Z'), 1],
    ]);
    expect(events[1]!.items[0]!.productId).toBe('22633');
  });
});

describe('helpers', () => {
  it('recognise non-product codes, slug countries, normalise customer ids', () => {
    for (const c of ['POST', 'DOT', 'M', 'm', 'C2', 'D', 'S', 'B', 'BANK CHARGES', 'AMAZONFEE', 'CRUK', 'gift_0001_20']) expect(isNonProductCode(c)).toBe(true);
    for (const c of ['85123A', '22633', 'PADS', 'DCGSSGIRL']) expect(isNonProductCode(c)).toBe(false);
    expect(countrySlug('United Kingdom')).toBe('united-kingdom');
    expect(countrySlug('Channel Islands')).toBe('channel-islands');
    expect(normaliseCustomerId('17850.0')).toBe('17850');
    expect(normaliseCustomerId('17850')).toBe('17850');
    expect(normaliseCustomerId('')).toBeNull();
    expect(normaliseCustomerId('17850.5')).toBeUndefined();
  });
});
