/**
 * The product catalogue in production mode (the compiled CLI, the real broker, a Redis of its
 * own): offer titles name the product, in both forms of the catalogue.
 * - Redis (`PRODUCTS_FROM=redis`, the default): `scenestream load-reference --products` while the
 *   job runs renames a product, and the next offer uses the new name; an invalid record written by
 *   hand is rejected, logged once and counted, and the job runs on.
 * - Topic (`PRODUCTS_FROM=topic`, `--instances 2`): `load-reference --products-to topic` writes the
 *   compacted topic; both instances read it whole before consuming, so offers computed on either
 *   instance are titled; a tombstone removes the product from both.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { inHoldout } from '../pipelines/holdout.js';
import { DEFAULT_PARAMS } from '../pipelines/params.js';
import { decodeAuto, type ClickEvent, type CustomerProfile, type Offer, type Product } from '../schemas/index.js';
import { productsToJson, profilesToJsonl } from '../simulator/jsonl.js';
import { freePorts, get, killAll, start, startRedis, until, type Running } from '../testkit/cli.js';
import { partitionOf, produceRecords, readToEnd, testKafka, uniqueId } from '../testkit/kafka.js';
import { loadServiceConfig } from './config.js';
import { produceProducts } from './kafka/productsTopic.js';
import { PRODUCTS_HASH, PRODUCTS_VERSION } from './redis/reference.js';

afterEach(killAll);

const tmp = mkdtempSync(join(tmpdir(), 'ss-products-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A timezone where it is now 12:xx, so that a push decided now is outside the quiet hours. */
function middayZone(now: number): string {
  const k = ((((12 - new Date(now).getUTCHours()) % 24) + 36) % 24) - 12;
  return k === 0 ? 'Etc/UTC' : `Etc/GMT${k > 0 ? '-' : '+'}${Math.abs(k)}`;
}

/** Customers outside the holdout whose ids start with `prefix`, on the given partitions of `n`. */
function customers(prefix: string, partitions: readonly number[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < partitions.length; i++) {
    const id = `${prefix}-${i}`;
    if (!inHoldout(id, DEFAULT_PARAMS.decisions.holdoutSalt, DEFAULT_PARAMS.decisions.holdoutRatio) && partitionOf(id, n) === partitions[out.length]) out.push(id);
  }
  return out;
}

/** `scenestream <args>` (compiled) with `env`; expects exit 0 and returns stdout. */
const cliWith =
  (env: Record<string, string>) =>
  async (...args: string[]): Promise<string> => {
    const r = start(process.execPath, ['dist/runtime/cli.js', ...args], env);
    expect(await r.exit, r.stderr()).toBe(0);
    return r.stdout();
  };

/** A gold customer who consented to everything, where it is midday now. */
const consenting = (customerId: string, now: number): CustomerProfile => ({ customerId, tier: 'gold', timezone: middayZone(now), consent: { push: true, sms: true, email: true, in_store: true }, lastPurchaseTs: null });

const shoe: Product = { productId: 'SHO-042', name: 'Trail runner', category: 'shoes', price: 59.9, imageUrl: null };

/** An add_to_cart of the shoe at `ts`, and a later click of the same customer that moves event time past the cart's timeout. */
function cartLeftBehind(customerId: string, ts: number, laterTs: number): Array<{ topic: 'clickstream'; value: ClickEvent }> {
  const click = (type: ClickEvent['type'], at: number, n: number): ClickEvent => ({ eventId: `${customerId}-${n}-${at}`, customerId, sessionId: `s-${customerId}`, ts: at, type, productId: shoe.productId, category: 'shoes', price: 59.9, quantity: type === 'add_to_cart' ? 1 : null, channel: 'app' });
  return [
    { topic: 'clickstream', value: click('add_to_cart', ts, 0) },
    { topic: 'clickstream', value: click('product_view', laterTs, 1) },
  ];
}

async function offersOf(prefix: string, customerIds: readonly string[]): Promise<Offer[]> {
  const kafka = testKafka(uniqueId('products-read'));
  const out: Offer[] = [];
  for (const m of await readToEnd(kafka, `${prefix}offers`, 30_000)) {
    const d = m.value === null ? undefined : decodeAuto(m.value, undefined, 'Offer');
    if (d !== undefined && d.ok && customerIds.includes(d.value.value.customerId)) out.push(d.value.value);
  }
  return out;
}

describe('the product catalogue in production mode (compiled CLI, real Kafka and Redis)', () => {
  it('from Redis: offers are titled with product names; a rename loaded while the job runs titles the next offer; a bad record is rejected once', { timeout: 240_000 }, async () => {
    const redis = await startRedis();
    const env = { REDIS_URL: redis.url, KAFKA_BROKERS: loadServiceConfig().kafkaBrokers.join(',') };
    const cli = cliWith(env);
    const now = Date.now();
    const [a, b] = customers('c-redis', [0, 0], 1);
    const profile = (customerId: string) => consenting(customerId, now);
    writeFileSync(join(tmp, 'profiles.jsonl'), profilesToJsonl([profile(a!), profile(b!)]));
    writeFileSync(join(tmp, 'products-1.json'), productsToJson([shoe]));
    writeFileSync(join(tmp, 'products-2.json'), productsToJson([{ ...shoe, name: 'Trail runner II' }]));
    writeFileSync(join(tmp, 'campaign.json'), JSON.stringify({ scenes: { cartAbandonment: { timeoutMs: 60_000 } } }));
    expect(await cli('load-reference', '--profiles', join(tmp, 'profiles.jsonl'), '--products', join(tmp, 'products-1.json'))).toContain('1 products loaded');

    const prefix = `${uniqueId('products')}.`;
    const run = start(process.execPath, ['dist/runtime/cli.js', 'run', '--config', join(tmp, 'campaign.json')], { SCENESTREAM_MODE: 'kafka', HTTP_PORT: '0', OUTAGE_LOG_INTERVAL_MS: '60000', ...env, TOPICS_PREFIX: prefix, TOPICS_PARTITIONS: '1', PRODUCTS_REFRESH_MS: '300', IDLE_TIMEOUT_MS: '1000' });
    const base = await until('the health URL', () => /health (http:\/\/\S+)\/healthz/.exec(run.stderr())?.[1]);
    await until('ready', async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), 90_000);
    const kafka = testKafka(uniqueId('products-test'));

    await produceRecords(kafka, cartLeftBehind(a!, now - 10 * 60_000, now - 5 * 60_000), prefix);
    const first = await until('the offer of the first cart', async () => (await offersOf(prefix, [a!]))[0]);
    expect(first).toMatchObject({ scene: 'cart_abandonment', customerId: a, productIds: [shoe.productId], title: 'Trail runner is waiting in your cart: 10% off' });

    expect(await cli('load-reference', '--products', join(tmp, 'products-2.json'))).toContain('1 products loaded');
    await until('the rename applied', async () => {
      const h = (await get(`${base}/healthz`)).body as { products?: { version: number } };
      return (h.products?.version ?? 0) >= 2 ? true : undefined;
    });
    await produceRecords(kafka, cartLeftBehind(b!, now - 4 * 60_000, now - 60_000), prefix);
    const second = await until('the offer of the second cart', async () => (await offersOf(prefix, [b!]))[0]);
    expect(second.title).toBe('Trail runner II is waiting in your cart: 10% off');

    // A record written by hand that is not a valid Product: rejected and counted once; the product keeps its details.
    const client = createClient({ url: redis.url });
    await client.connect();
    await client.hSet(PRODUCTS_HASH, 'SHO-042', JSON.stringify({ ...shoe, price: -5 }));
    await client.incr(PRODUCTS_VERSION);
    await until('the rejection logged', () => (/product SHO-042 in Redis is invalid/.test(run.stderr()) ? true : undefined), 10_000);
    await client.incr(PRODUCTS_VERSION);
    await new Promise((r) => setTimeout(r, 1_000));
    await client.quit();
    expect(run.stderr().match(/product SHO-042 in Redis is invalid/g)).toHaveLength(1);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^scenestream_dead_letters_total\{source="products",code="SS_ERR_VALIDATION"\} 1$/m);
    const health = (await get(`${base}/healthz`)).body as { products: { count: number; rejected: number; from: string } };
    expect(health.products).toMatchObject({ from: 'redis', count: 1, rejected: 1 });

    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.stderr()).not.toMatch(/^\s+at /m);
    redis.process.child.kill('SIGKILL');
  });

  it('from the products topic with two instances: both read it whole before consuming and title the offers of their partitions; a tombstone removes the product from both', { timeout: 240_000 }, async () => {
    const redis = await startRedis();
    const prefix = `${uniqueId('products-topic')}.`;
    const env = { REDIS_URL: redis.url, KAFKA_BROKERS: loadServiceConfig().kafkaBrokers.join(','), TOPICS_PREFIX: prefix, TOPICS_PARTITIONS: '2' };
    const cli = cliWith(env);
    const now = Date.now();
    const [a, b] = customers('c-topic', [0, 1], 2);
    const profile = (customerId: string) => consenting(customerId, now);
    writeFileSync(join(tmp, 'profiles-t.jsonl'), profilesToJsonl([profile(a!), profile(b!)]));
    writeFileSync(join(tmp, 'products-t.json'), productsToJson([shoe]));
    writeFileSync(join(tmp, 'campaign-t.json'), JSON.stringify({ scenes: { cartAbandonment: { timeoutMs: 60_000 } } }));
    expect(await cli('load-reference', '--profiles', join(tmp, 'profiles-t.jsonl'))).toContain('2 profiles loaded');
    expect(await cli('load-reference', '--products', join(tmp, 'products-t.json'), '--products-to', 'topic')).toContain(`1 products written to ${prefix}products`);

    const port = await freePorts(2);
    const run: Running = start(process.execPath, ['dist/runtime/cli.js', 'run', '--instances', '2', '--config', join(tmp, 'campaign-t.json')], {
      ...env,
      SCENESTREAM_MODE: 'kafka',
      HTTP_PORT: String(port),
      PRODUCTS_FROM: 'topic',
      IDLE_TIMEOUT_MS: '1000',
      SESSION_TIMEOUT_MS: '6000',
      OUTAGE_LOG_INTERVAL_MS: '60000',
    });
    const urls = [0, 1].map((i) => `http://127.0.0.1:${port + i}`);
    const health = async (url: string) => (await get(`${url}/healthz`)).body as { products?: { from: string; count: number }; assigned?: unknown[] };
    for (const url of urls) await until(`ready at ${url}`, async () => ((await fetch(`${url}/readyz`)).status === 200 ? true : undefined), 120_000);
    for (const url of urls) expect((await health(url)).products).toMatchObject({ from: 'topic', count: 1 });
    await until('each instance holds a partition', async () => ((await Promise.all(urls.map(health))).every((h) => (h.assigned?.length ?? 0) > 0) ? true : undefined), 60_000);

    const kafka = testKafka(uniqueId('products-topic-test'));
    await produceRecords(kafka, [...cartLeftBehind(a!, now - 10 * 60_000, now - 5 * 60_000), ...cartLeftBehind(b!, now - 10 * 60_000, now - 5 * 60_000)], prefix);
    const offers = await until('an offer for each cart', async () => {
      const o = await offersOf(prefix, [a!, b!]);
      return o.length >= 2 ? o : undefined;
    });
    expect(offers.map((o) => [o.customerId, o.title]).sort()).toEqual([
      [a, 'Trail runner is waiting in your cart: 10% off'],
      [b, 'Trail runner is waiting in your cart: 10% off'],
    ].sort());

    await produceProducts(kafka, `${prefix}products`, [], [shoe.productId]);
    for (const url of urls) await until(`the tombstone applied at ${url}`, async () => ((await health(url)).products?.count === 0 ? true : undefined), 20_000);

    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.stderr()).not.toMatch(/^\s+at /m);
    redis.process.child.kill('SIGKILL');
  });
});
