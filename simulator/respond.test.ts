import { describe, expect, it } from 'vitest';
import { parseCampaign, staticCampaign } from '../pipelines/campaign.js';
import { profilesFrom } from '../pipelines/deps.js';
import { inHoldout } from '../pipelines/holdout.js';
import { isPurchase } from '../pipelines/sources.js';
import { newcombeInterval } from '../pipelines/uplift.js';
import { replayRecords } from '../runtime/replay.js';
import { SCENES, type Decision, type Offer, type Scene } from '../schemas/index.js';
import type { SimRecord } from './life.js';
import { DEFAULT_RESPONSE_EFFECTS, mergeResponses, planResponses, resolveEffects, respondingEvents, type ResponseEffects } from './respond.js';
import { generateWorld } from './world.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T = Date.UTC(2025, 2, 3, 4);

const effectsOf = (e: number): ResponseEffects => Object.fromEntries(SCENES.map((s) => [s, e])) as Record<Scene, number>;

function decision(n: number, scene: Scene, customerId: string, ts: number, sent: boolean): Decision {
  return { decisionId: `d${n}`, scene, customerId, ts, outcome: sent ? 'sent' : 'suppressed', reason: sent ? null : 'holdout', channel: 'push', offerId: sent ? `o${n}` : null };
}

function offer(n: number, scene: Scene, customerId: string, ts: number, storeId: string | null, productIds: string[]): Offer {
  return { offerId: `o${n}`, customerId, scene, campaignId: 'c', channel: 'push', storeId, productIds, discountPct: 10, title: 't', ts, expiresAt: ts + DAY, triggerEventId: 'e' };
}

describe('planResponses', () => {
  const world = generateWorld({ seed: 'respond-unit', customers: 5 });
  const product = world.catalogue.products[0]!;
  const store = world.stores[0]!.storeId;
  const decisions = [
    decision(1, 'cart_abandonment', 'cust-0001', T, true),
    decision(2, 'cart_abandonment', 'cust-0002', T, false),
    decision(3, 'store_proximity', 'cust-0003', T, true),
    decision(4, 'browse_abandonment', 'cust-0004', T, true),
  ];
  const offers = [offer(1, 'cart_abandonment', 'cust-0001', T, null, [product.productId]), offer(3, 'store_proximity', 'cust-0003', T, store, []), offer(4, 'browse_abandonment', 'cust-0004', T, null, [])];
  // cust-0004 buys on their own an hour after the offer: that decision converts without a response.
  const organic: SimRecord[] = [{ topic: 'clickstream', value: { eventId: 'x', customerId: 'cust-0004', sessionId: null, ts: T + HOUR, type: 'checkout', productId: null, category: null, price: 10, quantity: null, channel: 'app' } }];

  it('answers each sent offer that did not convert on its own, at the offer store or online, discounted, within a quarter of the window', () => {
    const plan = planResponses(world, organic, { decisions, offers }, effectsOf(1), DAY);
    expect(plan.responses.map((r) => r.value.customerId).sort()).toEqual(['cust-0001', 'cust-0003']);
    for (const r of plan.responses) {
      expect(r.value.ts).toBeGreaterThan(T);
      expect(r.value.ts).toBeLessThanOrEqual(T + DAY / 4);
      expect(r.value.eventId).toMatch(/^sim-[0-9a-f]{8}-r\d{7}$/);
      expect(r.topic !== 'location' && isPurchase(r.value)).toBe(true);
    }
    const online = plan.responses.find((r) => r.value.customerId === 'cust-0001')!;
    expect(online).toMatchObject({ topic: 'clickstream', value: { type: 'checkout', price: Math.round(product.price * 90) / 100, channel: world.customers[0]!.channel } });
    expect(plan.responses.find((r) => r.value.customerId === 'cust-0003')).toMatchObject({ topic: 'pos', value: { storeId: store } });
    expect(plan.scenes.cart_abandonment).toMatchObject({ sent: 1, organic: 0, responded: 1, realised: 1 });
    expect(plan.scenes.browse_abandonment).toMatchObject({ sent: 1, organic: 1, responded: 0, realised: 0 });
  });

  it('answers nothing with no effect, and is deterministic', () => {
    expect(planResponses(world, organic, { decisions, offers }, effectsOf(0), DAY).responses).toEqual([]);
    const a = planResponses(world, organic, { decisions, offers }, DEFAULT_RESPONSE_EFFECTS, DAY);
    expect(planResponses(world, organic, { decisions, offers }, DEFAULT_RESPONSE_EFFECTS, DAY)).toEqual(a);
  });

  it('merges responses by ts, the base record first at equal ts', () => {
    const at = (ts: number, id: string): SimRecord => ({ topic: 'location', value: { eventId: id, customerId: 'c', ts, lat: 0, lon: 0, accuracyM: null, speedMps: null } });
    const merged = [...mergeResponses([at(1, 'a'), at(3, 'b'), at(5, 'c')], [at(0, 'r0'), at(3, 'r3'), at(9, 'r9')])];
    expect(merged.map((r) => r.value.eventId)).toEqual(['r0', 'a', 'b', 'r3', 'c', 'r9']);
  });

  it('rejects unknown scenes and effects outside [0, 1]', () => {
    expect(() => resolveEffects({ commute: 1.5 })).toThrow(/SS_ERR_CONFIG.*effects\.commute/);
    expect(() => resolveEffects({ nope: 0.1 } as Partial<ResponseEffects>)).toThrow(/unknown scene nope/);
    expect(resolveEffects({ commute: 0 })).toEqual({ ...DEFAULT_RESPONSE_EFFECTS, commute: 0 });
  });
});

/**
 * Issue 14, done when: the simulator runs with a known effect per scene on enough customers, and
 * the engine's uplift interval (Newcombe's, `pipelines/uplift.ts`, on the counts of the replay's
 * summary) contains the true effect of every scene and excludes zero where the effect is large
 * enough for the sample.
 *
 * The campaign makes the arms large: half the customers in holdout; consent, quiet hours and
 * frequency caps are the defaults. Holdout is checked first (SCENES.md §4), so those checks suppress
 * in the sent arm only; the measurement's control arm is therefore the holdout decisions they would
 * have let through (`wouldSend`, issue 14): frequency caps drop the triggers of the busiest
 * customers, who also buy most, and against every holdout decision the default caps read several
 * points too high (cart +15.2 pp for +7.7). The counts are the measurement's, not §7's attribution
 * (which keeps every holdout decision).
 *
 * Power: 1,000 customers over 2 days give per scene about 200 sent / 235 control decisions (cart),
 * 415 / 420 (browse), 235 / 260 (store), 485 / 505 (commute), 90 / 100 (dormant); at base rates
 * of 15-70 % the standard error of the difference is about 3.2-6.5 points, so an effect of 3 standard
 * errors or more excludes zero with probability above 0.85 and one of 4 above 0.97; the commute's
 * 3 points (about 1 standard error) is the scene too small for its sample, for which only
 * containment is asserted. The test decides which is which from the sample it gets (the standard
 * error from the arms' sizes and pooled rate). Runtime: about 15 s on 2 cores (one pass of the
 * pipelines in the simulator, one in the replay); the seed is fixed, so the outcome is too.
 *
 * The true effect is what the simulator realised: the share of a scene's sent decisions that
 * converted only through responses (its own scene's or, since one purchase converts every open
 * decision of the customer, another's), which it holds to the effect asked for, to the decision,
 * or a little above where the other scenes' responses alone bring more (commute here: many of its
 * decisions share a customer and a day with a cart or browse offer).
 */
describe('customers who respond, measured by the engine', () => {
  it('the uplift interval of every scene contains its true effect, and excludes zero where the sample can tell', { timeout: 240_000 }, () => {
    const parsed = parseCampaign(JSON.stringify({ decisions: { holdoutRatio: 0.5 } }));
    if (!parsed.ok) throw parsed.error;
    const campaign = staticCampaign(parsed.value);
    const effects: ResponseEffects = { cart_abandonment: 0.15, browse_abandonment: 0.1, store_proximity: 0.12, commute: 0.03, dormant_reactivation: 0.2 };
    const world = generateWorld({ seed: 'uplift', customers: 1000 });
    const sim = respondingEvents(world, { days: 2, history: true }, { effects, campaign });
    const records = [...sim.events()].map((r, i) => ({ topic: r.topic, value: r.value, line: i + 1 }));
    const replay = replayRecords(records, { stores: world.stores, profiles: profilesFrom(world.profiles) }, campaign);

    // Holdout customers are untouched: no response is theirs.
    const { holdoutSalt, holdoutRatio } = parsed.value.params.decisions;
    const responders = new Set(sim.plan.responses.map((r) => r.value.customerId!));
    expect([...responders].filter((c) => inHoldout(c, holdoutSalt, holdoutRatio))).toEqual([]);

    const report: string[] = [];
    const excludesZero: Scene[] = [];
    for (const scene of SCENES) {
      const truth = sim.plan.scenes[scene];
      const m = replay.summary.measurement.scenes[scene];
      const a = { sent: m.sent.decisions, sentConverted: m.sent.converted, holdout: m.holdout.decisions, holdoutConverted: m.holdout.converted };
      const ci = newcombeInterval(a.sentConverted, a.sent, a.holdoutConverted, a.holdout)!;
      const pooled = (a.sentConverted + a.holdoutConverted) / (a.sent + a.holdout);
      const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.sent + 1 / a.holdout));
      report.push(`${scene}: asked ${effects[scene]}, realised ${truth.realised.toFixed(3)}, measured ${ci.difference.toFixed(3)} [${ci.lower.toFixed(3)}, ${ci.upper.toFixed(3)}], se ${se.toFixed(3)}, sent ${a.sent}, holdout ${a.holdout} (+${m.holdoutExcluded} excluded)`);
      // What was asked, to the decision, or a little more where others' responses spill over.
      expect(truth.realised, report.at(-1)).toBeGreaterThanOrEqual(effects[scene] - 1 / truth.sent);
      expect(truth.realised, report.at(-1)).toBeLessThanOrEqual(effects[scene] + 0.01);
      // The first pass decided what the replay decided, but for the few decisions a response changed.
      expect(Math.abs(a.sent - truth.sent) / truth.sent, report.at(-1)).toBeLessThan(0.05);
      expect(ci.lower, report.at(-1)).toBeLessThanOrEqual(truth.realised);
      expect(ci.upper, report.at(-1)).toBeGreaterThanOrEqual(truth.realised);
      if (truth.realised >= 3 * se) expect(ci.lower, report.at(-1)).toBeGreaterThan(0);
      if (ci.lower > 0) excludesZero.push(scene);
    }
    console.log(report.join('\n'));
    // The large effects were large enough: the four scenes asked 10 points or more exclude zero.
    expect(excludesZero, report.join('\n')).toEqual(SCENES.filter((s) => effects[s] >= 0.1));
  });
});
