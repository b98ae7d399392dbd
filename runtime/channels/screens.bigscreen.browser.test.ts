/**
 * The store page as a big screen, in a real headless Chromium (Debian's `chromium`, which .ci/run
 * installs): at 1920x1080 and at 1080x1920 (portrait) it shows a full store (six customers,
 * long product names, images and none) without scrolling, nothing outside the viewport, no empty
 * card; times carry their day in the store's zone; the offer of the moment runs across the top
 * until it expires; offline it says so. Screenshots of both sizes are written next to the test
 * run (`SCREENSHOTS_DIR`, default a temporary directory) for a human to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveProducts } from '../../pipelines/products.js';
import type { Offer, RecommendationUpdate } from '../../schemas/index.js';
import { startServer, type RunningServer } from '../http/server.js';
import { Metrics } from '../metrics.js';
import { ScreenHub } from './screens.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const STORE = { storeId: 'sh-001', name: 'Jing’an Flagship · Nanjing West Road, the longest store name in the city', timezone: 'Asia/Shanghai' };
// 2025-03-14 10:00 in Shanghai.
const T = Date.UTC(2025, 2, 14, 2, 0);
const DAY = 86_400_000;

const catalogue = new LiveProducts([
  { productId: 'p-mug', name: 'Stoneware mug', category: 'home', price: 12.5, imageUrl: null },
  { productId: 'p-long', name: 'Ultra-lightweight waterproof trail running shoe with a recycled mesh upper, size 42 (wide fit)', category: 'shoes', price: 1299.9, imageUrl: null },
  { productId: 'p-img', name: 'Espresso beans 1 kg', category: 'grocery', price: 24.9, imageUrl: 'data:image/svg+xml,%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22%20width=%228%22%20height=%228%22%3E%3Crect%20width=%228%22%20height=%228%22%20fill=%22%23c84%22/%3E%3C/svg%3E' },
]);

const update = (customerId: string, ts: number, products: readonly string[]): RecommendationUpdate => ({
  customerId,
  storeId: STORE.storeId,
  ts,
  items: products.map((productId, i) => ({ productId, score: 9 - i, reason: i === 0 ? 'bought_together' : 'viewed' })),
});

/** The little of the DOM the layout check reads (this project compiles without the DOM's types). */
interface Box {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
  readonly width: number;
  readonly height: number;
}
interface El {
  readonly tagName: string;
  readonly className: string;
  getBoundingClientRect(): Box;
  closest(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
}
interface BrowserGlobals {
  readonly innerWidth: number;
  readonly innerHeight: number;
  readonly document: { readonly documentElement: { readonly scrollHeight: number; readonly scrollWidth: number }; querySelectorAll(selector: string): ArrayLike<El> };
}

/** What the page shows that lies outside the viewport or scrolls, and cards without items. */
async function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const { innerWidth: w, innerHeight: h, document } = globalThis as unknown as BrowserGlobals;
    const out: string[] = [];
    const doc = document.documentElement;
    if (doc.scrollHeight > h + 1 || doc.scrollWidth > w + 1) out.push(`page scrolls: ${doc.scrollWidth}x${doc.scrollHeight} in ${w}x${h}`);
    for (const e of Array.from(document.querySelectorAll('body *'))) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // hidden
      if (r.left < -1 || r.top < -1 || r.right > w + 1 || r.bottom > h + 1) out.push(`${e.tagName.toLowerCase()}.${e.className} at ${Math.round(r.left)},${Math.round(r.top)}-${Math.round(r.right)},${Math.round(r.bottom)}`);
      // Content cut by its own box is fine (clamped names); content spilling out of a card is not.
      const card = e.closest('.card');
      if (card !== null && card !== e) {
        const c = card.getBoundingClientRect();
        if (r.bottom > c.bottom + 1 || r.right > c.right + 1) out.push(`${e.className} spills out of its card`);
      }
    }
    for (const c of Array.from(document.querySelectorAll('.card'))) if (c.querySelectorAll('.item').length === 0) out.push('an empty card');
    return out;
  });
}

describe('the store page as a big screen (headless Chromium)', () => {
  let server: RunningServer;
  let hub: ScreenHub;
  let context: BrowserContext;
  let profileDir: string;
  const shots = process.env['SCREENSHOTS_DIR'] ?? mkdtempSync(join(tmpdir(), 'ss-screens-'));

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
    mkdirSync(shots, { recursive: true });
    hub = new ScreenHub({ stores: [STORE], products: catalogue });
    // A full store: six customers, yesterday's and today's, long names, an image, and one whose suggestions became empty.
    hub.publish(update('c7', T - 15 * 60_000, ['p-mug']));
    hub.publish(update('c7', T - 5 * 60_000, [])); // c7 has nothing now: no card for c7
    hub.publish(update('c1', T - DAY + 3_600_000, ['p-long', 'p-mug', 'p-img']));
    hub.publish(update('c2', T - 50 * 60_000, ['p-img', 'p-long', 'sku-unknown-with-a-very-long-code-0001']));
    hub.publish(update('c3', T - 40 * 60_000, ['p-mug']));
    hub.publish(update('c4', T - 30 * 60_000, ['p-long', 'p-long', 'p-long', 'p-mug', 'p-img']));
    hub.publish(update('c5', T - 20 * 60_000, ['sku-a', 'sku-b']));
    hub.publish(update('c6', T - 10 * 60_000, ['p-mug', 'p-img']));
    const offer: Offer = {
      offerId: 'off_1',
      customerId: 'c6',
      scene: 'store_proximity',
      campaignId: 'spring',
      channel: 'in_store',
      storeId: STORE.storeId,
      productIds: ['p-mug'],
      discountPct: 15,
      title: 'You are near Jing’an Flagship: 15% off in store today',
      ts: T,
      expiresAt: T + 4 * 3_600_000,
      triggerEventId: 'e1',
    };
    expect(hub.publishOffer(offer)).toBe('published');
    server = await startServer({ metrics: new Metrics({ processMetrics: false }), screens: hub, listen: { host: '127.0.0.1', port: 0 } });
    profileDir = mkdtempSync(join(tmpdir(), 'scenestream-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1920, height: 1080 } });
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profileDir !== undefined) rmSync(profileDir, { recursive: true, force: true });
  });

  for (const [label, width, height] of [
    ['landscape', 1920, 1080],
    ['portrait', 1080, 1920],
  ] as const) {
    it(`fills ${width}x${height} without scrolling: six cards, none empty, nothing outside the viewport`, async () => {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      await page.goto(`${server.url}/stores/${STORE.storeId}`);
      await page.waitForSelector('body[data-state="live"]', { timeout: 10_000 });
      await page.waitForSelector('#cards > .card', { timeout: 5_000 });
      await page.screenshot({ path: join(shots, `store-${label}-${width}x${height}.png`) });
      expect(await page.locator('#cards > .card').count()).toBe(6);
      expect(await layoutProblems(page)).toEqual([]);
      expect(await page.locator('#empty').isVisible()).toBe(false);
      // Names from the catalogue (the long one clamped, not cut from the layout), prices, the unknown by its id.
      expect(await page.locator('.product').allTextContents()).toContain('Stoneware mug');
      expect(await page.locator('.price').allTextContents()).toContain('1299.90');
      expect(await page.locator('img.pic').count()).toBeGreaterThan(0);
      // Times with their day, in the store's zone; the newest card first.
      const whens = await page.locator('.when').allTextContents();
      expect(whens[0]).toBe('today 09:50');
      expect(whens.at(-1)).toBe('yesterday 11:00');
      // The offer of the moment, without the customer.
      await expect.poll(() => page.locator('#offer.on .pct').textContent()).toBe('15% off');
      const banner = await page.locator('#offer').textContent();
      expect(banner).toContain('Stoneware mug');
      expect(banner).not.toContain('c6');
      await page.close();
    });
  }

  it('says it is offline and dims what it shows when its server goes away', async () => {
    const own = await startServer({ metrics: new Metrics({ processMetrics: false }), screens: hub, listen: { host: '127.0.0.1', port: 0 } });
    const page = await context.newPage();
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.goto(`${own.url}/stores/${STORE.storeId}`);
    await page.waitForSelector('body[data-state="live"]', { timeout: 10_000 });
    expect(await page.locator('#offline').isVisible()).toBe(false);
    await page.route('**/events', (route) => route.abort());
    await own.close(); // ends the open stream; the page's reconnects are refused
    await page.waitForSelector('body[data-state="reconnecting"]', { timeout: 10_000 });
    expect(await page.locator('#offline').isVisible()).toBe(true);
    expect(await page.locator('#offline').textContent()).toBe('Offline: reconnecting…');
    expect(await page.locator('#status').textContent()).toBe('offline');
    expect(await page.locator('#cards > .card').count()).toBe(6); // still shown, dimmed
    expect(await layoutProblems(page)).toEqual([]);
    await page.screenshot({ path: join(shots, 'store-offline-1920x1080.png') });
    await page.close();
  });
});
