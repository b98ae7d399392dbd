import type { ProcessContext } from '../operators/keyedProcess.js';
import { ssError } from '../schemas/errors.js';
import type { KeyedStream } from '../stream/stream.js';
import { SCENES, type AttributionEvent, type AttributionGroup, type ClickEvent, type Decision, type Scene, type SuppressionReason } from '../schemas/index.js';
import { DEFAULT_PARAMS } from './params.js';
import { isPurchase, type KnownPosEvent } from './sources.js';

/** What attribution reads besides decisions: clicks and till transactions of known customers. */
export type PurchaseInput = ClickEvent | KnownPosEvent;

/**
 * One decision's attribution window, closed, and the two groups compared (customers who were sent
 * the offer, and the global control group): contracts of their own (`AttributionEvent.avsc`), since
 * the production job produces them to the `attribution` topic and sums them across instances.
 */
export type { AttributionEvent, AttributionGroup };

/**
 * The revenue of a purchase: a till transaction's `total`; a checkout click's
 * `price * (quantity ?? 1)`, or 0 when the click carries no price (the clickstream does not always
 * know the order value).
 */
export function purchaseRevenue(e: PurchaseInput): number {
  if ('items' in e) return e.total;
  return e.price === null ? 0 : e.price * (e.quantity ?? 1);
}

/**
 * What attribution reads of a decision: the {@link Decision} and, inside the retail graph, whether
 * a holdout decision would have been sent (`DecidedRecord.wouldSend` of `decisions.ts`); absent
 * (a bare decision), it counts as would-have-been-sent, as before the flag existed.
 */
export type AttributedDecision = Decision & { readonly wouldSend?: boolean };

/** A decision attribution follows: sent, or suppressed as holdout (the control group). */
export const isAttributed = (d: Decision): boolean => d.outcome === 'sent' || d.reason === 'holdout';

interface Open {
  readonly decisionId: string;
  readonly scene: Scene;
  readonly customerId: string;
  readonly group: AttributionGroup;
  readonly ts: number;
  /** The offer's discount in percent (0 for holdout); absent in state written before it was recorded. */
  readonly discountPct?: number;
  /** Holdout: the later checks would have sent it; absent in state written before it was recorded (true). */
  readonly wouldSend?: boolean;
  converted: boolean;
  revenue: number;
}

/** A customer's RFM segment from the live profile, as of `asOf` (null: no purchase known). */
export interface SegmentChange {
  readonly customerId: string;
  readonly asOf: number;
  readonly segment: string | null;
}

/** What attribution reads of the campaign when a decision arrives: the discount of the scene's offer. */
export type DiscountOf = (scene: Scene) => number;

/** Optional inputs of {@link attribution}: the live profiles' segments, and the offers' discount. */
export interface AttributionOptions {
  /** Each customer's segment as it changes (the profile step's output, mapped); absent: every segment is null. */
  readonly segments?: KeyedStream<SegmentChange>;
  /** Default: 0 for every scene (no discount cost). */
  readonly discountPct?: DiscountOf;
}

interface PendingPurchase {
  readonly ts: number;
  readonly revenue: number;
}

type In = AttributedDecision | PurchaseInput | SegmentChange;
const isDecision = (x: In): x is AttributedDecision => 'decisionId' in x;
const isSegmentChange = (x: In): x is SegmentChange => 'asOf' in x;

/** The segment as of `ts`: the last change at or before it (in arrival order among equal `asOf`). */
function segmentAt(changes: readonly SegmentChange[], ts: number): string | null {
  let found: SegmentChange | undefined;
  for (const c of changes) if (c.asOf <= ts && (found === undefined || c.asOf >= found.asOf)) found = c;
  return found?.segment ?? null;
}

/**
 * SCENES.md §6, attribution, per customer over decisions and purchases.
 *
 * A decision that was sent, or suppressed as `holdout`, converts if the customer makes a purchase
 * (SCENES.md §1: a checkout click, or a till transaction with an item of quantity > 0) in
 * `(decision.ts, decision.ts + windowMs]`: a purchase at exactly the decision's ts does not count,
 * one at exactly `+ windowMs` does. Other suppressed decisions are not attributed.
 *
 * Purchases are applied in event time once the watermark passes them (every decision before them
 * has arrived by then); a timer at `decision.ts + windowMs` closes the window, after applying every
 * purchase up to it, and emits one {@link AttributionEvent}. One purchase converts **every** open
 * decision of the customer whose window holds it (no last-touch: each scene is measured on its
 * own), and its revenue counts once in each of them, so revenue summed across decisions can count
 * one purchase more than once. A record behind the watermark is applied at once; a late decision
 * misses the purchases already applied before it came.
 *
 * Each closed window also says the customer's RFM segment as of the decision's ts (the last
 * segment change of the live profile with `asOf <= decision.ts`, looked up when the window closes,
 * by which time every profile up to then has arrived: deterministic however records interleave),
 * and the offer's discount in percent as the campaign had it when the decision arrived, and
 * whether a holdout decision would have been sent (`wouldSend`, from the decision step: the
 * measurement's control arm; true for a sent one and for a decision without the flag).
 *
 * State per customer: open decisions (closed and dropped at their timer), purchases not yet
 * passed by the watermark, both bounded by the window; and the segment changes of the last window
 * plus the one before (one small record for a customer with no decision open).
 *
 * ```text
 * decision(sent)@0   checkout@0 (not counted)   till@24h (counts)   timer@24h -> {converted, revenue}
 * ```
 */
export function attribution(
  stepId: string,
  decisions: KeyedStream<AttributedDecision>,
  events: KeyedStream<PurchaseInput>,
  windowMs: number = DEFAULT_PARAMS.decisions.attributionMs,
  opts: AttributionOptions = {},
): KeyedStream<AttributionEvent> {
  if (!(Number.isSafeInteger(windowMs) && windowMs > 0)) {
    throw ssError('SS_ERR_CONFIG', `attribution window is ${String(windowMs)}; it must be an integer > 0 ms`, { stepId, field: 'decisions.attributionMs' });
  }
  const attributed = decisions.filter(isAttributed);
  const purchases = events.filter(isPurchase);
  const discountOf = opts.discountPct ?? (() => 0);
  const inputs: KeyedStream<In> = opts.segments === undefined ? attributed.mergeKeyed(purchases) : attributed.mergeKeyed<PurchaseInput | SegmentChange>(purchases, opts.segments);
  return inputs.process<AttributionEvent>(stepId, (state) => {
    const open = state.list<Open>('open');
    const pending = state.list<PendingPurchase>('purchases');
    const segments = state.list<SegmentChange>('segments');

    /** Converts, in place (the step owns its open windows), every window of the key the purchase falls in. */
    const applyPurchase = (key: string, pu: PendingPurchase): void => {
      let changed = false;
      for (const o of open.get(key)) {
        if (!(pu.ts > o.ts && pu.ts <= o.ts + windowMs)) continue;
        o.converted = true;
        o.revenue += pu.revenue;
        changed = true;
      }
      if (changed) open.touch(key);
    };

    /** Applies the pending purchases up to `upTo`, then closes the windows that end by then. */
    const advance = (upTo: number, ctx: ProcessContext<AttributionEvent>): void => {
      const key = ctx.key;
      const list = pending.get(key);
      const due = list.filter((x) => x.ts <= upTo).sort((a, b) => a.ts - b.ts);
      if (due.length > 0) {
        pending.set(
          key,
          list.filter((x) => x.ts > upTo),
        );
        for (const pu of due) applyPurchase(key, pu);
      }
      const all = open.get(key);
      const closing = all.filter((o) => o.ts + windowMs <= upTo);
      if (closing.length === 0) return;
      open.set(
        key,
        all.filter((o) => o.ts + windowMs > upTo),
      );
      const changes = segments.get(key);
      for (const o of closing) {
        const end = o.ts + windowMs;
        const segment = segmentAt(changes, o.ts);
        ctx.emit({ decisionId: o.decisionId, scene: o.scene, customerId: o.customerId, group: o.group, converted: o.converted, revenue: o.revenue, ts: end, decisionTs: o.ts, segment, discountPct: o.discountPct ?? 0, wouldSend: o.wouldSend ?? true }, end);
      }
      pruneSegments(key, upTo - windowMs);
    };

    /** Drops the segment changes no open or future decision can need: all but the last at or before `cutoff`, and those after it. */
    const pruneSegments = (key: string, cutoff: number): void => {
      const changes = segments.get(key);
      if (changes.length < 2) return;
      let keepFrom = -1;
      for (let i = 0; i < changes.length; i++) if (changes[i]!.asOf <= cutoff && (keepFrom < 0 || changes[i]!.asOf >= changes[keepFrom]!.asOf)) keepFrom = i;
      if (keepFrom <= 0) return;
      const last = changes[keepFrom]!;
      const kept = [last, ...changes.filter((c, i) => i !== keepFrom && c.asOf > cutoff)];
      if (kept.length < changes.length) segments.set(key, kept);
    };

    return {
      onElement(x, ctx) {
        if (isSegmentChange(x)) {
          const changes = segments.get(ctx.key);
          const last = changes[changes.length - 1];
          // Only changes matter: the default before any is null (no purchase known).
          if (last === undefined ? x.segment !== null : last.segment !== x.segment || x.asOf < last.asOf) segments.add(ctx.key, { customerId: x.customerId, asOf: x.asOf, segment: x.segment });
          return;
        }
        if (isDecision(x)) {
          const sent = x.outcome === 'sent';
          open.add(ctx.key, {
            decisionId: x.decisionId,
            scene: x.scene,
            customerId: x.customerId,
            group: sent ? 'sent' : 'holdout',
            ts: x.ts,
            discountPct: sent ? discountOf(x.scene) : 0,
            wouldSend: sent || (x.wouldSend ?? true),
            converted: false,
            revenue: 0,
          });
          ctx.registerEventTimer(x.ts + windowMs, 'close');
          return;
        }
        const pu: PendingPurchase = { ts: x.ts, revenue: purchaseRevenue(x) };
        if (x.ts <= ctx.watermark) {
          applyPurchase(ctx.key, pu);
          return;
        }
        pending.add(ctx.key, pu);
        ctx.registerEventTimer(x.ts, 'purchase');
      },
      onEventTimer(ts, _tag, ctx) {
        advance(ts, ctx);
      },
    };
  });
}

/** The attribution step of the retail pipeline (step id `attribute`: step ids share one namespace with sink names, so `attribution` stays free for a sink). */
export function buildAttribution(decisions: KeyedStream<AttributedDecision>, events: KeyedStream<PurchaseInput>, windowMs?: number, opts?: AttributionOptions): KeyedStream<AttributionEvent> {
  return attribution('attribute', decisions, events, windowMs, opts);
}

/** SCENES.md §7's per-scene attribution. */
export interface SceneAttribution {
  readonly sent: number;
  readonly sentConverted: number;
  readonly holdout: number;
  readonly holdoutConverted: number;
  /**
   * Conversion rate of the sent group minus that of the holdout group; a group with no decisions
   * has rate 0 (so uplift is the other group's rate, or its negation, and 0 when both are empty).
   */
  readonly uplift: number;
}

/** Attribution of a scene with the revenue of converting purchases (§6), which §7's file leaves out. */
export interface SceneAttributionTotals extends SceneAttribution {
  /** Revenue of converting purchases, per decision converted (see {@link attribution}). */
  readonly sentRevenue: number;
  readonly holdoutRevenue: number;
}

/** SCENES.md §7's `summary.json`, one entry per scene of §3 (all five, zeros included). */
export interface Summary {
  readonly scenes: Record<Scene, SceneSummary>;
}

/**
 * Suppressed decisions by reason: SCENES.md §4's four always, `segment` (issue 13) only in the
 * summary of a campaign whose offers target or exclude segments, so that a summary without them
 * keeps §7's shape.
 */
export type SuppressedCounts = Record<Exclude<SuppressionReason, 'segment'>, number> & { segment?: number };

export interface SceneSummary {
  readonly triggers: number;
  readonly sent: number;
  readonly suppressed: SuppressedCounts;
  readonly attribution: SceneAttribution;
}

const rate = (n: number, d: number): number => (d === 0 ? 0 : n / d);

/** Two totals of one scene as one: counts and revenue add, uplift follows from the sums (partitions, instances). */
export function mergeAttribution(a: SceneAttributionTotals, b: SceneAttributionTotals): SceneAttributionTotals {
  const sent = a.sent + b.sent;
  const holdout = a.holdout + b.holdout;
  const sentConverted = a.sentConverted + b.sentConverted;
  const holdoutConverted = a.holdoutConverted + b.holdoutConverted;
  return {
    sent,
    sentConverted,
    holdout,
    holdoutConverted,
    uplift: rate(sentConverted, sent) - rate(holdoutConverted, holdout),
    sentRevenue: a.sentRevenue + b.sentRevenue,
    holdoutRevenue: a.holdoutRevenue + b.holdoutRevenue,
  };
}

/** The running totals of one scene after one more closed window (pure; the live step and {@link summarise} share it). */
export function addAttribution(t: SceneAttributionTotals, e: AttributionEvent): SceneAttributionTotals {
  const sent = e.group === 'sent';
  return mergeAttribution(t, {
    sent: sent ? 1 : 0,
    sentConverted: sent && e.converted ? 1 : 0,
    holdout: sent ? 0 : 1,
    holdoutConverted: !sent && e.converted ? 1 : 0,
    uplift: 0,
    sentRevenue: sent ? e.revenue : 0,
    holdoutRevenue: sent ? 0 : e.revenue,
  });
}

export const EMPTY_ATTRIBUTION: SceneAttributionTotals = { sent: 0, sentConverted: 0, holdout: 0, holdoutConverted: 0, uplift: 0, sentRevenue: 0, holdoutRevenue: 0 };

/** Per-scene attribution totals with revenue, all five scenes present. */
export function attributionTotals(events: Iterable<AttributionEvent>): Record<Scene, SceneAttributionTotals> {
  const out = Object.fromEntries(SCENES.map((s) => [s, EMPTY_ATTRIBUTION])) as Record<Scene, SceneAttributionTotals>;
  for (const e of events) out[e.scene] = addAttribution(out[e.scene], e);
  return out;
}

/**
 * SCENES.md §7's `summary.json` from the decisions and the closed attribution windows: per scene
 * `triggers` (= decisions, one per trigger), `sent`, `suppressed` by reason, and `attribution`
 * (sent, sentConverted, holdout, holdoutConverted, uplift): exactly §7's shape, so the revenue of §6
 * is not in it (see {@link attributionTotals}); `segmentReason` adds `suppressed.segment` (a
 * campaign with targeting; see {@link SuppressedCounts}). Pure: replay calls it once at the end of input.
 */
export function summarise(decisions: Iterable<Decision>, events: Iterable<AttributionEvent>, opts: { readonly segmentReason?: boolean } = {}): Summary {
  const totals = attributionTotals(events);
  const withSegment = opts.segmentReason === true;
  const counts = Object.fromEntries(
    SCENES.map((s) => [s, { triggers: 0, sent: 0, suppressed: { holdout: 0, no_consent: 0, quiet_hours: 0, frequency_cap: 0, ...(withSegment ? { segment: 0 } : {}) } }]),
  ) as Record<Scene, { triggers: number; sent: number; suppressed: SuppressedCounts }>;
  for (const d of decisions) {
    const c = counts[d.scene];
    c.triggers++;
    if (d.outcome === 'sent') c.sent++;
    else if (d.reason === 'segment') c.suppressed.segment = (c.suppressed.segment ?? 0) + 1;
    else if (d.reason !== null) c.suppressed[d.reason]++;
  }
  // A reload may have added targeting the option did not know of: then every scene has the count.
  if (!withSegment && SCENES.some((s) => counts[s].suppressed.segment !== undefined)) for (const s of SCENES) counts[s].suppressed.segment ??= 0;
  const scenes = Object.fromEntries(
    SCENES.map((s) => {
      const t = totals[s];
      const attribution: SceneAttribution = { sent: t.sent, sentConverted: t.sentConverted, holdout: t.holdout, holdoutConverted: t.holdoutConverted, uplift: t.uplift };
      return [s, { ...counts[s], attribution }];
    }),
  ) as Record<Scene, SceneSummary>;
  return { scenes };
}

/** A scene's running attribution totals, as the live step emits them. */
export interface AttributionTotalsUpdate extends SceneAttributionTotals {
  readonly scene: Scene;
  /** Event time of the window close that changed them. */
  readonly ts: number;
}

/**
 * The live running totals per scene (for metrics and dashboards): keyed by scene, one update per
 * closed window, with {@link addAttribution}. Step id `stepId` holds one small record per scene.
 */
export function attributionRunningTotals(stepId: string, events: KeyedStream<AttributionEvent>): KeyedStream<AttributionTotalsUpdate> {
  return events
    .keyBy((e) => e.scene)
    .process<AttributionTotalsUpdate>(stepId, (state) => {
      const totals = state.value<SceneAttributionTotals>('totals');
      return {
        onElement(e, ctx) {
          const next = addAttribution(totals.get(ctx.key) ?? EMPTY_ATTRIBUTION, e);
          totals.set(ctx.key, next);
          ctx.emit({ scene: e.scene, ts: ctx.ts, ...next });
        },
      };
    });
}
