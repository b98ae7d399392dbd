/**
 * `scenestream/retail`: the retail pipelines of SCENES.md, each built by a function, and their
 * parameters: the five scenes, decisions, offers, recommendations and bought-together counts,
 * attribution against the holdout group, and the campaign file that configures them.
 */
export { buildRetail, RETAIL_SINKS, type RetailOptions, type RetailStreams } from './retail.js';
export { retailSources, TOPICS, isKnownCustomer, isPurchase, type RetailSourceOptions, type RetailSources, type KnownPosEvent } from './sources.js';
export { buildCartAbandonment, cartAbandonment, CART_ABANDONMENT_DEFAULTS, type CartAbandonmentParams } from './cartAbandonment.js';
export { buildBrowseAbandonment, browseAbandonment, type BrowseAbandonmentParams } from './browseAbandonment.js';
export { buildStoreProximity, storeProximity, type StoreProximityParams } from './storeProximity.js';
export { buildCommute, commute, type CommuteParams } from './commute.js';
export { buildDormantReactivation, dormantReactivation, type DormantReactivationParams } from './dormantReactivation.js';
export { buildDecisions, decide, DECISION_DEFAULTS, OFFERS_OUTPUT, type DecidedRecord, type DecisionConfig, type DecisionStreams } from './decisions.js';
export { inHoldout, holdoutPosition } from './holdout.js';
export { DEFAULT_OFFER_TEMPLATES, offerIdOf, decisionIdOf, type OfferTemplate, type OfferTemplates } from './offers.js';
export { buildRecommendations, RECOMMENDATION_DEFAULTS, type RecommendationParams, type RecommendationStreams } from './recommendations.js';
export { buildBoughtTogether, buildGlobalBoughtTogether, BOUGHT_TOGETHER_TOP, GLOBAL_BOUGHT_TOGETHER, type BoughtTogetherIndex, type BoughtTogetherLookup, type GlobalBoughtTogetherOptions } from './boughtTogether.js';
export { BoughtTogetherTable } from './boughtTogetherTable.js';
export { buildAttribution, summarise, type Summary, type SceneSummary, type SceneAttribution } from './attribution.js';
export { DEFAULT_PARAMS, type RetailParams, type SceneParams, type DecisionParams, type LocalWindow } from './params.js';
export { profilesFrom, resolveProfile, type RetailDeps, type ProfileLookup, type ResolvedProfile } from './deps.js';
export { LiveProducts, NO_PRODUCTS, renderTitle, TITLE_PLACEHOLDERS, titleProblems, type ProductChange, type ProductLookup, type TitlePlaceholder, type TitleValues } from './products.js';
export { LiveTable, type RowKind, type TableChange } from './liveTable.js';
export { isStoreDirectory, LiveStores, liveStoreIndex, storeDirectory, storeIndex, type StoreCatalog, type StoreChange, type StoreDirectory } from './stores.js';
export {
  DEFAULT_CAMPAIGN,
  openCampaign,
  parseCampaign,
  readCampaignFile,
  staticCampaign,
  validateCampaign,
  type Campaign,
  type CampaignHandle,
  type CampaignSource,
  type ConfigProblem,
} from './campaign.js';
export { buildCustomerProfile, customerProfile, customerProfileInput, renderProfile, PROFILE_DEFAULTS, LAST_TRIGGER_FIELD, type LiveProfile, type ProfileDeps, type ProfileInput, type ProfileParams, type ProfileState } from './profile.js';
export { isRfmSegment, levelScore, nextRecencyChange, recencyScore, rfmSegment, RFM_SEGMENTS, RFM_THRESHOLD_DEFAULTS, type RfmScores, type RfmSegment, type RfmThresholds } from './rfm.js';
export { isValidTimeZone, localParts, zonedToEpoch, type LocalParts, type CivilDate } from './localTime.js';
// The contracts the retail pipelines read and write (types generated from schemas/*.avsc).
export * from '../schemas/types.generated.js';
