import { addAttribution, EMPTY_ATTRIBUTION, type AttributionEvent, type SceneAttributionTotals } from '../pipelines/attribution.js';
import { RETAIL_SINKS } from '../pipelines/retail.js';
import type { Decision, Offer, Scene, Trigger } from '../schemas/index.js';
import type { Metrics } from './metrics.js';

/**
 * Turns the retail pipelines' outputs into Prometheus metrics: triggers by scene, decisions by
 * scene, outcome and reason, offers by channel, and live attribution per scene against the
 * holdout group (the gauges the marketing dashboard reads).
 */
export class RetailMetrics {
  private readonly totals = new Map<Scene, SceneAttributionTotals>();

  constructor(private readonly metrics: Metrics) {}

  observe(sink: string, value: unknown): void {
    const m = this.metrics;
    m.outputs.inc({ sink });
    switch (sink) {
      case RETAIL_SINKS.triggers:
        m.triggers.inc({ scene: (value as Trigger).scene });
        break;
      case RETAIL_SINKS.decisions: {
        const d = value as Decision;
        m.decisions.inc({ scene: d.scene, outcome: d.outcome, reason: d.reason ?? 'none' });
        break;
      }
      case RETAIL_SINKS.offers:
        // Made, not delivered: a delivery channel (the webhook) counts what it hands over itself.
        m.offers.inc({ scene: (value as Offer).scene, channel: (value as Offer).channel });
        break;
      case RETAIL_SINKS.attribution: {
        const e = value as AttributionEvent;
        const t = addAttribution(this.totals.get(e.scene) ?? EMPTY_ATTRIBUTION, e);
        this.totals.set(e.scene, t);
        setAttribution(m, e.scene, t);
        break;
      }
    }
  }
}

/** The attribution metrics of one scene from its totals: decisions, conversions and revenue per group. */
export function setAttribution(m: Metrics, scene: string, t: SceneAttributionTotals): void {
  for (const [group, decisions, conversions, revenue] of [
    ['sent', t.sent, t.sentConverted, t.sentRevenue],
    ['holdout', t.holdout, t.holdoutConverted, t.holdoutRevenue],
  ] as const) {
    m.attributionDecisions.set({ scene, group }, decisions);
    m.attributionConversions.set({ scene, group }, conversions);
    m.attributionRevenue.set({ scene, group }, revenue);
  }
}
