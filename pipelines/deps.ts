import type { Consent, CustomerProfile, Tier } from '../schemas/index.js';
import type { ProductLookup } from './products.js';
import type { StoreCatalog } from './stores.js';

/** Reads customer profiles (in process; the Redis runtime keeps this cache warm). */
export interface ProfileLookup {
  get(customerId: string): CustomerProfile | undefined;
}

/** Reference data the retail pipelines need. */
export interface RetailDeps {
  /**
   * The stores: a fixed list (replay, tests), or a live directory (production: stores added,
   * moved or removed while the job runs apply to the pings handled after the change; see
   * {@link StoreDirectory} in `stores.ts`).
   */
  readonly stores: StoreCatalog;
  readonly profiles: ProfileLookup;
  /** The product catalogue, for offer titles (`{product}`...); none: titles use their fallback. */
  readonly products?: ProductLookup;
}

/** What the pipelines use of a profile, with SCENES.md §2's defaults for a customer with none. */
export interface ResolvedProfile {
  readonly customerId: string;
  readonly tier: Tier;
  readonly timezone: string;
  readonly consent: Consent;
  readonly lastPurchaseTs: number | null;
  /** Whether a profile exists. */
  readonly known: boolean;
}

const NO_CONSENT: Consent = { push: false, sms: false, email: false, in_store: false };

/** A customer with no profile: default timezone, tier basic, no consent on any channel (privacy first). */
export function resolveProfile(profiles: ProfileLookup, customerId: string, defaultTimezone: string): ResolvedProfile {
  const p = profiles.get(customerId);
  if (p === undefined) return { customerId, tier: 'basic', timezone: defaultTimezone, consent: NO_CONSENT, lastPurchaseTs: null, known: false };
  return { customerId, tier: p.tier, timezone: p.timezone, consent: p.consent, lastPurchaseTs: p.lastPurchaseTs, known: true };
}

/** Profiles from a list (replay files, tests). */
export function profilesFrom(list: Iterable<CustomerProfile>): ProfileLookup {
  const m = new Map<string, CustomerProfile>();
  for (const p of list) m.set(p.customerId, p);
  return m;
}
