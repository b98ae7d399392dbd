/**
 * Production mode (`SCENESTREAM_MODE=kafka npm start`, the compiled CLI) when its services fail:
 * Redis or Kafka unreachable at start (bounded retry, one-line error, exit 1, `/healthz` and
 * `/readyz` served while waiting), and Redis lost while running (`/readyz` 503 naming it, the
 * dependency gauge at 0, a log line per outage rather than per attempt, ready again once it is back),
 * Kafka lost while running (the same, on a broker of the test's own that it kills with -9 and starts again,
 * and the input consumed before, during and after the outage all processed); and the store screens,
 * which every instance serves from the recommendations topic.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeConfluent, type AttributionEvent, type RecommendationUpdate } from '../schemas/index.js';
import { generateWorld } from '../simulator/world.js';
import { generateEvents } from '../simulator/life.js';
import { profilesToJsonl, storesToJson } from '../simulator/jsonl.js';
import { freePort, get, healthUrl, killAll, listening, metricSum, ROOT, start, startJob, startRedis, until } from '../testkit/cli.js';
import { produceRecords, testKafka, uniqueId } from '../testkit/kafka.js';
import { DEFAULT_CAMPAIGN, measurementSettings } from '../pipelines/campaign.js';
import { measure } from '../pipelines/measurement.js';
import { loadServiceConfig } from './config.js';

afterEach(killAll);

describe('production mode when services fail (compiled CLI, real Kafka and Redis)', () => {
  it('Redis unreachable at start: serves /healthz 200 and /readyz 503 naming it while retrying, then exits 1 with one line', async () => {
    const port = await freePort();
    const job = startJob({ REDIS_URL: `redis://127.0.0.1:${port}`, STARTUP_TIMEOUT_MS: '4000' });
    const base = await until('the health URL', () => healthUrl(job));
    const ready = await until('/readyz naming redis', async () => {
      const r = await get(`${base}/readyz`);
      return typeof r.body === 'object' && (r.body['down'] as string[]).includes('redis') ? r : undefined;
    });
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not ready', phase: 'starting', down: ['redis'] });
    expect((await get(`${base}/healthz`)).status).toBe(200);
    expect(await job.exit).toBe(1);
    const lines = job.stderr().trim().split('\n');
    expect(lines.at(-1)).toMatch(new RegExp(`^scenestream run: SS_ERR_SERVICE_UNAVAILABLE: redis at redis://127\\.0\\.0\\.1:${port} unreachable for 4 s: .*ECONNREFUSED`));
    // One line when the outage began, none per attempt (there were dozens).
    expect(lines.filter((l) => l.includes('unreachable')).length).toBeLessThanOrEqual(3);
    expect(job.stderr()).not.toMatch(/^\s+at /m);
  });

  it('Kafka unreachable at start: exits 1 with one line naming the brokers, after its start-up timeout', async () => {
    const port = await freePort();
    const job = startJob({ KAFKA_BROKERS: `127.0.0.1:${port}`, STARTUP_TIMEOUT_MS: '4000' });
    expect(await job.exit).toBe(1);
    const lines = job.stderr().trim().split('\n');
    expect(lines.at(-1)).toMatch(new RegExp(`^scenestream run: SS_ERR_SERVICE_UNAVAILABLE: kafka at 127\\.0\\.0\\.1:${port} unreachable for 4 s`));
    expect(lines.filter((l) => l.includes('unreachable')).length).toBeLessThanOrEqual(3);
    expect(job.stderr()).not.toMatch(/^\s+at /m);
    expect(job.stderr()).not.toContain('KafkaJSNonRetriableError');
  });

  it('every instance serves every store: a screen shows an update another instance computed, and a screen that reconnects gets it at once', async () => {
    const redis = await startRedis();
    const tmp = mkdtempSync(join(tmpdir(), 'ss-prod-'));
    const store = generateWorld({ seed: 'prod-screens', customers: 5 }).stores[0]!;
    writeFileSync(join(tmp, 'stores.json'), JSON.stringify([store]));
    const env = { REDIS_URL: redis.url, KAFKA_BROKERS: loadServiceConfig().kafkaBrokers.join(',') };
    const load = start(process.execPath, ['dist/runtime/cli.js', 'load-reference', '--stores', join(tmp, 'stores.json')], env);
    expect(await load.exit).toBe(0);
    const prefix = `${uniqueId('prod')}.`;
    const job = startJob({ ...env, TOPICS_PREFIX: prefix, TOPICS_PARTITIONS: '2' });
    const base = await until('the health URL', () => healthUrl(job));
    await until('ready', async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), 90_000);
    expect((await fetch(`${base}/stores/${store.storeId}`)).status).toBe(200);

    // What another instance's task would have produced for a customer near this store.
    const update: RecommendationUpdate = { customerId: 'c-elsewhere', storeId: store.storeId, ts: Date.now(), items: [{ productId: 'TOY-042', score: 3, reason: 'bought together with TOY-007' }] };
    const kafka = testKafka(uniqueId('prod-screens'));
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: `${prefix}recommendations`, messages: [{ key: update.customerId, value: encodeConfluent('RecommendationUpdate', update) }] });
    // And a closed attribution window from that other instance: the job-wide view on this one counts it.
    const closed: AttributionEvent = { decisionId: 'dec-elsewhere', scene: 'store_proximity', customerId: 'c-elsewhere', group: 'sent', converted: true, revenue: 12.5, ts: Date.now(), decisionTs: Date.now() - 1, segment: 'loyal', discountPct: 20, wouldSend: true };
    await producer.send({ topic: `${prefix}attribution`, messages: [{ key: closed.customerId, value: encodeConfluent('AttributionEvent', closed) }] });
    await producer.disconnect();
    const attributed = await until('the window in /attribution', async () => {
      const r = await get(`${base}/attribution`);
      return typeof r.body === 'object' && (r.body['scenes'] as Record<string, { sent: number }>)['store_proximity']!.sent === 1 ? r.body : undefined;
    });
    expect(attributed).toMatchObject({ scenes: { store_proximity: { sent: 1, sentConverted: 1, sentRevenue: 12.5, holdout: 0 }, commute: { sent: 0 } } });
    // And the measurement of summary.json (issue 14): the same fields, per scene, per segment and for the campaign.
    const m = measure([closed], measurementSettings(DEFAULT_CAMPAIGN));
    expect(attributed['measurement']).toEqual(JSON.parse(JSON.stringify(m)));
    expect(attributed).toMatchObject({ measurement: { currency: 'CNY', minPerArm: 30, segments: { loyal: { sent: { decisions: 1, converted: 1, revenue: 12.5 } } }, campaign: { discountCost: 2.5, enoughData: false } } });

    const firstEvents = async (): Promise<string> => {
      const abort = new AbortController();
      const res = await fetch(`${base}/stores/${store.storeId}/events`, { signal: abort.signal });
      const reader = res.body!.getReader();
      const { value } = await reader.read();
      abort.abort();
      return new TextDecoder().decode(value);
    };
    await until('the update on the screen', async () => ((await firstEvents()).includes('TOY-042') ? true : undefined), 30_000);
    // A reconnecting screen: the snapshot it gets first already holds the suggestion.
    expect(await firstEvents()).toMatch(/event: snapshot\n.*TOY-042/s);
    job.child.kill('SIGTERM');
    expect(await job.exit).toBe(0);
    redis.process.child.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('Kafka lost while running: /readyz 503 naming it, the gauge at 0, one line per outage; back in its group and nothing lost when it returns', async () => {
    // A broker of this test's own (the shared one stays up for the other suites), started by the
    // project's script from the jars it already fetched, with its data kept across the stop.
    const dir = mkdtempSync(join(tmpdir(), 'ss-kafka-down-'));
    const [kafkaPort, controllerPort] = [await freePort(), await freePort()];
    const brokerEnv = { SERVICES_DIR: dir, KAFKA_LIBS_DIR: join(ROOT, '.services/kafka/libs'), KAFKA_PORT: String(kafkaPort), KAFKA_CONTROLLER_PORT: String(controllerPort), KAFKA_BROKERS: `127.0.0.1:${kafkaPort}` };
    const broker = async (action: 'start' | 'stop') => expect(await start('bash', ['scripts/services.sh', 'kafka', action], brokerEnv).exit).toBe(0);
    await broker('start');
    try {
      const prefix = `${uniqueId('prod')}.`;
      const env = { KAFKA_BROKERS: brokerEnv.KAFKA_BROKERS, TOPICS_PREFIX: prefix, TOPICS_PARTITIONS: '2', OUTAGE_LOG_INTERVAL_MS: '60000' };
      const job = startJob(env);
      const base = await until('the health URL', () => healthUrl(job));
      await until('ready', async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), 90_000);
      const simulate = async (seed: string) => {
        const sim = start(process.execPath, ['dist/runtime/cli.js', 'simulate', '--kafka', '--rate', '0', '--seed', seed, '--customers', '3', '--days', '1'], env);
        expect(await sim.exit).toBe(0);
        return Number(/sent (\d+) events/.exec(sim.stderr())?.[1] ?? NaN);
      };
      const eventsIn = async () => metricSum(await (await fetch(`${base}/metrics`)).text(), 'scenestream_events_in_total');
      const before = await simulate('kafka-down-1');
      expect(before).toBeGreaterThan(0);
      await until('the first events read', async () => ((await eventsIn()) >= before ? true : undefined), 60_000);

      // kill -9, as a crash would: it also leaves the pid file behind, which the start below must survive.
      const pid = Number(readFileSync(join(dir, 'kafka', 'kafka.pid'), 'utf8'));
      process.kill(pid, 'SIGKILL');
      await until('the broker gone', () => (listening(kafkaPort).then((up) => (up === undefined ? true : undefined))), 30_000);
      const down = await until('not ready', async () => {
        const r = await get(`${base}/readyz`);
        return r.status === 503 ? r : undefined;
      }, 60_000);
      expect(down.body).toMatchObject({ status: 'not ready', phase: 'running', down: ['kafka'] });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/scenestream_dependency_up\{dependency="kafka"\} 0/);
      expect(metrics).toMatch(/scenestream_dependency_up\{dependency="redis"\} 1/);
      expect((await get(`${base}/healthz`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 15_000)); // several consumer restarts, hundreds of connection attempts
      const lines = job.stderr().split('\n');
      expect(lines.filter((l) => l.includes(`kafka at 127.0.0.1:${kafkaPort} unreachable`))).toHaveLength(1);
      // The consumer may not have crashed yet (kafkajs retries first); if it has, once in the log.
      expect(lines.filter((l) => l.includes('consumer crashed')).length).toBeLessThanOrEqual(1);
      // kafkajs' own lines: each message once in the interval, whatever its backoff delay.
      const kafkajs = lines.filter((l) => l.includes(' kafka ') && !l.includes('unreachable')).map((l) => l.replace(/\d+ms/g, '#ms'));
      expect(kafkajs.length).toBe(new Set(kafkajs).size);
      expect(job.stderr()).not.toMatch(/^\s+at /m);

      await broker('start');
      await until('ready again', async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), 120_000);
      expect(job.stderr()).toMatch(new RegExp(`kafka at 127\\.0\\.0\\.1:${kafkaPort} reachable again after`));
      // Input produced after the outage is read too, and none of the earlier input was skipped.
      const after = await simulate('kafka-down-2');
      await until('every event read', async () => ((await eventsIn()) >= before + after ? true : undefined), 60_000);
      const lag = await (await fetch(`${base}/metrics`)).text();
      await until('no consumer lag', async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        const lags = [...text.matchAll(/^scenestream_consumer_lag_records\{[^}]*\} (\d+)/gm)].map((m) => Number(m[1]));
        return lags.length > 0 && lags.every((n) => n === 0) ? true : undefined;
      }, 60_000).catch((e: unknown) => {
        throw new Error(`${String(e)}\n${lag}`);
      });
      job.child.kill('SIGTERM');
      expect(await job.exit).toBe(0);
    } finally {
      await broker('stop');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('Redis lost while running: /readyz 503 and the gauge at 0, one log line; ready again when it is back', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const redisArgs = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    let redis = start('redis-server', redisArgs, {});
    await until('redis up', () => listening(port), 20_000);
    const job = startJob({ REDIS_URL: `redis://127.0.0.1:${port}`, TOPICS_PREFIX: `${uniqueId('prod')}.`, TOPICS_PARTITIONS: '2', KAFKA_BROKERS: loadServiceConfig().kafkaBrokers.join(',') });
    const base = await until('the health URL', () => healthUrl(job));
    await until('ready', async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), 90_000);

    redis.child.kill('SIGKILL');
    await redis.exit;
    const down = await until('not ready', async () => {
      const r = await get(`${base}/readyz`);
      return r.status === 503 ? r : undefined;
    });
    expect(down.body).toMatchObject({ status: 'not ready', phase: 'running', down: ['redis'] });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/scenestream_dependency_up\{dependency="redis"\} 0/);
    expect(metrics).toMatch(/scenestream_dependency_up\{dependency="kafka"\} 1/);
    await new Promise((r) => setTimeout(r, 3_000)); // dozens of reconnect attempts
    expect(job.stderr().split('\n').filter((l) => l.includes(`127.0.0.1:${port}`) && l.includes('unreachable'))).toHaveLength(1);
    expect((await get(`${base}/healthz`)).status).toBe(200);

    redis = start('redis-server', redisArgs, {});
    await until('redis up again', () => listening(port), 20_000);
    await until('ready again', async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), 30_000);
    expect(job.stderr()).toMatch(/redis at redis:\/\/127\.0\.0\.1:\d+ reachable again after/);
    job.child.kill('SIGTERM');
    expect(await job.exit).toBe(0);
    redis.child.kill('SIGKILL');
  });

  it('Redis restarted empty in the middle of push deliveries: no offer is POSTed twice (the ledger rebuilds itself from the offers topic)', async () => {
    const port = await freePort();
    const redisArgs = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    let redis = start('redis-server', redisArgs, {});
    await until('redis up', () => listening(port), 20_000);
    // A slow push endpoint that counts POSTs per offer id. Its fifth POST finds Redis gone: while
    // it is open, Redis is killed and started again empty, and the POST is refused (400), so the
    // job retries the batch with a ledger that has forgotten every claim.
    const posts = new Map<string, number>();
    let restarted: Promise<void> | undefined;
    const restartRedis = async () => {
      redis.child.kill('SIGKILL');
      await redis.exit;
      redis = start('redis-server', redisArgs, {});
      await until('redis up again', () => listening(port), 20_000);
    };
    const hook = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const id = String(req.headers['idempotency-key']);
        posts.set(id, (posts.get(id) ?? 0) + 1);
        const total = [...posts.values()].reduce((a, b) => a + b, 0);
        if (total === 5) {
          restarted = restartRedis();
          void restarted.then(() => res.writeHead(400).end('refused'));
          return;
        }
        setTimeout(() => res.writeHead(204).end(), 40);
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const tmp = mkdtempSync(join(tmpdir(), 'ss-ledger-'));
    try {
      const world = generateWorld({ seed: 'ledger-loss', customers: 150, stores: 4 });
      writeFileSync(join(tmp, 'stores.json'), storesToJson(world.stores));
      writeFileSync(join(tmp, 'profiles.jsonl'), profilesToJsonl(world.profiles));
      const prefix = `${uniqueId('ledger')}.`;
      const env = {
        REDIS_URL: `redis://127.0.0.1:${port}`,
        KAFKA_BROKERS: loadServiceConfig().kafkaBrokers.join(','),
        TOPICS_PREFIX: prefix,
        TOPICS_PARTITIONS: '2',
        PUSH_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as { port: number }).port}/push`,
        PUSH_CONCURRENCY: '2',
      };
      const load = start(process.execPath, ['dist/runtime/cli.js', 'load-reference', '--stores', join(tmp, 'stores.json'), '--profiles', join(tmp, 'profiles.jsonl')], env);
      expect(await load.exit).toBe(0);
      const job = startJob(env);
      const base = await until('the health URL', () => healthUrl(job));
      await until('ready', async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), 90_000);
      const kafka = testKafka(uniqueId('ledger-test'));
      const records = [...generateEvents(world, { days: 3 })];
      const events = records.length;
      await produceRecords(kafka, records, prefix);
      await until('Redis restarted in the middle of a delivery', () => restarted?.then(() => true), 120_000);
      await until('ready again', async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), 60_000);
      // Every event read and no lag left; then the deliveries of the last batches settle.
      await until('every event read', async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        const lags = [...text.matchAll(/^scenestream_consumer_lag_records\{[^}]*\} (\d+)/gm)].map((m) => Number(m[1]));
        return metricSum(text, 'scenestream_events_in_total') >= events && lags.length > 0 && lags.every((n) => n === 0) ? true : undefined;
      }, 180_000);
      await new Promise((r) => setTimeout(r, 5_000));
      expect(posts.size).toBeGreaterThan(5);
      expect([...posts].filter(([, n]) => n > 1)).toEqual([]);
      expect(job.stderr()).toMatch(/delivery ledger: its marker is missing .* claimed again the \d+ push offers/);
      job.child.kill('SIGTERM');
      expect(await job.exit).toBe(0);
    } finally {
      hook.closeAllConnections();
      await new Promise<void>((r) => hook.close(() => r()));
      redis.child.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 400_000);
});
