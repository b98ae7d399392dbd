/**
 * Event life: what the customers of a world do, day by day, as clickstream, pos and location events.
 *
 * Each customer lives by the clock of their profile time zone (SCENES.md: "local time is the
 * customer's profile timezone"); stores and anonymous shoppers live by the store's zone. A day of a
 * customer is planned as a chain of places (home, commute, work, a store, back home) for the
 * location pings, plus browsing sessions in the morning, at lunch, in the evening and late at night,
 * which may end in a cart that is abandoned, checked out online, or bought at a store till. Lapsed
 * customers come back with an `app_open`; stores also serve anonymous shoppers, and people return
 * things.
 *
 * Every customer and every store is one stream, generated one day at a time from its own forked
 * generator; the streams are merged by ts (ties: customers in order, then stores, then the order
 * within the stream) and numbered as they come out, so memory stays bounded by one day of one
 * stream per stream, and the same world and options always give the same records.
 */

import type { ClickChannel, ClickEvent, ClickType, LocationEvent, PosEvent, PosItem, Store } from '../schemas/index.js';
import { ssError } from '../schemas/errors.js';
import { productsIn, type Product } from './catalogue.js';
import { posTotal, roundCents } from './money.js';
import { destination, haversineM, offsetM, Polyline, round, type LatLon } from './geo.js';
import { createRng, shortHash, type Rng } from './prng.js';
import { addDays, formatCivilDate, isoWeekday, zonedToEpoch, type CivilDate } from '../pipelines/localTime.js';
import type { SimCustomer, TravelMode, World } from './world.js';
import { purchaseHistory } from './history.js';

export type SimRecord =
  | { topic: 'clickstream'; value: ClickEvent }
  | { topic: 'pos'; value: PosEvent }
  | { topic: 'location'; value: LocationEvent };

export type SimTopic = SimRecord['topic'];

export interface EventOptions {
  /** Number of simulated days from the world's start date (default 2). */
  days?: number;
  /**
   * Each customer's purchases in the year before the start (`history.ts`), so that profiles spread
   * over every RFM segment. Default false: the library's output stays what goldens recorded; the
   * command line and the main job turn it on.
   */
  history?: boolean;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY_MS = 86_400_000;

/** Typical speeds in m/s; walking stays under the commute scene's 1.5 m/s. */
const SPEED: Record<TravelMode, readonly [number, number]> = {
  walk: [1.1, 1.45],
  bike: [3.5, 5.5],
  car: [6, 11],
  metro: [8, 12],
};

interface CartLine {
  product: Product;
  quantity: number;
}

type Outcome = 'browse' | 'abandon' | 'checkout' | 'till';

/** Collects the events of one stream-day; eventIds are assigned later, when the streams are merged. */
class DayBuilder {
  readonly records: SimRecord[] = [];
  private sessions = 0;

  constructor(
    readonly world: World,
    readonly rng: Rng,
    readonly date: CivilDate,
    readonly timezone: string,
    readonly customer: SimCustomer | null,
  ) {}

  /** A local wall time of this day (hours may exceed 23 to reach past midnight). */
  at(hour: number, minute = 0, second = 0): number {
    return zonedToEpoch(this.timezone, this.date.year, this.date.month, this.date.day, hour, minute, second);
  }

  private get customerId(): string {
    if (this.customer === null) throw new Error('not a customer stream');
    return this.customer.profile.customerId;
  }

  newSessionId(channel: ClickChannel): string | null {
    this.sessions++;
    // Some web traffic comes without a session cookie.
    if (channel === 'web' && this.rng.chance(0.05)) return null;
    return `${this.customerId}-${formatCivilDate(this.date)}-s${this.sessions}`;
  }

  click(
    ts: number,
    type: ClickType,
    sessionId: string | null,
    channel: ClickChannel,
    product: Product | null = null,
    quantity: number | null = null,
    price: number | null = product?.price ?? null,
    category: string | null = product?.category ?? null,
  ): void {
    this.records.push({
      topic: 'clickstream',
      value: {
        eventId: '',
        customerId: this.customerId,
        sessionId,
        ts: Math.round(ts),
        type,
        productId: product?.productId ?? null,
        category,
        price,
        quantity,
        channel,
      },
    });
  }

  ping(ts: number, p: LatLon, accuracyM: number | null, speedMps: number | null): void {
    this.records.push({
      topic: 'location',
      value: {
        eventId: '',
        customerId: this.customerId,
        ts: Math.round(ts),
        lat: round(p.lat, 6),
        lon: round(p.lon, 6),
        accuracyM,
        speedMps,
      },
    });
  }

  pos(ts: number, storeId: string, customerId: string | null, items: PosItem[]): void {
    this.records.push({
      topic: 'pos',
      value: { eventId: '', customerId, storeId, ts: Math.round(ts), items, total: posTotal(items) },
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Movement

function gpsAccuracy(rng: Rng, mode: TravelMode | 'indoor'): number {
  // Underground and indoors the fix is poor; elsewhere a few percent of fixes are poor anyway.
  const poor = mode === 'metro' ? 0.35 : mode === 'indoor' ? 0.08 : 0.03;
  if (rng.chance(poor)) return round(rng.float(101, 600), 1);
  return round(rng.float(3, 25), 1);
}

/** A position as the device reports it: the true position off by roughly its accuracy. */
function reported(rng: Rng, truth: LatLon, accuracyM: number): LatLon {
  return offsetM(truth, rng.normal(0, accuracyM / 3), rng.normal(0, accuracyM / 3));
}

function reportedSpeed(rng: Rng, speed: number, accuracyM: number): number | null {
  if (accuracyM > 100 || !rng.chance(0.65)) return null;
  return round(Math.max(0, speed * (1 + rng.normal(0, 0.05))), 2);
}

/**
 * Move along `path` from `departTs`, pinging every 30-60 s; returns the ts of the last ping, taken
 * at the end of the path.
 */
function travel(b: DayBuilder, path: Polyline, departTs: number, mode: TravelMode): number {
  const rng = b.rng;
  const [lo, hi] = SPEED[mode];
  const cruise = rng.float(lo, hi);
  let t = departTs;
  let d = 0;
  let acc = gpsAccuracy(rng, mode === 'metro' ? 'walk' : mode);
  b.ping(t, reported(rng, path.at(0), acc), acc, rng.chance(0.5) ? 0 : null);
  while (d < path.lengthM) {
    const dt = rng.int(30 * SECOND, 60 * SECOND);
    // Traffic lights and crowds: cars and bikes sometimes stand still for a ping.
    const stopped = (mode === 'car' || mode === 'bike') && rng.chance(0.1);
    const speed = stopped ? rng.float(0, 0.5) : Math.max(0.3, cruise * (1 + rng.normal(0, 0.12)));
    d += (speed * dt) / SECOND;
    t += dt;
    acc = gpsAccuracy(rng, mode);
    b.ping(t, reported(rng, path.at(d), acc), acc, reportedSpeed(rng, speed, acc));
  }
  return t;
}

/** A point just outside a store's geofence, on the side facing `from`. */
function storeEdge(store: Store, from: LatLon): LatLon {
  const east = (from.lon - store.lon) * Math.cos((store.lat * Math.PI) / 180);
  const bearing = (Math.atan2(east, from.lat - store.lat) * 180) / Math.PI;
  return destination(store, bearing, store.radiusM + 60);
}

function modeForDistance(distanceM: number): TravelMode {
  if (distanceM < 1200) return 'walk';
  if (distanceM < 3500) return 'bike';
  return 'car';
}

function travelSeconds(distanceM: number, mode: TravelMode): number {
  return distanceM / SPEED[mode][0];
}

/**
 * Pings inside a store from `startTs`: a long visit pings every 30-60 s until at least `dwellS` has
 * passed since the first inside ping; a short one is two pings less than two minutes apart. Returns
 * the ts of the last inside ping.
 */
function dwell(b: DayBuilder, store: Store, startTs: number, dwellS: number): number {
  const rng = b.rng;
  const inside = (): LatLon => destination(store, rng.float(0, 360), store.radiusM * 0.6 * Math.sqrt(rng.next()));
  const pingInside = (t: number): void => {
    const acc = gpsAccuracy(rng, 'indoor');
    // A poor indoor fix may land anywhere nearby; the engine ignores it (accuracy > 100 m).
    const where = acc > 100 ? reported(rng, store, acc) : inside();
    b.ping(t, where, acc, acc > 100 ? null : rng.chance(0.5) ? round(rng.float(0, 0.8), 2) : null);
  };
  if (dwellS < 120) {
    const t2 = startTs + rng.int(30 * SECOND, Math.max(31, Math.min(100, dwellS)) * SECOND);
    b.ping(startTs, inside(), round(rng.float(3, 25), 1), null);
    b.ping(t2, inside(), round(rng.float(3, 25), 1), null);
    return t2;
  }
  let t = startTs;
  b.ping(t, inside(), round(rng.float(3, 25), 1), null);
  while (t - startTs < dwellS * SECOND) {
    t += rng.int(30 * SECOND, 60 * SECOND);
    pingInside(t);
  }
  return t;
}

interface Visit {
  /** When the customer is back where they came from. */
  backTs: number;
  /** First and last inside pings. */
  insideFrom: number;
  insideTo: number;
}

/**
 * Go from `from` to a store, stay, and go back. `purchase`, if given, is called with the inside
 * interval and returns the POS event's ts (which must lie in it) and its items.
 */
function storeVisit(
  b: DayBuilder,
  from: LatLon,
  store: Store,
  departTs: number,
  dwellS: number,
  purchase: ((insideFrom: number, insideTo: number) => { ts: number; items: PosItem[] } | null) | null,
): Visit {
  const rng = b.rng;
  const edge = storeEdge(store, from);
  const mode = modeForDistance(haversineM(from, edge));
  const arrived = haversineM(from, edge) > 50 ? travel(b, new Polyline([from, edge]), departTs, mode) : departTs;
  const insideFrom = arrived + rng.int(20 * SECOND, 40 * SECOND);
  const insideTo = dwell(b, store, insideFrom, dwellS);
  if (purchase !== null) {
    const sale = purchase(insideFrom, insideTo);
    if (sale !== null) b.pos(sale.ts, store.storeId, b.customer?.profile.customerId ?? null, sale.items);
  }
  const leaveTs = insideTo + rng.int(20 * SECOND, 40 * SECOND);
  const backTs = haversineM(from, edge) > 50 ? travel(b, new Polyline([edge, from]), leaveTs, mode) : leaveTs;
  return { backTs, insideFrom, insideTo };
}

// ---------------------------------------------------------------------------------------------------
// Shopping

function pickCategory(b: DayBuilder): string {
  const c = b.customer;
  const rng = b.rng;
  if (c === null || rng.chance(0.15)) return rng.pick(b.world.catalogue.categories);
  const [first, second, third] = c.favouriteCategories;
  return rng.weighted<string>([
    [first ?? 'grocery', 60],
    [second ?? 'grocery', 25],
    [third ?? 'grocery', 15],
  ]);
}

function basketItems(b: DayBuilder, lines: number): PosItem[] {
  const items: PosItem[] = [];
  for (let i = 0; i < lines; i++) {
    const p = b.rng.pick(productsIn(b.world.catalogue, pickCategory(b)));
    items.push({ productId: p.productId, category: p.category, quantity: b.rng.weighted([[1, 70], [2, 20], [3, 10]]), unitPrice: p.price });
  }
  return items;
}

function returnItem(b: DayBuilder): PosItem {
  const p = b.rng.pick(productsIn(b.world.catalogue, pickCategory(b)));
  return { productId: p.productId, category: p.category, quantity: -1, unitPrice: p.price };
}

/** An ordinary till sale during a visit: a basket, sometimes with a returned item, sometimes only a return. */
function ordinarySale(b: DayBuilder, insideFrom: number, insideTo: number): { ts: number; items: PosItem[] } | null {
  const rng = b.rng;
  const ts = insideFrom + (insideTo - insideFrom) * rng.float(0.6, 0.95);
  const kind = rng.weighted<'none' | 'buy' | 'buyAndReturn' | 'returnOnly'>([['none', 45], ['buy', 44], ['buyAndReturn', 5], ['returnOnly', 6]]);
  if (kind === 'none') return null;
  if (kind === 'returnOnly') return { ts, items: [returnItem(b)] };
  const items = basketItems(b, rng.int(1, 4));
  if (kind === 'buyAndReturn') items.push(returnItem(b));
  return { ts, items };
}

interface SessionResult {
  end: number;
  cart: CartLine[];
  lastAddTs: number | null;
}

function cartValue(cart: readonly CartLine[]): number {
  return roundCents(cart.reduce((s, l) => s + l.product.price * l.quantity, 0));
}

/**
 * One browsing session from `start`. Views cluster in one category (3+ views within minutes is
 * common: browse abandonment). A cart outcome adds one or two viewed products, sometimes removes
 * one (or all); `checkout` buys online 1-25 min after the last add; `abandon` falls silent; `till`
 * stops after the last add and leaves the cart to the caller, who walks the customer to a store.
 */
function browsingSession(b: DayBuilder, start: number, outcome: Outcome, channel: ClickChannel, appOpen: boolean): SessionResult {
  const rng = b.rng;
  const sid = b.newSessionId(channel);
  let t = start;
  const step = (lo: number, hi: number): number => (t += rng.int(lo * SECOND, hi * SECOND));
  if (appOpen) {
    b.click(t, 'app_open', sid, channel);
    step(3, 15);
  }
  b.click(t, 'page_view', sid, channel);
  step(5, 40);
  const category = pickCategory(b);
  if (rng.chance(0.5)) {
    b.click(t, 'search', sid, channel, null, null, null, rng.chance(0.6) ? category : null);
    step(5, 30);
  }
  const views = outcome === 'browse' ? rng.weighted([[1, 15], [2, 20], [3, 25], [4, 20], [5, 10], [7, 10]]) : rng.int(1, 4);
  const viewed: Product[] = [];
  for (let i = 0; i < views; i++) {
    const cat = rng.chance(0.85) ? category : pickCategory(b);
    const p = rng.pick(productsIn(b.world.catalogue, cat));
    viewed.push(p);
    b.click(t, 'product_view', sid, channel, p);
    step(15, 180);
  }
  if (outcome === 'browse') return { end: t, cart: [], lastAddTs: null };

  const cart: CartLine[] = [];
  let lastAddTs = t;
  const adds = rng.chance(0.3) ? 2 : 1;
  for (let i = 0; i < adds; i++) {
    const p = viewed[viewed.length - 1 - i] ?? rng.pick(productsIn(b.world.catalogue, category));
    if (cart.some((l) => l.product.productId === p.productId)) continue;
    const quantity = rng.chance(0.6) ? null : rng.int(1, 3);
    b.click(t, 'add_to_cart', sid, channel, p, quantity);
    cart.push({ product: p, quantity: quantity ?? 1 });
    lastAddTs = t;
    step(10, 90);
  }
  if (rng.chance(0.2) && cart.length > 0) {
    // Second thoughts: take out one unit, or the whole line (sometimes the only one: an empty cart).
    const line = cart[cart.length - 1] as CartLine;
    const removed = rng.chance(0.5) ? line.quantity : 1;
    b.click(t, 'remove_from_cart', sid, channel, line.product, removed === 1 && rng.chance(0.5) ? null : removed);
    line.quantity -= removed;
    if (line.quantity <= 0) cart.pop();
    step(10, 60);
  }
  if (outcome === 'checkout' && cart.length > 0) {
    t = lastAddTs + rng.int(1 * MINUTE, 25 * MINUTE);
    b.click(t, 'checkout', sid, channel, null, null, cartValue(cart), null);
    step(2, 10);
  }
  return { end: t, cart, lastAddTs };
}

// ---------------------------------------------------------------------------------------------------
// A customer's day

function isLapsed(c: SimCustomer, startMs: number): boolean {
  const last = c.profile.lastPurchaseTs;
  return last !== null && last < startMs - 30 * DAY_MS;
}

function sessionChannel(b: DayBuilder): { channel: ClickChannel; appOpen: boolean } {
  const c = b.customer as SimCustomer;
  const channel = b.rng.chance(0.85) ? c.channel : b.rng.pick<ClickChannel>(['app', 'web', 'mini_program']);
  return { channel, appOpen: channel === 'app' && b.rng.chance(0.7) };
}

/**
 * Cart, then the till: add to cart at home, walk or ride to a near store, buy the cart there
 * within 30 minutes of the last add, go home. Returns null (nothing emitted) if no store is near
 * enough to make it in time.
 */
function tillSession(b: DayBuilder, start: number): number | null {
  const c = b.customer as SimCustomer;
  const rng = b.rng;
  const candidates = c.storesByHome.slice(0, 2).map((id) => b.world.storesById.get(id) as Store);
  const store = candidates.find((s) => {
    const d = haversineM(c.home, storeEdge(s, c.home));
    return travelSeconds(d, modeForDistance(d)) < 18 * 60;
  });
  if (store === undefined) return null;
  const { channel, appOpen } = sessionChannel(b);
  const session = browsingSession(b, start, 'till', channel, appOpen);
  const tA = session.lastAddTs;
  if (tA === null || session.cart.length === 0) return session.end;
  const cart = session.cart;
  const visit = storeVisit(b, c.home, store, session.end + rng.int(30 * SECOND, 3 * MINUTE), rng.int(150, 600), (from, to) => {
    const latest = tA + 28 * MINUTE;
    const ts = Math.min(latest, from + Math.max(2.2 * MINUTE, (to - from) * 0.7));
    if (ts <= from) return null;
    const items: PosItem[] = cart.map((l) => ({ productId: l.product.productId, category: l.product.category, quantity: l.quantity, unitPrice: l.product.price }));
    if (rng.chance(0.3)) items.push(...basketItems(b, 1));
    return { ts, items };
  });
  return visit.backTs;
}

function customerDay(world: World, c: SimCustomer, lifeRng: Rng, dayIndex: number): SimRecord[] {
  const tz = c.profile.timezone;
  const date = addDays(world.startDate, dayIndex);
  const rng = lifeRng.fork(`${c.profile.customerId}/${formatCivilDate(date)}`);
  const b = new DayBuilder(world, rng, date, tz, c);
  const lapsed = isLapsed(c, worldStartMs(world));
  const weekday = isoWeekday(date) <= 5;
  const working = weekday && c.commuter && rng.chance(0.92);
  const store = (id: string | undefined): Store | undefined => (id === undefined ? undefined : world.storesById.get(id));

  // --- The places of the day (location pings); the customer is at home unless said otherwise.
  let eveningFree: number;
  let morningCommute: readonly [number, number] | null = null;
  if (working) {
    const depart = b.at(7, 0) + rng.int(0, 100 * MINUTE);
    const atWork = travel(b, c.commute, depart, c.commuteMode);
    morningCommute = [depart, atWork];
    const lunchStore = store(c.storesByWork[0]);
    if (lunchStore !== undefined && rng.chance(0.3) && haversineM(c.work, lunchStore) < 1500) {
      const long = rng.chance(0.75);
      storeVisit(b, c.work, lunchStore, b.at(12, 0) + rng.int(0, 30 * MINUTE), long ? rng.int(180, 1200) : rng.int(40, 100), long ? (f, t) => ordinarySale(b, f, t) : null);
    }
    const home = travel(b, c.commute.reversed(), b.at(17, 0) + rng.int(0, 120 * MINUTE), c.commuteMode);
    eveningFree = home + rng.int(10 * MINUTE, 40 * MINUTE);
  } else {
    if (rng.chance(weekday ? 0.3 : 0.55)) {
      const near = c.storesByHome.slice(0, 3);
      const s = store(rng.pick(near));
      if (s !== undefined) {
        const long = rng.chance(0.8);
        storeVisit(b, c.home, s, b.at(10, 30) + rng.int(0, 330 * MINUTE), long ? rng.int(180, 2400) : rng.int(40, 100), long ? (f, t) => ordinarySale(b, f, t) : null);
      }
    }
    eveningFree = b.at(18, 30) + rng.int(0, 60 * MINUTE);
  }

  // --- Evening: buy the cart at a till, or just go to a store, or stay in.
  let sessionsFrom = eveningFree;
  const evening = rng.weighted<'till' | 'visit' | 'home'>([['till', lapsed ? 0 : 14], ['visit', 18], ['home', 68]]);
  if (evening === 'till') {
    sessionsFrom = tillSession(b, eveningFree) ?? eveningFree;
  } else if (evening === 'visit') {
    const s = store(c.storesByHome[rng.chance(0.7) ? 0 : 1]);
    if (s !== undefined) {
      const long = rng.chance(0.75);
      sessionsFrom = storeVisit(b, c.home, s, eveningFree, long ? rng.int(180, 1800) : rng.int(40, 100), long ? (f, t) => ordinarySale(b, f, t) : null).backTs;
    }
  }

  // --- Browsing sessions, in disjoint slots; after an abandoned cart the next session waits > 30 min.
  const slots: [number, number, number][] = [];
  const scale = lapsed ? 0.5 : 1;
  if (morningCommute !== null && (c.commuteMode === 'metro' || c.commuteMode === 'car')) {
    slots.push([morningCommute[0] + 2 * MINUTE, morningCommute[0] + 10 * MINUTE, 0.3 * scale]);
  } else {
    slots.push([b.at(7, 30), b.at(9, 30), 0.25 * scale]);
  }
  slots.push([b.at(12, 0), b.at(13, 0), 0.3 * scale]);
  if (!working) slots.push([b.at(15, 0), b.at(16, 30), 0.3 * scale]);
  slots.push([Math.max(sessionsFrom + 5 * MINUTE, b.at(19, 0)), Math.max(sessionsFrom + 30 * MINUTE, b.at(21, 15)), 0.55 * scale]);
  slots.push([b.at(22, 0), b.at(23, 30), 0.15 * scale]);

  // A lapsed customer opens the app again on most days, at any waking hour.
  let reactivation: number | null = lapsed && rng.chance(0.65) ? b.at(8, 0) + rng.int(0, 14 * 60 * MINUTE) : null;
  let notBefore = 0;
  for (const [lo, hi, p] of slots) {
    const take = rng.chance(p);
    let start = Math.max(notBefore, lo + rng.next() * Math.max(0, hi - lo));
    const reactivateNow = reactivation !== null && reactivation <= start;
    if (!take && !reactivateNow) continue;
    if (reactivateNow && reactivation !== null) start = Math.max(notBefore, Math.min(start, reactivation));
    const outcome = rng.weighted<Outcome>(lapsed ? [['browse', 60], ['abandon', 35], ['checkout', 5]] : [['browse', 45], ['abandon', 25], ['checkout', 30]]);
    const ch = reactivateNow ? { channel: 'app' as const, appOpen: true } : sessionChannel(b);
    if (reactivateNow) reactivation = null;
    const r = browsingSession(b, start, outcome, ch.channel, ch.appOpen);
    notBefore = r.end + (outcome === 'abandon' ? 35 * MINUTE : 5 * MINUTE);
  }
  if (reactivation !== null) {
    // Just a look: open the app, glance at the home page.
    const sid = b.newSessionId('app');
    const t = Math.max(notBefore, reactivation);
    b.click(t, 'app_open', sid, 'app');
    b.click(t + rng.int(3 * SECOND, 20 * SECOND), 'page_view', sid, 'app');
  }
  return b.records;
}

/** Anonymous shoppers at a store's tills during opening hours (10:00-22:00 store time), with some returns. */
function storeDay(world: World, store: Store, lifeRng: Rng, dayIndex: number): SimRecord[] {
  const date = addDays(world.startDate, dayIndex);
  const rng = lifeRng.fork(`${store.storeId}/${formatCivilDate(date)}`);
  const b = new DayBuilder(world, rng, date, store.timezone, null);
  const open = b.at(10, 0);
  const close = b.at(22, 0);
  const n = rng.int(6, 16);
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(open + Math.floor(rng.next() * (close - open)));
  times.sort((x, y) => x - y);
  for (const ts of times) {
    const kind = rng.weighted<'buy' | 'buyAndReturn' | 'returnOnly'>([['buy', 88], ['buyAndReturn', 6], ['returnOnly', 6]]);
    const items = kind === 'returnOnly' ? [returnItem(b)] : basketItems(b, rng.int(1, 5));
    if (kind === 'buyAndReturn') items.push(returnItem(b));
    b.pos(ts, store.storeId, null, items);
  }
  return b.records;
}

// ---------------------------------------------------------------------------------------------------
// Streams and the merge

/**
 * One stream's records across the days in ts order. A day's records may run past midnight; they
 * are held back until the next day is generated, since every day's activities start after its
 * local midnight.
 */
function* dayByDay(days: number, dayStart: (d: number) => number, day: (d: number) => SimRecord[]): Generator<SimRecord> {
  let buffer: SimRecord[] = [];
  for (let d = 0; d < days; d++) {
    buffer = buffer.concat(day(d)).sort((x, y) => x.value.ts - y.value.ts);
    const horizon = dayStart(d + 1);
    let i = 0;
    while (i < buffer.length && (buffer[i] as SimRecord).value.ts < horizon) yield buffer[i++] as SimRecord;
    buffer = buffer.slice(i);
  }
  yield* buffer;
}

/** The world's first instant: local midnight of its start date in the city's zone. */
export function worldStartMs(world: World): number {
  const { year, month, day } = world.startDate;
  return zonedToEpoch(world.options.timezone, year, month, day);
}

function* chain<T>(first: Iterable<T>, then: Iterable<T>): Generator<T> {
  yield* first;
  yield* then;
}

interface HeapEntry {
  record: SimRecord;
  stream: number;
  iterator: Iterator<SimRecord>;
}

function before(a: HeapEntry, b: HeapEntry): boolean {
  return a.record.value.ts < b.record.value.ts || (a.record.value.ts === b.record.value.ts && a.stream < b.stream);
}

/** A binary min-heap on (ts, stream index). */
class MergeHeap {
  private readonly items: HeapEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  push(e: HeapEntry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i] as HeapEntry, a[parent] as HeapEntry)) break;
      [a[i], a[parent]] = [a[parent] as HeapEntry, a[i] as HeapEntry];
      i = parent;
    }
  }

  pop(): HeapEntry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && before(a[l] as HeapEntry, a[m] as HeapEntry)) m = l;
      if (r < a.length && before(a[r] as HeapEntry, a[m] as HeapEntry)) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m] as HeapEntry, a[i] as HeapEntry];
      i = m;
    }
    return top;
  }
}

/**
 * The events of a world over `days` days, merged in ts order (ties: customers by index, then stores,
 * then stream order), each with a unique eventId `sim-<seed hash>-<n>`. A generator: records are
 * produced as they are consumed.
 */
export function* generateEvents(world: World, opts: EventOptions = {}): Generator<SimRecord> {
  const days = opts.days ?? 2;
  if (!Number.isInteger(days) || days < 1 || days > 3660) {
    throw ssError('SS_ERR_CONFIG', `days must be an integer in [1, 3660], got ${days}`, { field: 'days' });
  }
  const lifeRng = createRng(world.options.seed).fork('life');
  const prefix = `sim-${shortHash(world.options.seed)}`;
  const midnight = (tz: string, d: number): number => {
    const date = addDays(world.startDate, d);
    return zonedToEpoch(tz, date.year, date.month, date.day);
  };
  const startMs = worldStartMs(world);
  const historyRng = createRng(world.options.seed).fork('history');
  const streams: Iterator<SimRecord>[] = [
    ...world.customers.map((c) => {
      const life = dayByDay(days, (d) => midnight(c.profile.timezone, d), (d) => customerDay(world, c, lifeRng, d));
      return opts.history === true ? chain(purchaseHistory(world, c, historyRng.fork(String(c.index)), startMs), life) : life;
    }),
    ...world.stores.map((s) => dayByDay(days, (d) => midnight(s.timezone, d), (d) => storeDay(world, s, lifeRng, d))),
  ];
  const heap = new MergeHeap();
  streams.forEach((iterator, stream) => {
    const first = iterator.next();
    if (first.done !== true) heap.push({ record: first.value, stream, iterator });
  });
  let seq = 0;
  let lastTs = -Infinity;
  for (let e = heap.pop(); e !== undefined; e = heap.pop()) {
    const { record } = e;
    if (record.value.ts < lastTs) throw new Error(`simulator bug: stream ${e.stream} went back in time at ${record.value.ts}`);
    lastTs = record.value.ts;
    seq++;
    record.value.eventId = `${prefix}-${String(seq).padStart(7, '0')}`;
    yield record;
    const next = e.iterator.next();
    if (next.done !== true) heap.push({ record: next.value, stream: e.stream, iterator: e.iterator });
  }
}
