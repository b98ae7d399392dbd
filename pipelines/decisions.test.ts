import { describe, expect, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import { pipeline } from '../stream/stream.js';
import { validate, type CustomerProfile, type Decision, type Offer, type Scene, type Trigger } from '../schemas/index.js';
import { TestDriver } from '../testkit/driver.js';
import { decide, DECISION_DEFAULTS, type DecidedRecord, type DecisionConfig, type TitleLookups } from './decisions.js';
import { LiveProducts } from './products.js';
import { profilesFrom } from './deps.js';
import { inHoldout } from './holdout.js';
import { DEFAULT_OFFER_TEMPLATES, decisionIdOf, offerIdOf } from './offers.js';
import { DEFAULT_PARAMS } from './params.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Wall time in New York in January (EST, UTC-5), as an instant: written out, not computed by the code under test. */
const est = (day: number, h: number, m = 0, s = 0, ms = 0): number => Date.UTC(2024, 0, day, h + 5, m, s, ms);

const ALL = { push: true, sms: true, email: true, in_store: true };
const NONE = { push: false, sms: false, email: false, in_store: false };
const profile = (customerId: string, timezone: string, consent = ALL): CustomerProfile => ({ customerId, tier: 'gold', timezone, consent, lastPurchaseTs: null });

const HELD = 'u13'; // sha256('scenestreamu13') starts 01dd440e: ~0.0073 < 0.05
const NOT_HELD = ['ny', 'sh', 'a', 'b', 'c', 'd', 'e'];

let n = 0;
const trig = (customerId: string, scene: Scene, ts: number, storeId: string | null = null): Trigger => ({
  scene,
  customerId,
  ts,
  storeId,
  productIds: scene === 'cart_abandonment' ? ['p1', 'p2'] : [],
  category: null,
  eventId: `e${++n}`,
});

function driver(profiles: CustomerProfile[], config: DecisionConfig = DECISION_DEFAULTS, outOfOrdernessMs = 0, lookups: TitleLookups = {}): TestDriver {
  const p = pipeline('decisions-test');
  const triggers = p.source<Trigger>('triggers-in', { timestamp: (t) => t.ts, outOfOrdernessMs }).keyBy((t) => t.customerId);
  const { decisions, offers } = decide('decide', triggers, profilesFrom(profiles), config, lookups);
  decisions.to('decisions');
  offers.to('offers');
  return TestDriver.of(p);
}

function run(profiles: CustomerProfile[], triggers: Trigger[], config?: DecisionConfig, lookups?: TitleLookups): { decisions: Decision[]; offers: Offer[] } {
  const d = driver(profiles, config, 0, lookups);
  for (const t of triggers) d.push('triggers-in', t);
  d.end();
  const decisions = d.values<Decision>('decisions');
  const offers = d.values<Offer>('offers');
  for (const x of decisions) expect(validate('Decision', x).ok, JSON.stringify(x)).toBe(true);
  for (const x of offers) expect(validate('Offer', x).ok, JSON.stringify(x)).toBe(true);
  expect(d.deadLetters).toEqual([]);
  return { decisions, offers };
}

const outcome = (d: Decision): string => d.reason ?? d.outcome;
const withConfig = (over: Partial<DecisionConfig['params']>): DecisionConfig => ({ ...DECISION_DEFAULTS, params: { ...DEFAULT_PARAMS.decisions, ...over } });

describe('decisions (SCENES §4)', () => {
  it('uses customers whose holdout membership is what the tests assume', () => {
    expect(inHoldout(HELD, 'scenestream', 0.05)).toBe(true);
    for (const id of NOT_HELD) expect(inHoldout(id, 'scenestream', 0.05)).toBe(false);
  });

  it('checks in order holdout, no_consent, quiet_hours, frequency_cap: the first that applies wins', () => {
    const cap0 = withConfig({ capPerDay: 0 }); // everybody is at the cap
    const night = est(15, 23);
    const noon = est(15, 12);
    const { decisions } = run(
      [profile(HELD, 'America/New_York', NONE), profile('a', 'America/New_York', NONE), profile('b', 'America/New_York'), profile('c', 'America/New_York')],
      [
        trig(HELD, 'cart_abandonment', night), // held out, no consent, quiet hours, at the cap
        trig('a', 'cart_abandonment', night), // not held out, no consent, quiet, cap
        trig('b', 'cart_abandonment', night), // consent, quiet, cap
        trig('c', 'cart_abandonment', noon), // consent, daytime, cap
        trig('e', 'cart_abandonment', noon), // no profile: no consent (privacy first)
      ],
      cap0,
    );
    const by = Object.fromEntries(decisions.map((d) => [d.customerId, outcome(d)]));
    expect(by).toEqual({ [HELD]: 'holdout', a: 'no_consent', b: 'quiet_hours', c: 'frequency_cap', e: 'no_consent' });
    for (const d of decisions) {
      expect(d.outcome).toBe('suppressed');
      expect(d.offerId).toBeNull();
      expect(d.channel).toBe('push');
    }
  });

  it('checks consent on the scene\'s channel', () => {
    const cfg = withConfig({ channels: { ...DEFAULT_PARAMS.decisions.channels, commute: 'sms' } });
    const pushOnly = { ...NONE, push: true };
    const { decisions } = run(
      [profile('a', 'America/New_York', pushOnly)],
      [trig('a', 'cart_abandonment', est(15, 10)), trig('a', 'commute', est(15, 11), 's1')],
      cfg,
    );
    expect(decisions.map((d) => [d.scene, d.channel, outcome(d)])).toEqual([
      ['cart_abandonment', 'push', 'sent'],
      ['commute', 'sms', 'no_consent'],
    ]);
  });

  it('quiet hours are [22:00, 07:00) in the customer\'s local time', () => {
    const { decisions } = run(
      [profile('ny', 'America/New_York')],
      [
        trig('ny', 'cart_abandonment', est(15, 21, 59, 59)),
        trig('ny', 'cart_abandonment', est(16, 22, 0, 0)),
        trig('ny', 'cart_abandonment', est(18, 6, 59, 59, 999)),
        trig('ny', 'cart_abandonment', est(19, 7, 0, 0)),
      ],
    );
    expect(decisions.map(outcome)).toEqual(['sent', 'quiet_hours', 'quiet_hours', 'sent']);
  });

  it('follows daylight saving time: on 2024-03-10 New York is UTC-4 after 02:00', () => {
    const { decisions } = run(
      [profile('ny', 'America/New_York')],
      [trig('ny', 'cart_abandonment', Date.UTC(2024, 2, 10, 10, 59, 59)), trig('ny', 'browse_abandonment', Date.UTC(2024, 2, 10, 11, 0, 0))],
    );
    expect(decisions.map(outcome)).toEqual(['quiet_hours', 'sent']); // 06:59:59 and 07:00:00 EDT (05:59:59 and 06:00 in EST)
  });

  it('the same instant is quiet in New York (22:00) and not in Shanghai (11:00); a profile-less customer is in Shanghai', () => {
    const t = Date.UTC(2024, 0, 16, 3, 0, 0); // 22:00 EST on the 15th, 11:00 CST on the 16th
    const { decisions } = run([profile('ny', 'America/New_York'), profile('sh', 'Asia/Shanghai')], [trig('ny', 'browse_abandonment', t), trig('sh', 'browse_abandonment', t)]);
    expect(Object.fromEntries(decisions.map((d) => [d.customerId, outcome(d)]))).toEqual({ ny: 'quiet_hours', sh: 'sent' });
  });

  it('caps at 3 sent offers per local day: the 4th is frequency_cap, in New York days, not Shanghai ones', () => {
    // 10:00-13:00 EST is 15:00-18:00 UTC: it spans Shanghai's midnight (16:00 UTC), not New York's.
    const { decisions, offers } = run(
      [profile('ny', 'America/New_York')],
      [
        trig('ny', 'cart_abandonment', est(15, 10)),
        trig('ny', 'browse_abandonment', est(15, 11)),
        trig('ny', 'store_proximity', est(15, 12), 's1'),
        trig('ny', 'commute', est(15, 13), 's1'),
        trig('ny', 'dormant_reactivation', est(15, 21, 59, 59)),
        trig('ny', 'commute', est(16, 7)), // the next local day: counts reset
        trig('ny', 'cart_abandonment', est(16, 7, 30)),
        trig('ny', 'cart_abandonment', est(16, 8)), // and the new day counts again
      ],
    );
    expect(decisions.map(outcome)).toEqual(['sent', 'sent', 'sent', 'frequency_cap', 'frequency_cap', 'sent', 'sent', 'frequency_cap']);
    expect(offers.map((o) => o.scene)).toEqual(['cart_abandonment', 'browse_abandonment', 'store_proximity', 'commute', 'cart_abandonment']);
  });

  it('caps at 1 sent offer per scene per local day', () => {
    const { decisions } = run(
      [profile('a', 'America/New_York')],
      [trig('a', 'cart_abandonment', est(15, 10)), trig('a', 'cart_abandonment', est(15, 11)), trig('a', 'browse_abandonment', est(15, 12)), trig('a', 'cart_abandonment', est(16, 10))],
    );
    expect(decisions.map(outcome)).toEqual(['sent', 'frequency_cap', 'sent', 'sent']);
  });

  it('resets the caps at local midnight exactly (a channel without quiet hours shows it)', () => {
    const inStore = withConfig({
      channels: { cart_abandonment: 'in_store', browse_abandonment: 'in_store', store_proximity: 'in_store', commute: 'in_store', dormant_reactivation: 'in_store' },
    });
    const { decisions } = run(
      [profile('ny', 'America/New_York')],
      [
        trig('ny', 'cart_abandonment', est(15, 21)),
        trig('ny', 'browse_abandonment', est(15, 22)),
        trig('ny', 'store_proximity', est(15, 23), 's1'),
        trig('ny', 'commute', est(15, 23, 59, 59, 999), 's1'),
        trig('ny', 'dormant_reactivation', est(16, 0, 0, 0, 0)),
        trig('ny', 'cart_abandonment', est(16, 0, 0, 0, 1)),
      ],
      inStore,
    );
    expect(decisions.map(outcome)).toEqual(['sent', 'sent', 'sent', 'frequency_cap', 'sent', 'sent']);
  });

  it('does not count suppressed decisions towards the caps', () => {
    const { decisions } = run(
      [profile('a', 'America/New_York')],
      [
        trig('a', 'cart_abandonment', est(15, 0, 30)), // quiet hours
        trig('a', 'cart_abandonment', est(15, 6, 59)), // quiet hours
        trig('a', 'cart_abandonment', est(15, 8)), // first sent cart of the day
        trig('a', 'cart_abandonment', est(15, 9)), // capped by scene
        trig('a', 'cart_abandonment', est(15, 9, 30)), // capped by scene
        trig('a', 'browse_abandonment', est(15, 10)), // 2nd sent
        trig('a', 'commute', est(15, 11), 's1'), // 3rd sent: the capped ones did not count
        trig('a', 'dormant_reactivation', est(15, 12)), // 4th: capped
      ],
    );
    expect(decisions.map(outcome)).toEqual(['quiet_hours', 'quiet_hours', 'sent', 'frequency_cap', 'frequency_cap', 'sent', 'sent', 'frequency_cap']);
  });

  it('decides equal ts in the scene order of §3, then by storeId with null first; the caps follow that order', () => {
    const t = est(15, 12);
    const { decisions } = run(
      [profile('a', 'America/New_York')],
      [
        trig('a', 'dormant_reactivation', t),
        trig('a', 'commute', t, 's0'),
        trig('a', 'store_proximity', t, 's2'),
        trig('a', 'store_proximity', t, 's1'),
        trig('a', 'store_proximity', t, null),
        trig('a', 'cart_abandonment', t),
      ],
    );
    expect(decisions.map((d) => [d.scene, outcome(d)])).toEqual([
      ['cart_abandonment', 'sent'],
      ['store_proximity', 'sent'], // storeId null
      ['store_proximity', 'frequency_cap'], // s1
      ['store_proximity', 'frequency_cap'], // s2
      ['commute', 'sent'],
      ['dormant_reactivation', 'frequency_cap'],
    ]);
    expect(decisions.map((d) => d.decisionId)).toEqual([
      decisionIdOf('cart_abandonment', 'a', t, null),
      decisionIdOf('store_proximity', 'a', t, null),
      decisionIdOf('store_proximity', 'a', t, 's1'),
      decisionIdOf('store_proximity', 'a', t, 's2'),
      decisionIdOf('commute', 'a', t, 's0'),
      decisionIdOf('dormant_reactivation', 'a', t, null),
    ]);
  });

  it('decides in ts order when triggers arrive out of order within the bound', () => {
    const d = driver([profile('a', 'America/New_York')], DECISION_DEFAULTS, 10 * HOUR);
    d.push('triggers-in', trig('a', 'browse_abandonment', est(15, 12)));
    d.push('triggers-in', trig('a', 'cart_abandonment', est(15, 11)));
    d.push('triggers-in', trig('a', 'cart_abandonment', est(15, 10)));
    expect(d.values('decisions')).toEqual([]); // the watermark has not passed them yet
    d.end();
    const out = d.values<Decision>('decisions');
    expect(out.map((x) => [x.ts, outcome(x)])).toEqual([
      [est(15, 10), 'sent'],
      [est(15, 11), 'frequency_cap'],
      [est(15, 12), 'sent'],
    ]);
  });

  it('decides once the watermark passes the trigger ts, and decides a late trigger at once', () => {
    const d = driver([profile('a', 'America/New_York')]);
    d.push('triggers-in', trig('a', 'cart_abandonment', est(15, 10)));
    expect(d.values('decisions')).toEqual([]);
    d.push('triggers-in', trig('b', 'cart_abandonment', est(15, 10) + 1)); // watermark reaches est(15, 10)
    expect(d.values<Decision>('decisions').map((x) => x.customerId)).toEqual(['a']);
    d.push('triggers-in', trig('a', 'browse_abandonment', est(15, 9))); // behind the watermark
    expect(d.values<Decision>('decisions').map((x) => [x.customerId, x.scene])).toEqual([
      ['a', 'cart_abandonment'],
      ['a', 'browse_abandonment'],
    ]);
  });

  it('yields exactly one decision per trigger, and one offer per sent decision', () => {
    const profiles = NOT_HELD.map((id, i) => profile(id, i % 2 === 0 ? 'America/New_York' : 'Asia/Shanghai', i % 3 === 0 ? NONE : ALL));
    const customers = [...NOT_HELD, HELD, 'nobody'];
    const triggers: Trigger[] = [];
    for (let i = 0; i < 300; i++) {
      const scene = (['cart_abandonment', 'browse_abandonment', 'store_proximity', 'commute', 'dormant_reactivation'] as const)[i % 5]!;
      const store = scene === 'store_proximity' || scene === 'commute' ? `s${i % 2}` : null;
      triggers.push(trig(customers[(i * 7) % customers.length]!, scene, est(15, 0) + Math.floor(i / 4) * 17 * 60_000, store));
    }
    const { decisions, offers } = run(profiles, triggers);
    expect(decisions).toHaveLength(triggers.length);
    expect(decisions.map((d) => d.decisionId).sort()).toEqual(triggers.map((t) => decisionIdOf(t.scene, t.customerId, t.ts, t.storeId)).sort());
    const sent = decisions.filter((d) => d.outcome === 'sent');
    expect(sent.length).toBeGreaterThan(0);
    expect(decisions.some((d) => d.reason === 'holdout')).toBe(true);
    expect(offers.map((o) => o.offerId)).toEqual(sent.map((d) => d.offerId));
    for (const d of decisions) expect(d.reason === null).toBe(d.outcome === 'sent');
  });

  it('builds the offer from the scene\'s template and the trigger', () => {
    const t = { ...trig('a', 'cart_abandonment', est(15, 10)), productIds: ['p1', 'p9'], eventId: 'click-42' };
    const { decisions, offers } = run([profile('a', 'America/New_York')], [t]);
    expect(decisions).toEqual([
      {
        decisionId: decisionIdOf('cart_abandonment', 'a', t.ts, null),
        scene: 'cart_abandonment',
        customerId: 'a',
        ts: t.ts,
        outcome: 'sent',
        reason: null,
        channel: 'push',
        offerId: offerIdOf('cart_abandonment', 'a', t.ts),
      },
    ]);
    expect(offers).toEqual([
      {
        offerId: offerIdOf('cart_abandonment', 'a', t.ts),
        customerId: 'a',
        scene: 'cart_abandonment',
        campaignId: DEFAULT_OFFER_TEMPLATES.cart_abandonment.campaignId,
        channel: 'push',
        storeId: null,
        productIds: ['p1', 'p9'],
        discountPct: 10,
        title: 'Your cart is waiting: 10% off',
        ts: t.ts,
        expiresAt: t.ts + DAY,
        triggerEventId: 'click-42',
      },
    ]);
    const custom = { ...DECISION_DEFAULTS, templates: { ...DEFAULT_OFFER_TEMPLATES, store_proximity: { campaignId: 'spring', title: 'Hi', fallbackTitle: '', discountPct: 30, expiresInMs: HOUR } } };
    const s = run([profile('a', 'America/New_York')], [trig('a', 'store_proximity', est(15, 10), 's7')], custom).offers[0]!;
    expect([s.campaignId, s.title, s.discountPct, s.expiresAt - s.ts, s.storeId]).toEqual(['spring', 'Hi', 30, HOUR, 's7']);
  });

  it('renders titles from the product catalogue and the stores as they are when the trigger is decided, and falls back without a value', () => {
    const templates = {
      ...DEFAULT_OFFER_TEMPLATES,
      cart_abandonment: { campaignId: 'c', title: '{product} ({category}, {price}) is waiting: {discount}% off', fallbackTitle: 'Your cart is waiting', discountPct: 12, expiresInMs: DAY },
      store_proximity: { campaignId: 's', title: 'Welcome to {store}', fallbackTitle: 'Welcome', discountPct: 15, expiresInMs: HOUR },
    };
    const cfg = { ...DECISION_DEFAULTS, params: { ...DEFAULT_PARAMS.decisions, capPerScenePerDay: 5, capPerDay: 10 }, templates };
    const products = new LiveProducts([{ productId: 'p1', name: 'Trail runner', category: 'shoes', price: 59.9, imageUrl: null }]);
    const stores = [{ storeId: 's7', name: 'Main Street', lat: 0, lon: 0, radiusM: 100, timezone: 'America/New_York' }];
    const input = [trig('a', 'cart_abandonment', est(15, 10)), trig('a', 'store_proximity', est(15, 11), 's7'), trig('a', 'store_proximity', est(15, 12), 'gone')];
    const titles = run([profile('a', 'America/New_York')], input, cfg, { products, stores }).offers.map((o) => o.title);
    expect(titles).toEqual(['Trail runner (shoes, 59.90) is waiting: 12% off', 'Welcome to Main Street', 'Welcome']);
    // No catalogue (or a product without a category): the fallback, never a half-filled title.
    expect(run([profile('a', 'America/New_York')], input.slice(0, 1), cfg).offers[0]!.title).toBe('Your cart is waiting');
    products.upsert({ productId: 'p1', name: 'Trail runner', category: null, price: 59.9, imageUrl: null });
    expect(run([profile('a', 'America/New_York')], input.slice(0, 1), cfg, { products }).offers[0]!.title).toBe('Your cart is waiting');
  });

  it('rejects at build a title with an unknown placeholder, or with placeholders and no fallback', () => {
    const build = (title: string, fallbackTitle: string) => () =>
      driver([], { ...DECISION_DEFAULTS, templates: { ...DEFAULT_OFFER_TEMPLATES, commute: { ...DEFAULT_OFFER_TEMPLATES.commute, title, fallbackTitle } } });
    expect(build('Hi {name}', 'Hi')).toThrow(/templates\.commute\.title|unknown placeholder \{name\}/);
    expect(build('Near {store}', '')).toThrow(/fallbackTitle must be given/);
    expect(build('Near {store}', 'Near {store}')).toThrow(/fallbackTitle must not have placeholders/);
    expect(build('Near {store}', 'Near you')).not.toThrow();
  });

  it('produces the same ids on two runs; offer ids derive from (scene, customer, ts) only', () => {
    const input = () => [trig('a', 'cart_abandonment', est(15, 10)), trig('b', 'store_proximity', est(15, 10), 's1'), trig('b', 'store_proximity', est(15, 10), 's2')];
    const profiles = [profile('a', 'America/New_York'), profile('b', 'America/New_York')];
    const cfg = withConfig({ capPerScenePerDay: 2 });
    const one = run(profiles, input(), cfg);
    const two = run(profiles, input(), cfg);
    expect(two.decisions).toEqual(one.decisions);
    expect(two.offers.map((o) => o.offerId)).toEqual(one.offers.map((o) => o.offerId));
    for (const d of one.decisions) expect(d.decisionId).toMatch(/^dec_[0-9a-f]{24}$/);
    for (const o of one.offers) expect(o.offerId).toMatch(/^off_[0-9a-f]{24}$/);
    // Two store triggers at one ts: distinct decisions, and (as §4 derives it) one offer id.
    const b = one.decisions.filter((d) => d.customerId === 'b');
    expect(new Set(b.map((d) => d.decisionId)).size).toBe(2);
    expect(b.map((d) => d.offerId)).toEqual([offerIdOf('store_proximity', 'b', est(15, 10)), offerIdOf('store_proximity', 'b', est(15, 10))]);
    expect(offerIdOf('cart_abandonment', 'a', 1)).not.toBe(offerIdOf('cart_abandonment', 'a', 2));
    expect(offerIdOf('cart_abandonment', 'a', 1)).not.toBe(offerIdOf('browse_abandonment', 'a', 1));
    expect(offerIdOf('cart_abandonment', 'a', 1)).not.toBe(offerIdOf('cart_abandonment', 'b', 1));
  });

  it('keeps pending triggers and cap counts across a snapshot and restore', () => {
    const profiles = [profile('a', 'America/New_York')];
    const d = driver(profiles);
    d.push('triggers-in', trig('a', 'cart_abandonment', est(15, 10)));
    d.push('triggers-in', trig('a', 'browse_abandonment', est(15, 11)));
    const snap = JSON.parse(JSON.stringify(d.snapshot())) as ReturnType<TestDriver['snapshot']>;
    const e = driver(profiles).restore(snap);
    e.push('triggers-in', trig('a', 'commute', est(15, 12), 's1'));
    e.push('triggers-in', trig('a', 'dormant_reactivation', est(15, 13)));
    e.end();
    expect(e.values<Decision>('decisions').map((x) => [x.scene, outcome(x)])).toEqual([
      ['browse_abandonment', 'sent'],
      ['commute', 'sent'],
      ['dormant_reactivation', 'frequency_cap'],
    ]);
  });

  it('uses the default timezone for a profile with an unknown zone, rather than failing the trigger', () => {
    const t = Date.UTC(2024, 0, 16, 3, 0, 0); // 11:00 in Shanghai, 22:00 in New York
    const { decisions } = run([profile('a', 'Mars/Olympus_Mons')], [trig('a', 'cart_abandonment', t)]);
    expect(decisions.map(outcome)).toEqual(['sent']);
  });

  it('rejects bad configuration when built, naming the field', () => {
    const bad = (cfg: DecisionConfig) => {
      try {
        driver([], cfg);
      } catch (e) {
        expect(isScenestreamError(e, 'SS_ERR_CONFIG')).toBe(true);
        return (e as { field?: string }).field;
      }
      return 'no error';
    };
    expect(bad(withConfig({ holdoutRatio: 1.5 }))).toBe('decisions.holdoutRatio');
    expect(bad(withConfig({ capPerDay: -1 }))).toBe('decisions.capPerDay');
    expect(bad({ ...DECISION_DEFAULTS, defaultTimezone: 'Nowhere/Land' })).toBe('defaultTimezone');
    expect(bad({ ...DECISION_DEFAULTS, templates: { ...DEFAULT_OFFER_TEMPLATES, commute: { ...DEFAULT_OFFER_TEMPLATES.commute, expiresInMs: -1 } } })).toBe('templates.commute.expiresInMs');
  });
});

describe('the control arm: would a holdout decision have been sent (issue 14)', () => {
  /** The decision step with both outputs: the contract (`decisions`) and the in-graph records (`decided`). */
  function both(profiles: CustomerProfile[], config: DecisionConfig = DECISION_DEFAULTS): TestDriver {
    const p = pipeline('decided-test');
    const triggers = p.source<Trigger>('triggers-in', { timestamp: (t) => t.ts }).keyBy((t) => t.customerId);
    const { decisions, decided } = decide('decide', triggers, profilesFrom(profiles), config);
    decisions.to('decisions');
    decided.to('decided');
    return TestDriver.of(p);
  }
  const flags = (d: TestDriver, customerId = HELD): Array<[Scene, string, boolean]> =>
    d
      .values<DecidedRecord>('decided')
      .filter((x) => x.customerId === customerId)
      .map((x) => [x.scene, outcome(x), x.wouldSend]);

  it('judges holdout decisions by consent, quiet hours and caps, counting the ones that would have been sent; the decisions stay SCENES.md §4 records', () => {
    const smsDormant = withConfig({ channels: { ...DEFAULT_PARAMS.decisions.channels, dormant_reactivation: 'sms' } });
    const d = both([profile(HELD, 'America/New_York', { ...ALL, sms: false }), profile('a', 'America/New_York')], smsDormant);
    for (const t of [
      trig(HELD, 'cart_abandonment', est(15, 10)), // would be sent
      trig(HELD, 'cart_abandonment', est(15, 11)), // would be capped: one cart offer per day
      trig(HELD, 'browse_abandonment', est(15, 12)), // would be sent (2 of 3)
      trig(HELD, 'dormant_reactivation', est(15, 13)), // sms, not consented
      trig(HELD, 'commute', est(15, 14), 's1'), // would be sent (3 of 3)
      trig(HELD, 'store_proximity', est(15, 15), 's1'), // would be capped: 3 a day
      trig(HELD, 'store_proximity', est(15, 23), 's1'), // quiet hours
      trig('a', 'cart_abandonment', est(15, 10)), // sent
      trig('a', 'cart_abandonment', est(15, 11)), // capped
      trig(HELD, 'store_proximity', est(16, 10), 's1'), // a new local day: would be sent
    ])
      d.push('triggers-in', t);
    d.end();
    expect(flags(d, HELD)).toEqual([
      ['cart_abandonment', 'holdout', true],
      ['cart_abandonment', 'holdout', false],
      ['browse_abandonment', 'holdout', true],
      ['dormant_reactivation', 'holdout', false],
      ['commute', 'holdout', true],
      ['store_proximity', 'holdout', false],
      ['store_proximity', 'holdout', false],
      ['store_proximity', 'holdout', true],
    ]);
    expect(flags(d, 'a')).toEqual([
      ['cart_abandonment', 'sent', true],
      ['cart_abandonment', 'frequency_cap', false],
    ]);
    const decisions = d.values<Decision>('decisions');
    expect(decisions).toHaveLength(10);
    for (const x of decisions) {
      expect(Object.keys(x)).toEqual(['decisionId', 'scene', 'customerId', 'ts', 'outcome', 'reason', 'channel', 'offerId']);
      expect(validate('Decision', x).ok).toBe(true);
    }
    expect(decisions.filter((x) => x.customerId === HELD).every((x) => x.reason === 'holdout')).toBe(true);
  });

  it('keeps the holdout customer\'s cap counts across a snapshot and restore', () => {
    const profiles = [profile(HELD, 'America/New_York')];
    const d = both(profiles);
    d.push('triggers-in', trig(HELD, 'cart_abandonment', est(15, 10)));
    d.push('triggers-in', trig(HELD, 'browse_abandonment', est(15, 11)));
    const snap = JSON.parse(JSON.stringify(d.snapshot())) as ReturnType<TestDriver['snapshot']>;
    const e = both(profiles).restore(snap);
    e.push('triggers-in', trig(HELD, 'commute', est(15, 12), 's1'));
    e.push('triggers-in', trig(HELD, 'dormant_reactivation', est(15, 13)));
    e.end();
    expect(flags(e)).toEqual([
      ['browse_abandonment', 'holdout', true],
      ['commute', 'holdout', true],
      ['dormant_reactivation', 'holdout', false],
    ]);
  });
});
