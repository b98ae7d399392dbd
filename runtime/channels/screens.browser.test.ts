/**
 * The store page in a real headless Chromium (Debian's `chromium`, /usr/bin/chromium, which
 * `.ci/run` installs), driven by playwright-core: the page shows the suggestions present when it
 * loads, and a suggestion published to the hub appears on it within one second (SCENES issue:
 * "the screen page shows a live suggestion in headless Chromium within a second of the trigger").
 *
 * Runs in the `unit` project (no Kafka, no Redis). Without Chromium it fails, saying how to install it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecommendationUpdate } from '../../schemas/index.js';
import { startServer, type RunningServer } from '../http/server.js';
import { Metrics } from '../metrics.js';
import { LiveProducts } from '../../pipelines/products.js';
import { ScreenHub, screenUpdateId } from './screens.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const update = (customerId: string, ts: number, items: Array<[string, number, string]>): RecommendationUpdate => ({
  customerId,
  storeId: 'sh-001',
  ts,
  items: items.map(([productId, score, reason]) => ({ productId, score, reason })),
});

describe('store page in headless Chromium', () => {
  let server: RunningServer;
  let hub: ScreenHub;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: this test needs Debian's chromium. Install it with: apt-get update && apt-get install -y --no-install-recommends chromium (.ci/run does this)`);
    }
    const products = new LiveProducts([{ productId: 'sku-ceramic-mug', name: 'Ceramic mug', category: 'home', price: 12.5, imageUrl: null }]);
    hub = new ScreenHub({ stores: [{ storeId: 'sh-001', name: 'Jing’an Flagship · Nanjing West Rd', timezone: 'Asia/Shanghai' }], products });
    server = await startServer({ metrics: new Metrics({ processMetrics: false }), screens: hub, listen: { host: '127.0.0.1', port: 0 } });
    profileDir = mkdtempSync(join(tmpdir(), 'scenestream-chromium-'));
    // A fresh profile per run: playwright takes the user data dir here, not as --user-data-dir.
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1600, height: 900 } });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profileDir !== undefined) rmSync(profileDir, { recursive: true, force: true });
  });

  it('shows the store name and the suggestions present at load', async () => {
    const first = update('alice', Date.UTC(2025, 2, 14, 2, 5), [
      ['sku-espresso-beans', 42, 'bought_together'],
      ['sku-milk-frother', 17.5, 'viewed'],
    ]);
    hub.publish(first);
    await page.goto(`${server.url}/stores/sh-001`);
    await page.waitForSelector('body[data-state="live"]', { timeout: 10_000 });
    expect(await page.locator('h1').textContent()).toBe('Jing’an Flagship · Nanjing West Rd');
    const card = page.locator(`[data-update-id="${screenUpdateId(first)}"]`);
    await card.waitFor({ timeout: 5_000 });
    expect(await card.locator('.product').allTextContents()).toEqual(['sku-espresso-beans', 'sku-milk-frother']);
    expect(await card.locator('.score').allTextContents()).toEqual(['42', '17.50']);
    expect(await card.locator('.reason').allTextContents()).toEqual(['bought together', 'viewed']);
    // In the store's local time (02:05 UTC is 10:05 in Shanghai), whatever the screen's own zone.
    expect(await card.locator('.when').textContent()).toBe('today 10:05');
  });

  it('shows a published suggestion within one second, newest first', async () => {
    // The page is connected (its EventSource is a subscriber) before we publish.
    const deadline = Date.now() + 5_000;
    while (hub.subscribers('sh-001') < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(hub.subscribers('sh-001')).toBe(1);

    const live = update('bob', Date.UTC(2025, 2, 14, 2, 7), [
      ['sku-oat-milk-1l', 31, 'bought_together'],
      ['sku-ceramic-mug', 12.25, 'carted'],
      ['sku-pour-over-kettle', 8, 'viewed'],
    ]);
    const selector = `[data-update-id="${screenUpdateId(live)}"]`;
    expect(await page.locator(selector).count()).toBe(0);

    const t0 = performance.now();
    expect(hub.publish(live)).toBe('published');
    await page.waitForSelector(selector, { state: 'attached', timeout: 5_000 });
    const elapsedMs = performance.now() - t0;
    expect(elapsedMs, `suggestion appeared after ${elapsedMs.toFixed(0)} ms`).toBeLessThan(1_000);

    // A product of the catalogue by its name and price; the others by id and score.
    expect(await page.locator(`${selector} .product`).allTextContents()).toEqual(['sku-oat-milk-1l', 'Ceramic mug', 'sku-pour-over-kettle']);
    expect(await page.locator(`${selector} .price`).allTextContents()).toEqual(['12.50']);
    expect(await page.locator(`${selector} .score`).allTextContents()).toEqual(['31', '8']);
    expect(await page.locator(`${selector} .reason`).allTextContents()).toEqual(['bought together', 'home · carted', 'viewed']);
    // Newest first: bob's card before alice's.
    const ids = await page.locator('#cards > .card').evaluateAll((els) => els.map((e) => e.getAttribute('data-update-id')));
    expect(ids[0]).toBe(screenUpdateId(live));
    expect(ids).toHaveLength(2);

    await page.screenshot({ path: '/tmp/screen.png' });
  });
});
