import { describe, expect, it } from 'vitest';
import { loadKafkaModeConfig, loadServiceConfig, loadTopicsConfig } from './config.js';
import { isScenestreamError } from '../schemas/errors.js';

function configErrorOf(env: Record<string, string>, load: (env: Record<string, string>) => unknown = loadServiceConfig): { field: string | undefined; message: string } {
  try {
    load(env);
  } catch (e) {
    if (isScenestreamError(e, 'SS_ERR_CONFIG')) return { field: e.field, message: e.message };
    throw e;
  }
  throw new Error(`expected SS_ERR_CONFIG for ${JSON.stringify(env)}`);
}

describe('loadServiceConfig', () => {
  it('defaults to the local services of scripts/services.sh', () => {
    expect(loadServiceConfig({})).toEqual({
      kafkaBrokers: ['127.0.0.1:9092'],
      redisUrl: 'redis://127.0.0.1:6379',
      redisClusterNodes: [
        { host: '127.0.0.1', port: 7001 },
        { host: '127.0.0.1', port: 7002 },
        { host: '127.0.0.1', port: 7003 },
      ],
    });
  });

  it('reads explicit values, trimming blanks around list entries', () => {
    const config = loadServiceConfig({
      KAFKA_BROKERS: ' kafka-1:9092, kafka-2:19092 ,[::1]:9094',
      REDIS_URL: 'rediss://user:secret@redis.internal:6380/2',
      REDIS_CLUSTER_NODES: 'r1:7000,r2:7000',
    });
    expect(config.kafkaBrokers).toEqual(['kafka-1:9092', 'kafka-2:19092', '[::1]:9094']);
    expect(config.redisUrl).toBe('rediss://user:secret@redis.internal:6380/2');
    expect(config.redisClusterNodes).toEqual([
      { host: 'r1', port: 7000 },
      { host: 'r2', port: 7000 },
    ]);
  });

  it('derives the defaults from the port variables the script listens on', () => {
    const config = loadServiceConfig({ KAFKA_PORT: '19092', REDIS_PORT: '6390', REDIS_CLUSTER_PORTS: '8001 8002,8003' });
    expect(config.kafkaBrokers).toEqual(['127.0.0.1:19092']);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6390');
    expect(config.redisClusterNodes.map((n) => n.port)).toEqual([8001, 8002, 8003]);
  });

  it('lets explicit addresses win over the port variables', () => {
    const config = loadServiceConfig({ KAFKA_PORT: '19092', KAFKA_BROKERS: 'b:9092', REDIS_PORT: '1', REDIS_URL: 'redis://r:6379' });
    expect(config.kafkaBrokers).toEqual(['b:9092']);
    expect(config.redisUrl).toBe('redis://r:6379');
  });

  it('treats an empty variable as unset', () => {
    expect(loadServiceConfig({ KAFKA_BROKERS: '', REDIS_URL: '  ', REDIS_CLUSTER_NODES: '' })).toEqual(loadServiceConfig({}));
  });

  it.each([
    [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: 'a:9092,,b:9092' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: 'a:99999' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: 'a:0' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: ':9092' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: 'a:' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: 'PLAINTEXT://a:9092' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: '::1:9092' }, 'KAFKA_BROKERS'],
    [{ KAFKA_PORT: 'ninety' }, 'KAFKA_PORT'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL'],
    [{ REDIS_PORT: '70000' }, 'REDIS_PORT'],
    [{ REDIS_CLUSTER_NODES: '127.0.0.1:7001,127.0.0.1' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_PORTS: '7001 x 7003' }, 'REDIS_CLUSTER_PORTS'],
    [{ REDIS_CLUSTER_PORTS: ' , ' }, 'REDIS_CLUSTER_PORTS'],
  ])('rejects %j with SS_ERR_CONFIG naming %s', (env, field) => {
    const error = configErrorOf(env);
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
  });

  it('reads process.env by default', () => {
    const saved = process.env['KAFKA_BROKERS'];
    process.env['KAFKA_BROKERS'] = 'from-env:9092';
    try {
      expect(loadServiceConfig().kafkaBrokers).toEqual(['from-env:9092']);
    } finally {
      if (saved === undefined) delete process.env['KAFKA_BROKERS'];
      else process.env['KAFKA_BROKERS'] = saved;
    }
  });
});

describe('loadTopicsConfig', () => {
  it('defaults keep inputs and dead letters forever and outputs 7 days, creating missing topics at start', () => {
    expect(loadTopicsConfig({})).toEqual({ onStart: 'create', partitions: 6, replicationFactor: 1, inputRetentionMs: -1, outputRetentionMs: 604_800_000, metadataTimeoutMs: 60_000 });
  });

  it('reads every variable', () => {
    expect(
      loadTopicsConfig({ TOPICS_ON_START: 'check', TOPICS_PARTITIONS: '12', TOPICS_REPLICATION_FACTOR: '3', TOPICS_INPUT_RETENTION_MS: '86400000', TOPICS_OUTPUT_RETENTION_MS: '-1', TOPICS_METADATA_TIMEOUT_MS: '5000' }),
    ).toEqual({ onStart: 'check', partitions: 12, replicationFactor: 3, inputRetentionMs: 86_400_000, outputRetentionMs: -1, metadataTimeoutMs: 5000 });
  });

  it.each([
    ['TOPICS_ON_START', 'maybe'],
    ['TOPICS_PARTITIONS', '0'],
    ['TOPICS_PARTITIONS', 'six'],
    ['TOPICS_REPLICATION_FACTOR', '-1'],
    ['TOPICS_INPUT_RETENTION_MS', '0'],
    ['TOPICS_OUTPUT_RETENTION_MS', '-2'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    try {
      loadTopicsConfig({ [name]: value });
    } catch (e) {
      expect(isScenestreamError(e, 'SS_ERR_CONFIG') && e.field).toBe(name);
      return;
    }
    throw new Error('expected SS_ERR_CONFIG');
  });
});

describe('loadKafkaModeConfig', () => {
  it('defaults to the retail job of the README: its group, no prefix, the job and pipeline defaults', () => {
    expect(loadKafkaModeConfig({})).toEqual({
      jobName: 'scenestream-retail',
      topicsPrefix: '',
      idleTimeoutMs: undefined,
      checkpointIntervalMs: undefined,
      partitionsConsumedConcurrently: undefined,
      profilesRefreshMs: 60_000,
      profilesCacheSize: 100_000,
      storesRefreshMs: 5_000,
      startupTimeoutMs: 60_000,
      outageLogIntervalMs: 30_000,
      sessionTimeoutMs: undefined,
      maxEventAheadMs: 300_000,
      maxOutputBytes: 1_000_000,
      inputGaps: 'continue',
      pushConcurrency: 8,
      productsFrom: 'redis',
      boughtTogetherReads: 'latest',
      productsRefreshMs: 5_000,
    });
  });

  it('reads every setting, an empty variable counting as unset', () => {
    const env = { JOB_NAME: ' shop-7 ', TOPICS_PREFIX: 'eu.', IDLE_TIMEOUT_MS: '3600000', CHECKPOINT_INTERVAL_MS: '0', PARTITIONS_CONSUMED_CONCURRENTLY: '3', PROFILES_REFRESH_MS: '', STORES_REFRESH_MS: '250', SESSION_TIMEOUT_MS: '6000', MAX_EVENT_AHEAD_MS: '60000', INPUT_GAP_POLICY: 'fail', PRODUCTS_FROM: 'topic', PRODUCTS_REFRESH_MS: '750', BOUGHT_TOGETHER_READS: 'exact' };
    expect(loadKafkaModeConfig(env)).toEqual({
      jobName: 'shop-7',
      topicsPrefix: 'eu.',
      idleTimeoutMs: 3_600_000,
      checkpointIntervalMs: 0,
      partitionsConsumedConcurrently: 3,
      profilesRefreshMs: 60_000,
      profilesCacheSize: 100_000,
      storesRefreshMs: 250,
      startupTimeoutMs: 60_000,
      outageLogIntervalMs: 30_000,
      sessionTimeoutMs: 6_000,
      maxEventAheadMs: 60_000,
      maxOutputBytes: 1_000_000,
      inputGaps: 'fail',
      pushConcurrency: 8,
      productsFrom: 'topic',
      boughtTogetherReads: 'exact',
      productsRefreshMs: 750,
    });
  });

  it.each([
    [{ IDLE_TIMEOUT_MS: '0' }, 'IDLE_TIMEOUT_MS'],
    [{ CHECKPOINT_INTERVAL_MS: '-1' }, 'CHECKPOINT_INTERVAL_MS'],
    [{ PARTITIONS_CONSUMED_CONCURRENTLY: '1.5' }, 'PARTITIONS_CONSUMED_CONCURRENTLY'],
    [{ PARTITIONS_CONSUMED_CONCURRENTLY: '0' }, 'PARTITIONS_CONSUMED_CONCURRENTLY'],
    [{ PROFILES_REFRESH_MS: 'soon' }, 'PROFILES_REFRESH_MS'],
    [{ SESSION_TIMEOUT_MS: '500' }, 'SESSION_TIMEOUT_MS'],
    [{ MAX_EVENT_AHEAD_MS: '-1' }, 'MAX_EVENT_AHEAD_MS'],
    [{ MAX_OUTPUT_BYTES: '100' }, 'MAX_OUTPUT_BYTES'],
    [{ INPUT_GAP_POLICY: 'ignore' }, 'INPUT_GAP_POLICY'],
    [{ PUSH_CONCURRENCY: '0' }, 'PUSH_CONCURRENCY'],
    [{ STORES_REFRESH_MS: '0' }, 'STORES_REFRESH_MS'],
    [{ PRODUCTS_FROM: 'file' }, 'PRODUCTS_FROM'],
    [{ BOUGHT_TOGETHER_READS: 'asof' }, 'BOUGHT_TOGETHER_READS'],
    [{ PRODUCTS_REFRESH_MS: '0' }, 'PRODUCTS_REFRESH_MS'],
  ])('rejects %j with SS_ERR_CONFIG naming %s', (env, field) => {
    const error = configErrorOf(env, loadKafkaModeConfig);
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
  });
});
