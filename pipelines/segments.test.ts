import { describe, expect, it } from 'vitest';
import type { Tier } from '../schemas/index.js';
import { hasTargeting, parseCampaign, validateCampaign } from './campaign.js';
import { evaluateSegment, parseSegmentRule, referenceFacts, targetingAllows, type CampaignSegment, type SegmentFacts } from './segments.js';

const DAY = 86_400_000;

const NO_CONSENT = { push: false, sms: false, email: false, in_store: false };
/** A customer's facts: the reference profile's (no purchase, no cart), with overrides. */
const facts = (over: Partial<Omit<SegmentFacts, 'tier'>> & { tier?: Tier } = {}): SegmentFacts => {
  const { tier = 'basic', ...rest } = over;
  return { ...referenceFacts({ customerId: 'x', tier, timezone: 'UTC', consent: NO_CONSENT, lastPurchaseTs: null, known: true }, 100 * DAY), ...rest };
};

it('reference facts: tier as its order, no purchase (rfm.segment none, scores 1), consent bits', () => {
  expect(facts({ tier: 'gold' }).tier).toBe(2);
  expect(referenceFacts({ customerId: 'x', tier: 'silver', timezone: 'UTC', consent: { ...NO_CONSENT, sms: true }, lastPurchaseTs: null, known: false }, 5)).toMatchObject({ asOf: 5, segment: 'none', r: 1, f: 1, m: 1, tier: 1, consent: 2, known: false, lastPurchaseTs: -1 });
});

function rule(text: string): (f: SegmentFacts, at?: number) => boolean {
  const r = parseSegmentRule(text);
  if (!r.ok) throw new Error(`${text}: ${JSON.stringify(r.problem)}`);
  return (f, at) => evaluateSegment(r.expr, f, at);
}

function problem(text: string): { column: number; field?: string; message: string } {
  const r = parseSegmentRule(text);
  if (r.ok) throw new Error(`${text} parsed`);
  return r.problem;
}

describe('segment rules: the language', () => {
  it('parses the issue example into an AST, tier values as their order', () => {
    const r = parseSegmentRule('rfm.segment in [champions, loyal] and tier >= gold');
    expect(r).toEqual({
      ok: true,
      expr: {
        op: 'and',
        args: [
          { op: 'in', field: 'rfm.segment', values: ['champions', 'loyal'] },
          { op: 'cmp', field: 'tier', cmp: '>=', value: 2 },
        ],
      },
    });
  });

  it('and binds tighter than or; not and parentheses', () => {
    const f = facts({ segment: 'lost', tier: 'platinum' });
    expect(rule('rfm.segment = champions and tier = basic or tier = platinum')(f)).toBe(true);
    expect(rule('rfm.segment = champions and (tier = basic or tier = platinum)')(f)).toBe(false);
    expect(rule('not rfm.segment = champions')(f)).toBe(true);
    expect(rule('not (tier = platinum or tier = gold)')(f)).toBe(false);
    expect(rule('rfm.segment not in [lost, hibernating]')(f)).toBe(false);
    expect(rule('rfm.segment not in [champions]')(f)).toBe(true);
  });

  it('a profile without a purchase is in rfm.segment none; booleans alone or compared; quoted words', () => {
    expect(rule('rfm.segment = none')(facts())).toBe(true);
    expect(rule('rfm.segment in [champions, loyal]')(facts())).toBe(false);
    expect(rule('consent.push')(facts({ consent: 1 }))).toBe(true);
    expect(rule('consent.sms = false and knownProfile')(facts({ consent: 1 }))).toBe(true);
    expect(rule("lastStoreId = 'S 01' or lastStoreId = s-02")(facts({ lastStoreId: 's-02' }))).toBe(true);
    expect(rule('lastChannel in [app, web]')(facts({ lastChannel: 'store' }))).toBe(false);
  });
});

describe('segment rules at their boundaries', () => {
  it('tier >= gold: silver no, gold yes, platinum yes; tier < gold the reverse', () => {
    const atLeastGold = rule('tier >= gold');
    const belowGold = rule('tier < gold');
    expect((['basic', 'silver', 'gold', 'platinum'] as const).map((tier) => atLeastGold(facts({ tier })))).toEqual([false, false, true, true]);
    expect((['basic', 'silver', 'gold', 'platinum'] as const).map((tier) => belowGold(facts({ tier })))).toEqual([true, true, false, false]);
    expect((['silver', 'gold', 'platinum'] as const).map((tier) => rule('tier > gold')(facts({ tier })))).toEqual([false, false, true]);
    expect((['silver', 'gold', 'platinum'] as const).map((tier) => rule('tier <= gold')(facts({ tier })))).toEqual([true, true, false]);
  });

  it('score thresholds: rfm.r >= 4 at 3, 4, 5; rfm.m > 2 at 2, 3', () => {
    expect([3, 4, 5].map((r) => rule('rfm.r >= 4')(facts({ r })))).toEqual([false, true, true]);
    expect([2, 3].map((m) => rule('rfm.m > 2')(facts({ m })))).toEqual([false, true]);
    expect([1, 2].map((f) => rule('rfm.f != 1')(facts({ f })))).toEqual([false, true]);
  });

  it('monetary >= 500 at 499.99 and 500; frequency < 3 at 2 and 3; cartSize > 0', () => {
    expect([499.99, 500, 500.01].map((monetary) => rule('monetary >= 500')(facts({ monetary })))).toEqual([false, true, true]);
    expect([2, 3].map((frequency) => rule('frequency < 3')(facts({ frequency })))).toEqual([true, false]);
    expect([0, 1].map((cartSize) => rule('cartSize > 0')(facts({ cartSize })))).toEqual([false, true]);
  });

  it('daysSinceLastPurchase counts whole days to the decision, and is huge without a purchase', () => {
    const lapsed = rule('daysSinceLastPurchase >= 30');
    const f = facts({ lastPurchaseTs: 0 });
    expect(lapsed(f, 30 * DAY - 1)).toBe(false);
    expect(lapsed(f, 30 * DAY)).toBe(true);
    expect(lapsed(facts(), 0)).toBe(true);
  });
});

describe('segment rules: errors name the field and the column', () => {
  it.each([
    ['tierr >= gold', 1, 'tierr', /unknown field "tierr"/],
    ['tier >= golden', 9, 'tier', /tier must be one of basic, silver, gold, platinum; found "golden"/],
    ['rfm.segment in [champions, loyall]', 28, 'rfm.segment', /rfm.segment must be one of none, champions, .*; found "loyall"/],
    ['rfm.segment > champions', 13, 'rfm.segment', /has no order/],
    ['monetary >= lots', 13, 'monetary', /monetary is a number; found "lots"/],
    ['consent.push in [true]', 14, 'consent.push', /true or false/],
    ['consent.push = yes', 16, 'consent.push', /true or false; found "yes"/],
    ['tier gold', 6, 'tier', /expected a comparison .* after tier but found "gold"/],
  ])('%s: column %i, field %s', (text, column, field, message) => {
    const p = problem(text);
    expect(p.column).toBe(column);
    expect(p.field).toBe(field);
    expect(p.message).toMatch(message);
  });

  it.each([
    ['', 1, /empty/],
    ['tier >= gold and', 17, /expected a field, "not" or "\(" but found the end of the rule/],
    ['(tier >= gold', 14, /expected "\)"/],
    ['tier >= gold frequency > 1', 14, /expected "and", "or" or the end/],
    ['tier >= gold & frequency > 1', 14, /unexpected character "&"/],
    ['rfm.segment in [champions', 26, /expected "," or "\]"/],
  ])('%j: column %i', (text, column, message) => {
    const p = problem(text);
    expect(p.column).toBe(column);
    expect(p.message).toMatch(message);
  });
});

describe('segments in the campaign file', () => {
  it('parses the segments and the offers targeting them', () => {
    const r = validateCampaign({
      segments: { vip: 'rfm.segment in [champions, loyal] and tier >= gold', sleepers: 'rfm.segment in [hibernating, lost]' },
      offers: { dormant_reactivation: { targets: ['sleepers'], excludes: ['vip'], discountPct: 25 } },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.campaign.segments.map((s) => [s.name, s.rule])).toEqual([
      ['vip', 'rfm.segment in [champions, loyal] and tier >= gold'],
      ['sleepers', 'rfm.segment in [hibernating, lost]'],
    ]);
    expect(r.campaign.targeting.dormant_reactivation).toEqual({ targets: ['sleepers'], excludes: ['vip'] });
    expect(r.campaign.targeting.cart_abandonment).toEqual({ targets: [], excludes: [] });
    expect(r.campaign.templates.dormant_reactivation.discountPct).toBe(25);
    expect(hasTargeting(r.campaign)).toBe(true);
    expect(Object.isFrozen(r.campaign.segments[0]!.expr)).toBe(true);
  });

  it('a campaign without segments has none and no targeting', () => {
    const r = validateCampaign({});
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.campaign.segments).toEqual([]);
    expect(hasTargeting(r.campaign)).toBe(false);
  });

  it('reports every bad rule with the segment, the column and the field, and bad targeting with its path', () => {
    const r = validateCampaign({
      segments: { vip: 'rfm.segment in [champions] and tier >= golden', Bad: 'tier = gold', lost: 'rfm.r = 1', nums: 42 },
      offers: { cart_abandonment: { targets: ['vip', 'nobody'], excludes: 'vip' } },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.field)).toEqual(['segments.vip', 'segments.Bad', 'segments.lost', 'segments.nums', 'offers.cart_abandonment.targets.1', 'offers.cart_abandonment.excludes']);
    expect(r.problems[0]!.message).toBe('segments.vip at column 40, field tier: tier must be one of basic, silver, gold, platinum; found "golden"');
    expect(r.problems[1]!.message).toMatch(/segments.Bad is not a segment name/);
    expect(r.problems[2]!.message).toMatch(/segments.lost is the name of an RFM segment/);
    expect(r.problems[3]!.message).toMatch(/segments.nums must be a rule .* \(got 42\)/);
    expect(r.problems[4]!.message).toMatch(/must name a segment of this file \(vip, Bad, lost, nums\) \(got "nobody"\)/);
  });

  it('in a file, the problem also says where the bad column is in it, as a JSON error does', () => {
    const text = ['{', '  "segments": {', '    "vip": "tier >= gold",', '    "big": "monetary >= lots"', '  }', '}'].join('\n');
    const r = parseCampaign(text, 'c.json');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    // "big"'s rule starts at line 4, column 13 (after its opening quote); column 13 of the rule is "lots".
    expect(r.error.message).toContain('segments.big at column 13 (line 4, column 25 of the file), field monetary: monetary is a number; found "lots"');
  });

  it('a file with a bad rule is SS_ERR_CONFIG naming the segment as its field', () => {
    const r = parseCampaign(JSON.stringify({ segments: { vip: 'tierr >= gold' } }), 'c.json');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('SS_ERR_CONFIG');
    expect(r.error.field).toBe('segments.vip');
    expect(r.error.message).toMatch(/segments.vip at column 1 \(line 1, column 21 of the file\), field tierr: unknown field "tierr"/);
  });
});

describe('targeting', () => {
  const segs: CampaignSegment[] = ['vip:tier >= gold', 'carted:cartSize > 0'].map((s) => {
    const [name, text] = s.split(':') as [string, string];
    const r = parseSegmentRule(text);
    if (!r.ok) throw new Error(text);
    return { name, rule: text, expr: r.expr };
  });

  it('targets: in one of them; excludes: in none; excluded wins over targeted; none: everyone', () => {
    const gold = facts({ tier: 'gold' });
    const goldCart = facts({ tier: 'gold', cartSize: 2 });
    const basic = facts();
    expect(targetingAllows({ targets: ['vip'], excludes: [] }, segs, gold, 0)).toBe(true);
    expect(targetingAllows({ targets: ['vip'], excludes: [] }, segs, basic, 0)).toBe(false);
    expect(targetingAllows({ targets: ['vip', 'carted'], excludes: [] }, segs, facts({ cartSize: 1 }), 0)).toBe(true);
    expect(targetingAllows({ targets: [], excludes: ['carted'] }, segs, goldCart, 0)).toBe(false);
    expect(targetingAllows({ targets: ['vip'], excludes: ['carted'] }, segs, goldCart, 0)).toBe(false);
    expect(targetingAllows({ targets: [], excludes: [] }, segs, basic, 0)).toBe(true);
  });
});
