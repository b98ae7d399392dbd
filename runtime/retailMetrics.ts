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

/** `scenestream_attribution` of one scene from its totals. */
export function setAttribution(m: Metrics, scene: string, t: SceneAttributionTotals): void {
  const set = (group: string, measure: string, v: number) => m.attribution.set({ scene, group, measure }, v);
  set('sent', 'decisions', t.sent);
  set('sent', 'converted', t.sentConverted);
  set('sent', 'revenue', t.sentRevenue);
  set('holdout', 'decisions', t.holdout);
  set('holdout', 'converted', t.holdoutConverted);
  set('holdout', 'revenue', t.holdoutRevenue);
  set('all', 'uplift', t.uplift);
}
