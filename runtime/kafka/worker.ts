/**
 * One instance of the retail job as a process of its own: what the fault tests start, kill with
 * SIGKILL, restart and scale out, and what an operator could run by hand.
 *
 *   node dist/runtime/kafka/worker.js --name N --prefix P [--redis URL | --redis-cluster host:port,...]
 *       [--tick-ms MS] [--idle-timeout-ms MS] [--session-timeout-ms MS]
 *       [--checkpoint-interval-ms MS] [--concurrency N]
 *       [--webhook URL [--ledger-prefix P] [--ledger-ttl-s S]] [--crash-after-deliveries N]
 *
 * It runs until SIGTERM or SIGINT, then stops gracefully (checkpoints, releases its tasks) and
 * exits 0. Every 250 ms it prints one JSON progress line on stdout:
 *
 *   {"eventsIn":1234,"outputs":5,"partitions":[0,2],"assigned":[0,2],"checkpoints":9,"retries":0,
 *    "fenced":0,"delivered":5,"duplicatesDropped":0,"roundTrips":11}
 *
 * plus `{"event":"started"}` once consuming and `{"event":"stopped"}` after a graceful stop. Logs
 * go to stderr.
 *
 * `--webhook URL` delivers every trigger to a person-facing endpoint by HTTP POST (JSON
 * `{"id":..., "trigger":...}`), through the job's `deliver` hook, after the trigger is produced and
 * before the checkpoint. A delivery ledger in Redis (`SET ss:delivered:{<id>} 1 NX EX <ttl>`; the
 * prefix is `--ledger-prefix`, one per channel) drops ids delivered before, so the replay of a
 * batch after a crash sends nothing twice. The claim is taken before the POST and given back if the
 * POST fails: a delivery is at most once. Only a crash between the claim and the POST's arrival
 * loses a delivery; a crash after it never repeats one. The ledger is runtime/channels/ledger.ts's
 * `RedisLedger`.
 *
 * `--crash-after-deliveries N` is for the fault tests: the process kills itself with SIGKILL right
 * after its N-th delivery, which is a crash between deliver and checkpoint (and so after produce)
 * on purpose, where a random kill would land only by luck.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient, createCluster } from '@redis/client';
import type { logCreator } from 'kafkajs';
import { Kafka, logLevel } from './kafkajs.js';
import type { Trigger } from '../../schemas/index.js';
import { loadServiceConfig } from '../config.js';
import { ssError } from '../../schemas/errors.js';
import { RETAIL_SINKS } from '../../pipelines/retail.js';
import { retailJobOptions, triggerId } from '../retailJob.js';
import { RedisLedger, type RedisLedgerClient } from '../channels/ledger.js';
import type { RedisCommands } from '../redis/checkpoints.js';
import { KafkaJob } from './job.js';
import { quietKafkajsTimerWarning } from './logging.js';

interface Args {
  name: string;
  prefix: string;
  redis: string | undefined;
  redisCluster: string | undefined;
  tickMs: number | undefined;
  idleTimeoutMs: number | undefined;
  sessionTimeoutMs: number;
  checkpointIntervalMs: number | undefined;
  concurrency: number | undefined;
  webhook: string | undefined;
  ledgerTtlS: number;
  ledgerPrefix: string;
  crashAfterDeliveries: number | undefined;
}

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw ssError('SS_ERR_CONFIG', `--${name} must be a positive integer, got '${text}'`, { field: name });
  return n;
}

function parse(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      prefix: { type: 'string', default: '' },
      redis: { type: 'string' },
      'redis-cluster': { type: 'string' },
      'tick-ms': { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      'session-timeout-ms': { type: 'string' },
      'checkpoint-interval-ms': { type: 'string' },
      concurrency: { type: 'string' },
      webhook: { type: 'string' },
      'ledger-ttl-s': { type: 'string' },
      'ledger-prefix': { type: 'string', default: 'ss:delivered:' },
      'crash-after-deliveries': { type: 'string' },
    },
    strict: true,
  });
  if (values.name === undefined || values.name === '') throw ssError('SS_ERR_CONFIG', '--name is required', { field: 'name' });
  if (values.redis !== undefined && values['redis-cluster'] !== undefined) {
    throw ssError('SS_ERR_CONFIG', 'give --redis or --redis-cluster, not both', { field: 'redis' });
  }
  return {
    name: values.name,
    prefix: values.prefix,
    redis: values.redis,
    redisCluster: values['redis-cluster'],
    tickMs: positive('tick-ms', values['tick-ms']),
    idleTimeoutMs: positive('idle-timeout-ms', values['idle-timeout-ms']),
    sessionTimeoutMs: positive('session-timeout-ms', values['session-timeout-ms']) ?? 6_000,
    checkpointIntervalMs: positive('checkpoint-interval-ms', values['checkpoint-interval-ms']),
    concurrency: positive('concurrency', values.concurrency),
    webhook: values.webhook,
    ledgerTtlS: positive('ledger-ttl-s', values['ledger-ttl-s']) ?? 7 * 24 * 3600,
    ledgerPrefix: values['ledger-prefix'],
    crashAfterDeliveries: positive('crash-after-deliveries', values['crash-after-deliveries']),
  };
}

function log(level: 'info' | 'warn' | 'error', msg: string): void {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), pid: process.pid, msg })}\n`);
}

interface Redis {
  readonly commands: RedisCommands;
  readonly ledger: RedisLedgerClient;
  close(): Promise<void>;
}

async function connectRedis(args: Args): Promise<Redis> {
  if (args.redisCluster !== undefined) {
    const rootNodes = args.redisCluster.split(',').map((hp) => ({ url: `redis://${hp.trim()}` }));
    const cluster = createCluster({ rootNodes });
    cluster.on('error', (e: unknown) => log('warn', `Redis Cluster: ${String(e)}`));
    await cluster.connect();
    return { commands: cluster, ledger: cluster, close: () => cluster.quit().then(() => undefined) };
  }
  // No offline queue: while Redis is unreachable a command fails at once, so the job's retry
  // loop backs off and heartbeats, instead of a command hanging until the session times out.
  const client = createClient({ url: args.redis ?? loadServiceConfig().redisUrl, disableOfflineQueue: true });
  client.on('error', (e: unknown) => log('warn', `Redis: ${String(e)}`));
  await client.connect();
  return { commands: client, ledger: client, close: () => client.quit().then(() => undefined) };
}

/** kafkajs' own log: off, unless WORKER_KAFKA_LOG names a level (error, warn, info, debug) to diagnose a run. */
function kafkajsLogLevel(): logLevel {
  const level = process.env.WORKER_KAFKA_LOG?.toUpperCase();
  return level === 'ERROR' || level === 'WARN' || level === 'INFO' || level === 'DEBUG' ? logLevel[level] : logLevel.NOTHING;
}

/**
 * kafkajs' lines on stderr, where the worker's own log goes (stdout carries its progress), or
 * appended to `<WORKER_KAFKA_LOG_DIR>/worker-<pid>.log` when that is set (a debug log is long).
 */
const stderrLogCreator: logCreator = () => ({ namespace, level, log }) => {
  const { message, timestamp, logger: _logger, ...rest } = log;
  const line = `${timestamp} kafkajs ${logLevel[level]} ${namespace}: ${message} ${JSON.stringify(rest)}\n`;
  const dir = process.env.WORKER_KAFKA_LOG_DIR;
  if (dir === undefined) process.stderr.write(line);
  else appendFileSync(join(dir, `worker-${process.pid}.log`), line);
};

async function main(): Promise<void> {
  quietKafkajsTimerWarning();
  const args = parse(process.argv.slice(2));
  const redis = await connectRedis(args);
  const kafka = new Kafka({ clientId: `worker-${args.name}-${process.pid}`, brokers: loadServiceConfig().kafkaBrokers, logLevel: kafkajsLogLevel(), logCreator: stderrLogCreator, retry: { retries: 10 } });
  const ledger = new RedisLedger(redis.ledger, { ttlSeconds: args.ledgerTtlS, prefix: args.ledgerPrefix });
  let delivered = 0;
  let duplicatesDropped = 0;
  /** The delivery under way, if any: which id, what it waits for, since when (for a stuck run's diagnosis). */
  let inFlight: { id: string; waiting: 'ledger' | 'webhook'; sinceMs: number } | null = null;
  let deliveryCalls = 0;

  const webhook = args.webhook;
  const deliverTriggers = async (values: readonly unknown[]): Promise<void> => {
    if (webhook === undefined) return;
    deliveryCalls++;
    // One at a time, in order: at most one delivery per task is in flight when a crash comes.
    for (const v of values) {
      const id = triggerId(v as Trigger);
      inFlight = { id, waiting: 'ledger', sinceMs: Date.now() };
      if (!(await ledger.claim(id))) {
        inFlight = null;
        duplicatesDropped++;
        continue;
      }
      inFlight = { id, waiting: 'webhook', sinceMs: Date.now() };
      try {
        const res = await fetch(webhook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, trigger: v }) });
        if (!res.ok) throw ssError('SS_ERR_SERVICE_UNAVAILABLE', `webhook answered ${res.status}`);
      } catch (e) {
        await ledger.release(id).catch(() => undefined);
        throw e;
      } finally {
        inFlight = null;
      }
      delivered++;
      if (args.crashAfterDeliveries !== undefined && delivered >= args.crashAfterDeliveries) {
        log('warn', `crashing on purpose after ${delivered} deliveries (--crash-after-deliveries)`);
        process.kill(process.pid, 'SIGKILL');
      }
    }
  };

  const job = new KafkaJob({
    ...retailJobOptions({
      kafka,
      redis: redis.commands,
      name: args.name,
      topicsPrefix: args.prefix,
      ...(args.tickMs !== undefined ? { tickMs: args.tickMs } : {}),
      ...(args.idleTimeoutMs !== undefined ? { idleTimeoutMs: args.idleTimeoutMs } : {}),
      log,
    }),
    consumer: { sessionTimeout: args.sessionTimeoutMs, heartbeatInterval: Math.max(500, Math.floor(args.sessionTimeoutMs / 6)) },
    ...(args.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: args.checkpointIntervalMs } : {}),
    ...(args.concurrency !== undefined ? { partitionsConsumedConcurrently: args.concurrency } : {}),
    ...(webhook !== undefined ? { deliver: { [RETAIL_SINKS.triggers]: deliverTriggers } } : {}),
  });

  const progress = (): void => {
    const s = job.stats;
    process.stdout.write(
      `${JSON.stringify({
        eventsIn: s.eventsIn,
        outputs: s.outputs,
        partitions: job.partitions(),
        assigned: job.assignment(),
        checkpoints: s.checkpoints,
        retries: s.retries,
        fenced: s.fenced,
        delivered,
        duplicatesDropped,
        deliveryCalls,
        inFlight: inFlight === null ? null : { id: inFlight.id, waiting: inFlight.waiting, forMs: Date.now() - inFlight.sinceMs },
        roundTrips: job.store.roundTrips,
      })}\n`,
    );
  };

  let stopping: Promise<void> | undefined;
  const stop = (signal: string): Promise<void> =>
    (stopping ??= (async () => {
      log('info', `${signal}: stopping`);
      clearInterval(timer);
      await job.stop();
      progress();
      await redis.close().catch(() => undefined);
      process.stdout.write(`${JSON.stringify({ event: 'stopped' })}\n`);
    })());
  const timer = setInterval(progress, 250);
  process.once('SIGTERM', () => void stop('SIGTERM').then(() => process.exit(0), fail));
  process.once('SIGINT', () => void stop('SIGINT').then(() => process.exit(0), fail));

  await job.start();
  process.stdout.write(`${JSON.stringify({ event: 'started' })}\n`);
}

function fail(e: unknown): never {
  log('error', e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
}

main().catch(fail);
