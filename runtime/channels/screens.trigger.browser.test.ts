/**
 * End to end, in a real headless Chromium (Debian's `chromium`, /usr/bin/chromium): the retail
 * pipelines in an Executor, their `recommendations` sink wired to a ScreenHub as `runtime/cli.ts`
 * wires it, the HTTP server serving the store's page. Location pings make a store_proximity
 * trigger in the store; the page must show the customer's suggestion within one second (wall
 * clock) of the trigger (issue 6: "the screen page shows a live suggestion in headless Chromium
 * within a second of the trigger").
 *
 * Event time runs on a virtual clock (the pings carry their own ts); what is measured is wall time:
 * from the moment the `triggers` sink receives the trigger to the moment the page's DOM holds the
 * suggestion's card, stamped in the page by a MutationObserver.
 *
 * Runs in the `unit` project (no Kafka, no Redis). Without Chromium it fails, saying how to install it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticCampaign } from '../../pipelines/campaign.js';
import { profilesFrom } from '../../pipelines/deps.js';
import { buildRetail, RETAIL_SINKS } from '../../pipelines/retail.js';
import { TOPICS } from '../../pipelines/sources.js';
import type { ClickEvent, CustomerProfile, LocationEvent, PosEvent, RecommendationUpdate, Store, Trigger } from '../../schemas/index.js';
import { destination } from '../../simulator/geo.js';
import { VirtualClock } from '../../engine/clock.js';
import { Executor, type DeadLetter } from '../../engine/executor.js';
import { InMemoryStateBackend } from '../../engine/state.js';
import { pipeline } from '../../stream/stream.js';
import { startServer, type RunningServer } from '../http/server.js';
import { Metrics } from '../metrics.js';
import { ScreenHub, screenUpdateId } from './screens.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const S = 1_000;
/** Friday 14 March 2025, 10:00 in Shanghai. */
const T0 = Date.UTC(2025, 2, 14, 2, 0);

// A small hand-made world: two stores, one customer with a history.
const STORE: Store = { storeId: 'sh-001', name: 'Jing’an Flagship', lat: 31.2286, lon: 121.4547, radiusM: 120, timezone: 'Asia/Shanghai' };
const OTHER: Store = { storeId: 'sh-002', name: 'Xujiahui', lat: 31.1955, lon: 121.4374, radiusM: 120, timezone: 'Asia/Shanghai' };
const ALICE: CustomerProfile = { customerId: 'alice', tier: 'gold', timezone: 'Asia/Shanghai', consent: { push: true, sms: false, email: true, in_store: true }, lastPurchaseTs: null };
const INSIDE = destination(STORE, 90, 30);

let n = 0;
const basket = (t: number, products: string[]): PosEvent => ({
  eventId: `pos-${++n}`,
  customerId: null,
  storeId: OTHER.storeId,
  ts: T0 + t,
  items: products.map((productId) => ({ productId, category: 'coffee', quantity: 1, unitPrice: 10 })),
  total: 10 * products.length,
});
const view = (t: number, productId: string): ClickEvent => ({ eventId: `click-${++n}`, customerId: 'alice', sessionId: 's1', ts: T0 + t, type: 'product_view', productId, category: 'coffee', price: 10, quantity: null, channel: 'app' });
const ping = (t: number): LocationEvent => ({ eventId: `loc-${++n}`, customerId: 'alice', ts: T0 + t, lat: INSIDE.lat, lon: INSIDE.lon, accuracyM: 15, speedMps: 0 });

/**
 * Run in the page (a string: this file is type-checked without the DOM library): stamps in
 * `window.cardSeenAt[updateId]` the wall-clock time (ms since epoch) at which each card entered the DOM.
 */
const STAMP_CARDS = `(() => {
  const seen = (window.cardSeenAt = {});
  new MutationObserver((records) => {
    const now = Date.now();
    for (const r of records)
      for (const node of r.addedNodes) {
        const id = node.dataset === undefined ? undefined : node.dataset.updateId;
        if (id !== undefined && seen[id] === undefined) seen[id] = now;
      }
  }).observe(document.getElementById("cards"), { childList: true });
})()`;

describe('a store_proximity trigger reaches the store screen in headless Chromium', () => {
  let server: RunningServer;
  let hub: ScreenHub;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: this test needs Debian's chromium. Install it with: apt-get update && apt-get install -y --no-install-recommends chromium (.ci/run does this)`);
    }
    hub = new ScreenHub({ stores: [STORE, OTHER] });
    server = await startServer({ metrics: new Metrics({ processMetrics: false }), screens: hub, listen: { host: '127.0.0.1', port: 0 } });
    profileDir = mkdtempSync(join(tmpdir(), 'scenestream-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1600, height: 900 } });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profileDir !== undefined) rmSync(profileDir, { recursive: true, force: true });
  });

  it('shows the suggestion within 1,000 ms of the trigger', async () => {
    const p = pipeline('retail');
    buildRetail(p, { deps: { stores: [STORE, OTHER], profiles: profilesFrom([ALICE]) }, campaign: staticCampaign(), sources: { outOfOrdernessMs: 0 } });
    const graph = p.build();
    const clock = new VirtualClock(T0);
    const triggers: Array<{ trigger: Trigger; at: number }> = [];
    const screenUpdates: RecommendationUpdate[] = [];
    const deadLetters: DeadLetter[] = [];
    const sinks: Record<string, (v: unknown) => void> = Object.fromEntries(graph.sinks.map((s) => [s.id, () => {}]));
    sinks[RETAIL_SINKS.triggers] = (v) => triggers.push({ trigger: v as Trigger, at: Date.now() });
    sinks[RETAIL_SINKS.recommendations] = (v) => {
      const u = v as RecommendationUpdate;
      // As runtime/cli.ts: updates for a store's screens go to the hub.
      if (u.storeId !== null) {
        screenUpdates.push(u);
        hub.publish(u);
      }
    };
    const exec = new Executor(graph, { clock, state: new InMemoryStateBackend(), sinks, onDeadLetter: (d) => deadLetters.push(d) });
    const push = (topic: string, e: { ts: number }): void => {
      if (e.ts > clock.now()) clock.set(e.ts);
      exec.push(topic, e);
    };

    // History first: other shoppers' baskets make x~y and x~z bought together; alice looks at x.
    push(TOPICS.pos, basket(0, ['sku-espresso', 'sku-milk-jug']));
    push(TOPICS.pos, basket(1 * S, ['sku-espresso', 'sku-grinder']));
    push(TOPICS.clickstream, view(60 * S, 'sku-espresso'));
    // Nothing more will come on these two inputs before the visit (as their idle timeout would say).
    exec.advanceWatermark(TOPICS.pos, T0 + 3_600 * S);
    exec.advanceWatermark(TOPICS.clickstream, T0 + 3_600 * S);

    // The screen is open and subscribed before the visit; a MutationObserver stamps each new card.
    await page.goto(`${server.url}/stores/${STORE.storeId}`);
    await page.waitForSelector('body[data-state="live"]', { timeout: 10_000 });
    await page.evaluate(STAMP_CARDS);
    const deadline = Date.now() + 5_000;
    while (hub.subscribers(STORE.storeId) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(hub.subscribers(STORE.storeId)).toBe(1);
    expect(await page.locator('#cards > .card').count()).toBe(0);

    // The visit: inside from 120 s; the ping at 240 s has dwelt 120 s; the next one lets event time pass it.
    for (const t of [120, 180, 240, 241]) push(TOPICS.location, ping(t * S));
    expect(deadLetters).toEqual([]);
    expect(triggers.map((x) => [x.trigger.scene, x.trigger.customerId, x.trigger.storeId, x.trigger.ts - T0])).toEqual([['store_proximity', 'alice', STORE.storeId, 240 * S]]);
    const triggeredAt = triggers[0]!.at;
    expect(screenUpdates).toHaveLength(1);
    const update = screenUpdates[0]!;
    expect(update.items.map((i) => i.productId)).toEqual(['sku-grinder', 'sku-milk-jug']);
    const id = screenUpdateId(update);

    // Bounded: the card must be there within the second (plus nothing: the wait is the bound).
    await page.waitForSelector(`[data-update-id="${id}"]`, { state: 'attached', timeout: Math.max(1, 1_000 - (Date.now() - triggeredAt)) });
    const seenAt: unknown = await page.evaluate(`window.cardSeenAt[${JSON.stringify(id)}]`);
    if (typeof seenAt !== 'number') throw new Error(`the MutationObserver did not see card ${id} (got ${String(seenAt)})`);
    const latencyMs = seenAt - triggeredAt;
    console.log(`trigger -> DOM: ${latencyMs} ms`);
    expect(latencyMs).toBeGreaterThanOrEqual(0);
    expect(latencyMs).toBeLessThan(1_000);

    const card = page.locator(`[data-update-id="${id}"]`);
    expect(await card.locator('.product').allTextContents()).toEqual(['sku-grinder', 'sku-milk-jug']);
    expect(await card.locator('.reason').allTextContents()).toEqual(['bought together with sku-espresso', 'bought together with sku-espresso']);
    expect(await card.locator('.when').textContent()).toBe('today 10:04');
    await page.screenshot({ path: '/tmp/screen-trigger.png' });
  });
});
