import { eventTimeOrder } from '../operators/eventTimeOrder.js';
import type { ProcessContext } from '../operators/keyedProcess.js';
import type { CircleIndex } from '../engine/geo.js';
import type { KeyedStream, Pipeline, Stream } from '../stream/stream.js';
import { ssError } from '../schemas/errors.js';
import type { LocationEvent, Trigger } from '../schemas/index.js';
import type { RetailDeps } from './deps.js';
import { liveParams, readLive, type Live } from './live.js';
import { DEFAULT_PARAMS, type RetailParams, type SceneParams } from './params.js';
import { retailSources, type RetailSourceOptions, type RetailSources } from './sources.js';
import { isAcceptedPing, liveStoreIndex } from './stores.js';

export type StoreProximityParams = SceneParams['storeProximity'];

interface Visit {
  /** ts of the inside ping that opened the visit. */
  readonly start: number;
  /** Whether the visit has fired (at most once per visit). */
  fired: boolean;
}

/** What the step keeps per customer. */
interface ProximityState {
  /** Open visits by storeId: the stores the customer's last accepted ping was inside. */
  readonly visits: Record<string, Visit>;
  /** ts of the last trigger by storeId, while it still holds back the next one. */
  readonly lastFired: Record<string, number>;
}

const CLEANUP_TAG = 'cleanup';

function checkParams(stepId: string, p: StoreProximityParams): void {
  for (const f of ['dwellMs', 'cooldownMs', 'maxAccuracyM'] as const) {
    if (!(p[f] >= 0)) throw ssError('SS_ERR_GRAPH_INVALID', `${f} must be >= 0, got ${p[f]}`, { stepId });
  }
}

/**
 * SCENES.md §3.3, store proximity, per customer over location pings (keyed by customerId), each
 * store evaluated on its own.
 *
 * - A ping with `accuracyM > maxAccuracyM` (100 m) is ignored: it neither starts nor ends a visit.
 *   Exactly 100 m, and an unknown (null) accuracy, are accepted.
 * - A ping is inside a store if its haversine distance to the store is `<= radiusM` (the rim is
 *   inside). Per (customer, store), a visit starts at the first inside ping when no visit is open
 *   (after an outside ping, or the customer's first ping); any accepted ping outside the store ends
 *   its visit. Only the stores whose circle holds the ping (from the spatial index) and the
 *   customer's open visits are looked at: an outside ping matters only where a visit is open.
 * - The trigger fires at the first inside ping of the visit with `ts - visitStart >= dwellMs`
 *   (exactly 120 s fires) **at which** no trigger for the same (customer, store) fired less than
 *   `cooldownMs` (6 h) earlier: if the cooldown blocks the first qualifying ping, a later ping of
 *   the same visit fires once the cooldown has passed (exactly 6 h after the last trigger fires).
 *   At most once per visit. Overlapping stores can each fire on the same ping (emitted by storeId).
 *
 * The trigger: `{scene: 'store_proximity', customerId, ts: the ping's ts, storeId, category: null,
 * eventId: the ping's eventId, productIds: []}` (SCENES.md is silent on the products: a proximity
 * trigger is about the place; the store's screens get recommendations from §5).
 *
 * Order: each customer's pings are applied in event-time order (ties in arrival order) as the
 * watermark passes them; a ping later than the out-of-orderness bound is applied at once.
 *
 * State per customer: the open visits (at most the stores that hold the last ping) and the last
 * trigger per store while within the cooldown. It is deleted when no visit is open and no
 * cooldown runs (an event-time timer at the end of the last cooldown). SCENES.md ends a visit only
 * with an outside ping, so a customer who stops sending pings while inside keeps that visit open.
 *
 * Live parameters (a getter, see `live.ts`), and a live store index (a getter too, when the
 * default radius can change): both are read once per ping and judge that ping. A visit's dwell is
 * judged with the dwell current at the ping that would fire, against the visit's start as
 * recorded (a reload never restarts a visit); a cooldown is judged with the cooldown current at
 * the later ping, from the last trigger as recorded; the accuracy limit applies to pings handled
 * after the reload (the input filter reads it live too).
 *
 * A live store catalogue (`liveStoreIndex` over a `StoreDirectory`) changes in processing time:
 * each ping is judged against the stores current when the step applies it (a ping held back for
 * event-time order is applied, and judged, when it is released). Nothing in the state is rewritten
 * on a change; the customer's next accepted ping settles it:
 * - a store **added**: a ping inside it starts a visit there (dwell counted from that ping);
 * - a store **moved** or resized: an open visit continues (its start as recorded) if the next
 *   ping is inside the new circle, else that ping ends it, as any outside ping does;
 * - a store **removed**: no ping is inside it any more, so the next ping ends its open visit. Its
 *   cooldown entry stays until the cooldown has passed (then the cleanup timer drops it), so a
 *   store removed and added again under the same id within the cooldown does not fire twice.
 *   A customer who sends no further ping keeps the visit until the state's next cleanup point,
 *   as with a customer who goes quiet inside a store.
 *
 * ```text
 * D = 120 s:  in@0  in@60s  in@120s -> trigger@120s   out@130s  in@140s (new visit; cooldown holds it)
 * ```
 */
export function storeProximity<E extends LocationEvent>(stepId: string, pings: KeyedStream<E>, stores: Live<CircleIndex>, params: Live<StoreProximityParams> = DEFAULT_PARAMS.scenes.storeProximity): KeyedStream<Trigger> {
  const current = liveParams(params, (p) => ({ ...p, accepted: isAcceptedPing(p.maxAccuracyM) }), (p) => checkParams(stepId, p));
  const storesNow = readLive(stores);
  type Resolved = ReturnType<typeof current>;

  return pings.process<Trigger>(stepId, (state) => {
    const customers = state.value<ProximityState>('customers');
    const cleanupAt = state.value<number>('cleanupAt');

    /**
     * Keeps the state (owned by the step, changed in place), or deletes it when nothing in it can
     * matter at or after `now`; cooldowns that have passed are dropped.
     */
    const save = (key: string, s: ProximityState, isNew: boolean, now: number, cooldownMs: number, ctx: ProcessContext<Trigger>) => {
      let until = -Infinity;
      for (const id in s.lastFired) {
        const ts = s.lastFired[id]!;
        if (now - ts >= cooldownMs) delete s.lastFired[id];
        else until = Math.max(until, ts + cooldownMs);
      }
      let open = false;
      for (const _ in s.visits) {
        open = true;
        break;
      }
      if (!open && until === -Infinity) customers.delete(key);
      else if (isNew) customers.set(key, s);
      else customers.touch(key);
      const prev = cleanupAt.get(key);
      if (prev === until) return;
      if (prev !== undefined) ctx.deleteEventTimer(prev, CLEANUP_TAG);
      if (until === -Infinity) cleanupAt.delete(key);
      else {
        cleanupAt.set(key, until);
        ctx.registerEventTimer(until, CLEANUP_TAG);
      }
    };

    const apply = (key: string, e: LocationEvent, p: Resolved, ctx: ProcessContext<Trigger>) => {
      if (!p.accepted(e)) return;
      const { dwellMs: D, cooldownMs } = p;
      const t = e.ts;
      const prev = customers.get(key);
      const inside = storesNow()
        .containing(e.lat, e.lon)
        .map((h) => h.circle.id)
        .sort();
      if (prev === undefined && inside.length === 0) return;
      const s: ProximityState = prev ?? { visits: {}, lastFired: {} };
      // Open visits of stores not holding this ping are ended by it.
      for (const id in s.visits) if (!inside.includes(id)) delete s.visits[id];
      for (const id of inside) {
        let v = s.visits[id];
        if (v === undefined) s.visits[id] = v = { start: t, fired: false };
        const lf = s.lastFired[id];
        if (!v.fired && t - v.start >= D && (lf === undefined || t - lf >= cooldownMs)) {
          ctx.emit({ scene: 'store_proximity', customerId: key, ts: t, storeId: id, productIds: [], category: null, eventId: e.eventId }, t);
          s.lastFired[id] = t;
          v.fired = true;
        }
      }
      save(key, s, prev === undefined, t, cooldownMs, ctx);
    };

    return {
      onElement(e, ctx) {
        apply(ctx.key, e, current(), ctx);
      },
      onEventTimer(ts, tag, ctx) {
        if (tag !== CLEANUP_TAG || cleanupAt.get(ctx.key) !== ts) return;
        const s = customers.get(ctx.key);
        cleanupAt.delete(ctx.key);
        if (s !== undefined) save(ctx.key, s, false, ts, current().cooldownMs, ctx);
      },
    };
  }, { order: eventTimeOrder<E>({ holds: (e) => current().accepted(e) }) });
}

/** The scene's input from the retail sources: accepted pings (accuracy rule, read live), by customer. */
export function storeProximityInput(src: Pick<RetailSources, 'location'>, params: Live<StoreProximityParams> = DEFAULT_PARAMS.scenes.storeProximity): KeyedStream<LocationEvent> {
  const accepted = liveParams(params, (p) => isAcceptedPing(p.maxAccuracyM));
  return src.location.filter((e) => accepted()(e), { name: 'store_proximity.input' }).keyBy((e) => e.customerId, { name: 'store_proximity.by_customer' });
}

/** The store-proximity scene on its own, over `deps.stores` (a fixed list or a live directory): triggers out. */
export function buildStoreProximity(p: Pipeline, params: RetailParams, deps: RetailDeps, sources: RetailSourceOptions = {}): Stream<Trigger> {
  const sp = params.scenes.storeProximity;
  return storeProximity('store_proximity', storeProximityInput(retailSources(p, sources), sp), liveStoreIndex(deps.stores, params.defaultStoreRadiusM), sp);
}
