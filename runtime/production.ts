import { createClient } from '@redis/client';
import { Kafka, logLevel } from './kafka/kafkajs.js';
import { measurementSettings, openCampaign, staticCampaign, type CampaignHandle, type CampaignSource } from '../pipelines/campaign.js';
import type { MeasurementSettings } from '../pipelines/measurement.js';
import { LiveProducts } from '../pipelines/products.js';
import { TOPICS } from '../pipelines/sources.js';
import { LiveStores } from '../pipelines/stores.js';
import { RETAIL_SINKS } from '../pipelines/retail.js';
import type { Offer, Product } from '../schemas/index.js';
import { RedisLedger } from './channels/ledger.js';
import { WebhookChannel } from './channels/webhook.js';
import { loadKafkaModeConfig, loadServiceConfig, loadTopicsConfig } from './config.js';
import { ssError, type ScenestreamError } from '../schemas/errors.js';
import { Dependencies, errorText, redactUrl } from './dependencies.js';
import { startServer } from './http/server.js';
import { loadApiTokens } from './http/profileApi.js';
import { PendingProfileStore } from './profileStore.js';
import { RedisProfileStore } from './redis/liveProfiles.js';
import { KafkaJob } from './kafka/job.js';
import { kafkaLogCreator } from './kafka/logging.js';
import { feedScreenOffers, feedScreens } from './kafka/screensFeed.js';
import { broadcast, readWholeTopic, type Broadcast } from './kafka/broadcast.js';
import { followProducts, productsTopic } from './kafka/productsTopic.js';
import { prepareTopics } from './kafka/topics.js';
import { AttributionView } from './attributionView.js';
import { GLOBAL_BOUGHT_TOGETHER } from '../pipelines/boughtTogether.js';
import { BoughtTogetherTable } from '../pipelines/boughtTogetherTable.js';
import { boughtTogetherRoutes, followBoughtTogether, type BoughtTogetherFeed } from './boughtTogetherView.js';
import { ScreenHub } from './channels/screens.js';
import { Metrics, setMeasurementSettings } from './metrics.js';
import { ProfileCache, RedisProducts, RedisProfiles, RedisStores } from './redis/reference.js';
import { ReferenceFeed } from './redis/referenceFeed.js';
import { StoreFeed } from './redis/storeFeed.js';
import { boughtTogetherTopics, retailJobOptions, tallyingProfilesView } from './retailJob.js';
import { RetailMetrics } from './retailMetrics.js';
import { segmentSeries, SegmentTally } from './segmentSizes.js';

/** How long the delivery ledger may take to read the offers topic when it rebuilds itself. */
const LEDGER_REBUILD_TIMEOUT_MS = 120_000;

/** The customers of a batch of input records (an anonymous till transaction has none). */
function* customersOf(values: readonly unknown[]): Iterable<string> {
  for (const v of values) {
    const id = (v as { readonly customerId?: string | null }).customerId;
    if (typeof id === 'string') yield id;
  }
}

/** How many partitions a topic has, read from the broker once (again after a failure). */
function inputPartitions(kafka: Kafka, topic: string): () => Promise<number> {
  let known: Promise<number> | undefined;
  return () =>
    (known ??= (async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        return topics[0]?.partitions.length ?? 0;
      } finally {
        await admin.disconnect();
      }
    })().catch((e: unknown) => {
      known = undefined;
      throw ssError('SS_ERR_SERVICE_UNAVAILABLE', `Kafka: the partitions of ${topic}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }));
}

/**
 * The main job in production mode (`SCENESTREAM_MODE=kafka`): the retail pipelines as a Kafka job
 * in the consumer group `scenestream-retail`, state checkpointed in Redis, reference data (stores,
 * profiles) read from Redis (profiles on demand; the store catalogue as a live table, polled every
 * `STORES_REFRESH_MS` by {@link StoreFeed}: a store added, moved or removed applies to the records
 * handled after the change, and the screens follow it), metrics on HTTP_PORT, and push offers to
 * PUSH_WEBHOOK_URL if set.
 * Start as many instances as you like (or `scenestream run --instances N`, `runtime/instances.ts`):
 * they share the partitions. Every instance serves the screens
 * of every store (`/stores/<id>`), fed from the recommendations topic ({@link feedScreens}), and
 * the job-wide attribution (`GET /attribution`: totals per scene, and the measurement of
 * `summary.json`, per scene, segment and the campaign), read back from the attribution topic; its metrics
 * cover the partitions the instance owns, so that their sum over instances is the job's
 * ({@link AttributionView}); and the job-wide bought-together table (`GET /bought-together`,
 * `GET /bought-together/<productId>`), counted by product through a repartition topic and read
 * back from its compacted changelog before the job consumes (docs/runtime.md, "Global
 * bought-together"), which the recommendation step reads too.
 *
 * **Start-up.** The HTTP server comes up first (`/healthz` 200, `/readyz` 503 until the job runs).
 * Redis, then Kafka, are tried with backoff for `STARTUP_TIMEOUT_MS`; one log line names what is
 * unreachable and where, a reminder follows every `OUTAGE_LOG_INTERVAL_MS`; past the timeout the
 * process exits non-zero with `SS_ERR_SERVICE_UNAVAILABLE` (the CLI prints it on one line).
 * **Running.** An outage of Kafka or Redis makes `/readyz` 503 naming the service, sets
 * `scenestream_dependency_up` to 0 and counts failures; the job retries and loses nothing.
 *
 * Environment: KAFKA_BROKERS, REDIS_URL, TOPICS_* (README), PUSH_WEBHOOK_URL, the job's settings
 * of `loadKafkaModeConfig` (runtime/config.ts: JOB_NAME, TOPICS_PREFIX, IDLE_TIMEOUT_MS,
 * CHECKPOINT_INTERVAL_MS, PARTITIONS_CONSUMED_CONCURRENTLY, PROFILES_REFRESH_MS: a cached profile's
 * freshness, PROFILES_CACHE_SIZE, STORES_REFRESH_MS, PRODUCTS_FROM, PRODUCTS_REFRESH_MS, STARTUP_TIMEOUT_MS,
 * OUTAGE_LOG_INTERVAL_MS),
 * HTTP_PORT/HTTP_HOST, API_TOKENS/API_TOKENS_FILE (the profile API's bearer tokens, `http/profileApi.ts`).
 */
export async function runKafkaMode(opts: { readonly config?: string } = {}): Promise<number> {
  const env = process.env;
  const svc = loadServiceConfig(env);
  const topics = loadTopicsConfig(env);
  const jobConfig = loadKafkaModeConfig(env);
  const { startupTimeoutMs: startupMs, profilesRefreshMs: refreshMs, profilesCacheSize: cacheSize, storesRefreshMs, outageLogIntervalMs: logIntervalMs } = jobConfig;
  const log = (level: 'info' | 'warn' | 'error', msg: string) => console.error(`${level}: ${msg}`);
  const metrics = new Metrics();
  const retail = new RetailMetrics(metrics);
  const deps = new Dependencies({
    log,
    logIntervalMs,
    observer: { up: (s, up) => metrics.dependencyUp.set({ dependency: s }, up ? 1 : 0), failure: (s) => metrics.dependencyFailures.inc({ dependency: s }) },
  });
  const redisTarget = redactUrl(svc.redisUrl);
  deps.register('redis', redisTarget);
  deps.register('kafka', svc.kafkaBrokers.join(','));

  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  let job: KafkaJob | undefined;
  let profiles: ProfileCache | undefined;
  let storeFeed: StoreFeed | undefined;
  // The store catalogue as a live table: the scenes and the screens read it; the feed keeps it
  // equal to Redis (below).
  const stores = new LiveStores();
  // The product catalogue as a live table: offer titles and the screens read it; fed from Redis
  // (polled) or from the products topic (followed), per PRODUCTS_FROM (below).
  const products = new LiveProducts();
  let productFeed: ReferenceFeed<Product> | undefined;
  const hub = new ScreenHub({ stores: [], products });
  stores.onChange((c) => {
    hub.addStores(c.added);
    hub.updateStores(c.updated);
    hub.removeStores(c.removed);
  });
  const attribution = new AttributionView();
  // The window the job was built with (read at start), the rest of the measurement from the live campaign.
  let attributionWindowMs: number | undefined;
  const attributionSettings = (): MeasurementSettings => {
    const current = measurementSettings(liveCampaign.current());
    return attributionWindowMs === undefined ? current : { ...current, attributionWindowMs };
  };
  const boughtTogether = new BoughtTogetherTable({ reads: jobConfig.boughtTogetherReads });
  // The profile API reads the profiles every instance's tasks write to Redis (any instance answers for any customer).
  const liveProfiles = new PendingProfileStore();
  let campaignHandle: CampaignHandle | undefined;
  let liveCampaign: CampaignSource = staticCampaign();
  const server = await startServer({
    profiles: {
      store: liveProfiles,
      tokens: loadApiTokens(env),
      campaign: () => liveCampaign.current(),
      ...(opts.config !== undefined ? { reload: () => campaignHandle?.reload() ?? { ok: false, error: ssError('SS_ERR_SERVICE_UNAVAILABLE', 'the campaign file is not loaded yet (the engine is starting)') } } : {}),
    },
    metrics,
    screens: hub,
    beforeScrape: () => {
      attribution.exportTo(metrics, job?.assignment() ?? []);
      setMeasurementSettings(metrics, liveCampaign.current().measurement);
    },
    json: { '/attribution': () => ({ scenes: attribution.totals(), measurement: attribution.measurement(attributionSettings()) }), ...boughtTogetherRoutes(boughtTogether) },
    health: () => ({ ok: true, details: { phase, pid: process.pid, boughtTogether: { products: boughtTogether.size, read: boughtTogether.read }, assigned: job?.assignment() ?? [], partitions: job?.partitions() ?? [], profiles: { cached: profiles?.size ?? 0, misses: profiles?.misses ?? 0 }, stores: { count: stores.size, version: stores.version, rejected: storeFeed?.rejected ?? 0 }, products: { from: jobConfig.productsFrom, count: products.size, version: products.version, rejected: productFeed?.rejected ?? 0 }, stats: job?.stats, dependencies: deps.state() } }),
    ready: () => ({ ok: phase === 'running' && deps.ready(), details: { phase, down: deps.downNow(), dependencies: deps.state() } }),
  });
  log('info', `scenestream (kafka mode) starting: brokers ${svc.kafkaBrokers.join(',')}, redis ${redisTarget}; health ${server.url}/healthz, readiness ${server.url}/readyz`);

  // A signal during start-up ends the waiting at once.
  let stop = () => {};
  const stopped = new Promise<void>((res) => (stop = res));
  /** An error that stops the job (an input gap under INPUT_GAP_POLICY=fail): the process exits 1 with it. */
  let fatal: ScenestreamError | undefined;
  const onSignal = () => stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const cleanups: Array<() => Promise<void> | void> = [() => server.close()];
  const cleanup = async () => {
    phase = 'stopping';
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((e: unknown) => log('warn', `shutdown: ${errorText(e)}`));
  };
  const interrupted: unique symbol = Symbol('interrupted');
  const unlessStopped = <T>(p: Promise<T>): Promise<T | typeof interrupted> => Promise.race([p, stopped.then((): typeof interrupted => interrupted)]);

  try {
    const deadline = Date.now() + startupMs;
    let starting = true;
    const redis = createClient({
      url: svc.redisUrl,
      socket: {
        reconnectStrategy: (retries: number, cause: Error) => {
          deps.down('redis', cause);
          if (starting && Date.now() >= deadline) return ssError('SS_ERR_SERVICE_UNAVAILABLE', `redis at ${redisTarget} unreachable for ${startupMs / 1000} s: ${errorText(cause)}`, { cause });
          return Math.min(100 * 2 ** retries, 5_000);
        },
      },
    });
    redis.on('error', () => {}); // reported through the reconnect strategy, once per interval
    redis.on('ready', () => deps.up('redis'));
    cleanups.push(() => (redis.isOpen ? redis.quit().then(() => undefined) : undefined));
    const connected = await unlessStopped(
      redis.connect().catch((e: unknown) => {
        // node-redis wraps the strategy's error; the last connection error is what an operator needs.
        throw ssError('SS_ERR_SERVICE_UNAVAILABLE', `redis at ${redisTarget} unreachable for ${startupMs / 1000} s: ${deps.state()['redis']?.lastError ?? errorText(e)}`, { cause: e });
      }),
    );
    if (connected === interrupted) return 0;
    starting = false;

    const kafka = new Kafka({ clientId: 'scenestream', brokers: svc.kafkaBrokers, logCreator: kafkaLogCreator(log, logIntervalMs) });
    const probe = new Kafka({ clientId: 'scenestream-probe', brokers: svc.kafkaBrokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 3_000 });
    const reached = await unlessStopped(
      deps.reach(
        'kafka',
        async () => {
          const admin = probe.admin();
          await admin.connect();
          try {
            await admin.describeCluster();
          } finally {
            await admin.disconnect();
          }
        },
        { timeoutMs: startupMs, deadline, initialMs: 500 },
      ),
    );
    if (reached === interrupted) return 0;

    const feed = new StoreFeed({
      source: new RedisStores(redis),
      stores,
      intervalMs: storesRefreshMs,
      log,
      onRejected: (r) => metrics.countDeadLetter('stores', r.error.code),
    });
    storeFeed = feed;
    await feed.refresh();
    feed.start();
    cleanups.push(() => feed.stop());
    if (jobConfig.productsFrom === 'redis') {
      const pf = new ReferenceFeed<Product>({
        source: new RedisProducts(redis),
        table: products,
        intervalMs: jobConfig.productsRefreshMs,
        what: 'product catalogue',
        noun: 'product',
        log,
        onRejected: (r) => metrics.countDeadLetter('products', r.error.code),
      });
      productFeed = pf;
      await pf.refresh();
      pf.start();
      cleanups.push(() => pf.stop());
    }
    const cache = new ProfileCache(new RedisProfiles(redis), { capacity: cacheSize, ttlMs: refreshMs });
    profiles = cache;
    let campaign: CampaignSource = staticCampaign();
    if (opts.config !== undefined) {
      const handle = openCampaign(opts.config, { reloads: metrics.campaignReloads });
      handle.watch();
      campaign = handle;
      campaignHandle = handle;
      cleanups.push(() => handle.close());
    }
    const webhookUrl = env['PUSH_WEBHOOK_URL'];
    // The ledger rebuilds itself from the offers topic when Redis lost its claims: at most once.
    const offersTopic = () => base.sinks[RETAIL_SINKS.offers]!.topic;
    const ledger = new RedisLedger(redis, {
      rebuild: async () => (await readWholeTopic(kafka, offersTopic(), 'Offer', LEDGER_REBUILD_TIMEOUT_MS)).filter((o) => o.channel === 'push').map((o) => o.offerId),
      onRebuilt: (n, why) => log('warn', `delivery ledger: ${why}; claimed again the ${n} push offers of ${offersTopic()} before delivering more (at most once: an offer whose delivery the loss cut short is not sent again)`),
    });
    const webhook = webhookUrl !== undefined && webhookUrl !== '' ? new WebhookChannel({ url: webhookUrl, ledger, metrics }) : undefined;
    const name = jobConfig.jobName;
    let btFeed: BoughtTogetherFeed | undefined;
    let productsFollow: Broadcast | undefined;
    const base = retailJobOptions({
      kafka,
      redis,
      deps: { stores, profiles, products },
      campaign,
      topicsPrefix: jobConfig.topicsPrefix,
      topics,
      name,
      boughtTogether,
      boughtTogetherReads: jobConfig.boughtTogetherReads,
      ...(jobConfig.idleTimeoutMs !== undefined ? { idleTimeoutMs: jobConfig.idleTimeoutMs } : {}),
    });
    liveCampaign = campaign;
    attributionWindowMs = campaign.current().params.decisions.attributionMs;
    liveProfiles.connect(new RedisProfileStore(redis, base.name, inputPartitions(kafka, base.sources[TOPICS.clickstream]!.topic)));
    const tally = new SegmentTally();
    metrics.readSegmentSizes(async () => segmentSeries(await liveProfiles.segmentSizes(), tally.sizes(campaign.current().segments)));
    const observe = (sink: string) => async (values: readonly unknown[]) => {
      // Attribution is read back from its topic, across all instances (below).
      if (sink === RETAIL_SINKS.attribution) return;
      for (const v of values) retail.observe(sink, v);
      if (sink === RETAIL_SINKS.offers && webhook !== undefined) {
        await webhook.deliverAll((values as Offer[]).filter((o) => o.channel === 'push'), jobConfig.pushConcurrency);
      }
    };
    // Profiles are a view (written to Redis with the checkpoint, never delivered): the tally reads
    // them there, and each claimed task's whole state.
    const profilesView = base.views?.[RETAIL_SINKS.profiles];
    const views = profilesView === undefined ? base.views : { ...base.views, [RETAIL_SINKS.profiles]: tallyingProfilesView(profilesView, tally, campaign) };
    const running = new KafkaJob({
      ...base,
      ...(views !== undefined ? { views } : {}),
      ...(jobConfig.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: jobConfig.checkpointIntervalMs } : {}),
      ...(jobConfig.partitionsConsumedConcurrently !== undefined ? { partitionsConsumedConcurrently: jobConfig.partitionsConsumedConcurrently } : {}),
      maxEventAheadMs: jobConfig.maxEventAheadMs,
      maxOutputBytes: jobConfig.maxOutputBytes,
      inputGaps: jobConfig.inputGaps,
      onFatal: (e) => {
        fatal = e;
        stop();
      },
      ...(jobConfig.sessionTimeoutMs !== undefined ? { consumer: { sessionTimeout: jobConfig.sessionTimeoutMs, heartbeatInterval: Math.max(500, Math.floor(jobConfig.sessionTimeoutMs / 6)) } } : {}),
      // The retail outputs only: the bought-together's internal topics are not outputs of the job, nor inputs in eventsIn.
      deliver: Object.fromEntries(Object.values(RETAIL_SINKS).map((s) => [s, observe(s)])),
      onDeadLetter: (_topic, e) => metrics.countDeadLetter(_topic, e.code),
      observer: {
        eventsIn: (source, n) => (source === GLOBAL_BOUGHT_TOGETHER.members ? undefined : metrics.eventsIn.inc({ source }, n)),
        watermarkLagSeconds: (source, s) => metrics.watermarkLag.set({ source }, s),
        eventTimeBehindSeconds: (source, s) => metrics.eventTimeBehind.set({ source }, s),
        outputLatencySeconds: (s) => metrics.eventToOutput.observe(s),
        checkpointSeconds: (s) => metrics.checkpointDuration.observe(s),
        redisRoundTrips: (n) => metrics.redisRoundTrips.inc(n),
        serviceDown: (s, e) => (s === 'delivery' ? undefined : deps.down(s, e)),
        serviceUp: (s) => (s === 'delivery' ? undefined : deps.up(s)),
        attemptFailed: (operation, service) => metrics.operationFailures.inc({ operation, service }),
        consumerLag: (topic, partition, n) => metrics.consumerLag.set({ topic, partition: String(partition) }, n),
        inputGap: (topic, partition, n) => metrics.inputGapRecords.inc({ topic, partition: String(partition) }, n),
      },
      log,
      prefetch: (_source, values) => cache.prefetch(customersOf(values)),
      // The global bought-together table, restored from its changelog before any input is processed.
      beforeConsuming: async () => {
        // Exact reads: the table's watermark is the least of the counting tasks', one per partition of the repartition topic.
        if (jobConfig.boughtTogetherReads === 'exact') boughtTogether.expectTasks(await inputPartitions(kafka, boughtTogetherTopics(jobConfig.topicsPrefix).repartition)());
        const feed = await followBoughtTogether({ kafka, topic: boughtTogetherTopics(jobConfig.topicsPrefix).changelog, table: boughtTogether, group: `${name}-bought-together`, log, timeoutMs: topics.metadataTimeoutMs });
        btFeed = feed;
        if (!(await feed.caughtUp(topics.metadataTimeoutMs))) log('warn', `bought-together: the changelog was not read to its end within ${topics.metadataTimeoutMs / 1000} s; suggestions start from a partial table`);
        else log('info', `bought-together: ${boughtTogether.size} products read from the changelog`);
        if (jobConfig.productsFrom === 'topic') {
          // The catalogue, read whole before any input, so that no offer is titled from an empty one.
          const topic = productsTopic(jobConfig.topicsPrefix);
          await prepareTopics(kafka, [], [], topics, log, [topic]);
          const pf = await followProducts({ kafka, topic, table: products, group: `${name}-products`, log, timeoutMs: topics.metadataTimeoutMs, onRejected: (_id, code) => metrics.countDeadLetter('products', code) });
          productsFollow = pf;
          if (!(await pf.caughtUp(topics.metadataTimeoutMs))) log('warn', `products: ${topic} was not read to its end within ${topics.metadataTimeoutMs / 1000} s; offers start from a partial catalogue`);
          else log('info', `products: ${products.size} products read from ${topic}`);
        }
      },
    });
    job = running;
    cleanups.push(() => running.stop());
    cleanups.push(() => btFeed?.stop());
    cleanups.push(() => productsFollow?.stop());
    const started = await unlessStopped(running.start());
    if (started === interrupted) return 0;
    const screens = await unlessStopped(feedScreens({ kafka, topic: base.sinks[RETAIL_SINKS.recommendations]!.topic, hub, group: `${base.name}-screens`, log }));
    if (screens === interrupted) return 0;
    cleanups.push(() => screens.stop());
    const screenOffers = await unlessStopped(feedScreenOffers({ kafka, topic: base.sinks[RETAIL_SINKS.offers]!.topic, hub, group: `${base.name}-screen-offers`, log }));
    if (screenOffers === interrupted) return 0;
    cleanups.push(() => screenOffers.stop());
    const attributed = await unlessStopped(
      broadcast({ kafka, topic: base.sinks[RETAIL_SINKS.attribution]!.topic, schema: 'AttributionEvent', group: `${base.name}-attribution`, log, onValue: (e, p) => void attribution.add(e, p) }),
    );
    if (attributed === interrupted) return 0;
    cleanups.push(() => attributed.stop());
    phase = 'running';
    log('info', `scenestream (kafka mode) running: job ${name}, ${stores.size} stores (catalogue polled every ${storesRefreshMs / 1000} s), profiles read on demand (cache of ${cacheSize}, fresh for ${refreshMs / 1000} s); metrics ${server.url}/metrics, screens ${server.url}/stores/<storeId>`);
    await stopped;
    if (fatal !== undefined) throw fatal;
    return 0;
  } finally {
    await cleanup();
  }
}
