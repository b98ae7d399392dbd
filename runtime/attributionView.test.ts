import { describe, expect, it } from 'vitest';
import { attributionTotals, type AttributionEvent } from '../pipelines/attribution.js';
import { measure } from '../pipelines/measurement.js';
import { AttributionView } from './attributionView.js';
import { Metrics } from './metrics.js';

const ev = (decisionId: string, group: 'sent' | 'holdout', converted: boolean, revenue = 0, scene: AttributionEvent['scene'] = 'cart_abandonment'): AttributionEvent => ({
  decisionId,
  scene,
  customerId: `c-${decisionId}`,
  group,
  converted,
  revenue,
  ts: 2,
  decisionTs: 1,
  segment: scene === 'commute' ? 'loyal' : null,
  discountPct: 10,
  wouldSend: true,
});

describe('AttributionView', () => {
  const events = [ev('a', 'sent', true, 10), ev('b', 'sent', false), ev('c', 'holdout', true, 5), ev('d', 'sent', true, 7), ev('e', 'holdout', false), ev('f', 'sent', false, 0, 'commute')];
  const partitionOf = (e: AttributionEvent) => (e.decisionId < 'c' ? 0 : e.decisionId < 'e' ? 1 : 2);

  it('totals over all partitions equal the totals of the events in one place, each decision counted once', () => {
    const view = new AttributionView();
    for (const e of events) expect(view.add(e, partitionOf(e))).toBe(true);
    expect(view.add(events[0]!, 0)).toBe(false); // produced again by a replay after a crash
    expect(view.totals()).toEqual(attributionTotals(events));
    expect(view.totals().cart_abandonment).toMatchObject({ sent: 3, sentConverted: 2, holdout: 2, holdoutConverted: 1, sentRevenue: 17, holdoutRevenue: 5 });
    expect(view.totals().cart_abandonment.uplift).toBeCloseTo(2 / 3 - 1 / 2, 12);
  });

  it('exports the partitions an instance owns, so that the sum over instances is the total', async () => {
    const view = new AttributionView();
    for (const e of events) view.add(e, partitionOf(e));
    const a = new Metrics({ processMetrics: false });
    const b = new Metrics({ processMetrics: false });
    view.exportTo(a, [0, 2]);
    view.exportTo(b, [1]);
    const value = async (m: Metrics, group: string, measure: 'decisions' | 'converted' | 'revenue') => {
      const gauge = { decisions: m.attributionDecisions, converted: m.attributionConversions, revenue: m.attributionRevenue }[measure];
      return (await gauge.get()).values.find((v) => v.labels.scene === 'cart_abandonment' && v.labels.group === group)?.value ?? NaN;
    };
    expect((await value(a, 'sent', 'decisions')) + (await value(b, 'sent', 'decisions'))).toBe(3);
    expect((await value(a, 'holdout', 'converted')) + (await value(b, 'holdout', 'converted'))).toBe(1);
    expect((await value(a, 'sent', 'revenue')) + (await value(b, 'sent', 'revenue'))).toBe(17);
    expect(await value(a, 'sent', 'decisions')).toBe(2);
  });
});

describe('AttributionView measurement (GET /attribution)', () => {
  it('is the measurement of the windows in one place, each decision counted once, per segment too', () => {
    const events = [ev('a', 'sent', true, 10), ev('b', 'sent', false), ev('c', 'holdout', true, 5), ev('d', 'sent', true, 7), ev('e', 'holdout', false), ev('f', 'sent', true, 4, 'commute')];
    const view = new AttributionView();
    events.forEach((e, i) => view.add(e, i % 3));
    view.add(events[0]!, 2); // again, from a replay after a crash
    const settings = { minPerArm: 1, currency: 'EUR', attributionWindowMs: 86_400_000 };
    expect(view.measurement(settings)).toEqual(measure(events, settings));
    const m = view.measurement(settings);
    expect(m.segments.loyal.sent).toEqual({ decisions: 1, converted: 1, revenue: 4, rate: 1 });
    expect(m.scenes.cart_abandonment.discountCost).toBeCloseTo(1.7, 12); // (10 + 7) * 10 %
  });

  it('exports the discount cost of the partitions an instance owns', async () => {
    const view = new AttributionView();
    view.add(ev('a', 'sent', true, 10), 0);
    view.add(ev('b', 'sent', true, 30), 1);
    const m = new Metrics({ processMetrics: false });
    view.exportTo(m, [1]);
    const cost = (await m.attributionDiscountCost.get()).values.find((v) => v.labels.scene === 'cart_abandonment')?.value;
    expect(cost).toBeCloseTo(3, 12);
  });
});
