/**
 * What marketing reads of a campaign (issue 14): per scene, per RFM segment and for the whole
 * campaign, the treated (sent) and holdout arms with their conversion rates, the uplift in
 * percentage points with its 95 % interval (Newcombe's hybrid score interval, `uplift.ts`),
 * relative uplift, incremental conversions and revenue, the discount cost of the offers and the
 * ROI, or "not enough data" below a minimum sample per arm.
 *
 * Pure: built from closed attribution windows ({@link AttributionEvent}), so a replay
 * (`summary.json`), the main job's end-of-run table and production mode's `GET /attribution` give
 * the same figures for the same windows.
 *
 * Definitions (per cell: a scene, a segment, or all of them):
 *
 * - arm sizes and conversions: decisions whose window closed, and those that converted; the holdout
 *   arm (the control) is only the holdout decisions that would have been sent (consent, quiet hours
 *   and frequency caps passed: `AttributionEvent.wouldSend`), since those checks suppress in the
 *   sent arm only; the others are counted in `holdoutExcluded` (issue 14);
 * - revenue: of converting purchases, per decision (one purchase in two open windows counts in both,
 *   as in `attribution.ts`);
 * - incremental revenue: (revenue per treated decision - revenue per holdout decision) * treated;
 * - discount cost: for each converted sent decision, its converting revenue times the offer's
 *   `discountPct` / 100 (the discount the customer redeemed; an offer not redeemed costs nothing);
 * - ROI: (incremental revenue - discount cost) / discount cost; null without a cost.
 *
 * The segment is the customer's RFM segment in the live profile as of the decision's ts
 * (`none`: no purchase known then).
 */
import { SCENES, type AttributionEvent, type Decision, type Scene } from '../schemas/index.js';
import { summarise, type Summary } from './attribution.js';
import { RFM_SEGMENTS, type RfmSegment } from './rfm.js';
import { upliftStats, type Arm, type UpliftStats } from './uplift.js';

/** A customer with no RFM segment at decision time (no purchase known). */
export const NO_SEGMENT = 'none';

/** The segments measured: the eleven RFM segments, and {@link NO_SEGMENT}. */
export const MEASURED_SEGMENTS = [...RFM_SEGMENTS, NO_SEGMENT] as const;
export type MeasuredSegment = RfmSegment | typeof NO_SEGMENT;

const isMeasuredSegment = (s: string): s is MeasuredSegment => (MEASURED_SEGMENTS as readonly string[]).includes(s);

/** The campaign file's `measurement` section. */
export interface MeasurementParams {
  /** Decisions each arm needs before figures are given (below it: "not enough data"); default 30. */
  readonly minPerArm: number;
  /** ISO 4217 code of the prices in the input, shown with every amount; default `CNY`. */
  readonly currency: string;
}

export const MEASUREMENT_DEFAULTS: MeasurementParams = { minPerArm: 30, currency: 'CNY' };

/**
 * Running totals of one cell: the two arms and the discount cost of the sent offers. Amounts are
 * integer millionths of the currency unit, so that sums are exact and the same in any order (the
 * partitions of production mode merged as they come).
 */
export interface MeasureTotals {
  readonly sent: Arm;
  /** The control arm: holdout decisions that would have been sent. */
  readonly holdout: Arm;
  /** Holdout decisions that would not have been sent (no consent, quiet hours, frequency cap): not in the control arm. */
  readonly holdoutExcluded: number;
  /** Sum of converting revenue * discountPct / 100 over the converted sent decisions (millionths). */
  readonly discountCost: number;
}

/** Millionths of the currency unit in one unit: {@link MeasureTotals} amounts divided by it are amounts. */
export const MICROS = 1_000_000;
const micros = (x: number): number => Math.round(x * MICROS);

const EMPTY_ARM: Arm = { decisions: 0, converted: 0, revenue: 0 };
export const EMPTY_MEASURE: MeasureTotals = { sent: EMPTY_ARM, holdout: EMPTY_ARM, holdoutExcluded: 0, discountCost: 0 };

const addArm = (a: Arm, b: Arm): Arm => ({ decisions: a.decisions + b.decisions, converted: a.converted + b.converted, revenue: a.revenue + b.revenue });

/** Two cells as one (partitions, instances, scenes of a segment). */
export function mergeMeasure(a: MeasureTotals, b: MeasureTotals): MeasureTotals {
  return { sent: addArm(a.sent, b.sent), holdout: addArm(a.holdout, b.holdout), holdoutExcluded: a.holdoutExcluded + b.holdoutExcluded, discountCost: a.discountCost + b.discountCost };
}

/** What one closed window costs in discount, in the currency: the redeemed share of a converted sent offer. */
export const discountCostOf = (e: AttributionEvent): number => (e.group === 'sent' && e.converted ? (e.revenue * e.discountPct) / 100 : 0);

/** A cell after one more closed window: a holdout one that would not have been sent only counts as excluded. */
export function addMeasure(t: MeasureTotals, e: AttributionEvent): MeasureTotals {
  const arm: Arm = { decisions: 1, converted: e.converted ? 1 : 0, revenue: micros(e.revenue) };
  if (e.group === 'sent') return { ...t, sent: addArm(t.sent, arm), discountCost: t.discountCost + micros(discountCostOf(e)) };
  return e.wouldSend ? { ...t, holdout: addArm(t.holdout, arm) } : { ...t, holdoutExcluded: t.holdoutExcluded + 1 };
}

/** The segment cell of a window: its recorded segment, `none` for none (or a name this version does not know). */
export const segmentOf = (e: AttributionEvent): MeasuredSegment => (e.segment !== null && isMeasuredSegment(e.segment) ? e.segment : NO_SEGMENT);

/**
 * Totals per scene and segment: the finest cells, from which every figure is summed. Production
 * keeps one per source partition (`runtime/attributionView.ts`) and merges them.
 */
export class MeasureGrid {
  private readonly byCell = new Map<string, MeasureTotals>();

  add(e: AttributionEvent): this {
    const k = `${e.scene}\u0000${segmentOf(e)}`;
    this.byCell.set(k, addMeasure(this.byCell.get(k) ?? EMPTY_MEASURE, e));
    return this;
  }

  /** Adds every cell of `other` into this one. */
  merge(other: MeasureGrid): this {
    for (const [k, t] of other.byCell) this.byCell.set(k, mergeMeasure(this.byCell.get(k) ?? EMPTY_MEASURE, t));
    return this;
  }

  /** Every cell with data: scene, segment and totals (amounts in millionths, as {@link MeasureTotals}). */
  *cells(): IterableIterator<readonly [Scene, MeasuredSegment, MeasureTotals]> {
    for (const [k, t] of this.byCell) {
      const [s, g] = k.split('\u0000') as [Scene, MeasuredSegment];
      yield [s, g, t];
    }
  }

  /** The totals of the cells whose scene and segment pass the filters. */
  sum(scene?: Scene, segment?: MeasuredSegment): MeasureTotals {
    let out = EMPTY_MEASURE;
    for (const [s, g, t] of this.cells()) if ((scene === undefined || s === scene) && (segment === undefined || g === segment)) out = mergeMeasure(out, t);
    return out;
  }

  static of(events: Iterable<AttributionEvent>): MeasureGrid {
    const g = new MeasureGrid();
    for (const e of events) g.add(e);
    return g;
  }
}

/** One arm as reported: its counts, revenue and conversion rate (null without decisions). */
export interface ArmReport extends Arm {
  readonly rate: number | null;
}

/**
 * The figures of one cell (see the module comment for their definitions): {@link UpliftStats}
 * with each arm's counts, revenue and rate in place of the two rates. Without `enoughData` every
 * figure but `discountCost` is null.
 */
export interface MeasureReport extends Omit<UpliftStats, 'treatedRate' | 'holdoutRate'> {
  readonly sent: ArmReport;
  /** The control arm: holdout decisions that would have been sent. */
  readonly holdout: ArmReport;
  /** Holdout decisions left out of the control arm; `holdout.decisions + holdoutExcluded` is SCENES.md §7's `holdout`. */
  readonly holdoutExcluded: number;
}

/** The measurement of a campaign, as `summary.json` and `GET /attribution` carry it. */
export interface Measurement {
  /** How the interval is computed. */
  readonly method: 'newcombe-hybrid-score';
  readonly confidence: 0.95;
  readonly currency: string;
  readonly attributionWindowMs: number;
  readonly minPerArm: number;
  /** All scenes and segments together. */
  readonly campaign: MeasureReport;
  /** All five scenes, zeros included. */
  readonly scenes: Readonly<Record<Scene, MeasureReport>>;
  /** Every RFM segment and `none`, zeros included. */
  readonly segments: Readonly<Record<MeasuredSegment, MeasureReport>>;
}

/** What a measurement is computed with: the campaign's `measurement` section and its attribution window. */
export interface MeasurementSettings extends MeasurementParams {
  readonly attributionWindowMs: number;
}

/** An amount to the cent: sums of the same windows in another order (partitions merged) read the same. */
const cents = (x: number): number => Math.round(x * 100) / 100;
const centsOrNull = (x: number | null): number | null => (x === null ? null : cents(x));

/** The figures of one cell from its totals (amounts to the cent). */
export function report(t: MeasureTotals, minPerArm: number): MeasureReport {
  const unit = (a: Arm): Arm => ({ ...a, revenue: a.revenue / MICROS });
  const { treatedRate, holdoutRate, ...figures } = upliftStats(unit(t.sent), unit(t.holdout), t.discountCost / MICROS, minPerArm);
  return {
    sent: { ...t.sent, revenue: cents(t.sent.revenue / MICROS), rate: treatedRate },
    holdout: { ...t.holdout, revenue: cents(t.holdout.revenue / MICROS), rate: holdoutRate },
    holdoutExcluded: t.holdoutExcluded,
    ...figures,
    incrementalRevenue: centsOrNull(figures.incrementalRevenue),
    discountCost: cents(figures.discountCost),
  };
}

/** The measurement of a grid (or of closed windows) with the given settings. */
export function measure(from: MeasureGrid | Iterable<AttributionEvent>, s: MeasurementSettings): Measurement {
  const grid = from instanceof MeasureGrid ? from : MeasureGrid.of(from);
  const r = (t: MeasureTotals) => report(t, s.minPerArm);
  return {
    method: 'newcombe-hybrid-score',
    confidence: 0.95,
    currency: s.currency,
    attributionWindowMs: s.attributionWindowMs,
    minPerArm: s.minPerArm,
    campaign: r(grid.sum()),
    scenes: Object.fromEntries(SCENES.map((sc) => [sc, r(grid.sum(sc))])) as Record<Scene, MeasureReport>,
    segments: Object.fromEntries(MEASURED_SEGMENTS.map((g) => [g, r(grid.sum(undefined, g))])) as Record<MeasuredSegment, MeasureReport>,
  };
}

/** `summary.json`: SCENES.md §7's summary, every field of it, and the {@link Measurement} of the same windows. */
export interface MeasuredSummary extends Summary {
  readonly measurement: Measurement;
}

/** {@link summarise} (with its options) plus {@link measure}: what replay writes and the main job prints at the end. */
export function summariseMeasured(decisions: Iterable<Decision>, events: readonly AttributionEvent[], settings: MeasurementSettings, opts: Parameters<typeof summarise>[2] = {}): MeasuredSummary {
  return { ...summarise(decisions, events, opts), measurement: measure(events, settings) };
}
