import { createClient } from '@redis/client';
import { Kafka, logLevel } from 'kafkajs';
import { openCampaign, staticCampaign, type CampaignSource } from '../pipelines/campaign.js';
import { RETAIL_SINKS } from '../pipelines/retail.js';
import type { Offer } from '../schemas/index.js';
import { RedisLedger } from './channels/ledger.js';
import { WebhookChannel } from './channels/webhook.js';
import { loadKafkaModeConfig, loadServiceConfig } from './config.js';
import { startServer } from './http/server.js';
import { KafkaJob } from './kafka/job.js';
import { Metrics } from './metrics.js';
import { CachedProfiles, RedisProfiles, RedisStores } from './redis/reference.js';
import { retailJobOptions } from './retailJob.js';
import { RetailMetrics } from './retailMetrics.js';

/**
 * The main job in production mode (`SCENESTREAM_MODE=kafka`): the retail pipelines as a Kafka job
 * in the consumer group `scenestream-retail`, state checkpointed in Redis, reference data (stores,
 * profiles) read from Redis, metrics on HTTP_PORT, and push offers to PUSH_WEBHOOK_URL if set.
 * Start as many instances as you like (or `scenestream run --instances N`, `runtime/instances.ts`):
 * they share the partitions.
 *
 * Environment: KAFKA_BROKERS, REDIS_URL, PUSH_WEBHOOK_URL, HTTP_PORT/HTTP_HOST, and the job's
 * settings of `loadKafkaModeConfig` (runtime/config.ts): JOB_NAME, TOPICS_PREFIX, IDLE_TIMEOUT_MS,
 * CHECKPOINT_INTERVAL_MS, PARTITIONS_CONSUMED_CONCURRENTLY, PROFILES_REFRESH_MS.
 */
export async function runKafkaMode(opts: { readonly config?: string } = {}): Promise<number> {
  const env = process.env;
  const svc = loadServiceConfig(env);
  const jobConfig = loadKafkaModeConfig(env);
  const metrics = new Metrics();
  const retail = new RetailMetrics(metrics);
  const redis = createClient({ url: svc.redisUrl });
  redis.on('error', (e: unknown) => console.error(`redis: ${String(e)}`));
  await redis.connect();
  const stores = await new RedisStores(redis).all();
  const profiles = new CachedProfiles(new RedisProfiles(redis));
  await profiles.refresh();
  const refresher = setInterval(() => void profiles.refresh().catch((e: unknown) => console.error(`profiles refresh: ${String(e)}`)), jobConfig.profilesRefreshMs);
  let campaign: CampaignSource = staticCampaign();
  let closeCampaign = () => {};
  if (opts.config !== undefined) {
    const handle = openCampaign(opts.config, { reloads: metrics.campaignReloads });
    handle.watch();
    campaign = handle;
    closeCampaign = () => handle.close();
  }
  const webhookUrl = env['PUSH_WEBHOOK_URL'];
  const webhook = webhookUrl !== undefined && webhookUrl !== '' ? new WebhookChannel({ url: webhookUrl, ledger: new RedisLedger(redis), metrics }) : undefined;
  const kafka = new Kafka({ clientId: 'scenestream', brokers: svc.kafkaBrokers, logLevel: logLevel.WARN });
  const base = retailJobOptions({
    kafka,
    redis,
    deps: { stores, profiles },
    campaign,
    name: jobConfig.jobName,
    topicsPrefix: jobConfig.topicsPrefix,
    ...(jobConfig.idleTimeoutMs !== undefined ? { idleTimeoutMs: jobConfig.idleTimeoutMs } : {}),
  });
  const observe = (sink: string) => async (values: readonly unknown[]) => {
    for (const v of values) retail.observe(sink, v);
    if (sink === RETAIL_SINKS.offers && webhook !== undefined) {
      for (const o of values as Offer[]) if (o.channel === 'push') await webhook.deliver(o);
    }
  };
  const job = new KafkaJob({
    ...base,
    ...(jobConfig.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: jobConfig.checkpointIntervalMs } : {}),
    ...(jobConfig.partitionsConsumedConcurrently !== undefined ? { partitionsConsumedConcurrently: jobConfig.partitionsConsumedConcurrently } : {}),
    deliver: Object.fromEntries(Object.keys(base.sinks).map((s) => [s, observe(s)])),
    onDeadLetter: (_topic, e) => metrics.countDeadLetter(_topic, e.code),
    observer: {
      eventsIn: (source, n) => metrics.eventsIn.inc({ source }, n),
      watermarkLagSeconds: (source, s) => metrics.watermarkLag.set({ source }, s),
      outputLatencySeconds: (s) => metrics.eventToOutput.observe(s),
      checkpointSeconds: (s) => metrics.checkpointDuration.observe(s),
      redisRoundTrips: (n) => metrics.redisRoundTrips.inc(n),
    },
    log: (level, msg) => console.error(`${level}: ${msg}`),
  });
  const server = await startServer({
    metrics,
    health: () => ({ ok: true, details: { assigned: job.assignment(), partitions: job.partitions(), profiles: profiles.size, stores: stores.length, stats: job.stats } }),
  });
  console.log(`scenestream (kafka mode): job ${jobConfig.jobName}, brokers ${svc.kafkaBrokers.join(',')}, redis ${svc.redisUrl}, ${stores.length} stores, ${profiles.size} profiles; metrics ${server.url}/metrics`);
  await job.start();
  await new Promise<void>((res) => {
    process.once('SIGTERM', () => res());
    process.once('SIGINT', () => res());
  });
  clearInterval(refresher);
  closeCampaign();
  await job.stop();
  await server.close();
  await redis.quit();
  return 0;
}
