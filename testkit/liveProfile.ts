import type { LiveProfile } from '../pipelines/profile.js';

/**
 * A live profile for tests: a known gold customer with one purchase of 10 as of `asOf` 1000, push
 * consent only, no cart; `over` replaces any field.
 */
export function liveProfile(customerId: string, over: Partial<LiveProfile> = {}): LiveProfile {
  return {
    customerId,
    asOf: 1_000,
    frequency: 1,
    monetary: 10,
    recencyScore: 5,
    frequencyScore: 1,
    monetaryScore: 1,
    topCategories: [],
    cartItems: 0,
    cartQuantity: 0,
    cartProductIds: [],
    tier: 'gold',
    consentPush: true,
    consentSms: false,
    consentEmail: false,
    consentInStore: false,
    knownProfile: true,
    ...over,
  };
}
