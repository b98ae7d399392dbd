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
 * The latest {@link SegmentFacts} of each customer this process holds, to size the campaign's named
 * segments with the rules live at the moment asked (a reload resizes them at the next scrape,
 * without waiting for customers to change). Facts, not whole profiles: a few numbers per customer.
 * Each rule is judged as of the profile's own `asOf`.
 *
 * Kept per partition (task). Embedded mode feeds every profile under partition 0 (the whole city).
 * In production mode each instance holds the customers of the tasks it owns: a task's whole state
 * when it is claimed ({@link claimed}: every profile restored, so a restart or a moved partition is
 * counted at once, not from each customer's next change), its profiles as they change, and nothing
 * of it once released. Each partition is owned by one instance, so the dashboard's sum over
 * instances counts every customer once.
 */
export class SegmentTally {
  private readonly partitions = new Map<number, { owner: string | undefined; facts: Map<string, SegmentFacts> }>();

  /** Records a customer's latest profile (the `profiles` sink of the retail pipelines) in its task's partition. */
  observe(p: LiveProfile, partition = 0): void {
    let part = this.partitions.get(partition);
    if (part === undefined) this.partitions.set(partition, (part = { owner: undefined, facts: new Map() }));
    part.facts.set(p.customerId, segmentFacts(p));
  }

  /** A task claimed by `owner`: its partition holds exactly these customers' profiles from now on. */
  claimed(partition: number, profiles: readonly LiveProfile[], owner: string): void {
    this.partitions.set(partition, { owner, facts: new Map(profiles.map((p) => [p.customerId, segmentFacts(p)])) });
  }

  /** The task of `owner` released: its customers are no longer this process's (a later owner's claim stays). */
  released(partition: number, owner: string): void {
    if (this.partitions.get(partition)?.owner === owner) this.partitions.delete(partition);
  }

  get size(): number {
    let n = 0;
    for (const part of this.partitions.values()) n += part.facts.size;
    return n;
  }

  /** Customers in each named segment, every segment present (0 when empty), in the campaign's order. */
  sizes(segments: readonly CampaignSegment[]): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(segments.map((s) => [s.name, 0]));
    for (const part of this.partitions.values()) for (const f of part.facts.values()) for (const s of segments) if (evaluateSegment(s.expr, f)) out[s.name]! += 1;
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
