import { eventTimeOrder } from '../operators/eventTimeOrder.js';
import type { ProcessContext } from '../operators/keyedProcess.js';
import type { KeyedStream, Pipeline, Stream } from '../stream/stream.js';
import { ssError } from '../schemas/errors.js';
import { SCENES, TIERS, type ClickEvent, type Scene, type Trigger } from '../schemas/index.js';
import { resolveProfile, type ProfileLookup } from './deps.js';
import { liveParams, readLive, type Live } from './live.js';
import { levelScore, nextRecencyChange, recencyScore, rfmSegment, RFM_THRESHOLD_DEFAULTS, type RfmSegment, type RfmThresholds } from './rfm.js';
import { isKnownCustomer, isPurchase, retailSources, type KnownPosEvent, type RetailSourceOptions, type RetailSources } from './sources.js';

const DAY = 24 * 60 * 60_000;

export interface ProfileParams extends RfmThresholds {
  /** Purchases older than this (event time) leave frequency and monetary value (default 365 days). */
  readonly horizonMs: number;
  /** Half-life of a category's interest score (default 14 days). */
  readonly interestHalfLifeMs: number;
  /** What one event adds to its category's interest score. */
  readonly interestWeights: { readonly viewed: number; readonly carted: number; readonly bought: number };
  /** Categories shown in a profile (default 3). */
  readonly topCategories: number;
  /** Categories kept per customer, the lowest score dropped first (default 10). */
  readonly maxCategories: number;
  /** Purchase entries kept per customer; beyond it the two oldest are merged (default 64). */
  readonly maxPurchases: number;
  /** Distinct products of an open cart kept per customer (default 50). */
  readonly maxCartItems: number;
}

export const PROFILE_DEFAULTS: ProfileParams = {
  ...RFM_THRESHOLD_DEFAULTS,
  horizonMs: 365 * DAY,
  interestHalfLifeMs: 14 * DAY,
  interestWeights: { viewed: 1, carted: 3, bought: 5 },
  topCategories: 3,
  maxCategories: 10,
  maxPurchases: 64,
  maxCartItems: 50,
};

/**
 * A customer's live profile: flat, so that it is one Redis HASH entity (redis-om) as it is. An
 * absent optional field means "none". `asOf` is the event time the profile is current at.
 */
export interface LiveProfile {
  readonly customerId: string;
  readonly asOf: number;
  /** The later of the last purchase seen in the events and the reference profile's `lastPurchaseTs`. */
  readonly lastPurchaseTs?: number;
  /** Purchases within the horizon `(asOf - horizonMs, asOf]`. */
  readonly frequency: number;
  /** Revenue of those purchases (2 decimals). */
  readonly monetary: number;
  readonly recencyScore: number;
  readonly frequencyScore: number;
  readonly monetaryScore: number;
  /** Absent for a customer with no purchase known. */
  readonly segment?: RfmSegment;
  /** Categories by decayed interest, highest first. */
  readonly topCategories: readonly string[];
  readonly lastStoreId?: string;
  /** `app`, `web`, `mini_program` (clickstream) or `store` (a till transaction). */
  readonly lastChannel?: string;
  /** Distinct products in the open cart, their total quantity, and the products (sorted). */
  readonly cartItems: number;
  readonly cartQuantity: number;
  readonly cartProductIds: readonly string[];
  /** The cart-abandonment deadline pending for the open cart (last add_to_cart + T), if after asOf. */
  readonly cartDeadline?: number;
  readonly tier: string;
  readonly consentPush: boolean;
  readonly consentSms: boolean;
  readonly consentEmail: boolean;
  readonly consentInStore: boolean;
  /** Whether a reference profile exists. */
  readonly knownProfile: boolean;
  /** ts of the last trigger of each scene (cooldowns are computed from them with the live campaign). */
  readonly lastCartAbandonment?: number;
  readonly lastBrowseAbandonment?: number;
  readonly lastStoreProximity?: number;
  readonly lastCommute?: number;
  readonly lastDormantReactivation?: number;
}

/** The profile field holding a scene's last trigger. */
export const LAST_TRIGGER_FIELD: Readonly<Record<Scene, keyof LiveProfile>> = {
  cart_abandonment: 'lastCartAbandonment',
  browse_abandonment: 'lastBrowseAbandonment',
  store_proximity: 'lastStoreProximity',
  commute: 'lastCommute',
  dormant_reactivation: 'lastDormantReactivation',
};

/** What the step reads: clicks, known customers' till transactions, and the scenes' triggers. */
export type ProfileInput = ClickEvent | KnownPosEvent | Trigger;

/**
 * Per customer: numbers and short bounded lists only (another step's heap per customer is being
 * reduced; this one must not grow it).
 */
/**
 * A customer's profile state, compact: the numbers in one array of doubles (an object field holding
 * a timestamp would box it: 12 bytes more per field), the categories as two parallel arrays.
 */
export interface ProfileState {
  /** The numbers, at the indices of {@link N} (every time is >= 0; -1 means none). */
  n: number[];
  /** Purchases in the horizon, flat triples `ts, count, revenue`, ts ascending. */
  p: number[];
  /** Categories, highest interest first (equal: by name), at most `maxCategories`, and their scores as of `n[N.ct]`. */
  cn: string[];
  cv: number[];
  /** Open cart: product, quantity. */
  cart: Array<[string, number]>;
  /** Last store and channel (the latest by `n[N.sts]` / `n[N.cts]` wins; equal ts: the greater name). */
  store: string | null;
  ch: string | null;
}

/**
 * Where each number of {@link ProfileState.n} is: `lp` latest purchase seen in the events; `ct`
 * the time the category scores are as of; `la` last add_to_cart; `lt` the cart-abandonment T
 * when it was applied (its deadline is la + T); `sts`, `cts` when the last store and channel were
 * seen; `rl` the reference profile's lastPurchaseTs; `tier` (index in TIERS), `cs` consent bits
 * (push 1, sms 2, email 4, in_store 8), `known` (0/1), as of the last record; `t` the event time
 * the state is current at; `xt`, `rt` the expiry and recency timers known to be pending (so that
 * a record that leaves them where they are registers nothing); from `tr` on, the last trigger ts
 * per scene in SCENES order.
 */
export const N = { lp: 0, ct: 1, la: 2, lt: 3, sts: 4, cts: 5, rl: 6, tier: 7, cs: 8, known: 9, t: 10, xt: 11, rt: 12, tr: 13 } as const;

/** The state as checkpoints before the compact form wrote it (fields by name), read into the compact form. */
interface NamedProfileState {
  p: number[];
  lp: number;
  cat: Array<[string, number]>;
  ct: number;
  cart: Array<[string, number]>;
  la: number;
  lt: number;
  store: string | null;
  sts: number;
  ch: string | null;
  cts: number;
  tr: number[];
  rl: number;
  tier: number;
  cs: number;
  known: number;
  t: number;
}

/** A state as stored, in either form, in the compact form (a checkpoint of an earlier version holds the named one). */
export function compactProfileState(s: ProfileState | NamedProfileState): ProfileState {
  if ('n' in s) return s;
  const n = [s.lp, s.ct, s.la, s.lt, s.sts, s.cts, s.rl, s.tier, s.cs, s.known, s.t, -1, -1, ...SCENES.map((_, i) => s.tr[i] ?? -1)];
  return { n, p: s.p, cn: s.cat.map((c) => c[0]), cv: s.cat.map((c) => c[1]), cart: s.cart, store: s.store, ch: s.ch };
}

export const PROFILE_STATE = 'customers';
const EXPIRE_TAG = 'expire';
const RECENCY_TAG = 'recency';

const isTrigger = (e: ProfileInput): e is Trigger => 'scene' in e;
/** Evidence first at equal ts: purchases, then other clicks and tills, then triggers (derived from them). */
const rank = (e: ProfileInput): number => (isTrigger(e) ? 2 : isPurchase(e) ? 0 : 1);

function checkParams(stepId: string, p: ProfileParams): void {
  for (const f of ['recencyMs', 'frequency', 'monetary'] as const) {
    const b = p[f];
    if (b.length !== 4 || b.some((x, i) => !(x >= 0) || (i > 0 && x <= b[i - 1]!))) throw ssError('SS_ERR_GRAPH_INVALID', `${f} must be 4 ascending numbers >= 0, got ${JSON.stringify(b)}`, { stepId });
  }
  for (const f of ['horizonMs', 'interestHalfLifeMs', 'topCategories', 'maxCategories', 'maxPurchases', 'maxCartItems'] as const) {
    if (!(p[f] > 0)) throw ssError('SS_ERR_GRAPH_INVALID', `${f} must be > 0, got ${p[f]}`, { stepId });
  }
}

function emptyState(): ProfileState {
  // In N's order: lp ct la lt sts cts rl tier cs known t xt rt, then tr per scene. A literal, not a
  // spread: an array built by spreading (or push, splice, filter) keeps room for more elements,
  // 150 bytes here, and this array lives as long as the customer.
  const n = [-1, -1, -1, 0, -1, -1, -1, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1];
  return { n, p: [], cn: [], cv: [], cart: [], store: null, ch: null };
}

/** Revenue of a purchase: a checkout's price x quantity (null quantity 1, null price 0); a till's items of quantity > 0. */
function revenueOf(e: ClickEvent | KnownPosEvent): number {
  if ('items' in e) return e.items.reduce((s, i) => (i.quantity > 0 ? s + i.quantity * i.unitPrice : s), 0);
  return (e.price ?? 0) * (e.quantity ?? 1);
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Drops the purchases that left the horizon at `asOf` (ts <= asOf - horizon). */
function expire(s: ProfileState, asOf: number, horizonMs: number): void {
  let i = 0;
  while (i < s.p.length && s.p[i]! <= asOf - horizonMs) i += 3;
  if (i > 0) s.p.splice(0, i);
}

function addPurchase(s: ProfileState, ts: number, revenue: number, maxPurchases: number): void {
  let i = s.p.length;
  while (i > 0 && s.p[i - 3]! > ts) i -= 3;
  // New exact-size arrays (toSpliced), not splice: see emptyState.
  s.p = s.p.toSpliced(i, 0, ts, 1, revenue);
  if (s.p.length / 3 > maxPurchases) {
    // The two oldest become one at the newer's ts: a purchase never leaves the horizon early.
    s.p = s.p.toSpliced(0, 6, s.p[3]!, s.p[1]! + s.p[4]!, s.p[2]! + s.p[5]!);
  }
}

function addInterest(s: ProfileState, category: string, weight: number, ts: number, p: ProfileParams): void {
  if (weight <= 0) return;
  const ct = s.n[N.ct]!;
  if (ts >= ct) {
    const f = ct >= 0 ? 2 ** (-(ts - ct) / p.interestHalfLifeMs) : 1;
    for (let i = 0; i < s.cv.length; i++) s.cv[i]! *= f;
    s.n[N.ct] = ts;
  } else weight *= 2 ** (-(ct - ts) / p.interestHalfLifeMs); // late: counts as decayed to ct
  const i = s.cn.indexOf(category);
  if (i >= 0) s.cv[i]! += weight;
  else {
    s.cn = s.cn.concat(category);
    s.cv = s.cv.concat(weight);
  }
  // Back into order, score descending, then name (a total order: names are distinct), by
  // insertion over the whole list: a rescaling may have made two scores equal.
  const { cn, cv } = s;
  for (let j = 1; j < cn.length; j++) {
    const name = cn[j]!;
    const score = cv[j]!;
    let k = j;
    while (k > 0 && (cv[k - 1]! < score || (cv[k - 1] === score && cn[k - 1]! > name))) {
      cn[k] = cn[k - 1]!;
      cv[k] = cv[k - 1]!;
      k--;
    }
    cn[k] = name;
    cv[k] = score;
  }
  if (cn.length > p.maxCategories) {
    s.cn = cn.slice(0, p.maxCategories);
    s.cv = cv.slice(0, p.maxCategories);
  }
}

function cartAdd(s: ProfileState, productId: string, qty: number, maxItems: number): void {
  const c = s.cart.find((x) => x[0] === productId);
  let lines = c !== undefined ? s.cart : s.cart.concat([[productId, qty]]);
  if (c !== undefined) c[1] += qty;
  lines = openLines(lines);
  s.cart = lines.length > maxItems ? lines.slice(lines.length - maxItems) : lines;
}

function cartRemove(s: ProfileState, productId: string, qty: number): void {
  const c = s.cart.find((x) => x[0] === productId);
  if (c === undefined) return;
  c[1] -= qty;
  s.cart = openLines(s.cart);
}

/** The cart's lines with a quantity > 0, as an exact-size array (filter keeps spare room: see emptyState). */
function openLines(cart: Array<[string, number]>): Array<[string, number]> {
  return cart.every((x) => x[1] > 0) ? cart : cart.filter((x) => x[1] > 0).slice();
}

/**
 * Last store and channel by event time, not by the order applied: a trigger applied late (a
 * scene's output reaches this step in whatever order its watermark lets it) changes nothing that
 * a later record set.
 */
function setStore(s: ProfileState, storeId: string, ts: number): void {
  const sts = s.n[N.sts]!;
  if (ts > sts || (ts === sts && s.store !== null && storeId > s.store)) {
    s.store = storeId;
    s.n[N.sts] = ts;
  }
}
function setChannel(s: ProfileState, channel: string, ts: number): void {
  const cts = s.n[N.cts]!;
  if (ts > cts || (ts === cts && s.ch !== null && channel > s.ch)) {
    s.ch = channel;
    s.n[N.cts] = ts;
  }
}

/** The later of two purchase times, either possibly absent. */
function latest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

const lastPurchaseOf = (s: ProfileState): number | null => latest(s.n[N.lp]! >= 0 ? s.n[N.lp]! : null, s.n[N.rl]! >= 0 ? s.n[N.rl]! : null);

const byProduct = (a: [string, number], b: [string, number]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/**
 * Renders a customer's state (either form: a checkpoint of an earlier version holds the named one)
 * as a profile at its event time. Built field by field in the profile's documented key order (one
 * object, no intermediate ones: it runs once per record).
 */
export function renderProfile(customerId: string, state: ProfileState, p: ProfileParams): LiveProfile {
  const s = compactProfileState(state);
  const asOf = s.n[N.t]!;
  let frequency = 0;
  let revenue = 0;
  for (let i = 0; i < s.p.length; i += 3) {
    if (s.p[i]! > asOf - p.horizonMs) {
      frequency += s.p[i + 1]!;
      revenue += s.p[i + 2]!;
    }
  }
  const last = lastPurchaseOf(s);
  const monetary = round2(revenue);
  const r = recencyScore(last, asOf, p);
  const f = levelScore(frequency, p.frequency);
  const m = levelScore(monetary, p.monetary);
  const out: Record<string, unknown> = { customerId, asOf };
  if (last !== null) out.lastPurchaseTs = last;
  out.frequency = frequency;
  out.monetary = monetary;
  out.recencyScore = r;
  out.frequencyScore = f;
  out.monetaryScore = m;
  if (last !== null) out.segment = rfmSegment({ r, f, m });
  const top: string[] = [];
  for (let i = 0; i < s.cn.length && i < p.topCategories; i++) top.push(s.cn[i]!);
  out.topCategories = top;
  if (s.store !== null) out.lastStoreId = s.store;
  if (s.ch !== null) out.lastChannel = s.ch;
  const cart = s.cart.length > 1 ? s.cart.slice().sort(byProduct) : s.cart;
  let quantity = 0;
  const ids: string[] = [];
  for (const c of cart) {
    quantity += c[1];
    ids.push(c[0]);
  }
  out.cartItems = cart.length;
  out.cartQuantity = quantity;
  out.cartProductIds = ids;
  const deadline = cart.length > 0 && s.n[N.la]! >= 0 ? s.n[N.la]! + s.n[N.lt]! : null;
  if (deadline !== null && deadline > asOf) out.cartDeadline = deadline;
  const cs = s.n[N.cs]!;
  out.tier = TIERS[s.n[N.tier]!] ?? 'basic';
  out.consentPush = (cs & 1) !== 0;
  out.consentSms = (cs & 2) !== 0;
  out.consentEmail = (cs & 4) !== 0;
  out.consentInStore = (cs & 8) !== 0;
  out.knownProfile = s.n[N.known] === 1;
  for (let i = 0; i < SCENES.length; i++) {
    const t = s.n[N.tr + i]!;
    if (t >= 0) out[LAST_TRIGGER_FIELD[SCENES[i]!]] = t;
  }
  return out as unknown as LiveProfile;
}

export interface ProfileDeps {
  readonly profiles: ProfileLookup;
  /** The cart-abandonment T (to show the pending deadline); read when an add_to_cart is applied. */
  readonly cartTimeoutMs: Live<number>;
}

/**
 * The live customer profile (issue 13), per customer over clicks, known customers' till
 * transactions and the scenes' triggers (keyed by customerId). Emits the customer's
 * {@link LiveProfile} each time it changes, stamped with the event time it is current at.
 *
 * - **RFM.** A purchase (SCENES.md §1) adds 1 to frequency and its revenue to monetary value while
 *   it is within the horizon `(t - horizonMs, t]`; it leaves at exactly `ts + horizonMs` (an
 *   event-time timer then, so the profile changes with no further record). Recency is the time
 *   since the later of the last purchase seen and the reference profile's `lastPurchaseTs`; the
 *   recency score drops on a timer at each boundary (`rfm.ts`). Scores and the segment: `rfm.ts`.
 * - **Interest.** product_view (`viewed`), add_to_cart (`carted`) and purchases (`bought`, per
 *   till item's category, or the checkout's) add their weight to the category's score, which
 *   halves every `interestHalfLifeMs`; the top `topCategories` are shown.
 * - **Cart.** As cart abandonment keeps it: add_to_cart adds, remove_from_cart removes, a purchase
 *   empties it. Last store: the store of a till transaction or of a store_proximity trigger. Last
 *   channel: the click's channel, or `store` for a till.
 * - **Tier and consent**: the reference profile's, as of the customer's last record (kept as
 *   numbers, so a timer-driven change needs no lookup).
 *
 * Order: the records of a customer are applied in event-time order as the watermark passes them
 * (the engine's `eventTimeOrder`, `operators/eventTimeOrder.ts`), purchases first at equal ts, triggers last, so the result is the same
 * however the input is batched and a replay equals the live run. A record later than the
 * out-of-orderness bound is applied at once.
 *
 * State per customer (one value): the purchases in the horizon as number triples (at most
 * `maxPurchases`), at most `maxCategories` categories and `maxCartItems` cart lines, and numbers.
 *
 * ```text
 * checkout@day0 (price 120) -> {frequency 1, monetary 120, R5 F1 M2, new_customers}
 * timer@day30+1ms           -> {R4 ..., promising}
 * timer@day365              -> {frequency 0, monetary 0, R1 F1 M1, lost}
 * ```
 */
export function customerProfile(stepId: string, events: KeyedStream<ProfileInput>, deps: ProfileDeps, params: Live<ProfileParams> = PROFILE_DEFAULTS): KeyedStream<LiveProfile> {
  const current = liveParams(params, (p) => p, (p) => checkParams(stepId, p));
  const cartT = readLive(deps.cartTimeoutMs);

  return events.process<LiveProfile>(stepId, (state) => {
    const customers = state.value<ProfileState | NamedProfileState>(PROFILE_STATE);
    /** The key's state in the compact form (a checkpoint of an earlier version is converted once). */
    const read = (key: string): ProfileState | undefined => {
      const raw = customers.get(key);
      return raw === undefined || 'n' in raw ? raw : compactProfileState(raw);
    };

    const apply = (key: string, s: ProfileState, e: ProfileInput, p: ProfileParams): void => {
      const n = s.n;
      n[N.t] = Math.max(n[N.t]!, e.ts);
      if (isTrigger(e)) {
        const i = N.tr + SCENES.indexOf(e.scene);
        n[i] = Math.max(n[i]!, e.ts);
        if (e.scene === 'store_proximity' && e.storeId !== null) setStore(s, e.storeId, e.ts);
        return;
      }
      const ref = resolveProfile(deps.profiles, key, '');
      n[N.tier] = Math.max(0, TIERS.indexOf(ref.tier));
      n[N.cs] = (ref.consent.push ? 1 : 0) | (ref.consent.sms ? 2 : 0) | (ref.consent.email ? 4 : 0) | (ref.consent.in_store ? 8 : 0);
      n[N.known] = ref.known ? 1 : 0;
      n[N.rl] = ref.lastPurchaseTs ?? -1;
      if ('items' in e) setStore(s, e.storeId, e.ts);
      setChannel(s, 'items' in e ? 'store' : e.channel, e.ts);
      if (isPurchase(e)) {
        addPurchase(s, e.ts, revenueOf(e), p.maxPurchases);
        n[N.lp] = Math.max(n[N.lp]!, e.ts);
        s.cart = [];
        if ('items' in e) {
          for (const i of e.items) if (i.quantity > 0 && i.category !== null) addInterest(s, i.category, p.interestWeights.bought, e.ts, p);
        } else if (e.category !== null) addInterest(s, e.category, p.interestWeights.bought, e.ts, p);
        return;
      }
      if ('items' in e) return;
      if (e.type === 'product_view' && e.category !== null) addInterest(s, e.category, p.interestWeights.viewed, e.ts, p);
      else if (e.type === 'add_to_cart' && e.productId !== null) {
        cartAdd(s, e.productId, e.quantity ?? 1, p.maxCartItems);
        n[N.la] = e.ts;
        n[N.lt] = cartT();
        if (e.category !== null) addInterest(s, e.category, p.interestWeights.carted, e.ts, p);
      } else if (e.type === 'remove_from_cart' && e.productId !== null) cartRemove(s, e.productId, e.quantity ?? 1);
    };

    /** Expires, saves, arms the next expiry and recency timers, and emits the profile. */
    const publish = (key: string, s: ProfileState, p: ProfileParams, ctx: ProcessContext<LiveProfile>): void => {
      const n = s.n;
      const t = n[N.t]!;
      expire(s, t, p.horizonMs);
      customers.set(key, s);
      if (s.p.length > 0 && n[N.xt] !== s.p[0]! + p.horizonMs) {
        n[N.xt] = s.p[0]! + p.horizonMs;
        ctx.registerEventTimer(s.p[0]! + p.horizonMs, EXPIRE_TAG);
      }
      const last = lastPurchaseOf(s);
      const next = last === null ? null : nextRecencyChange(last, t, p);
      if (next !== null && n[N.rt] !== next) {
        n[N.rt] = next;
        ctx.registerEventTimer(next, RECENCY_TAG);
      }
      ctx.emit(renderProfile(key, s, p), t);
    };

    return {
      onElement(e, ctx) {
        const p = current();
        const s = read(ctx.key) ?? emptyState();
        apply(ctx.key, s, e, p);
        publish(ctx.key, s, p, ctx);
      },
      onEventTimer(ts, tag, ctx) {
        // The engine has handed over the key's records up to ts already (eventTimeOrder).
        const s = read(ctx.key);
        if (s === undefined) return;
        const n = s.n;
        // An expiry or recency timer moves the profile to its own time; a stale one (the purchase
        // it was armed for is gone, a reload moved a boundary) just re-renders it unchanged.
        if (ts > n[N.t]!) n[N.t] = ts;
        // The timer that fired is no longer pending: the next one at the same time is registered again.
        if (tag === EXPIRE_TAG && n[N.xt] === ts) n[N.xt] = -1;
        else if (tag === RECENCY_TAG && n[N.rt] === ts) n[N.rt] = -1;
        publish(ctx.key, s, current(), ctx);
      },
    };
  }, { order: eventTimeOrder<ProfileInput>({ rank }) });
}

/** The step's input from the retail sources and the scenes' triggers, by customer. */
export function customerProfileInput(src: Pick<RetailSources, 'clicks' | 'pos'>, triggers: KeyedStream<Trigger>): KeyedStream<ProfileInput> {
  const clicks = src.clicks.keyBy((e) => e.customerId, { name: 'profile.clicks_by_customer' });
  const tills = src.pos.filter(isKnownCustomer, { name: 'profile.known' }).keyBy((e) => e.customerId, { name: 'profile.pos_by_customer' });
  return (clicks as KeyedStream<ProfileInput>).mergeKeyed(tills as KeyedStream<ProfileInput>, triggers as KeyedStream<ProfileInput>);
}

/** The profile step on its own (tests): its own sources, no triggers. */
export function buildCustomerProfile(p: Pipeline, deps: ProfileDeps, params: Live<ProfileParams> = PROFILE_DEFAULTS, sources: RetailSourceOptions = {}): Stream<LiveProfile> {
  const src = retailSources(p, sources);
  const clicks = src.clicks.keyBy((e) => e.customerId, { name: 'profile.clicks_by_customer' });
  const tills = src.pos.filter(isKnownCustomer, { name: 'profile.known' }).keyBy((e) => e.customerId, { name: 'profile.pos_by_customer' });
  return customerProfile('profile', (clicks as KeyedStream<ProfileInput>).mergeKeyed(tills as KeyedStream<ProfileInput>), deps, params);
}
