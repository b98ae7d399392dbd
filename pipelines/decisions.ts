import type { ProcessContext } from '../operators/keyedProcess.js';
import { ssError } from '../schemas/errors.js';
import type { KeyedStream, Stream } from '../stream/stream.js';
import { DELIVERY_CHANNELS, SCENES, type Decision, type DeliveryChannel, type Offer, type Scene, type SuppressionReason, type Trigger } from '../schemas/index.js';
import { isValidTimeZone, offsetMs } from './localTime.js';
import { resolveProfile, type ProfileLookup, type ResolvedProfile } from './deps.js';
import { inHoldout } from './holdout.js';
import { checkOfferTemplates, decisionIdOf, DEFAULT_OFFER_TEMPLATES, offerIdOf, type OfferTemplates } from './offers.js';
import { DEFAULT_PARAMS, type DecisionParams } from './params.js';
import { NO_PRODUCTS, renderTitle, type ProductLookup } from './products.js';
import type { LiveProfile } from './profile.js';
import { referenceFacts, sameFacts, segmentFacts, targetingAllows, type CampaignSegment, type SegmentFacts, type SegmentTargeting } from './segments.js';
import { storeDirectory, type StoreCatalog } from './stores.js';

const DAY_MS = 86_400_000;

/** Everything the decision step is configured by; every field defaults to SCENES.md's. */
export interface DecisionConfig {
  readonly params: DecisionParams;
  /** The offer each scene sends (campaign configuration). */
  readonly templates: OfferTemplates;
  /** Timezone of a customer with no profile (or with a timezone the platform does not know). */
  readonly defaultTimezone: string;
  /** The campaign's named segments (none by default). */
  readonly segments?: readonly CampaignSegment[];
  /** Per scene, the segments its offer targets and excludes (none by default: every customer). */
  readonly targeting?: Readonly<Partial<Record<Scene, SegmentTargeting>>>;
}

export const DECISION_DEFAULTS: DecisionConfig = {
  params: DEFAULT_PARAMS.decisions,
  templates: DEFAULT_OFFER_TEMPLATES,
  defaultTimezone: DEFAULT_PARAMS.defaultTimezone,
};

/**
 * A decision as it travels inside the graph to attribution: the {@link Decision} and, for one
 * suppressed as `holdout`, whether the checks after holdout (consent, quiet hours, frequency cap)
 * would have sent it (issue 14: the measurement's control arm is those only). Never written to a
 * sink: {@link DecisionStreams.decisions} is the Decision alone.
 */
export interface DecidedRecord extends Decision {
  /** `sent`: true; `holdout`: the later checks would have sent it; any other reason: false. */
  readonly wouldSend: boolean;
}

/** The outputs of the decision step: one decision per trigger, one offer per sent decision. */
export interface DecisionStreams {
  /** Keyed by customerId, in the order decided: SCENES.md §4's fields exactly (what the sink writes). */
  readonly decisions: KeyedStream<Decision>;
  /** The same decisions with {@link DecidedRecord.wouldSend}, for attribution. */
  readonly decided: KeyedStream<DecidedRecord>;
  /** The side output `offers` of the step, keyed by customerId. */
  readonly offers: Stream<Offer>;
}

/** Name of the decision step's side output that carries the offers. */
export const OFFERS_OUTPUT = 'offers';

const isTrigger = (e: Trigger | LiveProfile): e is Trigger => 'scene' in e;

const SCENE_RANK: Readonly<Record<Scene, number>> = Object.fromEntries(SCENES.map((s, i) => [s, i])) as Record<Scene, number>;

/**
 * The order triggers are decided in (SCENES.md §4): by ts; equal ts in the order of the scene list
 * of §3; then by storeId, **null first**, then by UTF-16 code units (not locale order, so every
 * machine agrees). Anything still equal keeps arrival order (the sort is stable).
 */
export function compareTriggers(a: Trigger, b: Trigger): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  const r = SCENE_RANK[a.scene] - SCENE_RANK[b.scene];
  if (r !== 0) return r;
  if (a.storeId === b.storeId) return 0;
  if (a.storeId === null) return -1;
  if (b.storeId === null) return 1;
  return a.storeId < b.storeId ? -1 : 1;
}

/** Sent offers of one customer in one local calendar day (days since the epoch, local). */
/** A customer's counted offers of their latest local day; owned by the step and counted in place. */
interface SentToday {
  readonly day: number;
  total: number;
  readonly scenes: Partial<Record<Scene, number>>;
}

/** Local day number and ms since local midnight of an instant in a zone. */
function localTime(ts: number, timeZone: string): { day: number; msOfDay: number } {
  const local = ts + offsetMs(ts, timeZone);
  const day = Math.floor(local / DAY_MS);
  return { day, msOfDay: local - day * DAY_MS };
}

function inLocalWindow(msOfDay: number, startMin: number, endMin: number): boolean {
  const start = startMin * 60_000;
  const end = endMin * 60_000;
  // [start, end), wrapping past midnight when end <= start (22:00-07:00).
  return start <= end ? msOfDay >= start && msOfDay < end : msOfDay >= start || msOfDay < end;
}

function checkConfig(cfg: DecisionConfig, stepId: string): void {
  const p = cfg.params;
  const bad = (field: string, why: string) => ssError('SS_ERR_CONFIG', `${field} ${why}`, { stepId, field });
  if (!(p.holdoutRatio >= 0 && p.holdoutRatio <= 1)) throw bad('decisions.holdoutRatio', `is ${String(p.holdoutRatio)}; it must be in [0, 1]`);
  if (typeof p.holdoutSalt !== 'string') throw bad('decisions.holdoutSalt', 'must be a string');
  for (const scene of SCENES) {
    const ch = p.channels[scene] as DeliveryChannel | undefined;
    if (ch === undefined || !DELIVERY_CHANNELS.includes(ch)) throw bad(`decisions.channels.${scene}`, `is ${String(ch)}; it must be one of ${DELIVERY_CHANNELS.join(', ')}`);
  }
  for (const f of ['startMin', 'endMin'] as const) {
    const v = p.quietHours[f];
    if (!(Number.isInteger(v) && v >= 0 && v <= 1440)) throw bad(`decisions.quietHours.${f}`, `is ${String(v)}; it must be an integer in [0, 1440]`);
  }
  for (const f of ['capPerDay', 'capPerScenePerDay'] as const) {
    if (!(Number.isInteger(p[f]) && p[f] >= 0)) throw bad(`decisions.${f}`, `is ${String(p[f])}; it must be an integer >= 0`);
  }
  if (!isValidTimeZone(cfg.defaultTimezone)) throw bad('defaultTimezone', `"${cfg.defaultTimezone}" is not an IANA time zone this platform knows`);
  checkOfferTemplates(cfg.templates, stepId);
}

/**
 * SCENES.md §4, decisions and offers, per customer over the triggers of every scene.
 *
 * **Order.** Each customer's triggers are buffered and decided once the step's watermark passes
 * their ts (then every trigger with that ts has arrived: the scenes' timers fire before the
 * watermark moves on), sorted by {@link compareTriggers}: ts, scene order of §3, storeId with null
 * first. A trigger that arrives already behind the watermark (later than the inputs' bound) is
 * decided at once, in arrival order, rather than dropped.
 *
 * **Exactly one decision per trigger**, `ts` = the trigger's ts. The first check that applies
 * suppresses:
 * 1. `segment` (issue 13): the scene's offer names segments it `targets` (the customer is in none
 *    of them) or `excludes` (the customer is in one), judged on the customer's live profile as of
 *    the trigger's ts (below). First, so that the holdout group of a targeted offer is drawn from
 *    the customers it targets, like the group it is compared with;
 * 2. `holdout`: {@link inHoldout}(customerId, salt, ratio);
 * 3. `no_consent`: the profile has not consented to the scene's channel (`params.channels`); a
 *    customer with no profile has no consent (SCENES.md §2);
 * 4. `quiet_hours`: the channel is one of `params.quietChannels` (push, sms, email) and local time
 *    is in `[22:00, 07:00)`;
 * 5. `frequency_cap`: the customer already has `capPerDay` (3) sent offers in the local calendar
 *    day of the trigger's ts, or `capPerScenePerDay` (1) of this scene.
 *
 * **A fair control arm** (issue 14). A decision suppressed as `holdout` is also judged by checks
 * 3-5, as if it were not in holdout, and the record kept in the graph says whether it would have
 * been sent ({@link DecidedRecord.wouldSend}); the caps count, per holdout customer, the holdout
 * decisions that would have been sent, exactly as sent offers count for the others (state
 * `holdoutSent`, apart from `sent` so that a reload that moves a customer out of holdout starts
 * from no sent offer). The decision itself is unchanged: still `holdout`. Attribution carries the
 * flag so that the measurement compares the sent arm with the holdout decisions that would have
 * been sent, the same population (docs/measurement.md).
 *
 * Local time is the profile's timezone; a customer without a profile, or whose profile names a zone
 * the platform does not know, uses `defaultTimezone` (rather than dead-lettering every trigger of
 * that customer). Only sent offers count towards the caps. The cap state per customer holds the
 * latest local day only: a new day replaces it; a late trigger of an earlier local day (or a
 * midnight that repeats when clocks go back) is checked against zero and not counted.
 *
 * A sent decision emits an {@link Offer} on the side output `offers` from the scene's template:
 * same ts, `expiresAt = ts + expiresInMs`, the trigger's storeId, productIds and eventId, the title
 * rendered from the template with `lookups` ({@link renderTitle}: the catalogue as it is when the
 * trigger is decided; a title without placeholders never depends on it). Ids are
 * deterministic: `offerId` from (scene, customerId, ts) exactly as §4 says (see
 * {@link offerIdOf} for the consequence), `decisionId` from those and the storeId.
 *
 * **The live profile.** With `liveProfiles` (the profile step's output, keyed by customer), the
 * step keeps, per customer, the {@link SegmentFacts} of each profile version it has not yet
 * passed (usually one or two: a version is dropped once a later one is at or before the
 * watermark, checked at event-time points only, an event-time timer at each new version's asOf
 * and each trigger's ts, so that the state does not depend on batching). A trigger at `t` is judged on the last version with `asOf <= t`: the profile step
 * applies every record up to a watermark before this step's watermark reaches it (the engine fires
 * a step's timers before passing the watermark on), so that version holds every click, till and
 * trigger of the customer with ts <= t, however the input was batched: embedded, replay and the
 * Kafka job decide alike. A customer with no version yet (or a late trigger older than every
 * version kept: the earliest is used) is judged on {@link referenceFacts}.
 *
 * ```text
 * triggers (u): commute@t(s2)  cart@t  commute@t(s1)        watermark passes t
 * decisions:                                                cart@t, commute@t(s1), commute@t(s2)
 * ```
 */
/** The timer tag of a profile version's pruning point (its asOf); a trigger's decision timer has none. */
const PRUNE_TAG = 'prune';

/** A fixed configuration, or a getter read once per trigger (a reloadable campaign). */
export type DecisionConfigSource = DecisionConfig | (() => DecisionConfig);

/** Reference data an offer's title may read (`{product}`, `{store}`...; see `products.ts`). */
export interface TitleLookups {
  readonly products?: ProductLookup;
  readonly stores?: StoreCatalog;
}

export function decide(
  stepId: string,
  triggers: KeyedStream<Trigger>,
  profiles: ProfileLookup,
  config: DecisionConfigSource = DECISION_DEFAULTS,
  lookups: TitleLookups = {},
  liveProfiles?: KeyedStream<LiveProfile>,
): DecisionStreams {
  const current = typeof config === 'function' ? config : () => config;
  const products = lookups.products ?? NO_PRODUCTS;
  const stores = storeDirectory(lookups.stores ?? []);
  checkConfig(current(), stepId);
  const zoneOk = new Map<string, boolean>();
  const zoneOf = (tz: string): string => {
    let ok = zoneOk.get(tz);
    if (ok === undefined) {
      ok = isValidTimeZone(tz);
      zoneOk.set(tz, ok);
    }
    return ok ? tz : current().defaultTimezone;
  };

  const input: KeyedStream<Trigger | LiveProfile> = liveProfiles === undefined ? triggers : triggers.mergeKeyed(liveProfiles);
  const decided = input.process<DecidedRecord>(
    stepId,
    (state) => {
      const pending = state.list<Trigger>('pending');
      const sent = state.value<SentToday>('sent');
      /** A holdout customer's decisions that would have been sent, counted like `sent` (caps of the control arm). */
      const holdoutSent = state.value<SentToday>('holdoutSent');
      /** Profile versions not yet passed, asOf ascending (see "The live profile"). */
      const facts = state.value<SegmentFacts[]>('facts');

      const factsAt = (key: string, t: Trigger, ref: ResolvedProfile): SegmentFacts => {
        const versions = facts.get(key);
        if (versions === undefined || versions.length === 0) return referenceFacts(ref, t.ts);
        let chosen = versions[0]!;
        for (const v of versions) if (v.asOf <= t.ts) chosen = v;
        return chosen;
      };

      /** Drops the versions a later one at or before `wm` supersedes (at event-time points only: a trigger's or a version's ts). */
      const prune = (key: string, versions: SegmentFacts[], wm: number): void => {
        let keepFrom = 0;
        for (let i = 1; i < versions.length; i++) if (versions[i]!.asOf <= wm) keepFrom = i;
        facts.set(key, keepFrom === 0 ? versions : versions.slice(keepFrom));
      };

      const onProfile = (p: LiveProfile, ctx: ProcessContext<DecidedRecord>): void => {
        const next = segmentFacts(p);
        const versions = facts.get(ctx.key) ?? [];
        const last = versions[versions.length - 1];
        if (last !== undefined && sameFacts(last, next)) return;
        // concat and toSpliced make exact-size arrays (a spread keeps room for more: bytes per customer).
        const merged = last !== undefined && last.asOf >= next.asOf ? versions.toSpliced(-1, 1, next) : versions.concat([next]);
        facts.set(ctx.key, merged);
        // Pruned when the watermark passes the new version (an event-time timer), not by the
        // watermark at its arrival: the kept versions, and so the checkpointed state, must not
        // depend on how the input was batched (a replay after a crash writes the same state).
        if (merged.length > 1) ctx.registerEventTimer(next.asOf, PRUNE_TAG);
      };

      const decideOne = (t: Trigger, ctx: ProcessContext<DecidedRecord>): void => {
        // Read per trigger: a reloaded campaign applies to the next trigger decided.
        const { params: p, templates, defaultTimezone, segments = [], targeting = {} } = current();
        const key = ctx.key;
        const channel = p.channels[t.scene];
        const profile = resolveProfile(profiles, t.customerId, defaultTimezone);
        const { day, msOfDay } = localTime(t.ts, zoneOf(profile.timezone));
        const target = targeting[t.scene];
        const outOfSegment = target !== undefined && !targetingAllows(target, segments, factsAt(key, t, profile), t.ts);
        const holdout = !outOfSegment && inHoldout(t.customerId, p.holdoutSalt, p.holdoutRatio);
        const counter = holdout ? holdoutSent : sent;
        const today = counter.get(key);
        const counts = today !== undefined && today.day === day ? today : undefined;
        // Checks 3-5 (SCENES.md §4), for the sent arm and, as if sent, for the holdout group.
        let later: SuppressionReason | null = null;
        if (!profile.consent[channel]) later = 'no_consent';
        else if (p.quietChannels.includes(channel) && inLocalWindow(msOfDay, p.quietHours.startMin, p.quietHours.endMin)) later = 'quiet_hours';
        else if ((counts?.total ?? 0) >= p.capPerDay || (counts?.scenes[t.scene] ?? 0) >= p.capPerScenePerDay) later = 'frequency_cap';
        let reason: SuppressionReason | null;
        if (outOfSegment) reason = 'segment';
        else if (holdout) reason = 'holdout';
        else reason = later;
        const wouldSend = !outOfSegment && later === null; // sent, or held out where it would have been

        const offerId = reason === null ? offerIdOf(t.scene, t.customerId, t.ts) : null;
        ctx.emit(
          {
            decisionId: decisionIdOf(t.scene, t.customerId, t.ts, t.storeId),
            scene: t.scene,
            customerId: t.customerId,
            ts: t.ts,
            outcome: reason === null ? 'sent' : 'suppressed',
            reason,
            channel,
            offerId,
            wouldSend,
          },
          t.ts,
        );
        if (!wouldSend) return;

        // Count it: the latest local day only (older days are dropped, bounding the state). The
        // step owns its counts: a new day is a new object, the same day is counted in place.
        if (today === undefined || day > today.day) counter.set(key, { day, total: 1, scenes: { [t.scene]: 1 } });
        else if (day === today.day) {
          today.total++;
          today.scenes[t.scene] = (today.scenes[t.scene] ?? 0) + 1;
          counter.touch(key);
        }
        if (offerId === null) return;
        const tpl = templates[t.scene];
        const offer: Offer = {
          offerId,
          customerId: t.customerId,
          scene: t.scene,
          campaignId: tpl.campaignId,
          channel,
          storeId: t.storeId,
          productIds: [...t.productIds],
          discountPct: tpl.discountPct,
          title: renderTitle(tpl.title, tpl.fallbackTitle, { productIds: t.productIds, storeName: t.storeId === null ? undefined : stores.get(t.storeId)?.name, discountPct: tpl.discountPct }, products),
          ts: t.ts,
          expiresAt: t.ts + tpl.expiresInMs,
          triggerEventId: t.eventId,
        };
        ctx.side(OFFERS_OUTPUT, offer);
      };

      return {
        onElement(e, ctx) {
          if (!isTrigger(e)) {
            onProfile(e, ctx);
            return;
          }
          const t = e;
          if (t.ts <= ctx.watermark) {
            decideOne(t, ctx);
            return;
          }
          pending.add(ctx.key, t);
          ctx.registerEventTimer(t.ts);
        },
        onEventTimer(ts, tag, ctx) {
          if (tag === PRUNE_TAG) {
            const versions = facts.get(ctx.key);
            if (versions !== undefined && versions.length > 1) prune(ctx.key, versions, ts);
            return;
          }
          const list = pending.get(ctx.key);
          const due = list.filter((t) => t.ts <= ts).sort(compareTriggers);
          if (due.length === 0) return;
          pending.set(
            ctx.key,
            list.filter((t) => t.ts > ts),
          );
          for (const t of due) decideOne(t, ctx);
          const versions = facts.get(ctx.key);
          if (versions !== undefined && versions.length > 1) prune(ctx.key, versions, ts);
        },
      };
    },
    { sideOutputs: [OFFERS_OUTPUT] },
  );
  // The contract (SCENES.md §4) without the in-graph flag: what every sink and caller of `decisions` sees.
  const decisions = decided.mapValues(({ wouldSend: _wouldSend, ...d }): Decision => d, { name: `${stepId}.decisions` });
  return { decisions, decided, offers: decided.sideOutput<Offer>(OFFERS_OUTPUT) };
}

/**
 * The decision step of the retail pipeline (step id `decide`: step ids share one namespace with sink names, and the sink is `decisions`), over the merged triggers of
 * every scene keyed by customerId: `decisions` to the sink `decisions`, `offers` to `offers`.
 */
export function buildDecisions(triggers: KeyedStream<Trigger>, profiles: ProfileLookup, config: DecisionConfigSource = DECISION_DEFAULTS): DecisionStreams {
  return decide('decide', triggers, profiles, config);
}
