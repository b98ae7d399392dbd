/**
 * Customers who respond to offers (issue 14 item 3): each scene's sent offer raises the chance that
 * the customer buys within the attribution window by a configurable effect, and holdout customers
 * are untouched, so that the engine's uplift has something real to find.
 *
 * **How the simulator knows who got an offer.** It runs the retail pipelines itself, in process,
 * over the city's events (`decideInProcess`: the same `buildRetail` graph, campaign and reference
 * data the job will use, on a virtual clock as the replay runs), and reads the decisions and offers.
 * Holdout, consent, quiet hours and frequency caps are therefore exactly the engine's, with no copy
 * of the rules to drift. It then adds one purchase for each responding offer and merges the
 * purchases into the events in ts order. Two passes, so the whole input is held in memory once
 * (as the replay holds it); a closed loop inside a live job would avoid that, but it would learn of
 * a decision only once the watermark passed it, and could not weigh the customer's later offers,
 * which a response converts too (below).
 *
 * **What an effect means.** An effect `e` for scene s is in conversion points: among the scene's
 * sent decisions, the share that convert (a purchase in `(ts, ts + window]`, SCENES.md §6) rises
 * by `e` over what the customers would have done anyway. The simulator knows what they would have
 * done (it wrote the organic purchases), so a decision that converts organically needs no response;
 * of the others, `round(e x sent)` are made to convert by responses, chosen in a seeded random
 * order. A response converts every other sent decision of that customer whose window holds it (one
 * purchase converts every open decision, as attribution counts it), and those conversions count
 * for their own scene, so each scene's uplift is its effect and not its effect plus its
 * neighbours' (`assign`); where the neighbours' responses alone bring a scene past its effect, the
 * plan says so (`realised`). Holdout customers have no sent decisions, hence no responses.
 *
 * **What a response looks like.** Between 2 minutes and a quarter of the window after the offer
 * (6 h by default: push offers are acted on soon or not at all). For an offer naming a store
 * (store proximity, commute): a till transaction there of the offer's products, or of a product of
 * a favourite category, at the offer's discount. Otherwise an online checkout on the customer's
 * channel for the offer's products (or a favourite's), discounted. Both are purchases as SCENES.md
 * §1 defines them. Their eventIds are `sim-<seed hash>-r<n>`.
 *
 * The responses change what the engine decides afterwards only where a purchase matters to a scene
 * (a cart emptied before its deadline, a dormant customer woken up): the final replay's decisions
 * are the first pass's less those few, which the done-when test measures.
 */

import { VirtualClock } from '../engine/clock.js';
import { Executor } from '../engine/executor.js';
import { staticCampaign, type CampaignSource } from '../pipelines/campaign.js';
import { profilesFrom } from '../pipelines/deps.js';
import { buildRetail, RETAIL_SINKS } from '../pipelines/retail.js';
import { isPurchase } from '../pipelines/sources.js';
import { SCENES, type Decision, type Offer, type PosItem, type Scene } from '../schemas/index.js';
import { ssError } from '../schemas/errors.js';
import { pipeline } from '../stream/stream.js';
import { productsIn, type Product } from './catalogue.js';
import { generateEvents, type EventOptions, type SimRecord } from './life.js';
import { posTotal, roundCents } from './money.js';
import { createRng, shortHash, type Rng } from './prng.js';
import type { SimCustomer, World } from './world.js';

/** Per scene, the rise in conversion a sent offer brings, as a fraction (0.05: five points). */
export type ResponseEffects = Readonly<Record<Scene, number>>;

/**
 * A few points each, different per scene: a cart left behind is the strongest intent, a commute
 * offer the weakest.
 */
export const DEFAULT_RESPONSE_EFFECTS: ResponseEffects = {
  cart_abandonment: 0.08,
  browse_abandonment: 0.04,
  store_proximity: 0.06,
  commute: 0.02,
  dormant_reactivation: 0.05,
};

/** What a responding simulation needs besides the world and its days. */
export interface RespondOptions {
  /** Effects by scene; scenes not named keep their default. */
  readonly effects?: Partial<ResponseEffects>;
  /** The campaign the job will run (default: the defaults): holdout, caps, attribution window. */
  readonly campaign?: CampaignSource;
}

/** What the engine decided about a city's events, as far as responses need it. */
export interface EngineDecisions {
  readonly decisions: readonly Decision[];
  readonly offers: readonly Offer[];
}

/** Per scene, how the responses came out against the effect asked for. */
export interface SceneResponse {
  /** The effect asked for (fraction). */
  readonly effect: number;
  /** Sent decisions in the first pass. */
  readonly sent: number;
  /** Of those, converted by organic purchases. */
  readonly organic: number;
  /** Of those, converted only by a response (this scene's or another's). */
  readonly responded: number;
  /** `responded / sent`: the effect realised (0 without sent decisions). */
  readonly realised: number;
  /** Decisions of the scene that responded themselves (the rest of `responded` came from others' responses). */
  readonly responding: number;
}

export interface ResponsePlan {
  /** The response purchases in ts order, eventIds assigned. */
  readonly responses: readonly SimRecord[];
  readonly scenes: Readonly<Record<Scene, SceneResponse>>;
}

/** Validates effects and fills the defaults; throws SS_ERR_CONFIG naming the scene. */
export function resolveEffects(effects: Partial<ResponseEffects> = {}): ResponseEffects {
  for (const [scene, e] of Object.entries(effects)) {
    if (!(SCENES as readonly string[]).includes(scene)) throw ssError('SS_ERR_CONFIG', `effects: unknown scene ${scene} (one of ${SCENES.join(', ')})`, { field: `effects.${scene}` });
    if (typeof e !== 'number' || !(e >= 0 && e <= 1)) throw ssError('SS_ERR_CONFIG', `effects.${scene} must be a fraction in [0, 1], got ${String(e)}`, { field: `effects.${scene}` });
  }
  return { ...DEFAULT_RESPONSE_EFFECTS, ...effects };
}

/**
 * The retail pipelines over `records` (in ts order, as the simulator yields them), with the world's
 * stores and profiles, on a virtual clock that follows event time, every timer flushed at the end:
 * the decisions and offers the job will make of the same input.
 */
export function decideInProcess(world: World, records: Iterable<SimRecord>, campaign: CampaignSource = staticCampaign()): EngineDecisions {
  const p = pipeline('retail');
  buildRetail(p, { deps: { stores: world.stores, profiles: profilesFrom(world.profiles) }, campaign });
  const graph = p.build();
  const decisions: Decision[] = [];
  const offers: Offer[] = [];
  const clock = new VirtualClock(0);
  const keep: Readonly<Record<string, (v: unknown) => void>> = {
    [RETAIL_SINKS.decisions]: (v) => void decisions.push(v as Decision),
    [RETAIL_SINKS.offers]: (v) => void offers.push(v as Offer),
  };
  const exec = new Executor(graph, { clock, sinks: Object.fromEntries(graph.sinks.map((s) => [s.id, keep[s.id] ?? (() => undefined)])) });
  for (const r of records) {
    if (r.value.ts > clock.now()) clock.set(r.value.ts);
    exec.push(r.topic, r.value);
  }
  exec.end();
  return { decisions, offers };
}

/** Sorted organic purchase times per customer. */
function purchaseTimes(records: Iterable<SimRecord>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of records) {
    if (r.topic === 'location' || r.value.customerId === null) continue;
    if (!(r.topic === 'pos' ? isPurchase(r.value) : r.value.type === 'checkout')) continue;
    const list = out.get(r.value.customerId);
    if (list === undefined) out.set(r.value.customerId, [r.value.ts]);
    else list.push(r.value.ts);
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

/** Whether a sorted list holds a time in `(from, to]`. */
function anyIn(sorted: readonly number[] | undefined, from: number, to: number): boolean {
  if (sorted === undefined) return false;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) <= from) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && (sorted[lo] as number) <= to;
}

interface Candidate {
  readonly decision: Decision;
  readonly offer: Offer | undefined;
  readonly organic: boolean;
  /** Seeded draws of this decision: its place in the order responses are given, and when it would buy. */
  readonly draw: number;
  readonly delay: number;
  readonly rng: Rng;
  /** The other sent decisions of the customer (itself included), in ts order. */
  readonly siblings: Candidate[];
  converted: boolean;
}

/**
 * Who responds. Candidates go in the random order of their draws; one not converted yet may respond
 * while its scene has fewer decisions converted by responses than its target, and its purchase
 * converts every sent decision of the customer whose window holds it, counted for their own scenes.
 * A first pass takes only responses that take no scene past its target; then, while a scene is
 * short, the response that takes the others least past theirs (the earliest drawn of equals). So a
 * scene's neighbours' purchases (a commute offer and a cart offer open together) count towards its
 * effect rather than on top of it, as far as the decisions allow; a scene that others' responses
 * take past its target gets none of its own.
 */
function assign(candidates: readonly Candidate[], target: Readonly<Record<Scene, number>>, windowMs: number): { responding: Candidate[]; responded: Record<Scene, number> } {
  const responded = Object.fromEntries(SCENES.map((s) => [s, 0])) as Record<Scene, number>;
  const responding: Candidate[] = [];
  const ordered = [...candidates].sort((x, y) => x.draw - y.draw);
  const converts = (c: Candidate): Candidate[] => {
    const at = c.decision.ts + c.delay;
    return c.siblings.filter((o) => !o.converted && o.decision.ts < at && at <= o.decision.ts + windowMs);
  };
  const overshoot = (hits: readonly Candidate[]): number =>
    SCENES.reduce((sum, s) => sum + Math.max(0, responded[s] + hits.filter((o) => o.decision.scene === s).length - target[s]), 0);
  const respond = (c: Candidate, hits: readonly Candidate[]): void => {
    responding.push(c);
    for (const o of hits) {
      o.converted = true;
      responded[o.decision.scene]++;
    }
  };
  const open = (c: Candidate): boolean => !c.converted && responded[c.decision.scene] < target[c.decision.scene];
  for (const c of ordered) {
    if (!open(c)) continue;
    const hits = converts(c);
    if (overshoot(hits) === 0) respond(c, hits);
  }
  for (;;) {
    let best: { c: Candidate; hits: Candidate[]; cost: number } | undefined;
    for (const c of ordered) {
      if (!open(c)) continue;
      const hits = converts(c);
      const cost = overshoot(hits);
      if (best === undefined || cost < best.cost) best = { c, hits, cost };
    }
    if (best === undefined) break;
    respond(best.c, best.hits);
  }
  return { responding, responded };
}

/**
 * Plans the responses to the first pass's decisions: which sent decisions respond, so that each
 * scene's decisions converted only by responses come to its effect times its sent decisions
 * (rounded), and the purchases they make.
 */
export function planResponses(world: World, organicRecords: Iterable<SimRecord>, engine: EngineDecisions, effects: ResponseEffects, windowMs: number): ResponsePlan {
  const purchases = purchaseTimes(organicRecords);
  const offers = new Map(engine.offers.map((o) => [o.offerId, o]));
  const root = createRng(world.options.seed).fork('respond');
  const sent = engine.decisions.filter((d) => d.outcome === 'sent').sort((a, b) => a.ts - b.ts || (a.decisionId < b.decisionId ? -1 : 1));
  const byCustomer = new Map<string, Candidate[]>();
  const count = Object.fromEntries(SCENES.map((s) => [s, { sent: 0, organic: 0 }])) as Record<Scene, { sent: number; organic: number }>;
  const maxDelay = Math.max(2 * 60_000 + 1, windowMs / 4);
  const candidates = sent.map((d): Candidate => {
    const rng = root.fork(d.decisionId);
    const organic = anyIn(purchases.get(d.customerId), d.ts, d.ts + windowMs);
    let siblings = byCustomer.get(d.customerId);
    if (siblings === undefined) byCustomer.set(d.customerId, (siblings = []));
    const c: Candidate = { decision: d, offer: d.offerId === null ? undefined : offers.get(d.offerId), organic, draw: rng.next(), delay: Math.min(windowMs, Math.round(rng.float(2 * 60_000, maxDelay))), rng, siblings, converted: organic };
    siblings.push(c);
    count[d.scene].sent++;
    if (organic) count[d.scene].organic++;
    return c;
  });
  const target = Object.fromEntries(SCENES.map((s) => [s, Math.round(effects[s] * count[s].sent)])) as Record<Scene, number>;
  const result = assign(candidates, target, windowMs);
  const customers = new Map(world.customers.map((c) => [c.profile.customerId, c]));
  const prices = new Map(world.catalogue.products.map((p) => [p.productId, p]));
  const prefix = `sim-${shortHash(world.options.seed)}-r`;
  const responses = result.responding
    .map((c) => responsePurchase(world, c, customers.get(c.decision.customerId), prices))
    .sort((a, b) => a.value.ts - b.value.ts || (a.value.customerId ?? '').localeCompare(b.value.customerId ?? ''));
  responses.forEach((r, i) => {
    r.value.eventId = `${prefix}${String(i + 1).padStart(7, '0')}`;
  });
  const scenes = Object.fromEntries(SCENES.map((s) => {
    const { sent: n, organic } = count[s];
    const own = result.responding.filter((c) => c.decision.scene === s).length;
    return [s, { effect: effects[s], sent: n, organic, responded: result.responded[s], realised: n > 0 ? result.responded[s] / n : 0, responding: own }];
  })) as Record<Scene, SceneResponse>;
  return { responses, scenes };
}

/** The purchase of a responding decision: at the offer's store if it names one, else online. */
function responsePurchase(world: World, c: Candidate, customer: SimCustomer | undefined, prices: ReadonlyMap<string, Product>): SimRecord {
  const { decision: d, offer, rng } = c;
  const ts = d.ts + c.delay;
  const offered = (offer?.productIds ?? []).map((id) => prices.get(id)).filter((p): p is Product => p !== undefined);
  const favourite = customer?.favouriteCategories[0] ?? rng.pick(world.catalogue.categories);
  const products = offered.length > 0 ? offered : [rng.pick(productsIn(world.catalogue, favourite))];
  const off = 1 - (offer?.discountPct ?? 0) / 100;
  if (offer?.storeId !== null && offer?.storeId !== undefined) {
    const items: PosItem[] = products.map((p) => ({ productId: p.productId, category: p.category, quantity: 1, unitPrice: roundCents(p.price * off) }));
    return { topic: 'pos', value: { eventId: '', customerId: d.customerId, storeId: offer.storeId, ts, items, total: posTotal(items) } };
  }
  const channel = customer?.channel ?? 'app';
  const price = roundCents(products.reduce((sum, p) => sum + p.price, 0) * off);
  return { topic: 'clickstream', value: { eventId: '', customerId: d.customerId, sessionId: `${d.customerId}-offer-${d.ts}`, ts, type: 'checkout', productId: null, category: null, price, quantity: null, channel } };
}

/**
 * `base` (in ts order) with `responses` (in ts order) merged in by ts; at equal ts the base record
 * comes first.
 */
export function* mergeResponses(base: Iterable<SimRecord>, responses: readonly SimRecord[]): Generator<SimRecord> {
  let i = 0;
  for (const r of base) {
    while (i < responses.length && (responses[i] as SimRecord).value.ts < r.value.ts) yield responses[i++] as SimRecord;
    yield r;
  }
  while (i < responses.length) yield responses[i++] as SimRecord;
}

/** A city's events with the responses merged in, and how they came out. */
export interface RespondingEvents {
  readonly plan: ResponsePlan;
  /** A fresh pass over the events (each sink takes its own). */
  events(): Generator<SimRecord>;
}

/**
 * The events of `world` over the options' days, with customers responding to the offers the engine
 * makes of them under `respond.campaign`: generated once and held, decided in process, responses
 * planned and merged.
 */
export function respondingEvents(world: World, opts: EventOptions, respond: RespondOptions = {}): RespondingEvents {
  const effects = resolveEffects(respond.effects);
  const base = [...generateEvents(world, opts)];
  const campaign = respond.campaign ?? staticCampaign();
  const plan = planResponses(world, base, decideInProcess(world, base, campaign), effects, campaign.current().params.decisions.attributionMs);
  return { plan, events: () => mergeResponses(base, plan.responses) };
}
