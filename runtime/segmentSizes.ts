import type { LiveProfile } from '../pipelines/profile.js';
import type { RfmSegment } from '../pipelines/rfm.js';
import { evaluateSegment, segmentFacts, type CampaignSegment, type SegmentFacts } from '../pipelines/segments.js';

/** One series of `scenestream_segment_customers`: an RFM segment's or a campaign segment's size. */
export interface SegmentSize {
  readonly segment: string;
  /** `rfm`: the profile's RFM segment; `campaign`: a named segment of the live campaign. */
  readonly kind: 'rfm' | 'campaign';
  readonly customers: number;
}

/**
 * The latest {@link SegmentFacts} of each customer whose profile this process produced, to size
 * the campaign's named segments with the rules live at the moment asked (a reload resizes them at
 * the next scrape, without waiting for customers to change). Facts, not whole profiles: a few
 * numbers per customer. Each rule is judged as of the profile's own `asOf`.
 *
 * Embedded mode feeds it every profile (the whole city); in production mode each instance feeds it
 * the profiles its tasks produce, so it counts the customers of its partitions whose profile
 * changed since the instance started, and the dashboard sums the instances.
 */
export class SegmentTally {
  private readonly facts = new Map<string, SegmentFacts>();

  /** Records a customer's latest profile (the `profiles` sink of the retail pipelines). */
  observe(p: LiveProfile): void {
    this.facts.set(p.customerId, segmentFacts(p));
  }

  get size(): number {
    return this.facts.size;
  }

  /** Customers in each named segment, every segment present (0 when empty), in the campaign's order. */
  sizes(segments: readonly CampaignSegment[]): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(segments.map((s) => [s.name, 0]));
    for (const f of this.facts.values()) for (const s of segments) if (evaluateSegment(s.expr, f)) out[s.name]! += 1;
    return out;
  }
}

/** The series of both kinds: every RFM segment's size, then every named segment's. */
export function segmentSeries(rfm: Readonly<Record<RfmSegment, number>>, campaign: Readonly<Record<string, number>>): SegmentSize[] {
  return [
    ...Object.entries(rfm).map(([segment, customers]) => ({ segment, kind: 'rfm' as const, customers })),
    ...Object.entries(campaign).map(([segment, customers]) => ({ segment, kind: 'campaign' as const, customers })),
  ];
}
