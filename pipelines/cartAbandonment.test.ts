import { describe, expect, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import type { ClickEvent, PosEvent, Trigger } from '../schemas/index.js';
import { TestDriver } from '../testkit/driver.js';
import { buildCartAbandonment } from './cartAbandonment.js';

const MIN = 60_000;
const T = 30 * MIN;
let n = 0;
const click = (customerId: string, type: ClickEvent['type'], ts: number, productId: string | null = 'p1', quantity: number | null = null): ClickEvent => ({
  eventId: `c${++n}`,
  customerId,
  sessionId: null,
  ts,
  type,
  productId,
  category: null,
  price: null,
  quantity,
  channel: 'app',
});
const till = (customerId: string | null, ts: number, quantity = 1): PosEvent => ({
  eventId: `t${++n}`,
  customerId,
  storeId: 's1',
  ts,
  items: [{ productId: 'p9', category: null, quantity, unitPrice: 5 }],
  total: 5 * quantity,
});

function driver(idleTimeoutMs = 60_000) {
  const p = pipeline('cart');
  buildCartAbandonment(p, { timeoutMs: T }, { outOfOrdernessMs: 0, idleTimeoutMs }).to('triggers');
  return TestDriver.of(p);
}
const triggers = (d: TestDriver) => d.values<Trigger>('triggers');

describe('cart abandonment (SCENES §3.1)', () => {
  it('fires at t_a + T with the sorted distinct products of a non-empty cart', () => {
    const d = driver();
    d.push('clickstream', click('u', 'add_to_cart', 1000, 'zeta'));
    d.push('clickstream', click('u', 'add_to_cart', 2000, 'alpha', 2));
    d.push('clickstream', click('x', 'page_view', 2000 + T + 1, null));
    expect(triggers(d)).toEqual([]); // the pos input has said nothing yet: event time waits for it
    d.advanceTime(60_000); // pos idle for its idle timeout: it stops holding event time back
    expect(triggers(d)).toEqual([
      { scene: 'cart_abandonment', customerId: 'u', ts: 2000 + T, storeId: null, productIds: ['alpha', 'zeta'], category: null, eventId: `c${n - 1}` },
    ]);
  });

  it('is cancelled by a purchase at exactly the deadline', () => {
    const d = driver();
    d.push('clickstream', click('u', 'add_to_cart', 0));
    d.push('clickstream', click('u', 'checkout', T, null));
    d.push('clickstream', click('x', 'page_view', T + 10, null));
    d.end();
    expect(triggers(d)).toEqual([]);
  });

  it('fires when the purchase comes 1 ms after the deadline', () => {
    const d = driver();
    d.push('clickstream', click('u', 'add_to_cart', 0));
    d.push('clickstream', click('u', 'checkout', T + 1, null));
    d.end();
    expect(triggers(d).map((t) => t.ts)).toEqual([T]);
  });

  it('is cancelled by a till purchase of the same customer (omnichannel), not by a return or an anonymous shopper', () => {
    const d = driver();
    d.push('clickstream', click('u', 'add_to_cart', 0));
    d.push('clickstream', click('v', 'add_to_cart', 0));
    d.push('clickstream', click('w', 'add_to_cart', 0));
    d.push('pos', till('u', 10 * MIN));
    d.push('pos', till('v', 10 * MIN, -1)); // a return is not a purchase
    d.push('pos', till(null, 10 * MIN)); // anonymous
    d.end();
    expect(triggers(d).map((t) => t.customerId).sort()).toEqual(['v', 'w']);
  });

  it('counts a till purchase that arrives after later clicks in its event-time place', () => {
    const d = driver();
    d.push('clickstream', click('u', 'add_to_cart', 0));
    d.push('clickstream', click('u', 'page_view', 20 * MIN, null));
    d.push('pos', till('u', 10 * MIN)); // pos topic lags: ts 10 min, arrives after the 20-min click
    d.end();
    expect(triggers(d)).toEqual([]);
  });

  it('re-arms on each add_to_cart; remove_from_cart never re-arms, and an emptied cart does not fire', () => {
    const d = driver();
    d.push('clickstream', click('u', 'add_to_cart', 0));
    d.push('clickstream', click('u', 'add_to_cart', 10 * MIN, 'p2'));
    d.push('clickstream', click('u', 'remove_from_cart', 20 * MIN, 'p2'));
    d.push('clickstream', click('x', 'page_view', T + 5, null));
    expect(triggers(d)).toEqual([]); // the first deadline was replaced
    d.end();
    expect(triggers(d).map((t) => [t.ts, t.productIds])).toEqual([[10 * MIN + T, ['p1']]]);

    const e = driver();
    e.push('clickstream', click('u', 'add_to_cart', 0, 'p1', 2));
    e.push('clickstream', click('u', 'remove_from_cart', MIN, 'p1'));
    e.push('clickstream', click('u', 'remove_from_cart', 2 * MIN, 'p1'));
    e.end();
    expect(triggers(e)).toEqual([]);
  });

  it('fires once, then nothing until the next add_to_cart', () => {
    const d = driver();
    d.push('clickstream', click('u', 'add_to_cart', 0));
    d.push('clickstream', click('u', 'page_view', 2 * T, null));
    d.push('clickstream', click('u', 'page_view', 4 * T, null));
    d.push('clickstream', click('u', 'add_to_cart', 5 * T));
    d.end();
    expect(triggers(d).map((t) => t.ts)).toEqual([T, 6 * T]);
  });

  it('fires on an idle input within the idle delay, with no further event', () => {
    const d = driver(60_000);
    d.push('clickstream', click('u', 'add_to_cart', 1_000_000));
    d.advanceTime(T); // quiet for T: event time has advanced T - 1 past the last record
    expect(triggers(d)).toEqual([]);
    d.advanceTime(1);
    expect(triggers(d).map((t) => t.ts)).toEqual([1_000_000 + T]);
  });
});
