import { describe, expect, it } from 'vitest';
import { SCENES, type AttributionEvent, type Scene } from '../schemas/index.js';
import { MEASURED_SEGMENTS, measure, MeasureGrid, NO_SEGMENT, summariseMeasured, type MeasurementSettings } from './measurement.js';

const settings: MeasurementSettings = { minPerArm: 30, currency: 'EUR', attributionWindowMs: 86_400_000 };

let n = 0;
/** `count` closed windows of one scene, segment and group; the first `converted` convert for `revenue` each; `wouldSend` false: holdout ones the later checks would have suppressed. */
function windows(scene: Scene, segment: string | null, group: 'sent' | 'holdout', count: number, converted: number, revenue = 0, discountPct = 0, wouldSend = true): AttributionEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    decisionId: `d${++n}`,
    scene,
    customerId: `c${n}`,
    group,
    converted: i < converted,
    revenue: i < converted ? revenue : 0,
    ts: 2,
    decisionTs: 1,
    segment,
    discountPct,
    wouldSend,
  }));
}

describe('measure', () => {
  it('has every scene and every segment (RFM and none), zeros included, and says how it measured', () => {
    const m = measure([], settings);
    expect(Object.keys(m.scenes)).toEqual([...SCENES]);
    expect(Object.keys(m.segments)).toEqual([...MEASURED_SEGMENTS]);
    expect([m.method, m.confidence, m.currency, m.minPerArm, m.attributionWindowMs]).toEqual(['newcombe-hybrid-score', 0.95, 'EUR', 30, 86_400_000]);
    // Zero counts: no rates, not enough data, no cost.
    expect(m.campaign).toEqual({
      sent: { decisions: 0, converted: 0, revenue: 0, rate: null },
      holdout: { decisions: 0, converted: 0, revenue: 0, rate: null },
      holdoutExcluded: 0,
      enoughData: false,
      upliftPp: null,
      upliftPpLow: null,
      upliftPpHigh: null,
      relativeUplift: null,
      incrementalConversions: null,
      incrementalRevenue: null,
      discountCost: 0,
      roi: null,
    });
  });

  it('computes the figures of a scene by hand: Newcombe example (a), revenue, discount cost and ROI', () => {
    // sent 56 of 70 converting for 100 each at 10 % off; holdout 48 of 80 converting for 50 each.
    const m = measure([...windows('commute', 'loyal', 'sent', 70, 56, 100, 10), ...windows('commute', 'loyal', 'holdout', 80, 48, 50)], settings);
    const r = m.scenes.commute;
    expect([r.sent.rate, r.holdout.rate, r.enoughData]).toEqual([0.8, 0.6, true]);
    expect(r.upliftPp!).toBeCloseTo(20, 9);
    expect(r.upliftPpLow!).toBeCloseTo(5.24, 2); // Newcombe (1998) Table II, example (a): 0.0524 to 0.3339
    expect(r.upliftPpHigh!).toBeCloseTo(33.39, 2);
    expect(r.relativeUplift!).toBeCloseTo(1 / 3, 12); // 0.2 / 0.6
    expect(r.incrementalConversions!).toBeCloseTo(14, 9); // 0.2 * 70
    expect(r.incrementalRevenue).toBe(3500); // (5600 / 70 - 2400 / 80) * 70 = (80 - 30) * 70
    expect(r.discountCost).toBe(560); // 56 * 100 * 10 %
    expect(r.roi!).toBeCloseTo((3500 - 560) / 560, 12); // 5.25
    expect([r.sent.revenue, r.holdout.revenue]).toEqual([5600, 2400]);
    // One scene, one segment: the campaign and the segment are that scene.
    expect(m.campaign).toEqual(r);
    expect(m.segments.loyal).toEqual(r);
    expect(m.segments.champions.sent.decisions).toBe(0);
  });

  it('says "not enough data" below the minimum sample per arm, and gives figures from exactly the minimum', () => {
    const below = measure([...windows('cart_abandonment', null, 'sent', 500, 50), ...windows('cart_abandonment', null, 'holdout', 29, 1)], settings).scenes.cart_abandonment;
    expect(below.enoughData).toBe(false);
    expect([below.upliftPp, below.upliftPpLow, below.upliftPpHigh, below.relativeUplift, below.incrementalConversions, below.incrementalRevenue, below.roi]).toEqual([null, null, null, null, null, null, null]);
    expect([below.sent.rate, below.holdout.rate]).toEqual([0.1, 1 / 29]); // the rates and counts stay
    const at = measure([...windows('cart_abandonment', null, 'sent', 30, 3), ...windows('cart_abandonment', null, 'holdout', 30, 3)], settings).scenes.cart_abandonment;
    expect([at.enoughData, at.upliftPp, at.incrementalConversions]).toEqual([true, 0, 0]);
    // A lower minimum in the campaign file turns the first into figures.
    expect(measure([...windows('cart_abandonment', null, 'sent', 500, 50), ...windows('cart_abandonment', null, 'holdout', 29, 1)], { ...settings, minPerArm: 20 }).scenes.cart_abandonment.enoughData).toBe(true);
  });

  it('handles one arm empty: the other arm has its rate, nothing else is given', () => {
    const m = measure(windows('dormant_reactivation', null, 'sent', 100, 10, 20, 20), settings).scenes.dormant_reactivation;
    expect([m.sent.rate, m.holdout.rate, m.enoughData, m.upliftPp]).toEqual([0.1, null, false, null]);
    expect(m.discountCost).toBe(40); // the cost is known without a holdout: 10 * 20 * 20 %
    const h = measure(windows('dormant_reactivation', null, 'holdout', 100, 10), settings).scenes.dormant_reactivation;
    expect([h.sent.rate, h.holdout.rate, h.enoughData]).toEqual([null, 0.1, false]);
  });

  it('handles zero conversions: an interval around 0, no relative uplift (holdout rate 0), no ROI without cost', () => {
    const m = measure([...windows('commute', null, 'sent', 100, 0), ...windows('commute', null, 'holdout', 100, 0)], settings).scenes.commute;
    expect([m.upliftPp, m.relativeUplift, m.incrementalConversions, m.incrementalRevenue, m.discountCost, m.roi]).toEqual([0, null, 0, 0, 0, null]);
    expect(m.upliftPpLow!).toBeLessThan(0);
    expect(m.upliftPpHigh!).toBeGreaterThan(0);
    // All converting in both arms: an interval around 0 too, and a relative uplift of 0.
    const all = measure([...windows('commute', null, 'sent', 40, 40), ...windows('commute', null, 'holdout', 40, 40)], settings).scenes.commute;
    expect([all.upliftPp, all.relativeUplift]).toEqual([0, 0]);
  });

  it('sums scenes into segments and the campaign; an unknown segment name counts as none', () => {
    const events = [
      ...windows('cart_abandonment', 'champions', 'sent', 40, 20, 10, 10),
      ...windows('commute', 'champions', 'sent', 10, 5, 10, 50),
      ...windows('commute', 'champions', 'holdout', 35, 7),
      ...windows('commute', 'vip_from_a_newer_version', 'holdout', 5, 5),
    ];
    const m = measure(events, settings);
    expect(m.segments.champions.sent).toEqual({ decisions: 50, converted: 25, revenue: 250, rate: 0.5 });
    expect(m.segments.champions.discountCost).toBe(45); // 20 * 10 * 10 % + 5 * 10 * 50 %
    expect(m.segments[NO_SEGMENT].holdout.decisions).toBe(5);
    expect(m.campaign.holdout).toEqual({ decisions: 40, converted: 12, revenue: 0, rate: 0.3 });
    expect(m.campaign.incrementalConversions!).toBeCloseTo(50 * (0.5 - 0.3), 9);
  });

  it('gives the same figures from partitions merged in any order (amounts to the cent)', () => {
    const events = [...windows('browse_abandonment', null, 'sent', 37, 11, 0.1, 15), ...windows('browse_abandonment', null, 'holdout', 31, 4, 0.2)];
    const a = new MeasureGrid();
    const b = new MeasureGrid();
    events.forEach((e, i) => (i % 3 === 0 ? a : b).add(e));
    const merged = new MeasureGrid().merge(b).merge(a);
    expect(measure(merged, settings)).toEqual(measure(events, settings));
    expect(measure(events, settings).scenes.browse_abandonment.sent.revenue).toBe(1.1);
  });
});

describe('summariseMeasured (summary.json)', () => {
  it("keeps every field of SCENES.md §7's summary and adds the measurement", () => {
    const s = summariseMeasured([], [], settings);
    expect(Object.keys(s)).toEqual(['scenes', 'measurement']);
    expect(s.scenes.cart_abandonment).toEqual({
      triggers: 0,
      sent: 0,
      suppressed: { holdout: 0, no_consent: 0, quiet_hours: 0, frequency_cap: 0 },
      attribution: { sent: 0, sentConverted: 0, holdout: 0, holdoutConverted: 0, uplift: 0 },
    });
    expect(s.measurement).toEqual(measure([], settings));
  });
});

describe('the control arm (issue 14)', () => {
  it('is the holdout decisions that would have been sent; the others are counted beside as holdoutExcluded', () => {
    const events = [...windows('commute', null, 'sent', 40, 20), ...windows('commute', null, 'holdout', 40, 8), ...windows('commute', null, 'holdout', 25, 20, 0, 0, false)];
    const r = measure(events, settings).scenes.commute;
    expect([r.holdout.decisions, r.holdout.converted, r.holdoutExcluded]).toEqual([40, 8, 25]);
    expect(r.upliftPp).toBeCloseTo(30, 9); // 50 % against 20 %, not against 28 / 65
    // §7's attribution keeps every holdout decision.
    expect(summariseMeasured([], events, settings).scenes.commute.attribution).toMatchObject({ holdout: 65, holdoutConverted: 28 });
  });
});
