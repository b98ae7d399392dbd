/**
 * Where Kafka and Redis are, read from the environment.
 *
 * The variable names are shared with `scripts/services.sh` and `docker-compose.yml`, so one setting
 * moves the local services and the engine together:
 *
 * | variable              | default                                            |
 * |-----------------------|----------------------------------------------------|
 * | `KAFKA_BROKERS`       | `127.0.0.1:${KAFKA_PORT}` (`127.0.0.1:9092`)        |
 * | `REDIS_URL`           | `redis://127.0.0.1:${REDIS_PORT}` (`…:6379`)        |
 * | `REDIS_CLUSTER_NODES` | `127.0.0.1:<p>` for each of `REDIS_CLUSTER_PORTS` (`7001 7002 7003`) |
 *
 * The `*_PORT(S)` variables only shape the defaults (they are what the script listens on); an
 * explicit `KAFKA_BROKERS`, `REDIS_URL` or `REDIS_CLUSTER_NODES` wins. An empty variable counts as
 * unset. Anything malformed raises `SS_ERR_CONFIG` naming the variable in `field`.
 */
import { ScenestreamError } from '../schemas/errors.js';
import { DEFAULT_TOPICS_CONFIG, type TopicsConfig } from './kafka/topics.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ServiceConfig {
  /** Kafka bootstrap servers as `host:port`, in the order given. */
  readonly kafkaBrokers: string[];
  /** A `redis://` or `rediss://` URL of a standalone Redis. */
  readonly redisUrl: string;
  /** Seed nodes of a Redis Cluster. */
  readonly redisClusterNodes: HostPort[];
}

type Env = Readonly<Record<string, string | undefined>>;

function configError(field: string, message: string): ScenestreamError {
  return new ScenestreamError('SS_ERR_CONFIG', `${field}: ${message}`, { field });
}

function read(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  return trimmed === '' ? undefined : trimmed;
}

function parsePort(field: string, text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw configError(field, `'${text}' is not a TCP port`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw configError(field, `port ${port} is outside 1-65535`);
  return port;
}

/** `host:port` or `[ipv6]:port`; the port is required. */
function parseHostPort(field: string, entry: string): HostPort {
  const bracketed = /^\[([0-9A-Fa-f:.]+)\]:(\S+)$/.exec(entry);
  if (bracketed !== null) {
    const [, host = '', port = ''] = bracketed;
    return { host, port: parsePort(field, port) };
  }
  const colon = entry.lastIndexOf(':');
  const host = colon > 0 ? entry.slice(0, colon) : '';
  if (colon <= 0 || colon === entry.length - 1 || host.includes(':') || /[\s/@]/.test(host)) {
    throw configError(field, `'${entry}' is not host:port (write IPv6 hosts as [addr]:port)`);
  }
  return { host, port: parsePort(field, entry.slice(colon + 1)) };
}

function parseList(field: string, text: string): HostPort[] {
  const entries = text.split(',').map((e) => e.trim());
  if (entries.some((e) => e === '')) throw configError(field, `empty entry in '${text}'`);
  return entries.map((e) => parseHostPort(field, e));
}

function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function parseRedisUrl(field: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new ScenestreamError('SS_ERR_CONFIG', `${field}: '${text}' is not a URL`, { field, cause });
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw configError(field, `scheme must be redis:// or rediss://, got '${url.protocol}//'`);
  }
  if (url.hostname === '') throw configError(field, `'${text}' has no host`);
  if (url.port !== '') parsePort(field, url.port);
  return text;
}

function optionalPort(env: Env, name: string): number | undefined {
  const text = read(env, name);
  return text === undefined ? undefined : parsePort(name, text);
}

/** Reads the service locations from `env` (default: `process.env`), applying the defaults above. */
export function loadServiceConfig(env: Env = process.env): ServiceConfig {
  const kafkaPort = optionalPort(env, 'KAFKA_PORT') ?? 9092;
  const redisPort = optionalPort(env, 'REDIS_PORT') ?? 6379;

  const clusterPortsText = read(env, 'REDIS_CLUSTER_PORTS');
  const clusterPorts =
    clusterPortsText === undefined
      ? [7001, 7002, 7003]
      : clusterPortsText.split(/[\s,]+/).filter((p) => p !== '').map((p) => parsePort('REDIS_CLUSTER_PORTS', p));
  if (clusterPorts.length === 0) throw configError('REDIS_CLUSTER_PORTS', 'no ports given');

  const brokersText = read(env, 'KAFKA_BROKERS');
  const kafkaBrokers =
    brokersText === undefined
      ? [`127.0.0.1:${kafkaPort}`]
      : parseList('KAFKA_BROKERS', brokersText).map(formatHostPort);

  const urlText = read(env, 'REDIS_URL');
  const redisUrl = urlText === undefined ? `redis://127.0.0.1:${redisPort}` : parseRedisUrl('REDIS_URL', urlText);

  const nodesText = read(env, 'REDIS_CLUSTER_NODES');
  const redisClusterNodes =
    nodesText === undefined
      ? clusterPorts.map((port) => ({ host: '127.0.0.1', port }))
      : parseList('REDIS_CLUSTER_NODES', nodesText);

  return { kafkaBrokers, redisUrl, redisClusterNodes };
}

function optionalInteger(env: Env, name: string, min: number): number | undefined {
  const text = read(env, name);
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < min) throw configError(name, `'${text}' is not an integer >= ${min}`);
  return Number(text);
}

function integer(env: Env, name: string, fallback: number, min: number): number {
  return optionalInteger(env, name, min) ?? fallback;
}

/** A retention in ms: -1 (never by age) or a positive integer. */
function retention(env: Env, name: string, fallback: number): number {
  const ms = integer(env, name, fallback, -1);
  if (ms === 0) throw configError(name, 'a retention of 0 ms deletes everything; use -1 to keep records forever');
  return ms;
}

/**
 * The topics' settings, from the environment (defaults in {@link DEFAULT_TOPICS_CONFIG}):
 *
 * | variable | default | |
 * |---|---|---|
 * | `TOPICS_ON_START` | `create` | at job start: `create` missing topics, `check` (fail listing them), or `none` |
 * | `TOPICS_PARTITIONS` | 6 | partitions of created topics (existing inputs fix the count) |
 * | `TOPICS_REPLICATION_FACTOR` | 1 | replication of created topics (3 on a production cluster) |
 * | `TOPICS_INPUT_RETENTION_MS` | -1 | inputs and dead letters: never deleted by age |
 * | `TOPICS_OUTPUT_RETENTION_MS` | 604800000 | outputs: 7 days |
 * | `TOPICS_METADATA_TIMEOUT_MS` | 60000 | wait for partition leaders |
 */
export function loadTopicsConfig(env: Env = process.env): TopicsConfig {
  const onStart = read(env, 'TOPICS_ON_START') ?? DEFAULT_TOPICS_CONFIG.onStart;
  if (onStart !== 'create' && onStart !== 'check' && onStart !== 'none') throw configError('TOPICS_ON_START', `'${onStart}' is not one of create, check, none`);
  const d = DEFAULT_TOPICS_CONFIG;
  return {
    onStart,
    partitions: integer(env, 'TOPICS_PARTITIONS', d.partitions, 1),
    replicationFactor: integer(env, 'TOPICS_REPLICATION_FACTOR', d.replicationFactor, 1),
    inputRetentionMs: retention(env, 'TOPICS_INPUT_RETENTION_MS', d.inputRetentionMs),
    outputRetentionMs: retention(env, 'TOPICS_OUTPUT_RETENTION_MS', d.outputRetentionMs),
    metadataTimeoutMs: integer(env, 'TOPICS_METADATA_TIMEOUT_MS', d.metadataTimeoutMs, 1),
  };
}

/** How production mode (`runtime/production.ts`) runs the retail job, read from the environment. */
export interface KafkaModeConfig {
  /**
   * `JOB_NAME`: the consumer group and the checkpoint namespace in Redis (default
   * `<TOPICS_PREFIX>scenestream-retail`: a job on other topics keeps its own state).
   */
  readonly jobName: string;
  /** `TOPICS_PREFIX`: prefix of every topic read and written (default none). */
  readonly topicsPrefix: string;
  /** `IDLE_TIMEOUT_MS`: a quiet input stops holding back event time after this long (default: the pipelines'). */
  readonly idleTimeoutMs: number | undefined;
  /** `CHECKPOINT_INTERVAL_MS`: least time between two checkpoints of a task (default 0: after every batch). */
  readonly checkpointIntervalMs: number | undefined;
  /** `PARTITIONS_CONSUMED_CONCURRENTLY`: partitions whose batches run at once per instance (default 1). */
  readonly partitionsConsumedConcurrently: number | undefined;
  /** `PROFILES_REFRESH_MS`: how often customer profiles are read again from Redis (default 60,000). */
  readonly profilesRefreshMs: number;
  /** `PROFILES_CACHE_SIZE`: customer profiles kept in memory, least recently used out (default 100,000). */
  readonly profilesCacheSize: number;
  /** `STORES_REFRESH_MS`: how often the store catalogue's version in Redis is polled; a change applies live (default 5,000). */
  readonly storesRefreshMs: number;
  /** `STARTUP_TIMEOUT_MS`: how long Redis and Kafka are retried at start before exiting 1 (default 60,000). */
  readonly startupTimeoutMs: number;
  /** `OUTAGE_LOG_INTERVAL_MS`: least time between two log lines about one outage (default 30,000). */
  readonly outageLogIntervalMs: number;
  /**
   * `SESSION_TIMEOUT_MS`: how long the group waits for a silent instance before moving its
   * partitions to the others (kafkajs default 30,000); heartbeats go at a sixth of it.
   */
  readonly sessionTimeoutMs: number | undefined;
  /**
   * `MAX_EVENT_AHEAD_MS`: records stamped further ahead of this machine's clock go to the
   * dead-letter topic (`SS_ERR_EVENT_TIME`) and never move event time (default 300,000: 5 minutes).
   */
  readonly maxEventAheadMs: number;
  /** `MAX_OUTPUT_BYTES`: the largest output record; a larger one goes to `<output>.dlq` (default 1,000,000). */
  readonly maxOutputBytes: number;
  /** `INPUT_GAP_POLICY`: input deleted before it was read: `continue` (default) or `fail` (exit 1). */
  readonly inputGaps: 'continue' | 'fail';
  /** `PUSH_CONCURRENCY`: webhook POSTs in flight at once per batch (one customer's in order; default 8). */
  readonly pushConcurrency: number;
  /**
   * `PRODUCTS_FROM`: where the product catalogue comes from: `redis` (default: the hash
   * `ss:products`, polled every `PRODUCTS_REFRESH_MS`) or `topic` (the compacted topic
   * `<TOPICS_PREFIX>products`, read whole by every instance and followed live).
   */
  readonly productsFrom: 'redis' | 'topic';
  /** `BOUGHT_TOGETHER_READS`: how suggestions read the bought-together table, `latest` (default) or `exact` (as of event time, as the replay; docs/runtime.md). */
  readonly boughtTogetherReads: 'exact' | 'latest';
  /** `PRODUCTS_REFRESH_MS`: how often the catalogue's version in Redis is polled (default 5,000). */
  readonly productsRefreshMs: number;
}

function productsFrom(env: Env): 'redis' | 'topic' {
  const from = read(env, 'PRODUCTS_FROM') ?? 'redis';
  if (from !== 'redis' && from !== 'topic') throw configError('PRODUCTS_FROM', `'${from}' is not one of redis, topic`);
  return from;
}

function boughtTogetherReads(env: Env): 'exact' | 'latest' {
  const reads = read(env, 'BOUGHT_TOGETHER_READS') ?? 'latest';
  if (reads !== 'exact' && reads !== 'latest') throw configError('BOUGHT_TOGETHER_READS', `'${reads}' is not one of exact, latest`);
  return reads;
}

function inputGapPolicy(env: Env): 'continue' | 'fail' {
  const policy = read(env, 'INPUT_GAP_POLICY') ?? 'continue';
  if (policy !== 'continue' && policy !== 'fail') throw configError('INPUT_GAP_POLICY', `'${policy}' is not one of continue, fail`);
  return policy;
}

/** Reads production mode's job settings from `env` (default: `process.env`); see {@link KafkaModeConfig}. */
export function loadKafkaModeConfig(env: Env = process.env): KafkaModeConfig {
  return {
    jobName: read(env, 'JOB_NAME') ?? `${read(env, 'TOPICS_PREFIX') ?? ''}scenestream-retail`,
    topicsPrefix: read(env, 'TOPICS_PREFIX') ?? '',
    idleTimeoutMs: optionalInteger(env, 'IDLE_TIMEOUT_MS', 1),
    checkpointIntervalMs: optionalInteger(env, 'CHECKPOINT_INTERVAL_MS', 0),
    partitionsConsumedConcurrently: optionalInteger(env, 'PARTITIONS_CONSUMED_CONCURRENTLY', 1),
    profilesRefreshMs: integer(env, 'PROFILES_REFRESH_MS', 60_000, 1),
    profilesCacheSize: integer(env, 'PROFILES_CACHE_SIZE', 100_000, 1),
    storesRefreshMs: integer(env, 'STORES_REFRESH_MS', 5_000, 1),
    startupTimeoutMs: integer(env, 'STARTUP_TIMEOUT_MS', 60_000, 1),
    outageLogIntervalMs: integer(env, 'OUTAGE_LOG_INTERVAL_MS', 30_000, 1),
    sessionTimeoutMs: optionalInteger(env, 'SESSION_TIMEOUT_MS', 3_000),
    maxEventAheadMs: integer(env, 'MAX_EVENT_AHEAD_MS', 300_000, 0),
    maxOutputBytes: integer(env, 'MAX_OUTPUT_BYTES', 1_000_000, 1_024),
    inputGaps: inputGapPolicy(env),
    pushConcurrency: integer(env, 'PUSH_CONCURRENCY', 8, 1),
    productsFrom: productsFrom(env),
    boughtTogetherReads: boughtTogetherReads(env),
    productsRefreshMs: integer(env, 'PRODUCTS_REFRESH_MS', 5_000, 1),
  };
}
