import { eventTimeOrder } from '../operators/eventTimeOrder.js';
import type { ProcessContext } from '../operators/keyedProcess.js';
import { haversineM, type CircleIndex } from '../engine/geo.js';
import type { KeyedStream, Pipeline, Stream } from '../stream/stream.js';
import { ssError } from '../schemas/errors.js';
import type { LocationEvent, Trigger } from '../schemas/index.js';
import { isValidTimeZone, localParts } from './localTime.js';
import { resolveProfile, type RetailDeps } from './deps.js';
import { liveParams, readLive, type Live } from './live.js';
import { DEFAULT_PARAMS, type LocalWindow, type RetailParams, type SceneParams } from './params.js';
import { retailSources, type RetailSourceOptions, type RetailSources } from './sources.js';
import { isAcceptedPing, liveStoreIndex } from './stores.js';

export type CommuteParams = SceneParams['commute'];

interface LastPing {
  ts: number;
  lat: number;
  lon: number;
}

/** What the step keeps per customer: owned by the step and changed in place (then touched). */
interface CommuteState {
  /** The last accepted ping (largest ts so far). */
  readonly last: LastPing;
  /** ts of the trigger per `localDate/startMin-endMin` (the window's bounds) that fired, for two days. */
  readonly fired: Record<string, number>;
}

const CLEANUP_TAG = 'cleanup';
/** How long a fired (local date, window) is remembered: longer than any local day. */
const FIRED_RETENTION_MS = 2 * 86_400_000;

function checkParams(stepId: string, p: CommuteParams): void {
  const bad = (msg: string) => ssError('SS_ERR_GRAPH_INVALID', msg, { stepId });
  for (const f of ['minSpeedMps', 'storeWithinM', 'maxGapMs', 'maxAccuracyM'] as const) if (!(p[f] >= 0)) throw bad(`${f} must be >= 0, got ${p[f]}`);
  for (const d of p.weekdays) if (!(Number.isInteger(d) && d >= 1 && d <= 7)) throw bad(`weekdays are ISO weekdays 1..7, got ${d}`);
  for (const w of p.windows) {
    const ok = (m: number) => Number.isInteger(m) && m >= 0 && m <= 1440;
    if (!ok(w.startMin) || !ok(w.endMin) || w.startMin === w.endMin) throw bad(`a window needs whole minutes in [0, 1440] with start != end, got [${w.startMin}, ${w.endMin})`);
  }
}

/** `[start, end)` in minutes after local midnight; a window with start > end runs over midnight. */
const inWindow = (w: LocalWindow, minute: number): boolean => (w.startMin < w.endMin ? minute >= w.startMin && minute < w.endMin : minute >= w.startMin || minute < w.endMin);

/**
 * SCENES.md §3.4, commute, per customer over location pings (keyed by customerId).
 *
 * Pings with `accuracyM > maxAccuracyM` (100 m, as for store proximity; null is accepted) are
 * ignored: they are not pings of the pair. For two consecutive accepted pings p1, p2 (event-time
 * order) with `0 < p2.ts - p1.ts <= maxGapMs` (exactly 10 min counts), the speed is
 * `p2.speedMps` when present, else the haversine distance p1→p2 over the elapsed seconds. The
 * trigger fires at `p2.ts` when
 * - p2 is, in the **customer's local time** (profile timezone; `defaultTimezone`, Asia/Shanghai,
 *   without a profile or with an unknown zone), on one of `weekdays` (Mon-Fri) and inside a window
 *   `[start, end)` ([07:00, 09:30) or [17:00, 19:30): 07:00:00 is in, 09:30:00 is out),
 * - the speed is `>= minSpeedMps` (1.5 m/s),
 * - a store centre lies within `storeWithinM` (1,000 m, inclusive) of p2: the trigger names the
 *   nearest, ties by smallest storeId;
 * and no commute trigger fired yet for the customer in that window of that local date.
 *
 * The trigger: `{scene: 'commute', customerId, ts: p2.ts, storeId, category: null,
 * eventId: p2's eventId, productIds: []}` (SCENES.md is silent on products: the store is the offer).
 *
 * Order: pings are applied in event-time order (ties in arrival order; a tie gives no speed, and
 * the later arrival becomes p1 of the next pair). A ping later than the out-of-orderness bound is
 * applied at once, as p2 of the last ping only if it is newer.
 *
 * State per customer: the last accepted ping and the (date, window) pairs that fired in the last
 * two days; deleted by an event-time timer once the last ping is older than `maxGapMs` and no
 * window fired within two days.
 *
 * Live parameters (a getter, see `live.ts`), store index and default timezone (getters too) are
 * read once per ping and judge that ping as p2; p1 is the last accepted ping as recorded. A window
 * is remembered by its bounds, so a reload that keeps a window keeps "already fired today" for it,
 * and a window it changes is a new window (it may fire once that day).
 *
 * ```text
 * Mon 07:59:50 p1 ---- 10 s, 20 m ---- Mon 08:00:00 p2 (2 m/s, store 300 m away) -> trigger@p2
 * Mon 08:30:00 again                                                            -> nothing (same window, same date)
 * ```
 */
export function commute<E extends LocationEvent>(
  stepId: string,
  pings: KeyedStream<E>,
  stores: Live<CircleIndex>,
  timezoneOf: (customerId: string) => string,
  params: Live<CommuteParams> = DEFAULT_PARAMS.scenes.commute,
): KeyedStream<Trigger> {
  const current = liveParams(params, (p) => ({ ...p, accepted: isAcceptedPing(p.maxAccuracyM), weekdaySet: new Set(p.weekdays) }), (p) => checkParams(stepId, p));
  const storesNow = readLive(stores);
  type Resolved = ReturnType<typeof current>;

  /** The `localDate/window` key of p2, or null when p2 is in no commute window of a weekday. */
  const windowOf = (customerId: string, ts: number, p: Resolved): string | null => {
    const lp = localParts(ts, timezoneOf(customerId));
    if (!p.weekdaySet.has(lp.weekday)) return null;
    const minute = lp.hour * 60 + lp.minute;
    const w = p.windows.find((x) => inWindow(x, minute));
    return w === undefined ? null : `${lp.year}-${lp.month}-${lp.day}/${w.startMin}-${w.endMin}`;
  };

  return pings.process<Trigger>(stepId, (state) => {
    const customers = state.value<CommuteState>('customers');
    const cleanupAt = state.value<number>('cleanupAt');

    /** Until when the state can matter: the next ping may pair with `last`, a fired window may recur. */
    const relevantUntil = (s: CommuteState, maxGapMs: number): number => Math.max(s.last.ts + maxGapMs, ...Object.values(s.fired).map((ts) => ts + FIRED_RETENTION_MS));

    const apply = (key: string, e: LocationEvent, p: Resolved, ctx: ProcessContext<Trigger>) => {
      if (!p.accepted(e)) return;
      const { maxGapMs, minSpeedMps, storeWithinM } = p;
      const prev = customers.get(key);
      if (prev !== undefined && e.ts < prev.last.ts) return; // older than the last ping: it pairs with nothing
      let s: CommuteState;
      if (prev === undefined) {
        s = { last: { ts: e.ts, lat: e.lat, lon: e.lon }, fired: {} };
        customers.set(key, s);
      } else {
        s = prev;
        for (const w in s.fired) if (e.ts - s.fired[w]! >= FIRED_RETENTION_MS) delete s.fired[w];
        const gap = e.ts - s.last.ts;
        if (gap > 0 && gap <= maxGapMs) {
          const speed = e.speedMps ?? haversineM(s.last.lat, s.last.lon, e.lat, e.lon) / (gap / 1000);
          const w = speed >= minSpeedMps ? windowOf(key, e.ts, p) : null;
          if (w !== null && s.fired[w] === undefined) {
            const nearest = storesNow().nearest(e.lat, e.lon, storeWithinM, 1)[0];
            if (nearest !== undefined) {
              ctx.emit({ scene: 'commute', customerId: key, ts: e.ts, storeId: nearest.circle.id, productIds: [], category: null, eventId: e.eventId }, e.ts);
              s.fired[w] = e.ts;
            }
          }
        }
        s.last.ts = e.ts;
        s.last.lat = e.lat;
        s.last.lon = e.lon;
        customers.touch(key);
      }
      if (cleanupAt.get(key) === undefined) {
        const at = relevantUntil(s, maxGapMs);
        cleanupAt.set(key, at);
        ctx.registerEventTimer(at, CLEANUP_TAG);
      }
    };

    return {
      onElement(e, ctx) {
        apply(ctx.key, e, current(), ctx);
      },
      onEventTimer(ts, tag, ctx) {
        if (tag !== CLEANUP_TAG || cleanupAt.get(ctx.key) !== ts) return;
        const p = current();
        const s = customers.get(ctx.key);
        const until = s === undefined ? -Infinity : relevantUntil(s, p.maxGapMs);
        if (until <= ts) {
          customers.delete(ctx.key);
          cleanupAt.delete(ctx.key);
        } else {
          cleanupAt.set(ctx.key, until);
          ctx.registerEventTimer(until, CLEANUP_TAG);
        }
      },
    };
  }, { order: eventTimeOrder<E>({ holds: (e) => current().accepted(e) }) });
}

/** The scene's input from the retail sources: accepted pings (accuracy rule, read live), by customer. */
export function commuteInput(src: Pick<RetailSources, 'location'>, params: Live<CommuteParams> = DEFAULT_PARAMS.scenes.commute): KeyedStream<LocationEvent> {
  const accepted = liveParams(params, (p) => isAcceptedPing(p.maxAccuracyM));
  return src.location.filter((e) => accepted()(e), { name: 'commute.input' }).keyBy((e) => e.customerId, { name: 'commute.by_customer' });
}

/**
 * A customer's local timezone: the profile's, or `defaultTimezone` without a profile or when the
 * profile names a zone the platform does not know (a bad profile must not stop the scene).
 */
export function timezoneOf(deps: Pick<RetailDeps, 'profiles'>, defaultTimezone: Live<string>): (customerId: string) => string {
  const fallback = readLive(defaultTimezone);
  return (customerId) => {
    const def = fallback();
    const tz = resolveProfile(deps.profiles, customerId, def).timezone;
    return isValidTimeZone(tz) ? tz : def;
  };
}

/** The commute scene on its own, over `deps.stores` and `deps.profiles` (timezones): triggers out. */
export function buildCommute(p: Pipeline, params: RetailParams, deps: RetailDeps, sources: RetailSourceOptions = {}): Stream<Trigger> {
  const c = params.scenes.commute;
  return commute('commute', commuteInput(retailSources(p, sources), c), liveStoreIndex(deps.stores, params.defaultStoreRadiusM), timezoneOf(deps, params.defaultTimezone), c);
}
