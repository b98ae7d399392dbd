/**
 * The simulated world: customers with homes, workplaces, commutes and profiles; stores placed where
 * people actually pass (along commutes, near homes, in the centre); and the product catalogue.
 *
 * Everything is derived from the seed through forked generators, so the same options always give
 * the same world, and changing the number of stores does not move the customers' homes.
 */

import type { ClickChannel, Consent, CustomerProfile, Store, Tier } from '../schemas/index.js';
import { ssError } from '../schemas/errors.js';
import { createCatalogue, type Catalogue } from './catalogue.js';
import { destination, haversineM, offsetM, Polyline, round, type LatLon } from './geo.js';
import { createRng, type Rng } from './prng.js';
import { isValidTimeZone, parseCivilDate, zonedToEpoch, type CivilDate } from '../pipelines/localTime.js';

/** How a customer moves; speeds in m/s. Walking stays under the commute scene's 1.5 m/s on purpose. */
export type TravelMode = 'walk' | 'bike' | 'car' | 'metro';

export interface WorldOptions {
  /** Seed of every random choice (default `'scenestream'`). */
  seed?: string | number;
  /** Number of customers (default 200). */
  customers?: number;
  /** Number of stores (default 12). */
  stores?: number;
  /** First simulated local date, `YYYY-MM-DD` (default `2025-03-03`, a Monday). */
  start?: string;
  /** City centre (default People's Square, Shanghai). */
  center?: LatLon;
  /** The city's IANA time zone, also the stores' (default `Asia/Shanghai`). */
  timezone?: string;
  /** Radius around the centre where people live, in metres (default 14,000). */
  cityRadiusM?: number;
}

export interface ResolvedWorldOptions {
  seed: string;
  customers: number;
  stores: number;
  start: string;
  center: LatLon;
  timezone: string;
  cityRadiusM: number;
}

export interface SimCustomer {
  readonly index: number;
  readonly profile: CustomerProfile;
  readonly home: LatLon;
  readonly work: LatLon;
  /** Commutes to work on weekdays. */
  readonly commuter: boolean;
  readonly commuteMode: TravelMode;
  /** Home to work; the evening commute runs it backwards. */
  readonly commute: Polyline;
  /** The channel the customer mostly shops on. */
  readonly channel: ClickChannel;
  /** Categories the customer browses most, favourite first. */
  readonly favouriteCategories: readonly string[];
  /** Store ids by distance from home, nearest first. */
  readonly storesByHome: readonly string[];
  /** Store ids by distance from work, nearest first. */
  readonly storesByWork: readonly string[];
}

export interface World {
  readonly options: ResolvedWorldOptions;
  readonly startDate: CivilDate;
  readonly customers: readonly SimCustomer[];
  readonly stores: readonly Store[];
  readonly storesById: ReadonlyMap<string, Store>;
  /** The customers' profiles, in customer order (the reference data `profiles.jsonl`). */
  readonly profiles: readonly CustomerProfile[];
  readonly catalogue: Catalogue;
}

const DAY_MS = 86_400_000;

export const DEFAULT_WORLD_OPTIONS: ResolvedWorldOptions = {
  seed: 'scenestream',
  customers: 200,
  stores: 12,
  start: '2025-03-03',
  center: { lat: 31.2304, lon: 121.4737 },
  timezone: 'Asia/Shanghai',
  cityRadiusM: 14_000,
};

/** Zones of customers whose phones are not on city time (travellers, expats, roaming). */
const OTHER_TIME_ZONES = ['Asia/Tokyo', 'Asia/Singapore', 'Europe/London', 'America/Los_Angeles', 'Australia/Sydney'];

const STORE_NAMES = [
  'Riverside', 'Central Plaza', 'Station Square', 'Old Town', 'Parkview', 'Harbour Walk', 'Garden City',
  'North Gate', 'Lakeside', 'Market Street', 'Twin Towers', 'East Bund', 'West Mall', 'Silk Road',
  'University', 'Airport Link', 'Sunrise', 'Maple Court', 'Canal Side', 'Library Corner',
];

function resolveOptions(opts: WorldOptions): ResolvedWorldOptions {
  const o: ResolvedWorldOptions = {
    seed: String(opts.seed ?? DEFAULT_WORLD_OPTIONS.seed),
    customers: opts.customers ?? DEFAULT_WORLD_OPTIONS.customers,
    stores: opts.stores ?? DEFAULT_WORLD_OPTIONS.stores,
    start: opts.start ?? DEFAULT_WORLD_OPTIONS.start,
    center: opts.center ?? DEFAULT_WORLD_OPTIONS.center,
    timezone: opts.timezone ?? DEFAULT_WORLD_OPTIONS.timezone,
    cityRadiusM: opts.cityRadiusM ?? DEFAULT_WORLD_OPTIONS.cityRadiusM,
  };
  const positiveInt = (field: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw ssError('SS_ERR_CONFIG', `${field} must be an integer >= ${min}, got ${v}`, { field });
  };
  positiveInt('customers', o.customers, 1);
  positiveInt('stores', o.stores, 1);
  if (!(o.cityRadiusM >= 2000 && o.cityRadiusM <= 200_000)) {
    throw ssError('SS_ERR_CONFIG', `cityRadiusM must be in [2000, 200000], got ${o.cityRadiusM}`, { field: 'cityRadiusM' });
  }
  if (!(Math.abs(o.center.lat) <= 80 && Math.abs(o.center.lon) <= 180)) {
    throw ssError('SS_ERR_CONFIG', `center must be a WGS84 point with |lat| <= 80, got ${JSON.stringify(o.center)}`, { field: 'center' });
  }
  if (!isValidTimeZone(o.timezone)) throw ssError('SS_ERR_CONFIG', `unknown time zone ${o.timezone}`, { field: 'timezone' });
  try {
    parseCivilDate(o.start);
  } catch (e) {
    throw ssError('SS_ERR_CONFIG', `start must be an ISO date YYYY-MM-DD, got ${JSON.stringify(o.start)}`, { field: 'start', cause: e });
  }
  return o;
}

/** A uniformly random point in a disc. */
function pointInDisc(rng: Rng, center: LatLon, radiusM: number): LatLon {
  return destination(center, rng.float(0, 360), radiusM * Math.sqrt(rng.next()));
}

function roundPoint(p: LatLon): LatLon {
  return { lat: round(p.lat, 6), lon: round(p.lon, 6) };
}

function commuteModeFor(rng: Rng, distanceM: number): TravelMode {
  if (distanceM < 1500) return rng.chance(0.8) ? 'walk' : 'bike';
  if (distanceM < 5000) return rng.weighted<TravelMode>([['bike', 5], ['metro', 3], ['car', 2], ['walk', 1]]);
  return rng.weighted<TravelMode>([['metro', 6], ['car', 4], ['bike', 1]]);
}

/** Streets are not straight lines: go along one axis, then the other, through a slightly jittered corner. */
function commutePath(rng: Rng, home: LatLon, work: LatLon): Polyline {
  const corner = rng.chance(0.5) ? { lat: home.lat, lon: work.lon } : { lat: work.lat, lon: home.lon };
  const jittered = offsetM(corner, rng.normal(0, 150), rng.normal(0, 150));
  return new Polyline([home, jittered, work]);
}

function pickTier(rng: Rng): Tier {
  return rng.weighted<Tier>([['basic', 55], ['silver', 25], ['gold', 14], ['platinum', 6]]);
}

function pickConsent(rng: Rng): Consent {
  return { push: rng.chance(0.85), sms: rng.chance(0.5), email: rng.chance(0.6), in_store: rng.chance(0.4) };
}

/**
 * Last purchase before the simulation starts: a fifth never bought (null: new, not dormant), about a
 * quarter are lapsed (more than 30 days, up to 400), the rest bought within the last four weeks.
 */
function pickLastPurchase(rng: Rng, startMs: number): number | null {
  const kind = rng.weighted<'new' | 'lapsed' | 'recent'>([['new', 20], ['lapsed', 27], ['recent', 53]]);
  if (kind === 'new') return null;
  const daysAgo = kind === 'lapsed' ? rng.float(35, 400) : rng.float(0.5, 28);
  return Math.round(startMs - daysAgo * DAY_MS);
}

interface Place {
  home: LatLon;
  work: LatLon;
  commute: Polyline;
  commuter: boolean;
}

function placeStores(rng: Rng, o: ResolvedWorldOptions, places: readonly Place[]): Store[] {
  const stores: Store[] = [];
  const commuters = places.filter((p) => p.commuter);
  for (let i = 0; i < o.stores; i++) {
    const kind = rng.weighted<'route' | 'home' | 'centre'>([
      ['route', commuters.length > 0 ? 45 : 0],
      ['home', 35],
      ['centre', 20],
    ]);
    let at: LatLon;
    if (kind === 'route') {
      // On the way: some right on the route (people pass through the geofence), most a block or two off.
      const p = rng.pick(commuters);
      const onRoute = p.commute.at(p.commute.lengthM * rng.float(0.2, 0.8));
      at = destination(onRoute, rng.float(0, 360), rng.chance(0.3) ? rng.float(0, 120) : rng.float(150, 700));
    } else if (kind === 'home') {
      // Around the corner from someone's home, but not so close that being at home is being in the store.
      at = destination(rng.pick(places).home, rng.float(0, 360), rng.float(400, 900));
    } else {
      at = pointInDisc(rng, o.center, o.cityRadiusM * 0.4);
    }
    const radiusM = rng.chance(0.7) ? 150 : Math.round(rng.float(80, 300) / 10) * 10;
    const id = `store-${String(i + 1).padStart(Math.max(2, String(o.stores).length), '0')}`;
    const name = `${STORE_NAMES[i % STORE_NAMES.length] ?? 'Store'}${i >= STORE_NAMES.length ? ` ${Math.floor(i / STORE_NAMES.length) + 1}` : ''}`;
    stores.push({ storeId: id, name, ...roundPoint(at), radiusM, timezone: o.timezone });
  }
  return stores;
}

function storesByDistance(stores: readonly Store[], from: LatLon): string[] {
  return stores
    .map((s) => ({ id: s.storeId, d: haversineM(from, s) }))
    .sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : 1))
    .map((x) => x.id);
}

/** Build a world from options; deterministic in the options. Throws SS_ERR_CONFIG on bad options. */
export function generateWorld(opts: WorldOptions = {}): World {
  const o = resolveOptions(opts);
  const root = createRng(o.seed);
  const startDate = parseCivilDate(o.start);
  const startMs = zonedToEpoch(o.timezone, startDate.year, startDate.month, startDate.day);
  const catalogue = createCatalogue(root.fork('catalogue'));
  const idWidth = Math.max(4, String(o.customers).length);

  const places: Place[] = [];
  for (let i = 0; i < o.customers; i++) {
    const rng = root.fork(`place/${i}`);
    const home = roundPoint(pointInDisc(rng, o.center, o.cityRadiusM));
    let work = home;
    // Work is mostly in the centre; never next door to home.
    for (let attempt = 0; attempt < 20 && haversineM(home, work) < 1200; attempt++) {
      work = roundPoint(pointInDisc(rng, o.center, rng.chance(0.6) ? o.cityRadiusM * 0.3 : o.cityRadiusM));
    }
    const commuter = rng.chance(0.8);
    places.push({ home, work, commute: commutePath(rng, home, work), commuter });
  }

  const stores = placeStores(root.fork('stores'), o, places);

  const customers: SimCustomer[] = places.map((place, i) => {
    const rng = root.fork(`customer/${i}`);
    const customerId = `cust-${String(i + 1).padStart(idWidth, '0')}`;
    const timezone = rng.chance(0.88) ? o.timezone : rng.pick(OTHER_TIME_ZONES);
    const profile: CustomerProfile = {
      customerId,
      tier: pickTier(rng),
      timezone,
      consent: pickConsent(rng),
      lastPurchaseTs: pickLastPurchase(rng, startMs),
    };
    const favourites = [...catalogue.categories];
    for (let k = favourites.length - 1; k > 0; k--) {
      const j = rng.int(0, k);
      [favourites[k], favourites[j]] = [favourites[j] as string, favourites[k] as string];
    }
    return {
      index: i,
      profile,
      home: place.home,
      work: place.work,
      commuter: place.commuter,
      commuteMode: commuteModeFor(rng, place.commute.lengthM),
      commute: place.commute,
      channel: rng.weighted<ClickChannel>([['app', 60], ['web', 25], ['mini_program', 15]]),
      favouriteCategories: favourites.slice(0, 3),
      storesByHome: storesByDistance(stores, place.home),
      storesByWork: storesByDistance(stores, place.work),
    };
  });

  return {
    options: o,
    startDate,
    customers,
    stores,
    storesById: new Map(stores.map((s) => [s.storeId, s])),
    profiles: customers.map((c) => c.profile),
    catalogue,
  };
}
