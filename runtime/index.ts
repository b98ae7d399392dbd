/**
 * `scenestream/runtime`: the hosts a pipeline runs on. The Kafka job (consumer group, one task per
 * co-partitioned partition, exactly-once state in Redis), the Redis checkpoint store and reference
 * data, the delivery channels (webhook, store screens, the delivery ledger), the embedded and replay
 * hosts of the retail job, metrics and the HTTP server.
 */
export { KafkaJob, chunkMessages, type JobObserver, type JobOptions, type JobSink, type JobSource, type JobStats, type JobView } from './kafka/job.js';
export { coPartitionedAssigner } from './kafka/assigner.js';
export { linearGroupingInstalled, quietRequestQueueInstalled } from './kafka/kafkajs.js';
export { CheckpointStore, FencedError, type CheckpointViews, type LoadedTask, type RedisCommands } from './redis/checkpoints.js';
export { liveProfileSchema, profileKey, profilePrefix, profileToHash, profileViews, RedisProfileStore, segmentKey, type LiveProfilesClient } from './redis/liveProfiles.js';
export { MemoryProfileStore, PendingProfileStore, type ProfileStore, type SegmentPage } from './profileStore.js';
export { loadApiTokens, profileApiPlugin, roleOf, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, type ApiRole, type ApiTokens, type ProfileApiOptions } from './http/profileApi.js';
export { ProfileCache, RedisProfiles, RedisStores, parseStoreRecord, PROFILE_PREFIX, STORES_GEO, STORES_HASH, STORES_VERSION, type ReferenceClient, type ProfileCacheOptions, type ProfileSource, type RejectedStore, type StoresRead, type StoresTransaction } from './redis/reference.js';
export { StoreFeed, type StoreFeedOptions, type StoreSource } from './redis/storeFeed.js';
export { MemoryLedger, RedisLedger, type DeliveryLedger, type MemoryLedgerOptions, type RedisLedgerClient, type RedisLedgerOptions } from './channels/ledger.js';
export { WebhookChannel, backoffDelayMs, isRetryableStatus, type ChannelMetrics, type DeliveryResult, type WebhookOptions } from './channels/webhook.js';
export { ScreenHub, screensPlugin, storePageHtml, screenUpdateId, type ScreenHubOptions, type ScreenSnapshot, type ScreenSuggestion, type ScreenStore } from './channels/screens.js';
export { loadServiceConfig, type HostPort, type ServiceConfig } from './config.js';
export { Metrics, type MetricsOptions } from './metrics.js';
export { RetailMetrics } from './retailMetrics.js';
export { buildServer, startServer, loadHttpConfig, DEFAULT_HTTP_PORT, type HttpConfig, type RunningServer, type ServerOptions } from './http/server.js';
export { runEmbedded, type EmbeddedRunOptions, type EmbeddedRunSummary } from './embedded.js';
export { replayFiles, replayRecords, readEvents, readProducts, readProfiles, readStores, type ReplayFilesOptions, type ReplayFilesResult, type ReplayResult } from './replay.js';
export { boughtTogetherTopics, profilesView, retailJobOptions, retailTopics, type RetailJobConfig } from './retailJob.js';
export { boughtTogetherRoutes, followBoughtTogether, type BoughtTogetherFeed, type BoughtTogetherRow, type BoughtTogetherTableBody } from './boughtTogetherView.js';
export { runKafkaMode } from './production.js';
// The wire format of the topics: Avro (plain or Confluent-framed) and JSON, validated against the contracts.
export {
  CONFLUENT_HEADER_BYTES,
  decode,
  decodeAuto,
  decodeConfluent,
  encode,
  encodeConfluent,
  fromJson,
  toJson,
  validate,
  DEFAULT_SCHEMA_IDS,
  SchemaRegistry,
  defaultRegistry,
  type Decoded,
  type Result,
} from '../schemas/index.js';
