import type { KeyedStream, Pipeline } from '../stream/stream.js';
import type { Decision, Offer, RecommendationUpdate, Trigger } from '../schemas/index.js';
import { attribution, type AttributionEvent, type PurchaseInput, type SegmentChange } from './attribution.js';
import { boughtTogetherClock, buildGlobalBoughtTogether, type BoughtTogetherIndex, type BoughtTogetherLookup, type GlobalBoughtTogetherOptions } from './boughtTogether.js';
import { staticCampaign, type CampaignSource } from './campaign.js';
import { browseAbandonment, browseAbandonmentInput } from './browseAbandonment.js';
import { cartAbandonment, cartAbandonmentInput } from './cartAbandonment.js';
import { commute, commuteInput, timezoneOf } from './commute.js';
import { decide } from './decisions.js';
import type { RetailDeps } from './deps.js';
import { dormantReactivation, dormantReactivationInput, profileLastPurchase } from './dormantReactivation.js';
import { buildRecommendations, recommend, recommendationInput } from './recommendations.js';
import { isKnownCustomer, isPurchase, retailSources, type RetailSourceOptions, type RetailSources } from './sources.js';
import type { RetailParams, SceneParams } from './params.js';
import { customerProfile, customerProfileInput, PROFILE_STATE, type LiveProfile } from './profile.js';
import { liveStoreIndex } from './stores.js';
import { storeProximity, storeProximityInput } from './storeProximity.js';

/** The step id of the live customer profile, and its state (one `ProfileState` per customer, table `<step>/<state>`). */
export const PROFILE_STEP = 'profile';
export { PROFILE_STATE };

/** Sink names of the retail pipelines (also the replay's file names and the Kafka topics). */
export const RETAIL_SINKS = {
  triggers: 'triggers',
  decisions: 'decisions',
  offers: 'offers',
  attribution: 'attribution',
  recommendations: 'recommendations',
  /** Live customer profiles (not a Kafka topic: the job writes them to Redis with its checkpoint). */
  profiles: 'profiles',
} as const;

export interface RetailOptions {
  /** Stores and customer profiles. */
  readonly deps: RetailDeps;
  /** The campaign (scene and decision parameters, offer templates); default: SCENES.md's defaults. */
  readonly campaign?: CampaignSource;
  readonly sources?: RetailSourceOptions;
  /**
   * Kafka mode's global bought-together, instead of the in-process one: the task's baskets go to the
   * repartition sink, its share of the products is counted from the repartition source, and the
   * recommendation step reads `table` (the job-wide table materialised from the changelog). See
   * {@link buildGlobalBoughtTogether}. Absent (embedded, replay): one count per process, read as of
   * event time.
   */
  readonly globalBoughtTogether?: GlobalBoughtTogetherOptions & { readonly table: BoughtTogetherLookup };
}

/** The streams of the retail pipelines, for callers that add their own steps. */
export interface RetailStreams {
  readonly sources: RetailSources;
  readonly triggers: KeyedStream<Trigger>;
  readonly decisions: KeyedStream<Decision>;
  readonly offers: KeyedStream<Offer>;
  readonly attribution: KeyedStream<AttributionEvent>;
  /** Purchases of known customers (checkout clicks and till purchases), keyed by customer. */
  readonly purchases: KeyedStream<PurchaseInput>;
  /** Suggestion updates per customer, and for a store's screens on a proximity trigger there. */
  readonly recommendations: KeyedStream<RecommendationUpdate>;
  /** Each customer's live profile whenever it changes (`profile.ts`). */
  readonly profiles: KeyedStream<LiveProfile>;
  /** The live bought-together table (`index.table()` at the end of a replay); in global mode, of this task's products only. */
  readonly boughtTogether: BoughtTogetherIndex;
}

/**
 * The retail pipelines of SCENES.md on one graph: the five scenes (§3) merged into one trigger
 * stream, one decision per trigger with its offer (§4), and attribution against the holdout group
 * (§6), and recommendations (§5: bought-together counts from till baskets, suggestions per customer,
 * updates for a store's screens when a proximity trigger fires there), and the live customer
 * profile (`profile.ts`: RFM, segment, interests, cart), which also feeds the decision step (the
 * campaign's segment targeting, judged on the profile as of each trigger's ts: `decisions.ts`).
 * Sinks: `triggers`, `decisions`, `offers`, `attribution`, `recommendations`, `profiles`.
 *
 * Every step reads the campaign's current parameters once per record or timer it handles (the
 * scenes, through getters; see `live.ts`), the decision step once per trigger, so a reloaded
 * campaign applies to what is decided next and nothing in flight is lost: the exact semantics
 * are in `campaign.ts` ("Reloading"). Only `decisions.attributionMs` and
 * `recommendations.retentionMs` are read when the graph is built.
 */
export function buildRetail(p: Pipeline, opts: RetailOptions): RetailStreams {
  const campaign = opts.campaign ?? staticCampaign();
  const { params } = campaign.current();
  const live = (): RetailParams => campaign.current().params;
  const scene =
    <K extends keyof SceneParams>(k: K) =>
    (): SceneParams[K] =>
      live().scenes[k];
  const src = retailSources(p, opts.sources);
  const stores = liveStoreIndex(opts.deps.stores, () => live().defaultStoreRadiusM);
  const defaultTimezone = (): string => live().defaultTimezone;

  const triggers = cartAbandonment('cart_abandonment', cartAbandonmentInput(src), scene('cartAbandonment')).mergeKeyed(
    browseAbandonment('browse_abandonment', browseAbandonmentInput(src), scene('browseAbandonment')),
    storeProximity('store_proximity', storeProximityInput(src, scene('storeProximity')), stores, scene('storeProximity')),
    commute('commute', commuteInput(src, scene('commute')), stores, timezoneOf(opts.deps, defaultTimezone), scene('commute')),
    dormantReactivation('dormant_reactivation', dormantReactivationInput(src), profileLastPurchase(opts.deps, params.defaultTimezone), scene('dormantReactivation')),
  );
  triggers.to(RETAIL_SINKS.triggers);

  // The live profile feeds the decision step (segment targeting, judged as of each trigger's ts).
  const profiles = customerProfile(PROFILE_STEP, customerProfileInput(src, triggers), { profiles: opts.deps.profiles, cartTimeoutMs: () => live().scenes.cartAbandonment.timeoutMs }, () => live().profile);
  profiles.to(RETAIL_SINKS.profiles);

  const { decisions, decided, offers } = decide(
    'decide',
    triggers,
    opts.deps.profiles,
    () => {
      const c = campaign.current();
      return { params: c.params.decisions, templates: c.templates, defaultTimezone: c.params.defaultTimezone, segments: c.segments, targeting: c.targeting };
    },
    { ...(opts.deps.products !== undefined ? { products: opts.deps.products } : {}), stores: opts.deps.stores },
    profiles,
  );
  decisions.to(RETAIL_SINKS.decisions);
  const keyedOffers = offers as KeyedStream<Offer>;
  keyedOffers.to(RETAIL_SINKS.offers);

  const purchases: KeyedStream<PurchaseInput> = src.clicks
    .filter((e) => e.type === 'checkout', { name: 'purchases.checkouts' })
    .keyBy((e) => e.customerId, { name: 'purchases.checkouts_by_customer' })
    .mergeKeyed(
      src.pos
        .filter(isKnownCustomer, { name: 'purchases.known' })
        .filter(isPurchase, { name: 'purchases.tills' })
        .keyBy((e) => e.customerId, { name: 'purchases.tills_by_customer' }),
    );
  // Each decision's RFM segment as of its ts, from the live profile (`attribution.ts`).
  const segments = profiles.mapValues((pr): SegmentChange => ({ customerId: pr.customerId, asOf: pr.asOf, segment: pr.segment ?? null }), { name: 'attribute.segments' });
  const attributed = attribution('attribute', decided, purchases, params.decisions.attributionMs, { segments, discountPct: (s) => campaign.current().templates[s].discountPct });
  attributed.to(RETAIL_SINKS.attribution);

  const global = opts.globalBoughtTogether;
  let recs: { readonly updates: KeyedStream<RecommendationUpdate>; readonly index: BoughtTogetherIndex };
  if (global === undefined) recs = buildRecommendations(src, triggers, () => live().recommendations);
  else {
    const { index } = buildGlobalBoughtTogether(p, src.pos, { ...opts.sources, ...global });
    // Exact reads: the step's watermark includes the table's, so a customer's events wait until every basket up to their ts is counted and read.
    const input = global.reads === 'exact' ? recommendationInput(src, triggers).mergeKeyed(boughtTogetherClock(p)) : recommendationInput(src, triggers);
    recs = { updates: recommend('recommend', input, global.table, () => live().recommendations), index };
  }
  recs.updates.to(RETAIL_SINKS.recommendations);

  return { sources: src, triggers, decisions, offers: keyedOffers, attribution: attributed, purchases, recommendations: recs.updates, profiles, boughtTogether: recs.index };
}
