/**
 * Statistics of an uplift test (issue 14): treated (sent) against holdout, each a count of
 * conversions out of a count of customers.
 *
 * The interval of the difference of the two conversion rates is **Newcombe's hybrid score
 * interval** (method 10 of Newcombe, "Interval estimation for the difference between independent
 * proportions: comparison of eleven methods", Statistics in Medicine 17, 1998): each rate's Wilson
 * score interval without continuity correction, combined as
 *
 * ```text
 * L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)        d = p1 - p2
 * U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)
 * ```
 *
 * It stays inside [-1, 1], is defined for zero counts and for rates of 0 or 1 (where the Wald
 * interval collapses), and has coverage close to nominal for the small samples a holdout of 5 %
 * gives. An arm with no customers has no rate: the difference and its interval are undefined.
 */

/** z for a two-sided 95 % interval: the 0.975 quantile of the standard normal. */
export const Z95 = 1.959963984540054;

/** A proportion's Wilson score interval (no continuity correction); [0, 1] for n = 0. */
export function wilson(successes: number, n: number, z = Z95): { readonly lower: number; readonly upper: number } {
  if (n === 0) return { lower: 0, upper: 1 };
  const p = successes / n;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const denom = 1 + z2 / n;
  return { lower: Math.max(0, (centre - spread) / denom), upper: Math.min(1, (centre + spread) / denom) };
}

/** Newcombe's hybrid score interval for `p1 - p2` (see the module comment); undefined when an arm is empty. */
export function newcombeInterval(x1: number, n1: number, x2: number, n2: number, z = Z95): { readonly difference: number; readonly lower: number; readonly upper: number } | undefined {
  if (n1 === 0 || n2 === 0) return undefined;
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const a = wilson(x1, n1, z);
  const b = wilson(x2, n2, z);
  const d = p1 - p2;
  return { difference: d, lower: d - Math.sqrt((p1 - a.lower) ** 2 + (b.upper - p2) ** 2), upper: d + Math.sqrt((a.upper - p1) ** 2 + (p2 - b.lower) ** 2) };
}

/** One arm of the test: customers decided, those who converted, and the revenue of their converting purchases. */
export interface Arm {
  readonly decisions: number;
  readonly converted: number;
  readonly revenue: number;
}

/** What a marketer reads of a scene (or segment, or campaign): see {@link upliftStats}. */
export interface UpliftStats {
  /** Conversion rate of the treated (sent) arm; null without decisions. */
  readonly treatedRate: number | null;
  readonly holdoutRate: number | null;
  /** Whether both arms reached the minimum sample: below it, every figure after this one is null ("not enough data"). */
  readonly enoughData: boolean;
  /** Absolute uplift in percentage points: 100 * (treated rate - holdout rate). */
  readonly upliftPp: number | null;
  /** Its 95 % interval in percentage points (Newcombe's hybrid score interval). */
  readonly upliftPpLow: number | null;
  readonly upliftPpHigh: number | null;
  /** Uplift over the holdout rate (0.25: a quarter more conversions); null when the holdout rate is 0. */
  readonly relativeUplift: number | null;
  /** Conversions the offers added: (treated rate - holdout rate) * treated decisions. */
  readonly incrementalConversions: number | null;
  /** Revenue the offers added: (revenue per treated - revenue per holdout customer) * treated decisions. */
  readonly incrementalRevenue: number | null;
  /** What the offers cost in discounts (given: the treated arm's converting revenue times its discount). */
  readonly discountCost: number;
  /** (incremental revenue - discount cost) / discount cost; null without a cost. */
  readonly roi: number | null;
}

/**
 * The statistics of one test from its two arms. Below `minPerArm` decisions in either arm the
 * figures are null and `enoughData` false, rather than a number that would mislead (a difference
 * of two rates from 2 holdout decisions).
 */
export function upliftStats(treated: Arm, holdout: Arm, discountCost: number, minPerArm: number): UpliftStats {
  const treatedRate = treated.decisions > 0 ? treated.converted / treated.decisions : null;
  const holdoutRate = holdout.decisions > 0 ? holdout.converted / holdout.decisions : null;
  const ci = newcombeInterval(treated.converted, treated.decisions, holdout.converted, holdout.decisions);
  const enoughData = ci !== undefined && treated.decisions >= minPerArm && holdout.decisions >= minPerArm;
  if (!enoughData || treatedRate === null || holdoutRate === null) {
    return { treatedRate, holdoutRate, enoughData: false, upliftPp: null, upliftPpLow: null, upliftPpHigh: null, relativeUplift: null, incrementalConversions: null, incrementalRevenue: null, discountCost, roi: null };
  }
  const incrementalRevenue = (treated.revenue / treated.decisions - holdout.revenue / holdout.decisions) * treated.decisions;
  return {
    treatedRate,
    holdoutRate,
    enoughData: true,
    upliftPp: 100 * ci.difference,
    upliftPpLow: 100 * ci.lower,
    upliftPpHigh: 100 * ci.upper,
    relativeUplift: holdoutRate > 0 ? (treatedRate - holdoutRate) / holdoutRate : null,
    incrementalConversions: (treatedRate - holdoutRate) * treated.decisions,
    incrementalRevenue,
    discountCost,
    roi: discountCost > 0 ? (incrementalRevenue - discountCost) / discountCost : null,
  };
}
