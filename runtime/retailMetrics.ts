import type { AttributionEvent } from '../pipelines/attribution.js';
import { MeasureGrid, MICROS, segmentOf, type MeasureTotals } from '../pipelines/measurement.js';
import { RETAIL_SINKS } from '../pipelines/retail.js';
import type { Decision, Offer, Trigger } from '../schemas/index.js';
import type { Metrics } from './metrics.js';

/**
 * Turns the retail pipelines' outputs into Prometheus metrics: triggers by scene, decisions by
 * scene, outcome and reason, offers by channel, and live attribution per scene and RFM segment
 * against the holdout group (the gauges the marketing dashboard reads).
 */
export class RetailMetrics {
  private readonly grid = new MeasureGrid();

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
        this.grid.add(e);
        setCell(m, e.scene, segmentOf(e), this.grid.sum(e.scene, segmentOf(e)));
        break;
      }
    }
  }
}

/**
 * The attribution metrics of the cells of a grid (scene and RFM segment at decision time):
 * decisions, conversions and revenue per group, the discount cost of the sent offers and the holdout
 * decisions left out of the control arm. `zeros`:
 * cells to set to 0 that the grid lacks (those of partitions an instance no longer owns).
 */
export function setAttribution(m: Metrics, grid: MeasureGrid, zeros: Iterable<readonly [string, string]> = []): void {
  for (const [scene, segment] of zeros) {
    for (const group of ['sent', 'holdout'] as const) {
      m.attributionDecisions.set({ scene, segment, group }, 0);
      m.attributionConversions.set({ scene, segment, group }, 0);
      m.attributionRevenue.set({ scene, segment, group }, 0);
    }
    m.attributionDiscountCost.set({ scene, segment }, 0);
    m.attributionHoldoutExcluded.set({ scene, segment }, 0);
  }
  for (const [scene, segment, t] of grid.cells()) setCell(m, scene, segment, t);
}

function setCell(m: Metrics, scene: string, segment: string, t: MeasureTotals): void {
  for (const [group, arm] of [
    ['sent', t.sent],
    ['holdout', t.holdout],
  ] as const) {
    m.attributionDecisions.set({ scene, segment, group }, arm.decisions);
    m.attributionConversions.set({ scene, segment, group }, arm.converted);
    m.attributionRevenue.set({ scene, segment, group }, arm.revenue / MICROS);
  }
  m.attributionDiscountCost.set({ scene, segment }, t.discountCost / MICROS);
  m.attributionHoldoutExcluded.set({ scene, segment }, t.holdoutExcluded);
}
