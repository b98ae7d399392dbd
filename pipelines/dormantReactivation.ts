import { eventTimeOrder } from '../operators/eventTimeOrder.js';
import type { ProcessContext } from '../operators/keyedProcess.js';
import type { KeyedStream, Pipeline, Stream } from '../stream/stream.js';
import { ssError } from '../schemas/errors.js';
import type { ClickEvent, Trigger } from '../schemas/index.js';
import { resolveProfile, type RetailDeps } from './deps.js';
import { liveParams, type Live } from './live.js';
import { DEFAULT_PARAMS, type RetailParams, type SceneParams } from './params.js';
import { isKnownCustomer, isPurchase, retailSources, type KnownPosEvent, type RetailSourceOptions, type RetailSources } from './sources.js';

export type DormantReactivationParams = SceneParams['dormantReactivation'];

/** What the scene reads: app opens and purchases (checkout clicks, till purchases of known customers). */
export type DormantInput = ClickEvent | KnownPosEvent;

/** What the step keeps per customer. */
/** What the step keeps per customer: owned by the step and changed in place (then touched). */
interface DormantState {
  /** ts of the latest purchase seen in the events, or null. */
  lastPurchase: number | null;
  /** ts of the last trigger while it still holds back the next one, or null. */
  lastFired: number | null;
}

/** Evidence first: a purchase at the same ts as an app_open is known at that app_open. */
const rank = (e: DormantInput): number => (isPurchase(e) ? 0 : 1);

function checkParams(stepId: string, p: DormantReactivationParams): void {
  for (const f of ['dormantMs', 'cooldownMs'] as const) {
    if (!(p[f] >= 0)) throw ssError('SS_ERR_GRAPH_INVALID', `${f} must be >= 0, got ${p[f]}`, { stepId });
  }
}

/**
 * SCENES.md §3.5, dormant reactivation, per customer over `app_open` clicks and purchases
 * (keyed by customerId).
 *
 * On an `app_open` at `t`, the customer's last known purchase is the later of the latest purchase
 * seen in the events (a `checkout` click, or a till transaction of the customer with an item of
 * quantity > 0; a return alone is not a purchase) and `lastPurchaseOf(customer)` (the profile's
 * `lastPurchaseTs`). The trigger fires at `t` if that is at or before `t - dormantMs` (exactly 30
 * days fires) and no dormant_reactivation trigger fired for the customer less than `cooldownMs`
 * (7 days) before `t` (exactly 7 days later fires). A customer with no known purchase is new, not
 * dormant: no trigger.
 *
 * The trigger: `{scene: 'dormant_reactivation', customerId, ts: t, storeId: null, productIds: [],
 * category: null, eventId: the app_open's eventId}`.
 *
 * Order: a customer's clicks and till purchases are applied in event-time order as the watermark
 * passes them (so a till purchase whose topic lags still counts in its place); at equal ts a
 * purchase comes before the app_open. A record later than the out-of-orderness bound is applied
 * at once.
 *
 * State per customer: the latest purchase seen (kept for good: it tells a dormant customer from a
 * new one when the profile does not) and the last trigger while within the cooldown.
 *
 * Live parameters (a getter, see `live.ts`): read once per record applied; an `app_open` is judged
 * with the dormancy and cooldown current when it is applied, against the purchases and the last
 * trigger as recorded (a cooldown that a reload lengthens still holds back a trigger whose
 * record was kept, i.e. one younger than the cooldown current at the time of the later record).
 *
 * ```text
 * checkout@day0   app_open@day29 -> nothing   app_open@day30 -> trigger   app_open@day36 -> nothing (cooldown)
 * ```
 */
export function dormantReactivation<E extends DormantInput>(
  stepId: string,
  events: KeyedStream<E>,
  lastPurchaseOf: (customerId: string) => number | null,
  params: Live<DormantReactivationParams> = DEFAULT_PARAMS.scenes.dormantReactivation,
): KeyedStream<Trigger> {
  const current = liveParams(params, (p) => p, (p) => checkParams(stepId, p));
  const relevant = (e: DormantInput): boolean => isPurchase(e) || ('type' in e && e.type === 'app_open');

  return events.process<Trigger>(stepId, (state) => {
    const customers = state.value<DormantState>('customers');

    /** Writes `lastPurchase` and `lastFired` into the customer's state, or deletes it when both are null. */
    const save = (key: string, prev: DormantState | undefined, lastPurchase: number | null, lastFired: number | null) => {
      if (lastPurchase === null && lastFired === null) customers.delete(key);
      else if (prev === undefined) customers.set(key, { lastPurchase, lastFired });
      else {
        prev.lastPurchase = lastPurchase;
        prev.lastFired = lastFired;
        customers.touch(key);
      }
    };

    const apply = (key: string, e: DormantInput, { dormantMs, cooldownMs }: DormantReactivationParams, ctx: ProcessContext<Trigger>) => {
      const t = e.ts;
      const prev = customers.get(key);
      const prevPurchase = prev?.lastPurchase ?? null;
      const prevFired = prev?.lastFired ?? null;
      const lastFired = prevFired !== null && t - prevFired < cooldownMs ? prevFired : null;
      if (isPurchase(e)) {
        save(key, prev, Math.max(prevPurchase ?? -Infinity, t), lastFired);
        return;
      }
      if (!('type' in e) || e.type !== 'app_open') return;
      const fromProfile = lastPurchaseOf(key);
      const known = prevPurchase === null ? fromProfile : fromProfile === null ? prevPurchase : Math.max(prevPurchase, fromProfile);
      if (known !== null && known <= t - dormantMs && lastFired === null) {
        ctx.emit({ scene: 'dormant_reactivation', customerId: key, ts: t, storeId: null, productIds: [], category: null, eventId: e.eventId }, t);
        save(key, prev, prevPurchase, t);
      } else if (lastFired !== prevFired) save(key, prev, prevPurchase, lastFired);
    };

    return {
      onElement(e, ctx) {
        if (relevant(e)) apply(ctx.key, e, current(), ctx);
      },
    };
  }, { order: eventTimeOrder<E>({ rank, holds: relevant }) });
}

/** The scene's input from the retail sources: app opens and checkouts, and till purchases of known customers, by customer. */
export function dormantReactivationInput(src: Pick<RetailSources, 'clicks' | 'pos'>): KeyedStream<DormantInput> {
  const opens = src.clicks.filter((e) => e.type === 'app_open' || e.type === 'checkout', { name: 'dormant_reactivation.clicks' }).keyBy((e) => e.customerId, { name: 'dormant_reactivation.clicks_by_customer' });
  const tills = src.pos
    .filter(isKnownCustomer, { name: 'dormant_reactivation.known' })
    .filter(isPurchase, { name: 'dormant_reactivation.purchases' })
    .keyBy((e) => e.customerId, { name: 'dormant_reactivation.pos_by_customer' });
  return opens.mergeKeyed(tills);
}

/** A customer's `lastPurchaseTs` from the profile (null without a profile). */
export function profileLastPurchase(deps: Pick<RetailDeps, 'profiles'>, defaultTimezone: string): (customerId: string) => number | null {
  return (customerId) => resolveProfile(deps.profiles, customerId, defaultTimezone).lastPurchaseTs;
}

/** The dormant-reactivation scene on its own, over `deps.profiles`: triggers out. */
export function buildDormantReactivation(p: Pipeline, params: RetailParams, deps: RetailDeps, sources: RetailSourceOptions = {}): Stream<Trigger> {
  const input = dormantReactivationInput(retailSources(p, sources));
  return dormantReactivation('dormant_reactivation', input, profileLastPurchase(deps, params.defaultTimezone), params.scenes.dormantReactivation);
}
