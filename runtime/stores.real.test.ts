/**
 * The store catalogue as a live table in production mode (the compiled CLI, real Kafka, and a Redis
 * of its own so that no other suite sees its reference data): a store loaded with
 * `scenestream load-reference --stores` while the job runs is served on `/stores/<id>` and fires
 * the store-proximity scene for a customer who dwells there, with its offer; a store left out of
 * the next load is no longer served; an invalid store record is rejected, logged once and counted,
 * and the job runs on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { inHoldout } from '../pipelines/holdout.js';
import { DEFAULT_PARAMS } from '../pipelines/params.js';
import { decodeAuto, type CustomerProfile, type LocationEvent, type Offer, type Store, type Trigger } from '../schemas/index.js';
import { destination } from '../simulator/geo.js';
import { profilesToJsonl, storesToJson } from '../simulator/jsonl.js';
import { freePort, killAll, listening, start, until } from '../testkit/cli.js';
import { produceRecords, readTopic, testKafka, uniqueId } from '../testkit/kafka.js';
import { loadServiceConfig } from './config.js';
import { STORES_HASH, STORES_VERSION } from './redis/reference.js';

afterEach(killAll);

/** A timezone where it is now 12:xx, so that a push decided now is outside the quiet hours. */
function middayZone(now: number): string {
  const k = ((((12 - new Date(now).getUTCHours()) % 24) + 36) % 24) - 12; // UTC offset in [-12, 11]
  return k === 0 ? 'Etc/UTC' : `Etc/GMT${k > 0 ? '-' : '+'}${Math.abs(k)}`; // Etc/GMT-8 is UTC+8
}

const tmp = mkdtempSync(join(tmpdir(), 'ss-stores-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('stores as a live table in production mode (compiled CLI, real Kafka and Redis)', () => {
  it('a store loaded while the job runs is served and fires store proximity with an offer; one removed is not served; a bad record is rejected', { timeout: 240_000 }, async () => {
    const port = await freePort();
    const redisServer = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {});
    await until('redis up', () => listening(port), 20_000);
    const env = { REDIS_URL: `redis://127.0.0.1:${port}`, KAFKA_BROKERS: loadServiceConfig().kafkaBrokers.join(',') };
    const cli = async (...args: string[]): Promise<string> => {
      const r = start(process.execPath, ['dist/runtime/cli.js', ...args], env);
      expect(await r.exit, r.stderr()).toBe(0);
      return r.stdout();
    };

    const now = Date.now();
    const oldStore: Store = { storeId: 'st-old', name: 'Old Town', lat: 31.23, lon: 121.47, radiusM: 150, timezone: 'Asia/Shanghai' };
    const at = destination({ lat: oldStore.lat, lon: oldStore.lon }, 90, 5_000);
    const newStore: Store = { storeId: 'st-new', name: 'New Harbour', lat: at.lat, lon: at.lon, radiusM: 120, timezone: 'Asia/Shanghai' };
    let customerId = 'c-near-0';
    for (let i = 1; inHoldout(customerId, DEFAULT_PARAMS.decisions.holdoutSalt, DEFAULT_PARAMS.decisions.holdoutRatio); i++) customerId = `c-near-${i}`;
    const profile: CustomerProfile = { customerId, tier: 'gold', timezone: middayZone(now), consent: { push: true, sms: true, email: true, in_store: true }, lastPurchaseTs: null };
    writeFileSync(join(tmp, 'profiles.jsonl'), profilesToJsonl([profile]));
    writeFileSync(join(tmp, 'stores-1.json'), storesToJson([oldStore]));
    writeFileSync(join(tmp, 'stores-2.json'), storesToJson([newStore]));
    expect(await cli('load-reference', '--stores', join(tmp, 'stores-1.json'), '--profiles', join(tmp, 'profiles.jsonl'))).toContain('1 stores loaded');

    const prefix = `${uniqueId('stores')}.`;
    const job = start(process.execPath, ['dist/runtime/cli.js', 'run'], {
      ...env,
      SCENESTREAM_MODE: 'kafka',
      HTTP_PORT: '0',
      TOPICS_PREFIX: prefix,
      TOPICS_PARTITIONS: '2',
      STORES_REFRESH_MS: '300',
      IDLE_TIMEOUT_MS: '1000',
      OUTAGE_LOG_INTERVAL_MS: '60000',
    });
    const base = await until('the health URL', () => /health (http:\/\/\S+)\/healthz/.exec(job.stderr())?.[1]);
    await until('ready', async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), 90_000);
    expect((await fetch(`${base}/stores/st-old`)).status).toBe(200);
    expect((await fetch(`${base}/stores/st-new`)).status).toBe(404);

    // The new catalogue (st-old left out, st-new added) while the job runs.
    expect(await cli('load-reference', '--stores', join(tmp, 'stores-2.json'))).toContain('1 stores loaded');
    await until('st-new served', async () => ((await fetch(`${base}/stores/st-new`)).status === 200 ? true : undefined), 20_000);
    expect(await (await fetch(`${base}/stores/st-new`)).text()).toContain('New Harbour');
    await until('st-old no longer served', async () => ((await fetch(`${base}/stores/st-old`)).status === 404 ? true : undefined), 5_000);
    const health = (await (await fetch(`${base}/healthz`)).json()) as { stores: { count: number; version: number; rejected: number } };
    expect(health.stores).toMatchObject({ count: 1, rejected: 0 });
    expect(health.stores.version).toBeGreaterThanOrEqual(2);

    // The customer dwells at the new store (pings in the recent past: an idle input lets event time pass them).
    const inside = destination(at, 0, 40);
    const t0 = now - 10 * 60_000;
    const pings: LocationEvent[] = [0, 60_000, 130_000, 140_000].map((dt, i) => ({ eventId: `${customerId}-p${i}`, customerId, ts: t0 + dt, lat: inside.lat, lon: inside.lon, accuracyM: 10, speedMps: 0 }));
    const kafka = testKafka(uniqueId('stores-test'));
    await produceRecords(
      kafka,
      pings.map((value) => ({ topic: 'location' as const, value })),
      prefix,
    );
    const proximity = (m: { value: Buffer | null }): Trigger | undefined => {
      const d = m.value === null ? undefined : decodeAuto(m.value, undefined, 'Trigger');
      return d !== undefined && d.ok && d.value.value.scene === 'store_proximity' ? d.value.value : undefined;
    };
    const triggers = (await readTopic(kafka, `${prefix}triggers`, (ms) => ms.some((m) => proximity(m) !== undefined), 60_000)).flatMap((m) => proximity(m) ?? []);
    expect(triggers).toEqual([{ scene: 'store_proximity', customerId, ts: t0 + 130_000, storeId: 'st-new', productIds: [], category: null, eventId: `${customerId}-p2` }]);
    const offer = (m: { value: Buffer | null }): Offer | undefined => {
      const d = m.value === null ? undefined : decodeAuto(m.value, undefined, 'Offer');
      return d !== undefined && d.ok ? d.value.value : undefined;
    };
    const offers = (await readTopic(kafka, `${prefix}offers`, (ms) => ms.some((m) => offer(m) !== undefined), 30_000)).flatMap((m) => offer(m) ?? []);
    expect(offers).toMatchObject([{ scene: 'store_proximity', customerId, storeId: 'st-new', channel: 'push', ts: t0 + 130_000 }]);

    // An invalid record written by hand: rejected and counted once, the job runs on and keeps its stores.
    const redis = createClient({ url: env.REDIS_URL });
    await redis.connect();
    await redis.hSet(STORES_HASH, 'st-bad', JSON.stringify({ ...newStore, storeId: 'st-bad', lat: 123 }));
    await redis.incr(STORES_VERSION);
    await until('the rejection logged', () => (/store st-bad in Redis is invalid/.test(job.stderr()) ? true : undefined), 10_000);
    await redis.incr(STORES_VERSION); // read again: not logged again
    await new Promise((r) => setTimeout(r, 1_000));
    await redis.quit();
    expect(job.stderr().match(/store st-bad in Redis is invalid/g)).toHaveLength(1);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^scenestream_dead_letters_total\{source="stores",code="SS_ERR_VALIDATION"\} 1$/m);
    expect((await fetch(`${base}/stores/st-bad`)).status).toBe(404);
    expect((await fetch(`${base}/stores/st-new`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    job.child.kill('SIGTERM');
    expect(await job.exit).toBe(0);
    expect(job.stderr()).not.toMatch(/^\s+at /m);
    redisServer.child.kill('SIGKILL');
  });
});
