import { createHash } from 'node:crypto';
import { ssError } from '../schemas/errors.js';
import { SCENES, type Scene } from '../schemas/index.js';
import { titleProblems } from './products.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * What a sent decision of a scene offers (SCENES.md §4): the campaign, the title shown, the
 * discount, and how long the offer stays valid (`expiresAt = ts + expiresInMs`). Campaign
 * configuration loads these per scene; {@link DEFAULT_OFFER_TEMPLATES} holds the defaults.
 */
export interface OfferTemplate {
  readonly campaignId: string;
  /**
   * The title shown. It may name `{product}`, `{category}`, `{price}`, `{store}` and `{discount}`
   * (`products.ts`, {@link TITLE_PLACEHOLDERS}), filled from the product catalogue and the stores.
   */
  readonly title: string;
  /**
   * The title when a placeholder of `title` has no value (no product, a product not in the
   * catalogue, no store); required when `title` has placeholders, and has none itself. `''`:
   * none (a title without placeholders needs none).
   */
  readonly fallbackTitle: string;
  /** Percent off, in `[0, 100]`. */
  readonly discountPct: number;
  /** Validity after the trigger's ts, `>= 0`. */
  readonly expiresInMs: number;
}

export type OfferTemplates = Readonly<Record<Scene, OfferTemplate>>;

/**
 * Defaults per scene; SCENES.md names no campaign, title or discount, so these are ours. Without a
 * product catalogue (or for a product not in it) the titles are their fallbacks.
 */
export const DEFAULT_OFFER_TEMPLATES: OfferTemplates = {
  cart_abandonment: { campaignId: 'cmp_cart_abandonment', title: '{product} is waiting in your cart: 10% off', fallbackTitle: 'Your cart is waiting: 10% off', discountPct: 10, expiresInMs: DAY },
  browse_abandonment: { campaignId: 'cmp_browse_abandonment', title: 'Still looking at {product}? 5% off what you viewed', fallbackTitle: 'Still looking? 5% off what you viewed', discountPct: 5, expiresInMs: DAY },
  store_proximity: { campaignId: 'cmp_store_proximity', title: 'You are nearby: 15% off in store today', fallbackTitle: '', discountPct: 15, expiresInMs: 4 * HOUR },
  commute: { campaignId: 'cmp_commute', title: 'On your way? 10% off at a store near you', fallbackTitle: '', discountPct: 10, expiresInMs: 3 * HOUR },
  dormant_reactivation: { campaignId: 'cmp_dormant_reactivation', title: 'We miss you: 20% off your next order', fallbackTitle: '', discountPct: 20, expiresInMs: 7 * DAY },
};

/** Rejects templates that would produce invalid offers, naming the scene and field (build time). */
export function checkOfferTemplates(templates: OfferTemplates, stepId: string): void {
  for (const scene of SCENES) {
    const t = templates[scene] as OfferTemplate | undefined;
    const bad = (field: string, why: string) => ssError('SS_ERR_CONFIG', `offer template of ${scene}: ${field} ${why}`, { stepId, field: `templates.${scene}.${field}` });
    if (t === undefined) throw ssError('SS_ERR_CONFIG', `no offer template for scene ${scene}`, { stepId, field: `templates.${scene}` });
    if (typeof t.campaignId !== 'string' || t.campaignId === '') throw bad('campaignId', 'must be a non-empty string');
    if (typeof t.title !== 'string' || t.title === '') throw bad('title', 'must be a non-empty string');
    if (typeof t.fallbackTitle !== 'string') throw bad('fallbackTitle', 'must be a string');
    const problem = titleProblems(t.title, t.fallbackTitle)[0];
    if (problem !== undefined) throw bad(problem.field, problem.message);
    if (!(t.discountPct >= 0 && t.discountPct <= 100)) throw bad('discountPct', `is ${String(t.discountPct)}; it must be in [0, 100]`);
    if (!(Number.isSafeInteger(t.expiresInMs) && t.expiresInMs >= 0)) throw bad('expiresInMs', `is ${String(t.expiresInMs)}; it must be an integer >= 0`);
  }
}

const shortHash = (parts: readonly unknown[]): string => createHash('sha256').update(JSON.stringify(parts), 'utf8').digest('hex').slice(0, 24);

/**
 * SCENES.md §4: the offer id derives from (scene, customerId, trigger ts) only, so a replay or a
 * restart produces the same id and a sink can drop duplicates. Consequence: two sent offers of one
 * scene for one customer at the same ts (two overlapping stores' store_proximity triggers) share
 * an id; with the default per-scene cap of 1 a day the second is never sent.
 */
export function offerIdOf(scene: Scene, customerId: string, triggerTs: number): string {
  return `off_${shortHash([scene, customerId, triggerTs])}`;
}

/**
 * The decision id: (scene, customerId, trigger ts, storeId), so the decisions of two store
 * triggers at the same ts differ. Deterministic, like {@link offerIdOf}.
 */
export function decisionIdOf(scene: Scene, customerId: string, triggerTs: number, storeId: string | null): string {
  return `dec_${shortHash([scene, customerId, triggerTs, storeId])}`;
}
