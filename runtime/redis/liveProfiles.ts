import { Repository, Schema, type Entity, type SchemaDefinition } from 'redis-om';
import type { LiveProfile } from '../../pipelines/profile.js';
import { isRfmSegment, RFM_SEGMENTS, type RfmSegment } from '../../pipelines/rfm.js';
import { emptySegmentSizes, type ProfileStore, type SegmentPage } from '../profileStore.js';
import type { CheckpointViews } from './checkpoints.js';
import { asRedisOmConnection, type RedisOmHashSurface } from './reference.js';

/**
 * The live customer profiles in Redis, written with each task's checkpoint (`checkpoints.ts`,
 * in the same Lua call as the state and offsets they come from), readable by anyone.
 *
 * Key layout, under the task's hash tag (the partition of the co-partitioned inputs that holds the
 * customer), so that a profile shares its checkpoint's slot on a Redis Cluster:
 *
 *   ss:{ss:<job>:<p>}:profile:<customerId>   HASH  one redis-om entity ({@link liveProfileSchema})
 *   ss:{ss:<job>:<p>}:segment:<segment>      ZSET  customerIds of that RFM segment (score 0, read by lex order)
 *
 * A reader that does not know the customer's partition reads the key of every partition (one
 * HGETALL each, in parallel: partitions are few); the profile with the latest `asOf` wins (two can
 * exist only briefly after the input topics were repartitioned).
 *
 * Field encoding is redis-om's for HASH: strings as they are, numbers in decimal, booleans `1`/`0`,
 * string lists joined by `|`, an absent optional field not stored.
 */

type ProfileEntity = LiveProfile & Entity;

const FIELDS: SchemaDefinition<ProfileEntity> = {
  customerId: { type: 'string' },
  asOf: { type: 'number' },
  lastPurchaseTs: { type: 'number' },
  frequency: { type: 'number' },
  monetary: { type: 'number' },
  recencyScore: { type: 'number' },
  frequencyScore: { type: 'number' },
  monetaryScore: { type: 'number' },
  segment: { type: 'string' },
  topCategories: { type: 'string[]' },
  lastStoreId: { type: 'string' },
  lastChannel: { type: 'string' },
  cartItems: { type: 'number' },
  cartQuantity: { type: 'number' },
  cartProductIds: { type: 'string[]' },
  cartDeadline: { type: 'number' },
  tier: { type: 'string' },
  consentPush: { type: 'boolean' },
  consentSms: { type: 'boolean' },
  consentEmail: { type: 'boolean' },
  consentInStore: { type: 'boolean' },
  knownProfile: { type: 'boolean' },
  lastCartAbandonment: { type: 'number' },
  lastBrowseAbandonment: { type: 'number' },
  lastStoreProximity: { type: 'number' },
  lastCommute: { type: 'number' },
  lastDormantReactivation: { type: 'number' },
};

const LIST_SEPARATOR = '|';

/** The hash tag of a task: the checkpoint's (`CheckpointStore.keys`). */
const tagOf = (job: string, partition: number): string => `{ss:${job}:${partition}}`;

/** The redis-om key prefix (schema name) of a partition's profiles: `ss:{ss:<job>:<p>}:profile`. */
export const profilePrefix = (job: string, partition: number): string => `ss:${tagOf(job, partition)}:profile`;
export const profileKey = (job: string, partition: number, customerId: string): string => `${profilePrefix(job, partition)}:${customerId}`;
export const segmentKey = (job: string, partition: number, segment: RfmSegment): string => `ss:${tagOf(job, partition)}:segment:${segment}`;

/** The redis-om schema of one partition's profiles (HASH: our Redis has no JSON module). */
export function liveProfileSchema(job: string, partition: number): Schema<ProfileEntity> {
  return new Schema<ProfileEntity>(profilePrefix(job, partition), FIELDS, { dataStructure: 'HASH' });
}

/** A profile as the HASH fields redis-om writes for it. */
export function profileToHash(p: LiveProfile): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) {
      if (v.length > 0) out[k] = v.join(LIST_SEPARATOR); // an empty list is no field: redis-om would read '' back as ['']
    } else if (typeof v === 'boolean') out[k] = v ? '1' : '0';
    else out[k] = String(v);
  }
  return out;
}

/** A redis-om entity back as a profile (undefined for a missing key), fields in the pipeline's order. */
function fromEntity(e: Entity): LiveProfile | undefined {
  if (typeof e.customerId !== 'string' || e.customerId === '') return undefined;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(FIELDS)) {
    const v = e[k];
    if (v === undefined || v === null) continue;
    out[k] = v;
  }
  for (const k of ['topCategories', 'cartProductIds']) if (out[k] === undefined) out[k] = [];
  return out as unknown as LiveProfile;
}

/** What the job writes with a task's checkpoint: the latest profile of each customer changed since the last one. */
export function profileViews(job: string, partition: number, profiles: readonly LiveProfile[]): CheckpointViews {
  return {
    indexes: Object.fromEntries(RFM_SEGMENTS.map((s) => [s, segmentKey(job, partition, s)])),
    writes: profiles.map((p) => ({ key: profileKey(job, partition, p.customerId), id: p.customerId, member: p.segment ?? null, fields: profileToHash(p) })),
  };
}

/** The commands the reader uses besides redis-om's (node-redis v1 single-node or cluster client). */
export interface LiveProfilesClient extends RedisOmHashSurface {
  zCard(key: string): Promise<number>;
  zRangeByLex(key: string, min: string, max: string, options?: { LIMIT?: { offset: number; count: number } }): Promise<string[]>;
}

/** Reads the profiles a job wrote, from any instance. */
export class RedisProfileStore implements ProfileStore {
  private readonly repos = new Map<number, Repository<ProfileEntity>>();

  /**
   * `partitions`: how many partitions the job's inputs have (read once from Kafka's metadata; a
   * repartitioning is seen on restart).
   */
  constructor(
    private readonly client: LiveProfilesClient,
    private readonly job: string,
    private readonly partitions: () => Promise<number>,
  ) {}

  private repo(partition: number): Repository<ProfileEntity> {
    let r = this.repos.get(partition);
    if (r === undefined) this.repos.set(partition, (r = new Repository<ProfileEntity>(liveProfileSchema(this.job, partition), asRedisOmConnection(this.client))));
    return r;
  }

  private async all(): Promise<number[]> {
    const n = await this.partitions();
    return Array.from({ length: n }, (_, i) => i);
  }

  async get(customerId: string): Promise<LiveProfile | undefined> {
    const found = (await Promise.all((await this.all()).map(async (p) => fromEntity(await this.repo(p).fetch(customerId))))).filter((x): x is LiveProfile => x !== undefined);
    return found.sort((a, b) => b.asOf - a.asOf)[0];
  }

  async segmentSizes(): Promise<Record<RfmSegment, number>> {
    const out = emptySegmentSizes();
    const partitions = await this.all();
    const counts = await Promise.all(RFM_SEGMENTS.map((s) => Promise.all(partitions.map((p) => this.client.zCard(segmentKey(this.job, p, s))))));
    RFM_SEGMENTS.forEach((s, i) => (out[s] = counts[i]!.reduce((a, b) => a + b, 0)));
    return out;
  }

  async segmentMembers(segment: RfmSegment, cursor: string | null, limit: number): Promise<SegmentPage> {
    if (!isRfmSegment(segment)) return { customerIds: [], next: null };
    const min = cursor === null ? '-' : `(${cursor}`;
    // Each partition's next `limit + 1` after the cursor; merged, the first `limit + 1` of all are the page and whether there is more.
    const lists = await Promise.all((await this.all()).map((p) => this.client.zRangeByLex(segmentKey(this.job, p, segment), min, '+', { LIMIT: { offset: 0, count: limit + 1 } })));
    const merged = lists.flat().sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const customerIds = merged.slice(0, limit);
    return { customerIds, next: merged.length > limit ? customerIds[customerIds.length - 1]! : null };
  }
}
