/**
 * RFM (recency, frequency, monetary value) scores and the standard RFM segments, as pure functions.
 * The thresholds come from the campaign file (`profile` section); the defaults are below.
 */

const DAY = 24 * 60 * 60_000;

/** The eleven standard RFM segments, as URL-safe names (`GET /segments/:name/customers`). */
export const RFM_SEGMENTS = [
  'champions',
  'loyal',
  'potential_loyalists',
  'new_customers',
  'promising',
  'need_attention',
  'about_to_sleep',
  'at_risk',
  'cant_lose_them',
  'hibernating',
  'lost',
] as const;
export type RfmSegment = (typeof RFM_SEGMENTS)[number];

export const isRfmSegment = (s: string): s is RfmSegment => (RFM_SEGMENTS as readonly string[]).includes(s);

/** Score thresholds: four ascending boundaries per dimension, for scores 5..2 (recency) or 2..5 (frequency, monetary). */
export interface RfmThresholds {
  /**
   * Time since the last purchase: `<= recencyMs[0]` scores 5, `<= [1]` 4, `<= [2]` 3, `<= [3]` 2,
   * older (or no purchase known) 1. Default 30, 90, 180, 365 days.
   */
  readonly recencyMs: readonly number[];
  /** Purchases within the horizon: `>= frequency[3]` scores 5, `>= [2]` 4, `>= [1]` 3, `>= [0]` 2, else 1. Default 2, 3, 5, 8. */
  readonly frequency: readonly number[];
  /** Revenue within the horizon, same rule as frequency. Default 100, 300, 1000, 3000. */
  readonly monetary: readonly number[];
}

export const RFM_THRESHOLD_DEFAULTS: RfmThresholds = {
  recencyMs: [30 * DAY, 90 * DAY, 180 * DAY, 365 * DAY],
  frequency: [2, 3, 5, 8],
  monetary: [100, 300, 1000, 3000],
};

export interface RfmScores {
  readonly r: number;
  readonly f: number;
  readonly m: number;
}

/** Recency score 1-5 of a last purchase at `lastPurchaseTs` (null: none known) as of `asOf`. */
export function recencyScore(lastPurchaseTs: number | null, asOf: number, t: RfmThresholds): number {
  if (lastPurchaseTs === null) return 1;
  const elapsed = asOf - lastPurchaseTs;
  for (let i = 0; i < 4; i++) if (elapsed <= t.recencyMs[i]!) return 5 - i;
  return 1;
}

/** Score 1-5 of a count or amount against four ascending boundaries (`>= b[i]` scores `i + 2`). */
export function levelScore(value: number, boundaries: readonly number[]): number {
  for (let i = 3; i >= 0; i--) if (value >= boundaries[i]!) return i + 2;
  return 1;
}

/**
 * The time at which the recency score of a purchase at `lastPurchaseTs` next drops after `asOf`
 * (`lastPurchaseTs + recencyMs[i] + 1` for the first boundary not yet passed), or null when it is 1.
 */
export function nextRecencyChange(lastPurchaseTs: number, asOf: number, t: RfmThresholds): number | null {
  for (let i = 0; i < 4; i++) {
    const at = lastPurchaseTs + t.recencyMs[i]! + 1;
    if (at > asOf) return at;
  }
  return null;
}

/**
 * The segment of a customer's scores: the classic R x F grid, with F replaced by FM, the mean of
 * F and M rounded up (`ceil((f + m) / 2)`), so that value counts as much as frequency:
 *
 * | R \ FM | 1              | 2                   | 3                   | 4              | 5              |
 * |--------|----------------|---------------------|---------------------|----------------|----------------|
 * | 5      | new_customers  | potential_loyalists | potential_loyalists | champions      | champions      |
 * | 4      | promising      | potential_loyalists | potential_loyalists | loyal          | loyal          |
 * | 3      | about_to_sleep | about_to_sleep      | need_attention      | loyal          | loyal          |
 * | 2      | hibernating    | hibernating         | at_risk             | at_risk        | cant_lose_them |
 * | 1      | lost           | hibernating         | at_risk             | at_risk        | cant_lose_them |
 */
export function rfmSegment({ r, f, m }: RfmScores): RfmSegment {
  const fm = Math.ceil((f + m) / 2);
  switch (r) {
    case 5:
      return fm === 1 ? 'new_customers' : fm <= 3 ? 'potential_loyalists' : 'champions';
    case 4:
      return fm === 1 ? 'promising' : fm <= 3 ? 'potential_loyalists' : 'loyal';
    case 3:
      return fm <= 2 ? 'about_to_sleep' : fm === 3 ? 'need_attention' : 'loyal';
    case 2:
      return fm <= 2 ? 'hibernating' : fm <= 4 ? 'at_risk' : 'cant_lose_them';
    default:
      return fm === 1 ? 'lost' : fm === 2 ? 'hibernating' : fm <= 4 ? 'at_risk' : 'cant_lose_them';
  }
}
