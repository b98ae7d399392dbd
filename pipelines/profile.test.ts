import { describe, expect, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import type { ClickEvent, CustomerProfile, PosEvent } from '../schemas/index.js';
import { rewriteStateTable, TestDriver } from '../testkit/driver.js';
import { profilesFrom } from './deps.js';
import { buildCustomerProfile, N, PROFILE_DEFAULTS, type LiveProfile, type ProfileParams, type ProfileState } from './profile.js';
import { levelScore, recencyScore, rfmSegment, RFM_SEGMENTS, RFM_THRESHOLD_DEFAULTS } from './rfm.js';
import { readFileSync } from 'node:fs';
import { parseCampaign } from './campaign.js';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;
let n = 0;
const click = (type: ClickEvent['type'], ts: number, extra: Partial<ClickEvent> = {}): ClickEvent => ({
  eventId: `c${++n}`,
  customerId: 'u',
  sessionId: null,
  ts,
  type,
  productId: null,
  category: null,
  price: null,
  quantity: null,
  channel: 'app',
  ...extra,
});
const checkout = (ts: number, price: number, customerId = 'u') => click('checkout', ts, { price, customerId });
const till = (ts: number, items: PosEvent['items'], customerId: string | null = 'u'): PosEvent => ({ eventId: `t${++n}`, customerId, storeId: 's1', ts, items, total: 0 });
const gold: CustomerProfile = { customerId: 'u', tier: 'gold', timezone: 'Asia/Shanghai', consent: { push: true, sms: false, email: true, in_store: false }, lastPurchaseTs: null };

/** A view, two adds to cart and a till between them, out of one customer, in event-time order. */
const fourRecords = (): Array<['clickstream', ClickEvent] | ['pos', PosEvent]> => [
  ['clickstream', click('product_view', T0 + 1000, { category: 'toys' })],
  ['clickstream', click('add_to_cart', T0 + 2000, { productId: 'p1', category: 'toys', quantity: 2 })],
  ['pos', till(T0 + 3000, [{ productId: 'x', category: 'food', quantity: 1, unitPrice: 7 }])],
  ['clickstream', click('add_to_cart', T0 + 4000, { productId: 'p2', category: 'shoes', channel: 'web' })],
];

function driver(params: ProfileParams = PROFILE_DEFAULTS, profiles: CustomerProfile[] = [], outOfOrdernessMs = 0) {
  const pl = pipeline('profile');
  buildCustomerProfile(pl, { profiles: profilesFrom(profiles), cartTimeoutMs: 30 * 60_000 }, params, { outOfOrdernessMs }).to('profiles');
  return TestDriver.of(pl);
}
/** The last profile of each customer, and every profile in order. */
function last(d: TestDriver, customerId = 'u'): LiveProfile {
  const all = d.values<LiveProfile>('profiles').filter((p) => p.customerId === customerId);
  return all[all.length - 1]!;
}

describe('RFM scores at their boundaries (defaults: 30/90/180/365 days; 2/3/5/8; 100/300/1000/3000)', () => {
  const t = RFM_THRESHOLD_DEFAULTS;
  it('recency: exactly 30 days scores 5, 1 ms more 4; no purchase 1', () => {
    expect(recencyScore(0, 30 * DAY, t)).toBe(5);
    expect(recencyScore(0, 30 * DAY + 1, t)).toBe(4);
    expect(recencyScore(0, 90 * DAY, t)).toBe(4);
    expect(recencyScore(0, 180 * DAY + 1, t)).toBe(2);
    expect(recencyScore(0, 365 * DAY, t)).toBe(2);
    expect(recencyScore(0, 365 * DAY + 1, t)).toBe(1);
    expect(recencyScore(null, 0, t)).toBe(1);
  });
  it('frequency and monetary: the boundary itself reaches the higher score', () => {
    expect([0, 1, 2, 3, 4, 5, 7, 8, 100].map((f) => levelScore(f, t.frequency))).toEqual([1, 1, 2, 3, 3, 4, 4, 5, 5]);
    expect([99.99, 100, 299.99, 300, 999, 1000, 2999, 3000].map((m) => levelScore(m, t.monetary))).toEqual([1, 2, 2, 3, 3, 4, 4, 5]);
  });
  it('maps every score combination to one of the eleven segments, each reached', () => {
    const seen = new Set<string>();
    for (let r = 1; r <= 5; r++) for (let f = 1; f <= 5; f++) for (let m = 1; m <= 5; m++) seen.add(rfmSegment({ r, f, m }));
    expect([...seen].sort()).toEqual([...RFM_SEGMENTS].sort());
  });
  it('uses the documented grid (R x ceil((F+M)/2))', () => {
    expect(rfmSegment({ r: 5, f: 5, m: 4 })).toBe('champions');
    expect(rfmSegment({ r: 5, f: 1, m: 1 })).toBe('new_customers');
    expect(rfmSegment({ r: 5, f: 1, m: 2 })).toBe('potential_loyalists'); // FM = ceil(1.5) = 2
    expect(rfmSegment({ r: 4, f: 1, m: 1 })).toBe('promising');
    expect(rfmSegment({ r: 4, f: 4, m: 3 })).toBe('loyal');
    expect(rfmSegment({ r: 3, f: 3, m: 3 })).toBe('need_attention');
    expect(rfmSegment({ r: 3, f: 2, m: 1 })).toBe('about_to_sleep');
    expect(rfmSegment({ r: 2, f: 3, m: 4 })).toBe('at_risk');
    expect(rfmSegment({ r: 1, f: 5, m: 5 })).toBe('cant_lose_them');
    expect(rfmSegment({ r: 2, f: 1, m: 1 })).toBe('hibernating');
    expect(rfmSegment({ r: 1, f: 1, m: 1 })).toBe('lost');
  });
});

describe('live profile (virtual time)', () => {
  it('counts a purchase until exactly ts + horizon, then expires it on a timer with no further record', () => {
    const d = driver();
    d.push('clickstream', checkout(T0, 120));
    d.push('pos', till(T0 + 10 * DAY, [{ productId: 'a', category: 'toys', quantity: 2, unitPrice: 50 }, { productId: 'b', category: 'food', quantity: -1, unitPrice: 9 }]));
    d.watermark('clickstream', T0 + 10 * DAY).watermark('pos', T0 + 10 * DAY);
    expect(last(d)).toMatchObject({ frequency: 2, monetary: 220, lastPurchaseTs: T0 + 10 * DAY, lastStoreId: 's1', lastChannel: 'store' });
    d.watermark('clickstream', T0 + 365 * DAY - 1).watermark('pos', T0 + 365 * DAY - 1);
    expect(last(d)).toMatchObject({ frequency: 2, monetary: 220 });
    d.watermark('clickstream', T0 + 365 * DAY).watermark('pos', T0 + 365 * DAY);
    expect(last(d)).toMatchObject({ asOf: T0 + 365 * DAY, frequency: 1, monetary: 100 });
    d.watermark('clickstream', T0 + 375 * DAY).watermark('pos', T0 + 375 * DAY);
    expect(last(d)).toMatchObject({ asOf: T0 + 375 * DAY, frequency: 0, monetary: 0, recencyScore: 2, segment: 'hibernating' });
    d.watermark('clickstream', T0 + 375 * DAY + 1).watermark('pos', T0 + 375 * DAY + 1);
    expect(last(d)).toMatchObject({ asOf: T0 + 375 * DAY + 1, recencyScore: 1, segment: 'lost' });
  });

  it('lowers the recency score on a timer exactly 1 ms after each boundary', () => {
    const d = driver();
    d.push('clickstream', checkout(T0, 50));
    d.watermark('clickstream', T0 + 30 * DAY).watermark('pos', T0 + 30 * DAY);
    expect(last(d)).toMatchObject({ recencyScore: 5, frequencyScore: 1, monetaryScore: 1, segment: 'new_customers' });
    d.watermark('clickstream', T0 + 30 * DAY + 1).watermark('pos', T0 + 30 * DAY + 1);
    expect(last(d)).toMatchObject({ asOf: T0 + 30 * DAY + 1, recencyScore: 4, segment: 'promising' });
  });

  it('the horizon and thresholds come from the campaign file, validated', () => {
    const c = parseCampaign(JSON.stringify({ profile: { horizonMs: 10 * DAY, frequency: [1, 2, 3, 4] } }));
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    const d = driver(c.value.params.profile);
    d.push('clickstream', checkout(T0, 10));
    d.watermark('clickstream', T0 + 10 * DAY).watermark('pos', T0 + 10 * DAY);
    expect(d.values<LiveProfile>('profiles').map((p) => [p.asOf - T0, p.frequency, p.frequencyScore])).toEqual([
      [0, 1, 2],
      [10 * DAY, 0, 1],
    ]);
    const bad = parseCampaign(JSON.stringify({ profile: { recencyMs: [3, 2, 1, 0] } }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toContain('profile.recencyMs.1');
  });

  it("docs/profiles.md's example campaign section is the defaults, and valid", () => {
    const doc = readFileSync(new URL('../docs/profiles.md', import.meta.url), 'utf8');
    const json = /```json\n(\{ "profile"[\s\S]*?)```/.exec(doc)![1]!;
    const c = parseCampaign(json);
    expect(c.ok && c.value.params.profile).toEqual(PROFILE_DEFAULTS);
  });

  it('applies records in event-time order however they arrive, so the result is replay-equal', () => {
    const events = fourRecords();
    const run = (order: number[]) => {
      const d = driver(PROFILE_DEFAULTS, [gold], 10_000);
      for (const i of order) d.push(events[i]![0], events[i]![1]);
      d.watermark('clickstream', T0 + 60_000).watermark('pos', T0 + 60_000);
      return last(d);
    };
    const a = run([0, 1, 2, 3]);
    expect(run([3, 2, 1, 0])).toEqual(a);
    // The till at 3000 emptied the cart armed at 2000; only p2 remains, added on the web.
    expect(a).toMatchObject({ cartItems: 1, cartQuantity: 1, cartProductIds: ['p2'], cartDeadline: T0 + 4000 + 30 * 60_000, lastChannel: 'web', lastStoreId: 's1', tier: 'gold', consentPush: true, consentEmail: true, consentSms: false, knownProfile: true });
    expect(a.topCategories).toEqual(['food', 'toys', 'shoes']); // bought 5 > viewed 1 + carted 3 > carted 3
  });

  it('restores a checkpoint of the earlier named state form and goes on as if uninterrupted', () => {
    const first = fourRecords();
    const second: Array<['clickstream', ClickEvent]> = [
      ['clickstream', click('product_view', T0 + 5000, { category: 'shoes' })],
      ['clickstream', checkout(T0 + 6000, 40)],
    ];
    const feed = (d: TestDriver, events: ReadonlyArray<readonly ['clickstream' | 'pos', ClickEvent | PosEvent]>, w: number) => {
      for (const [topic, e] of events) d.push(topic, e);
      return d.watermark('clickstream', w).watermark('pos', w);
    };
    const whole = feed(feed(driver(PROFILE_DEFAULTS, [gold]), first, T0 + 4500), second, T0 + 400 * DAY);
    const a = feed(driver(PROFILE_DEFAULTS, [gold]), first, T0 + 4500);
    // The state as the version before the compact form wrote it: numbers and categories by name.
    const named = (v: unknown) => {
      const s = v as ProfileState;
      const n = s.n;
      return { p: s.p, lp: n[N.lp], cat: s.cn.map((c, i) => [c, s.cv[i]]), ct: n[N.ct], cart: s.cart, la: n[N.la], lt: n[N.lt], store: s.store, sts: n[N.sts], ch: s.ch, cts: n[N.cts], tr: n.slice(N.tr), rl: n[N.rl], tier: n[N.tier], cs: n[N.cs], known: n[N.known], t: n[N.t] };
    };
    const old = rewriteStateTable(a.snapshot(), 'profile/customers', named);
    const b = feed(driver(PROFILE_DEFAULTS, [gold]).restore(old), second, T0 + 400 * DAY);
    const after = (d: TestDriver) => d.values<LiveProfile>('profiles').filter((p) => p.asOf > T0 + 4000);
    expect(after(b)).toEqual(after(whole));
    // After the restore: the view, the checkout, recency timers, then both purchases expiring a
    // year later on their timers (the till's first), and the last recency boundary.
    expect(after(b).map((p) => p.frequency)).toEqual([1, 2, 2, 2, 2, 2, 1, 0, 0]);
  });

  it('decays interest: an old strong interest falls below a recent weak one', () => {
    const d = driver();
    d.push('clickstream', click('add_to_cart', T0, { productId: 'p', category: 'old', quantity: 1 }));
    d.push('clickstream', click('product_view', T0 + 30 * DAY, { category: 'new' }));
    d.end();
    expect(last(d).topCategories).toEqual(['new', 'old']); // 3 * 2^(-30/14) = 0.68 < 1
  });

  it('a customer with no purchase known has scores 1 and no segment; the reference lastPurchaseTs counts for recency', () => {
    const d = driver();
    d.push('clickstream', click('app_open', T0));
    d.end();
    expect(last(d)).toMatchObject({ recencyScore: 1, frequencyScore: 1, monetaryScore: 1 });
    expect(last(d).segment).toBeUndefined();
    const e = driver(PROFILE_DEFAULTS, [{ ...gold, lastPurchaseTs: T0 - DAY }]);
    e.push('clickstream', click('app_open', T0));
    e.watermark('clickstream', T0).watermark('pos', T0);
    expect(last(e)).toMatchObject({ lastPurchaseTs: T0 - DAY, recencyScore: 5, frequency: 0, segment: 'new_customers' });
  });

  it('keeps at most maxPurchases entries, merging the oldest two at the newer ts (never expiring a purchase early)', () => {
    const d = driver({ ...PROFILE_DEFAULTS, maxPurchases: 2 });
    for (let i = 0; i < 3; i++) d.push('clickstream', checkout(T0 + i * DAY, 10));
    d.watermark('clickstream', T0 + 2 * DAY).watermark('pos', T0 + 2 * DAY);
    expect(last(d)).toMatchObject({ frequency: 3, monetary: 30 });
    d.watermark('clickstream', T0 + 366 * DAY).watermark('pos', T0 + 366 * DAY);
    expect(last(d)).toMatchObject({ frequency: 1, monetary: 10 }); // the merged pair left at day 1 + 365
  });
});
