import { describe, expect, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import { SCENES, validate, type ClickEvent, type CustomerProfile, type Decision, type Offer, type PosEvent, type Scene, type Trigger } from '../schemas/index.js';
import { TestDriver } from '../testkit/driver.js';
import { attribution, attributionRunningTotals, attributionTotals, buildAttribution, summarise, type AttributionEvent, type AttributionTotalsUpdate, type SegmentChange } from './attribution.js';
import { buildDecisions } from './decisions.js';
import { profilesFrom } from './deps.js';
import { inHoldout } from './holdout.js';
import { measure } from './measurement.js';
import { isKnownCustomer } from './sources.js';

const HOUR = 3_600_000;
const W = 24 * HOUR;
const T0 = Date.UTC(2024, 0, 15, 15); // 10:00 in New York, 23:00 in Shanghai

let n = 0;
const decision = (customerId: string, ts: number, outcome: 'sent' | 'holdout' | 'no_consent' | 'quiet_hours' | 'frequency_cap', scene: Scene = 'cart_abandonment'): Decision => ({
  decisionId: `d${++n}`,
  scene,
  customerId,
  ts,
  outcome: outcome === 'sent' ? 'sent' : 'suppressed',
  reason: outcome === 'sent' ? null : outcome,
  channel: 'push',
  offerId: outcome === 'sent' ? `o${n}` : null,
});
const click = (customerId: string, type: ClickEvent['type'], ts: number, price: number | null = null, quantity: number | null = null): ClickEvent => ({
  eventId: `c${++n}`,
  customerId,
  sessionId: null,
  ts,
  type,
  productId: null,
  category: null,
  price,
  quantity,
  channel: 'app',
});
const till = (customerId: string | null, ts: number, quantity: number, total: number): PosEvent => ({
  eventId: `t${++n}`,
  customerId,
  storeId: 's1',
  ts,
  items: [{ productId: 'p1', category: null, quantity, unitPrice: total }],
  total,
});

/** Decisions from a test source, purchases from the retail topics, into the attribution step. */
function driver(): TestDriver {
  const p = pipeline('attribution-test');
  const decisions = p.source<Decision>('decisions-in', { timestamp: (d) => d.ts }).keyBy((d) => d.customerId);
  const clicks = p.source<ClickEvent>('clickstream', { timestamp: (e) => e.ts }).keyBy((e) => e.customerId);
  const tills = p.source<PosEvent>('pos', { timestamp: (e) => e.ts }).filter(isKnownCustomer).keyBy((e) => e.customerId);
  const events = attribution('attribute', decisions, clicks.mergeKeyed(tills));
  events.to('attribution');
  attributionRunningTotals('attribution_totals', events).to('totals');
  return TestDriver.of(p);
}
const closed = (d: TestDriver) => d.values<AttributionEvent>('attribution');
const brief = (e: AttributionEvent) => [e.customerId, e.group, e.converted, e.revenue];

describe('attribution (SCENES §6)', () => {
  it('converts with a purchase at exactly decision.ts + 24 h, and closes the window then', () => {
    const d = driver();
    const dec = decision('u', T0, 'sent');
    d.push('decisions-in', dec);
    d.push('clickstream', click('u', 'checkout', T0 + W, 40, 2));
    d.push('pos', till('x', T0 + W, 1, 1));
    expect(closed(d)).toEqual([]); // the window closes once the watermark reaches T0 + 24 h
    d.push('decisions-in', decision('x', T0 + W + 1, 'no_consent')); // every input past T0 + W
    d.push('clickstream', click('x', 'page_view', T0 + W + 1));
    d.push('pos', till('x', T0 + W + 1, 1, 1));
    expect(d.records<AttributionEvent>('attribution')).toEqual([
      {
        value: { decisionId: dec.decisionId, scene: 'cart_abandonment', customerId: 'u', group: 'sent', converted: true, revenue: 80, ts: T0 + W, decisionTs: T0, segment: null, discountPct: 0, wouldSend: true },
        ts: T0 + W,
        key: 'u',
      },
    ]);
  });

  it('does not convert with a purchase at decision.ts + 24 h + 1 ms, nor at exactly decision.ts', () => {
    const d = driver();
    d.push('decisions-in', decision('late', T0, 'sent'));
    d.push('decisions-in', decision('same', T0, 'sent'));
    d.push('clickstream', click('same', 'checkout', T0, 10));
    d.push('pos', till('late', T0 + W + 1, 1, 10));
    d.end();
    expect(closed(d).map(brief).sort()).toEqual([
      ['late', 'sent', false, 0],
      ['same', 'sent', false, 0],
    ]);
  });

  it('converts with a till purchase 1 ms after the decision; revenue is the till total', () => {
    const d = driver();
    d.push('decisions-in', decision('u', T0, 'sent'));
    d.push('pos', till('u', T0 + 1, 3, 25.5));
    d.end();
    expect(closed(d).map(brief)).toEqual([['u', 'sent', true, 25.5]]);
  });

  it('follows the holdout group too, and no other suppressed decision', () => {
    const d = driver();
    d.push('decisions-in', decision('h', T0, 'holdout'));
    d.push('decisions-in', decision('q', T0, 'quiet_hours'));
    d.push('decisions-in', decision('c', T0, 'no_consent'));
    d.push('decisions-in', decision('f', T0, 'frequency_cap'));
    for (const id of ['h', 'q', 'c', 'f']) d.push('clickstream', click(id, 'checkout', T0 + HOUR, 5));
    d.end();
    expect(closed(d).map(brief)).toEqual([['h', 'holdout', true, 5]]);
  });

  it('counts only purchases: not other clicks, not a till return; a checkout without a price converts with revenue 0', () => {
    const d = driver();
    d.push('decisions-in', decision('a', T0, 'sent'));
    d.push('decisions-in', decision('b', T0, 'sent'));
    d.push('clickstream', click('a', 'add_to_cart', T0 + 1, 99));
    d.push('pos', till('a', T0 + 2, -1, -20)); // a return
    d.push('clickstream', click('b', 'checkout', T0 + 3, null));
    d.end();
    expect(closed(d).map(brief)).toEqual([
      ['a', 'sent', false, 0],
      ['b', 'sent', true, 0],
    ]);
  });

  it('counts a purchase that arrives before the decision it converts (the decision waits for the watermark upstream)', () => {
    const d = driver();
    d.push('pos', till('u', T0 + HOUR, 1, 12));
    d.push('clickstream', click('u', 'checkout', T0 + 2 * HOUR, 3));
    d.push('decisions-in', decision('u', T0, 'sent'));
    d.end();
    expect(closed(d).map(brief)).toEqual([['u', 'sent', true, 15]]);
  });

  it('lets one purchase convert every open decision whose window holds it, counting its revenue in each', () => {
    const d = driver();
    d.push('decisions-in', decision('u', T0, 'sent', 'cart_abandonment'));
    d.push('decisions-in', decision('u', T0 + HOUR, 'sent', 'browse_abandonment'));
    d.push('decisions-in', decision('u', T0 + 3 * HOUR, 'sent', 'commute')); // after the purchase
    d.push('clickstream', click('u', 'checkout', T0 + 2 * HOUR, 30));
    d.end();
    expect(closed(d).map((e) => [e.scene, e.converted, e.revenue, e.ts])).toEqual([
      ['cart_abandonment', true, 30, T0 + W],
      ['browse_abandonment', true, 30, T0 + HOUR + W],
      ['commute', false, 0, T0 + 3 * HOUR + W],
    ]);
  });

  it('keeps open windows and pending purchases across a snapshot and restore', () => {
    const d = driver();
    d.push('decisions-in', decision('u', T0, 'sent'));
    d.push('clickstream', click('u', 'checkout', T0 + HOUR, 7));
    const snap = JSON.parse(JSON.stringify(d.snapshot())) as ReturnType<TestDriver['snapshot']>;
    const e = driver().restore(snap);
    e.end();
    expect(closed(e).map(brief)).toEqual([['u', 'sent', true, 7]]);
  });

  it('keeps live running totals per scene', () => {
    const d = driver();
    d.push('decisions-in', decision('a', T0, 'sent'));
    d.push('decisions-in', decision('b', T0 + 1, 'holdout'));
    d.push('clickstream', click('a', 'checkout', T0 + 5, 10));
    d.end();
    const totals = d.values<AttributionTotalsUpdate>('totals');
    expect(totals.map((t) => [t.scene, t.sent, t.sentConverted, t.holdout, t.holdoutConverted, t.uplift, t.sentRevenue])).toEqual([
      ['cart_abandonment', 1, 1, 0, 0, 1, 10],
      ['cart_abandonment', 1, 1, 1, 0, 1, 10],
    ]);
  });
});

describe('summarise (SCENES §7 summary.json)', () => {
  const ev = (scene: Scene, group: 'sent' | 'holdout', converted: boolean, revenue = 0): AttributionEvent => ({
    decisionId: `d${++n}`,
    scene,
    customerId: 'u',
    group,
    converted,
    revenue,
    ts: T0 + W,
    decisionTs: T0,
    segment: null,
    discountPct: 0,
    wouldSend: true,
  });

  it('counts suppressed.segment in every scene only with targeting (or once a decision was suppressed so)', () => {
    const d = (scene: Scene, reason: Decision['reason']): Decision => ({ decisionId: `d${++n}`, scene, customerId: 'u', ts: T0, outcome: reason === null ? 'sent' : 'suppressed', reason, channel: 'push', offerId: null });
    expect(Object.keys(summarise([d('commute', 'holdout')], []).scenes.commute.suppressed)).toEqual(['holdout', 'no_consent', 'quiet_hours', 'frequency_cap']);
    expect(summarise([d('commute', 'holdout')], [], { segmentReason: true }).scenes.cart_abandonment.suppressed.segment).toBe(0);
    const s = summarise([d('commute', 'segment'), d('commute', 'segment')], []).scenes;
    expect(s.commute).toMatchObject({ triggers: 2, sent: 0, suppressed: { segment: 2, holdout: 0 } });
    expect(s.cart_abandonment.suppressed.segment).toBe(0);
  });

  it('has exactly §7\'s shape with all five scenes, zeros included', () => {
    const s = summarise([], []);
    expect(JSON.parse(JSON.stringify(s))).toEqual({
      scenes: Object.fromEntries(
        SCENES.map((scene) => [
          scene,
          {
            triggers: 0,
            sent: 0,
            suppressed: { holdout: 0, no_consent: 0, quiet_hours: 0, frequency_cap: 0 },
            attribution: { sent: 0, sentConverted: 0, holdout: 0, holdoutConverted: 0, uplift: 0 },
          },
        ]),
      ),
    });
  });

  it('counts decisions per scene and reason, and uplift = rate(sent) - rate(holdout)', () => {
    const decisions = [
      decision('a', T0, 'sent'),
      decision('b', T0, 'sent'),
      decision('c', T0, 'holdout'),
      decision('d', T0, 'no_consent'),
      decision('e', T0, 'quiet_hours'),
      decision('f', T0, 'frequency_cap'),
      decision('g', T0, 'frequency_cap'),
      decision('h', T0, 'sent', 'commute'),
    ];
    const events = [
      ev('cart_abandonment', 'sent', true, 10),
      ev('cart_abandonment', 'sent', false),
      ev('cart_abandonment', 'sent', true, 5),
      ev('cart_abandonment', 'sent', false),
      ev('cart_abandonment', 'holdout', true, 8),
      ev('cart_abandonment', 'holdout', false),
      ev('cart_abandonment', 'holdout', false),
      ev('cart_abandonment', 'holdout', false),
      ev('commute', 'holdout', true), // holdout only: rate(sent) is 0 for an empty group
      ev('store_proximity', 'sent', true),
      ev('store_proximity', 'sent', false), // sent only: rate(holdout) is 0
    ];
    const s = summarise(decisions, events).scenes;
    expect(s.cart_abandonment).toEqual({
      triggers: 7,
      sent: 2,
      suppressed: { holdout: 1, no_consent: 1, quiet_hours: 1, frequency_cap: 2 },
      attribution: { sent: 4, sentConverted: 2, holdout: 4, holdoutConverted: 1, uplift: 0.25 },
    });
    expect(s.commute.attribution).toEqual({ sent: 0, sentConverted: 0, holdout: 1, holdoutConverted: 1, uplift: -1 });
    expect(s.store_proximity.attribution.uplift).toBe(0.5);
    expect(s.browse_abandonment.attribution.uplift).toBe(0);
    const totals = attributionTotals(events);
    expect([totals.cart_abandonment.sentRevenue, totals.cart_abandonment.holdoutRevenue]).toEqual([15, 8]);
  });
});

describe('decisions then attribution, wired as the retail pipeline does', () => {
  it('keeps in the measurement\'s control arm only the holdout decisions caps and quiet hours would have let through; §7 counts them all (issue 14)', () => {
    const held = 'u13';
    expect(inHoldout(held, 'scenestream', 0.05)).toBe(true);
    const profiles: CustomerProfile[] = [{ customerId: held, tier: 'basic', timezone: 'America/New_York', consent: { push: true, sms: false, email: false, in_store: false }, lastPurchaseTs: null }];
    const p = pipeline('fair-control-test');
    const triggers = p.source<Trigger>('triggers-in', { timestamp: (t) => t.ts }).keyBy((t) => t.customerId);
    const clicks = p.source<ClickEvent>('clickstream', { timestamp: (e) => e.ts }).keyBy((e) => e.customerId);
    const { decisions, decided } = buildDecisions(triggers, profilesFrom(profiles));
    decisions.to('decisions');
    buildAttribution(decided, clicks).to('attribution');
    const d = TestDriver.of(p);
    const trig = (scene: Scene, ts: number): Trigger => ({ scene, customerId: held, ts, storeId: null, productIds: ['p1'], category: null, eventId: `e${++n}` });
    d.push('triggers-in', trig('cart_abandonment', T0)); // 10:00 in New York: would have been sent
    d.push('triggers-in', trig('cart_abandonment', T0 + HOUR)); // would have been capped (one cart offer a day)
    d.push('triggers-in', trig('cart_abandonment', T0 + 13 * HOUR)); // 23:00: quiet hours
    d.push('clickstream', click(held, 'checkout', T0 + 14 * HOUR, 30)); // converts all three
    d.end();
    const ds = d.values<Decision>('decisions');
    expect(ds.map((x) => x.reason)).toEqual(['holdout', 'holdout', 'holdout']);
    for (const x of ds) expect(Object.hasOwn(x, 'wouldSend')).toBe(false);
    const events = d.values<AttributionEvent>('attribution');
    for (const x of events) expect(validate('AttributionEvent', x).ok).toBe(true);
    expect(events.map((e) => [e.decisionTs - T0, e.group, e.converted, e.wouldSend])).toEqual([
      [0, 'holdout', true, true],
      [HOUR, 'holdout', true, false],
      [13 * HOUR, 'holdout', true, false],
    ]);
    expect(summarise(ds, events).scenes.cart_abandonment.attribution).toEqual({ sent: 0, sentConverted: 0, holdout: 3, holdoutConverted: 3, uplift: -1 });
    const m = measure(events, { minPerArm: 1, currency: 'CNY', attributionWindowMs: W }).scenes.cart_abandonment;
    expect([m.holdout.decisions, m.holdout.converted, m.holdout.revenue, m.holdoutExcluded]).toEqual([1, 1, 30, 2]);
  });

  it('turns triggers and purchases into decisions, offers, attribution events and a summary', () => {
    const held = 'u13';
    expect(inHoldout(held, 'scenestream', 0.05)).toBe(true);
    expect(inHoldout('a', 'scenestream', 0.05)).toBe(false);
    const profiles: CustomerProfile[] = ['a', held].map((customerId) => ({
      customerId,
      tier: 'basic',
      timezone: 'America/New_York',
      consent: { push: true, sms: false, email: false, in_store: false },
      lastPurchaseTs: null,
    }));
    const p = pipeline('retail-decisions-test');
    const triggers = p.source<Trigger>('triggers-in', { timestamp: (t) => t.ts }).keyBy((t) => t.customerId);
    const clicks = p.source<ClickEvent>('clickstream', { timestamp: (e) => e.ts }).keyBy((e) => e.customerId);
    const { decisions, offers } = buildDecisions(triggers, profilesFrom(profiles));
    decisions.to('decisions');
    offers.to('offers');
    buildAttribution(decisions, clicks).to('attribution');
    const d = TestDriver.of(p);
    const trig = (customerId: string, ts: number): Trigger => ({ scene: 'cart_abandonment', customerId, ts, storeId: null, productIds: ['p1'], category: null, eventId: `e${++n}` });
    d.push('triggers-in', trig('a', T0));
    d.push('triggers-in', trig(held, T0));
    d.push('triggers-in', trig('nobody', T0));
    d.push('clickstream', click(held, 'checkout', T0 + HOUR, 20));
    d.push('clickstream', click('a', 'checkout', T0 + W + 1, 20));
    d.end();
    const ds = d.values<Decision>('decisions');
    for (const x of ds) expect(validate('Decision', x).ok).toBe(true);
    for (const x of d.values<Offer>('offers')) expect(validate('Offer', x).ok).toBe(true);
    expect(ds.map((x) => [x.customerId, x.reason ?? x.outcome])).toEqual([
      ['a', 'sent'],
      [held, 'holdout'],
      ['nobody', 'no_consent'],
    ]);
    const events = d.values<AttributionEvent>('attribution');
    expect(events.map(brief)).toEqual([
      ['a', 'sent', false, 0],
      [held, 'holdout', true, 20],
    ]);
    expect(summarise(ds, events).scenes.cart_abandonment).toEqual({
      triggers: 3,
      sent: 1,
      suppressed: { holdout: 1, no_consent: 1, quiet_hours: 0, frequency_cap: 0 },
      attribution: { sent: 1, sentConverted: 0, holdout: 1, holdoutConverted: 1, uplift: -1 },
    });
  });
});

describe('attribution: segment at decision time and the offer discount', () => {
  function segDriver(discounts: Partial<Record<Scene, number>> = {}): TestDriver {
    const p = pipeline('attribution-segment-test');
    const decisions = p.source<Decision>('decisions-in', { timestamp: (d) => d.ts }).keyBy((d) => d.customerId);
    const clicks = p.source<ClickEvent>('clickstream', { timestamp: (e) => e.ts }).keyBy((e) => e.customerId);
    const segments = p.source<SegmentChange>('segments-in', { timestamp: (s) => s.asOf }).keyBy((s) => s.customerId);
    attribution('attribute', decisions, clicks, W, { segments, discountPct: (s) => discounts[s] ?? 0 }).to('attribution');
    return TestDriver.of(p);
  }
  const seg = (customerId: string, asOf: number, segment: string | null): SegmentChange => ({ customerId, asOf, segment });

  it('records the last segment with asOf <= decision.ts, even when it arrives after the decision; null before any', () => {
    const d = segDriver();
    d.push('decisions-in', decision('u', T0, 'sent'));
    d.push('decisions-in', decision('v', T0, 'holdout'));
    d.push('segments-in', seg('u', T0 - 10 * HOUR, 'promising'));
    d.push('segments-in', seg('u', T0, 'champions')); // at the decision's ts: counts
    d.push('segments-in', seg('u', T0 + 1, 'lost')); // after it: does not
    d.push('segments-in', seg('v', T0 + HOUR, 'loyal')); // v had none at T0
    d.end();
    expect(closed(d).map((e) => [e.customerId, e.segment])).toEqual([
      ['u', 'champions'],
      ['v', null],
    ]);
  });

  it('keeps the segment across windows: the latest change before a later decision, after older ones were pruned', () => {
    const d = segDriver();
    d.push('segments-in', seg('u', T0 - HOUR, 'new_customers'));
    d.push('decisions-in', decision('u', T0, 'sent'));
    d.push('segments-in', seg('u', T0 + 2 * W, 'at_risk'));
    d.push('decisions-in', decision('u', T0 + 3 * W, 'sent'));
    d.push('decisions-in', decision('u', T0 + 3 * W + HOUR, 'sent'));
    d.end();
    expect(closed(d).map((e) => e.segment)).toEqual(['new_customers', 'at_risk', 'at_risk']);
  });

  it("takes the sent offer's discount from the campaign when the decision arrives; 0 for holdout", () => {
    const d = segDriver({ cart_abandonment: 10, commute: 25 });
    d.push('decisions-in', decision('a', T0, 'sent'));
    d.push('decisions-in', decision('b', T0, 'sent', 'commute'));
    d.push('decisions-in', decision('c', T0, 'holdout'));
    d.end();
    expect(closed(d).map((e) => [e.customerId, e.discountPct])).toEqual([
      ['a', 10],
      ['b', 25],
      ['c', 0],
    ]);
    for (const e of closed(d)) expect(validate('AttributionEvent', e).ok).toBe(true);
  });
});
