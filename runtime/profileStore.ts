import type { LiveProfile } from '../pipelines/profile.js';
import { RFM_SEGMENTS, type RfmSegment } from '../pipelines/rfm.js';
import { ssError } from '../schemas/errors.js';

/**
 * Where the live customer profiles (`pipelines/profile.ts`) are kept for readers: the profile API
 * and anyone else. The embedded default and replay keep them in memory ({@link MemoryProfileStore});
 * production mode in Redis, written with each task's checkpoint (`redis/liveProfiles.ts`).
 *
 * Segment listings are in customerId order (UTF-16 code unit order, which is Redis' byte order for
 * ASCII ids), paged by cursor: the cursor is the last customerId of the previous page.
 */
export interface ProfileStore {
  get(customerId: string): Promise<LiveProfile | undefined>;
  /** Customers per RFM segment (every segment, 0 when empty). */
  segmentSizes(): Promise<Record<RfmSegment, number>>;
  /** Up to `limit` customers of a segment after `cursor` (exclusive), and the cursor of the next page (null: no more). */
  segmentMembers(segment: RfmSegment, cursor: string | null, limit: number): Promise<SegmentPage>;
}

export interface SegmentPage {
  readonly customerIds: readonly string[];
  readonly next: string | null;
}

export const emptySegmentSizes = (): Record<RfmSegment, number> => Object.fromEntries(RFM_SEGMENTS.map((s) => [s, 0])) as Record<RfmSegment, number>;

/** Takes the first `limit` of ids sorted ascending that come after `cursor`. */
export function pageOf(sorted: readonly string[], cursor: string | null, limit: number): SegmentPage {
  const after = cursor === null ? sorted : sorted.filter((id) => id > cursor);
  const customerIds = after.slice(0, limit);
  return { customerIds, next: after.length > limit ? customerIds[customerIds.length - 1]! : null };
}

/** The in-process store: the latest profile per customer, and the members of each segment. */
export class MemoryProfileStore implements ProfileStore {
  private readonly profiles = new Map<string, LiveProfile>();
  private readonly segments = new Map<RfmSegment, Set<string>>(RFM_SEGMENTS.map((s) => [s, new Set<string>()]));

  /** Records a customer's profile (the `profiles` sink of the retail pipelines). */
  put(p: LiveProfile): void {
    const old = this.profiles.get(p.customerId);
    if (old?.segment !== undefined && old.segment !== p.segment) this.segments.get(old.segment)!.delete(p.customerId);
    if (p.segment !== undefined) this.segments.get(p.segment)!.add(p.customerId);
    this.profiles.set(p.customerId, p);
  }

  get size(): number {
    return this.profiles.size;
  }

  /** Every profile, by customerId. */
  all(): LiveProfile[] {
    return [...this.profiles.values()].sort((a, b) => (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
  }

  async get(customerId: string): Promise<LiveProfile | undefined> {
    return this.profiles.get(customerId);
  }

  async segmentSizes(): Promise<Record<RfmSegment, number>> {
    const out = emptySegmentSizes();
    for (const [s, members] of this.segments) out[s] = members.size;
    return out;
  }

  async segmentMembers(segment: RfmSegment, cursor: string | null, limit: number): Promise<SegmentPage> {
    return pageOf([...this.segments.get(segment)!].sort(), cursor, limit);
  }
}

/**
 * A store that is connected later (production mode: the HTTP server is up before Redis is): until
 * then every read is `SS_ERR_SERVICE_UNAVAILABLE`.
 */
export class PendingProfileStore implements ProfileStore {
  private store: ProfileStore | undefined;

  connect(store: ProfileStore): void {
    this.store = store;
  }

  private ready(): ProfileStore {
    if (this.store === undefined) throw ssError('SS_ERR_SERVICE_UNAVAILABLE', 'the profile store is not connected yet (the engine is starting)');
    return this.store;
  }

  async get(customerId: string): Promise<LiveProfile | undefined> {
    return this.ready().get(customerId);
  }

  async segmentSizes(): Promise<Record<RfmSegment, number>> {
    return this.ready().segmentSizes();
  }

  async segmentMembers(segment: RfmSegment, cursor: string | null, limit: number): Promise<SegmentPage> {
    return this.ready().segmentMembers(segment, cursor, limit);
  }
}
