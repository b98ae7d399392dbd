import { describe, expect, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import type { ClickEvent, CustomerProfile, PosEvent, Trigger } from '../schemas/index.js';
import { TestDriver } from '../testkit/driver.js';
import { profilesFrom } from './deps.js';
import { buildDormantReactivation } from './dormantReactivation.js';
import { DEFAULT_PARAMS } from './params.js';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;
let n = 0;
const click = (type: ClickEvent['type'], day: number, customerId = 'u'): ClickEvent => ({
  eventId: `c${++n}`,
  customerId,
  sessionId: null,
  ts: T0 + day * DAY,
  type,
  productId: null,
  category: null,
  price: null,
  quantity: null,
  channel: 'app',
});
const open = (day: number, customerId = 'u') => click('app_open', day, customerId);
const checkout = (day: number, customerId = 'u') => click('checkout', day, customerId);
const till = (day: number, quantity = 1, customerId: string | null = 'u'): PosEvent => ({
  eventId: `t${++n}`,
  customerId,
  storeId: 's1',
  ts: T0 + day * DAY,
  items: [{ productId: 'p', category: null, quantity, unitPrice: 5 }],
  total: 5 * quantity,
});
const profile = (customerId: string, lastPurchaseDay: number | null): CustomerProfile => ({
  customerId,
  tier: 'silver',
  timezone: 'Asia/Shanghai',
  consent: { push: true, sms: false, email: false, in_store: false },
  lastPurchaseTs: lastPurchaseDay === null ? null : T0 + lastPurchaseDay * DAY,
});

type In = ['clickstream', ClickEvent] | ['pos', PosEvent];
const c = (e: ClickEvent): In => ['clickstream', e];
const p = (e: PosEvent): In => ['pos', e];

function driver(profiles: CustomerProfile[] = [], outOfOrdernessMs = 0) {
  const pl = pipeline('dormant');
  buildDormantReactivation(pl, DEFAULT_PARAMS, { stores: [], profiles: profilesFrom(profiles) }, { outOfOrdernessMs }).to('triggers');
  return TestDriver.of(pl);
}
function run(events: In[], profiles: CustomerProfile[] = [], outOfOrdernessMs = 0): Trigger[] {
  const d = driver(profiles, outOfOrdernessMs);
  for (const [src, e] of events) d.push(src, e);
  d.end();
  return d.values<Trigger>('triggers');
}
const days = (ts: Trigger[]) => ts.map((t) => (t.ts - T0) / DAY);

describe('dormant reactivation (SCENES §3.5)', () => {
  it('fires on an app_open exactly 30 days after the last purchase', () => {
    const o = open(30);
    expect(run([c(checkout(0)), c(o)])).toEqual([
      { scene: 'dormant_reactivation', customerId: 'u', ts: T0 + 30 * DAY, storeId: null, productIds: [], category: null, eventId: o.eventId },
    ]);
  });

  it('does not fire 1 ms short of 30 days', () => {
    const o = { ...open(30), ts: T0 + 30 * DAY - 1 };
    expect(run([c(checkout(0)), c(o)])).toEqual([]);
  });

  it('a customer with no known purchase is new, not dormant', () => {
    expect(run([c(open(100))])).toEqual([]);
    expect(run([c(open(100))], [profile('u', null)])).toEqual([]);
  });

  it('takes the later of the profile lastPurchaseTs and the purchases seen', () => {
    expect(days(run([c(open(30))], [profile('u', 0)]))).toEqual([30]); // profile alone, exactly 30 days
    expect(run([c(checkout(10)), c(open(30))], [profile('u', -40)])).toEqual([]); // events more recent
    expect(run([c(checkout(-40)), c(open(30))], [profile('u', 10)])).toEqual([]); // profile more recent
    expect(days(run([c(checkout(-40)), c(open(30))], [profile('u', -10)]))).toEqual([30]); // both old enough
  });

  it('counts till purchases of the customer; a return or an anonymous shopper is no purchase', () => {
    expect(run([p(till(0)), c(open(29))])).toEqual([]);
    expect(days(run([p(till(0)), c(open(30))]))).toEqual([30]);
    expect(days(run([c(checkout(0)), p(till(10, -1)), c(open(30))]))).toEqual([30]); // the return at day 10 is not a purchase
    expect(days(run([c(checkout(0)), p(till(10, 1, null)), c(open(30))]))).toEqual([30]);
    expect(run([c(checkout(0)), p(till(10, 1, 'v')), c(open(30, 'v'))])).toEqual([]); // v's only purchase is 20 days old
  });

  it('a purchase since the last trigger makes the customer active again', () => {
    expect(days(run([c(checkout(0)), c(open(30)), c(checkout(31)), c(open(45)), c(open(61))]))).toEqual([30, 61]);
  });

  it('cooldown 7 days: exactly 7 days later fires, 1 ms less does not', () => {
    expect(days(run([c(checkout(0)), c(open(30)), c(open(37))]))).toEqual([30, 37]);
    const early = { ...open(37), ts: T0 + 37 * DAY - 1 };
    expect(days(run([c(checkout(0)), c(open(30)), c(early), c(open(40))]))).toEqual([30, 40]); // the blocked open does not restart the cooldown
    // per customer
    expect(run([c(checkout(0)), c(checkout(0, 'v')), c(open(30)), c(open(30, 'v'))]).map((t) => t.customerId)).toEqual(['u', 'v']);
  });

  it('orders by event time: a till purchase arriving after the app_open still counts', () => {
    const o = open(30);
    const late = till(30);
    late.ts = o.ts - 1000;
    expect(run([c(checkout(0)), c(o), p(late)], [], 5_000)).toEqual([]);
    // a purchase at the very ts of the app_open is known at it, whichever topic delivered first
    expect(run([c(checkout(0)), c(open(30)), p(till(30))])).toEqual([]);
  });

  it('survives a snapshot and restore', () => {
    const d = driver();
    d.push('clickstream', checkout(0));
    d.push('clickstream', open(30));
    d.push('pos', till(31, 1, 'other')).push('clickstream', open(31, 'other')); // both inputs move event time past the app_open: it fires
    const snap = JSON.parse(JSON.stringify(d.snapshot())) as ReturnType<TestDriver['snapshot']>;
    const e = driver().restore(snap);
    e.push('clickstream', open(33)); // cooldown from the restored trigger
    e.push('clickstream', open(61)); // the restored purchase at day 0
    e.end();
    expect(days(d.values<Trigger>('triggers'))).toEqual([30]);
    expect(days(e.values<Trigger>('triggers'))).toEqual([61]);
  });
});
