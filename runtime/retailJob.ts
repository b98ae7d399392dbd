import type { Kafka } from 'kafkajs';
import type { CampaignSource } from '../pipelines/campaign.js';
import type { RetailDeps } from '../pipelines/deps.js';
import { GLOBAL_BOUGHT_TOGETHER, isWatermarkMark, watermarkMark, type BoughtTogetherLookup } from '../pipelines/boughtTogether.js';
import { buildRetail, RETAIL_SINKS } from '../pipelines/retail.js';
import { retailSourceTiming, TOPICS } from '../pipelines/sources.js';
import type { AttributionEvent, BasketMember, BoughtTogetherChange, Decision, Offer, RecommendationUpdate, Trigger } from '../schemas/index.js';
import { pipeline } from '../stream/stream.js';
import { renderProfile, type LiveProfile, type ProfileState } from '../pipelines/profile.js';
import { PROFILE_STATE, PROFILE_STEP } from '../pipelines/retail.js';
import { staticCampaign } from '../pipelines/campaign.js';
import { fromPlain } from '../engine/plain.js';
import type { StateSnapshot } from '../engine/state.js';
import type { SegmentTally } from './segmentSizes.js';
import type { JobOptions, JobSink, JobView } from './kafka/job.js';
import { profileViews } from './redis/liveProfiles.js';
import type { RedisCommands } from './redis/checkpoints.js';
import type { TopicsConfig } from './kafka/topics.js';

const NO_REFERENCE_DATA: RetailDeps = { stores: [], profiles: new Map() };

/** Deterministic id of a trigger (triggers carry no id field of their own). */
export function triggerId(t: Trigger): string {
  return `${t.scene}|${t.customerId}|${t.ts}|${t.storeId ?? ''}`;
}

export interface RetailJobConfig {
  /** Stores and customer profiles (default none: no store scenes, and no consent, so nothing is sent). */
  readonly deps?: RetailDeps;
  readonly campaign?: CampaignSource;
  readonly kafka: Kafka;
  readonly redis: RedisCommands;
  /** Consumer group and checkpoint namespace (default `scenestream-retail`). */
  readonly name?: string;
  /** Prefix of every topic, input and output (tests use a unique one). */
  readonly topicsPrefix?: string;
  readonly tickMs?: number;
  readonly idleTimeoutMs?: number;
  readonly log?: JobOptions['log'];
  /** Topics created or checked at start (default: neither). */
  readonly topics?: TopicsConfig;
  /**
   * The global bought-together (docs/runtime.md): with a table, the job repartitions the baskets by
   * product through `<prefix>retail-basket-members`, counts each product in one task, writes the
   * lists to the compacted `<prefix>retail-bought-together`, and the recommendation step reads
   * `table`, which the caller fills from that topic (`followBoughtTogether`). Without: each task
   * counts the baskets of its own partitions (per-task counts, as embedded mode per process).
   */
  readonly boughtTogether?: BoughtTogetherLookup;
  /**
   * How the recommendation step reads `boughtTogether` (`BOUGHT_TOGETHER_READS`, default `latest`):
   * `exact` counts in event-time order behind the origins' announced watermarks and holds each
   * customer's events until the table's watermark (`boughtTogether.watermark`) reaches them, then
   * reads as of their ts (docs/runtime.md, "Exact reads").
   */
  readonly boughtTogetherReads?: 'exact' | 'latest';
}

/** The internal topics of the global bought-together, under the job's topic prefix. */
export function boughtTogetherTopics(prefix = ''): { readonly repartition: string; readonly changelog: string } {
  return { repartition: `${prefix}retail-basket-members`, changelog: `${prefix}retail-bought-together` };
}

/**
 * The global bought-together's sinks: basket members keyed by product, and the compacted changelog.
 * An origin's watermark mark goes to every partition of the repartition topic; a counting task's
 * lists and marks to its own partition of the changelog, so a reader sees the lists a mark covers
 * before the mark.
 */
function boughtTogetherSinks(prefix: string): Record<string, JobSink> {
  const topics = boughtTogetherTopics(prefix);
  const members: JobSink = {
    topic: topics.repartition,
    schema: 'BasketMember',
    key: (v) => (v as BasketMember).productId,
    id: (v) => {
      const m = v as BasketMember;
      return isWatermarkMark(m) ? `mark|${m.origin}|${m.ts}` : `${m.origin}|${m.seq}|${m.productId}`;
    },
    partition: (v) => (isWatermarkMark(v as BasketMember) ? 'all' : undefined),
  };
  const changes: JobSink = {
    topic: topics.changelog,
    schema: 'BoughtTogetherChange',
    key: (v) => (v as BoughtTogetherChange).productId,
    id: (v) => {
      const c = v as BoughtTogetherChange;
      return `${c.productId}|${c.ts}|${c.items.map((i) => `${i.productId}:${i.count}`).join(',')}`;
    },
    compacted: true,
    partition: (_v, task, partitions) => (task < partitions ? task : undefined),
  };
  return { [GLOBAL_BOUGHT_TOGETHER.membersOut]: members, [GLOBAL_BOUGHT_TOGETHER.changes]: changes };
}

/** The retail job's outputs: pipeline sink name -> topic, key and id. */
function retailSinks(prefix: string): Record<string, JobSink> {
  const triggers: JobSink = {
    topic: `${prefix}triggers`,
    schema: 'Trigger',
    key: (v) => (v as Trigger).customerId,
    id: (v) => triggerId(v as Trigger),
  };
  const decisions: JobSink = {
    topic: `${prefix}decisions`,
    schema: 'Decision',
    key: (v) => (v as Decision).customerId,
    id: (v) => (v as Decision).decisionId,
  };
  const offers: JobSink = {
    topic: `${prefix}offers`,
    schema: 'Offer',
    key: (v) => (v as Offer).customerId,
    id: (v) => (v as Offer).offerId,
  };
  const recommendations: JobSink = {
    topic: `${prefix}recommendations`,
    schema: 'RecommendationUpdate',
    key: (v) => (v as RecommendationUpdate).customerId,
    id: (v) => {
      const u = v as RecommendationUpdate;
      return `${u.customerId}|${u.storeId ?? ''}|${u.ts}`;
    },
  };
  const attribution: JobSink = {
    topic: `${prefix}attribution`,
    schema: 'AttributionEvent',
    key: (v) => (v as AttributionEvent).customerId,
    id: (v) => (v as AttributionEvent).decisionId,
  };
  return {
    [RETAIL_SINKS.triggers]: triggers,
    [RETAIL_SINKS.decisions]: decisions,
    [RETAIL_SINKS.offers]: offers,
    [RETAIL_SINKS.recommendations]: recommendations,
    [RETAIL_SINKS.attribution]: attribution,
  };
}

/**
 * Inputs are keyed by customer (SCENES.md: every scene is per customer), so a record must carry its
 * `customerId` as its Kafka key; an anonymous till transaction (no customer) may carry any key (the
 * simulator uses its storeId): it only feeds bought-together counts.
 */
const byCustomer = (v: unknown): string | undefined => (v as { customerId: string | null }).customerId ?? undefined;

function retailSources(prefix: string): JobOptions['sources'] {
  return {
    [TOPICS.clickstream]: { topic: `${prefix}${TOPICS.clickstream}`, schema: 'ClickEvent', key: byCustomer },
    [TOPICS.pos]: { topic: `${prefix}${TOPICS.pos}`, schema: 'PosEvent', key: byCustomer },
    [TOPICS.location]: { topic: `${prefix}${TOPICS.location}`, schema: 'LocationEvent', key: byCustomer },
  };
}

/**
 * The retail job's topics: inputs and outputs (each input also has its `<input>.dlq`), and the
 * global bought-together's internal ones: the repartition topic (an input of the job too, so
 * co-partitioned with the inputs and never deleted by age) and the compacted changelog.
 */
export function retailTopics(prefix = ''): { readonly inputs: string[]; readonly outputs: string[]; readonly repartitions: string[]; readonly changelogs: string[] } {
  const internal = boughtTogetherTopics(prefix);
  return { inputs: Object.values(retailSources(prefix)).map((s) => s.topic), outputs: Object.values(retailSinks(prefix)).map((s) => s.topic), repartitions: [internal.repartition], changelogs: [internal.changelog] };
}

/**
 * The live customer profiles, written to Redis with each checkpoint (`redis/liveProfiles.ts`); after
 * Redis lost a task, every profile of its state again (rendered with the campaign's current profile
 * parameters).
 */
export function profilesView(job: string, campaign: CampaignSource = staticCampaign()): JobView {
  return {
    id: (v) => (v as LiveProfile).customerId,
    writes: (partition, values) => profileViews(job, partition, values as LiveProfile[]),
    rebuild: (partition, state) => profileViews(job, partition, profilesOfState(state, campaign)),
  };
}

/**
 * The profiles view, also feeding `tally` (the campaign segments' sizes, production.ts): each
 * task's whole state when this instance claims it, its profiles as they are written with each
 * checkpoint, and none of them once the task is released.
 */
export function tallyingProfilesView(view: JobView, tally: SegmentTally, campaign: CampaignSource = staticCampaign()): JobView {
  return {
    ...view,
    writes: (partition, values) => {
      for (const v of values) tally.observe(v as LiveProfile, partition);
      return view.writes(partition, values);
    },
    claimed: (partition, state, owner) => tally.claimed(partition, profilesOfState(state, campaign), owner),
    released: (partition, owner) => tally.released(partition, owner),
  };
}

/** Every customer's live profile held in a task's state, rendered with the campaign's current profile parameters. */
export function profilesOfState(state: StateSnapshot, campaign: CampaignSource = staticCampaign()): LiveProfile[] {
  const params = campaign.current().params.profile;
  return (state.tables[`${PROFILE_STEP}/${PROFILE_STATE}`] ?? []).map(([key, v]) => renderProfile(key, fromPlain(v) as ProfileState, params));
}

/** The retail pipelines as a Kafka job: inputs clickstream, pos, location; outputs per sink; profiles to Redis. */
export function retailJobOptions(c: RetailJobConfig): JobOptions {
  const prefix = c.topicsPrefix ?? '';
  const table = c.boughtTogether;
  const name = c.name ?? 'scenestream-retail';
  const exact = table !== undefined && c.boughtTogetherReads === 'exact';
  const sources = retailSources(prefix);
  const timing = retailSourceTiming(c.idleTimeoutMs !== undefined ? { idleTimeoutMs: c.idleTimeoutMs } : {});
  return {
    name,
    views: { [RETAIL_SINKS.profiles]: profilesView(name, c.campaign) },
    graph: (partition, partitions) => {
      const p = pipeline('retail');
      buildRetail(p, {
        deps: c.deps ?? NO_REFERENCE_DATA,
        ...(c.campaign !== undefined ? { campaign: c.campaign } : {}),
        ...(c.idleTimeoutMs !== undefined ? { sources: { idleTimeoutMs: c.idleTimeoutMs } } : {}),
        ...(table !== undefined ? { globalBoughtTogether: { origin: partition, table, ...(exact ? { reads: 'exact' as const, origins: partitions } : {}) } } : {}),
      });
      return p.build();
    },
    // Exact reads: each origin's progress on its tills to every counting task, and the table's to the recommendation step.
    ...(exact
      ? {
          announce: { source: TOPICS.pos, sink: GLOBAL_BOUGHT_TOGETHER.membersOut, outOfOrdernessMs: timing.outOfOrdernessMs, idleTimeoutMs: timing.idleTimeoutMs, inputs: Object.keys(sources), follows: GLOBAL_BOUGHT_TOGETHER.members, value: watermarkMark },
          externalWatermarks: { [GLOBAL_BOUGHT_TOGETHER.clock]: () => table.watermark ?? -Infinity },
        }
      : {}),
    sources: table === undefined ? sources : { ...sources, [GLOBAL_BOUGHT_TOGETHER.members]: { topic: boughtTogetherTopics(prefix).repartition, schema: 'BasketMember' } },
    sinks: table === undefined ? retailSinks(prefix) : { ...retailSinks(prefix), ...boughtTogetherSinks(prefix) },
    kafka: c.kafka,
    redis: c.redis,
    ...(c.tickMs !== undefined ? { tickMs: c.tickMs } : {}),
    ...(c.log !== undefined ? { log: c.log } : {}),
    ...(c.topics !== undefined ? { topics: c.topics } : {}),
  };
}
