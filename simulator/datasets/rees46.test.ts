import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validate } from '../../schemas/index.js';
import { datasetPath } from './paths.js';
import { loadRees46 } from './rees46.js';
import { collect, rejectedTotal } from './report.js';

describe('loadRees46 on the real sample', async () => {
  const path = datasetPath('rees46', '2019-Oct-sample.csv');
  const { events, report } = await collect(loadRees46());
  const dataLines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').length - 1;

  it('reads every row and maps view/cart/purchase', () => {
    expect(report.read).toBe(dataLines);
    expect(report.read).toBe(1000);
    expect(report.emitted + rejectedTotal(report)).toBe(report.read);
    expect(report.rejected).toEqual({});
    const types = new Map<string, number>();
    for (const e of events) types.set(e.type, (types.get(e.type) ?? 0) + 1);
    expect(Object.fromEntries(types)).toEqual({ product_view: 987, checkout: 10, add_to_cart: 3 });
    expect(events.every((e) => validate('ClickEvent', e).ok && e.channel === 'web')).toBe(true);
  });

  it('takes the category from category_code, or category_id when the code is empty', () => {
    // 2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-...
    expect(events[0]).toEqual({
      eventId: 'rees46-2',
      customerId: '541312140',
      sessionId: '72d76fde-8bb3-4e00-8c23-a032dfed738c',
      ts: Date.parse('2019-10-01T00:00:00Z'),
      type: 'product_view',
      productId: '44600062',
      category: '2103807459595387724',
      price: 35.79,
      quantity: null,
      channel: 'web',
    });
    expect(events[1]?.category).toBe('appliances.environment.water_heater');
    expect(events.find((e) => e.eventId === 'rees46-333')).toMatchObject({ type: 'add_to_cart', productId: '5100816', customerId: '550121407', price: 29.51 });
  });
});

describe('loadRees46 on bad rows', () => {
  it('rejects other event types and broken rows with reasons', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rees46-'));
    const path = join(dir, 'bad.csv');
    const rows = [
      'event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session',
      '2019-10-01 00:00:00 UTC,view,1,2,,b,1.5,10,s1',
      '2019-10-01 00:00:01 UTC,remove_from_cart,1,2,,b,1.5,10,s1',
      'not a time,view,1,2,,b,1.5,10,s1',
      '2019-10-01 00:00:02 UTC,cart,1,2,,b,1.5,,s1',
      '2019-10-01 00:00:02 UTC,cart,,2,,b,1.5,10,s1',
      '2019-10-01 00:00:02 UTC,purchase,1,2,,b,-3,10,s1',
      '2019-10-01 00:00:02 UTC,purchase,1,2,,b',
      '2019-10-01 00:00:03 UTC,purchase,1,,,b,,10,',
    ];
    writeFileSync(path, rows.join('\n') + '\n');
    const { events, report } = await collect(loadRees46({ path }));
    expect(report.rejected).toEqual({
      unsupported_event_type: 1,
      bad_event_time: 1,
      missing_user_id: 1,
      missing_product_id: 1,
      bad_price: 1,
      malformed_row: 1,
    });
    expect(report.read).toBe(8);
    expect(report.emitted + rejectedTotal(report)).toBe(report.read);
    expect(events.map((e) => [e.eventId, e.type, e.category, e.price, e.sessionId])).toEqual([
      ['rees46-2', 'product_view', '2', 1.5, 's1'],
      ['rees46-9', 'checkout', null, null, null],
    ]);
  });
});
