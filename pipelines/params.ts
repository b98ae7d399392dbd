import type { DeliveryChannel, Scene } from '../schemas/index.js';
import { PROFILE_DEFAULTS, type ProfileParams } from './profile.js';
import { RECOMMENDATION_DEFAULTS, type RecommendationParams } from './recommendations.js';

/**
 * The parameters of the retail pipelines, with SCENES.md's defaults. Campaign configuration
 * overrides them; builders take them as plain values (tests drive any edge) or as getters
 * (`Live<P>` of `live.ts`: `buildRetail` reads the campaign's current parameters per record, so a
 * reload applies to what is decided next).
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** A local-time window `[startMin, endMin)` in minutes after midnight. */
export interface LocalWindow {
  readonly startMin: number;
  readonly endMin: number;
}

export interface SceneParams {
  readonly cartAbandonment: { readonly timeoutMs: number };
  readonly browseAbandonment: { readonly views: number; readonly windowMs: number; readonly cooldownMs: number };
  readonly storeProximity: { readonly dwellMs: number; readonly cooldownMs: number; readonly maxAccuracyM: number };
  readonly commute: {
    /** ISO weekdays, 1 = Monday ... 7 = Sunday. */
    readonly weekdays: readonly number[];
    readonly windows: readonly LocalWindow[];
    readonly minSpeedMps: number;
    readonly storeWithinM: number;
    /** Two pings further apart than this give no speed. */
    readonly maxGapMs: number;
    readonly maxAccuracyM: number;
  };
  readonly dormantReactivation: { readonly dormantMs: number; readonly cooldownMs: number };
}

export interface DecisionParams {
  readonly holdoutSalt: string;
  readonly holdoutRatio: number;
  /** The channel each scene's offers go to. */
  readonly channels: Readonly<Record<Scene, DeliveryChannel>>;
  /** Quiet hours in local time, and the channels they apply to. */
  readonly quietHours: LocalWindow;
  readonly quietChannels: readonly DeliveryChannel[];
  /** Sent offers per customer per local day, and per scene per local day. */
  readonly capPerDay: number;
  readonly capPerScenePerDay: number;
  /** Attribution window after a decision. */
  readonly attributionMs: number;
}

export interface RetailParams {
  readonly scenes: SceneParams;
  readonly decisions: DecisionParams;
  /** Suggestions per customer (SCENES.md §5 gives no numbers: `RECOMMENDATION_DEFAULTS`). */
  readonly recommendations: RecommendationParams;
  /** The live customer profile: RFM horizon and score thresholds, interest decay (`profile.ts`, `rfm.ts`). */
  readonly profile: ProfileParams;
  /** Timezone of a customer with no profile. */
  readonly defaultTimezone: string;
  /** Default radius of a store without one. */
  readonly defaultStoreRadiusM: number;
}

export const DEFAULT_PARAMS: RetailParams = {
  scenes: {
    cartAbandonment: { timeoutMs: 30 * MIN },
    browseAbandonment: { views: 3, windowMs: 20 * MIN, cooldownMs: 24 * HOUR },
    storeProximity: { dwellMs: 120_000, cooldownMs: 6 * HOUR, maxAccuracyM: 100 },
    commute: {
      weekdays: [1, 2, 3, 4, 5],
      windows: [
        { startMin: 7 * 60, endMin: 9 * 60 + 30 },
        { startMin: 17 * 60, endMin: 19 * 60 + 30 },
      ],
      minSpeedMps: 1.5,
      storeWithinM: 1000,
      maxGapMs: 10 * MIN,
      maxAccuracyM: 100,
    },
    dormantReactivation: { dormantMs: 30 * DAY, cooldownMs: 7 * DAY },
  },
  decisions: {
    holdoutSalt: 'scenestream',
    holdoutRatio: 0.05,
    channels: {
      cart_abandonment: 'push',
      browse_abandonment: 'push',
      store_proximity: 'push',
      commute: 'push',
      dormant_reactivation: 'push',
    },
    quietHours: { startMin: 22 * 60, endMin: 7 * 60 },
    quietChannels: ['push', 'sms', 'email'],
    capPerDay: 3,
    capPerScenePerDay: 1,
    attributionMs: 24 * HOUR,
  },
  recommendations: RECOMMENDATION_DEFAULTS,
  profile: PROFILE_DEFAULTS,
  defaultTimezone: 'Asia/Shanghai',
  defaultStoreRadiusM: 150,
};
