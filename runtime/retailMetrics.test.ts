import { describe, expect, it } from 'vitest';
import type { AttributionEvent } from '../schemas/index.js';
import { SAMPLES } from '../schemas/samples.js';
import { Metrics, setMeasurementSettings } from './metrics.js';
import { RetailMetrics } from './retailMetrics.js';

const ev = (decisionId: string, group: 'sent' | 'holdout', converted: boolean, revenue: number, segment: string | null, discountPct: number): AttributionEvent => ({
  ...SAMPLES.AttributionEvent,
  decisionId,
  scene: 'commute',
  group,
  converted,
  revenue,
  segment,
  discountPct,
});

describe('RetailMetrics: attribution by scene, segment and group', () => {
  it('sets decisions, conversions, revenue and discount cost per cell, counts and amounts apart', async () => {
    const m = new Metrics({ processMetrics: false });
    const retail = new RetailMetrics(m);
    // e: a holdout decision that quiet hours would have stopped: not in the control arm, counted apart.
    const excluded: AttributionEvent = { ...ev('e', 'holdout', true, 99, 'loyal', 0), wouldSend: false };
    for (const e of [ev('a', 'sent', true, 40, 'loyal', 10), ev('b', 'sent', false, 0, 'loyal', 10), ev('c', 'holdout', true, 25, 'loyal', 0), ev('d', 'sent', true, 10, null, 20), excluded]) retail.observe('attribution', e);
    setMeasurementSettings(m, { minPerArm: 30, currency: 'EUR' });
    const text = await m.text();
    expect(text).toContain('scenestream_attribution_decisions{scene="commute",segment="loyal",group="sent"} 2');
    expect(text).toContain('scenestream_attribution_conversions{scene="commute",segment="loyal",group="sent"} 1');
    expect(text).toContain('scenestream_attribution_revenue{scene="commute",segment="loyal",group="holdout"} 25');
    expect(text).toContain('scenestream_attribution_decisions{scene="commute",segment="loyal",group="holdout"} 1');
    expect(text).toContain('scenestream_attribution_holdout_excluded{scene="commute",segment="loyal"} 1');
    expect(text).toContain('scenestream_attribution_holdout_excluded{scene="commute",segment="none"} 0');
    expect(text).toContain('scenestream_attribution_decisions{scene="commute",segment="none",group="sent"} 1');
    expect(text).toContain('scenestream_attribution_discount_cost{scene="commute",segment="loyal"} 4'); // 40 * 10 %
    expect(text).toContain('scenestream_attribution_discount_cost{scene="commute",segment="none"} 2'); // 10 * 20 %
    expect(text).toContain('scenestream_attribution_min_decisions_per_arm 30');
    expect(text).toContain('scenestream_attribution_currency_info{currency="EUR"} 1');
    // A reload to another currency leaves one series.
    setMeasurementSettings(m, { minPerArm: 50, currency: 'USD' });
    expect((await m.text()).match(/^scenestream_attribution_currency_info\{/gm)).toHaveLength(1);
  });
});
