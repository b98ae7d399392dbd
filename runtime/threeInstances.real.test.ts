/**
 * Production mode as deployed: three instances of the compiled CLI (`scenestream run`, Kafka mode)
 * in one consumer group, on fresh topics created by `scenestream topics create`, with reference data
 * loaded by `scenestream load-reference` into a Redis of the test's own, fed the simulator's events:
 *
 * - a store page in headless Chromium, served by instance 0, shows updates that other instances
 *   computed (for customers of partitions instance 0 does not own);
 * - the attribution read from any instance (`GET /attribution`) is the job-wide figure, and every
 *   closed window in the attribution topic is the one a replay of the same input reports (the replay
 *   also closes, at the end of its input, the windows event time has not passed yet in Kafka);
 * - an instance killed with SIGKILL: its partitions move to the others, and the store screens keep
 *   updating with what they now compute for those partitions.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { attributionTotals, type AttributionEvent, type SceneAttributionTotals } from '../pipelines/attribution.js';
import { profilesFrom } from '../pipelines/deps.js';
import { RETAIL_SINKS } from '../pipelines/retail.js';
import { decodeConfluent, SCENES, type RecommendationUpdate } from '../schemas/index.js';
import { profilesToJsonl, storesToJson } from '../simulator/jsonl.js';
import { generateEvents } from '../simulator/life.js';
import { generateWorld } from '../simulator/world.js';
import { get, healthUrl, killAll, metricSum, start, startJob, startRedis, until, type Running } from '../testkit/cli.js';
import { partitionOf, produceRecords, readToEnd, testKafka, uniqueId } from '../testkit/kafka.js';
import { screenUpdateId } from './channels/screens.js';
import { loadServiceConfig } from './config.js';
import { replayRecords } from './replay.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PARTITIONS = 6;
const DAY = 86_400_000;

/** Run in each page (a string: this file is type-checked without the DOM library): every card id that entered the DOM. */
const RECORD_CARDS = `(() => {
  const seen = (window.cardsSeen = []);
  new MutationObserver((records) => {
    for (const r of records) for (const node of r.addedNodes) if (node.dataset && node.dataset.updateId) seen.push(node.dataset.updateId);
  }).observe(document.getElementById("cards"), { childList: true });
})()`;

afterEach(killAll);

describe('three production instances (compiled CLI, real Kafka and Redis, headless Chromium)', () => {
  let context: BrowserContext;
  let profileDir: string;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: this test needs Debian's chromium (apt-get install -y --no-install-recommends chromium; .ci/run does this)`);
    profileDir = mkdtempSync(join(tmpdir(), 'scenestream-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1920, height: 1080 } });
  });
  afterAll(async () => {
    await context?.close();
    if (profileDir !== undefined) rmSync(profileDir, { recursive: true, force: true });
  });

  it('screens show what other instances computed, attribution from any instance is the replay’s, a killed instance’s partitions and screens carry on', async () => {
    const world = generateWorld({ seed: 'three-instances', customers: 40, stores: 3 });
    const records = [...generateEvents(world, { days: 3 })].sort((a, b) => a.value.ts - b.value.ts);
    const cut = records[0]!.value.ts + 2 * DAY;
    const first = records.filter((r) => r.value.ts < cut);
    const second = records.filter((r) => r.value.ts >= cut);
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);

    const redis = await startRedis();
    const tmp = mkdtempSync(join(tmpdir(), 'ss-three-'));
    const prefix = `${uniqueId('three')}.`;
    const env = { REDIS_URL: redis.url, KAFKA_BROKERS: loadServiceConfig().kafkaBrokers.join(','), TOPICS_PREFIX: prefix, TOPICS_PARTITIONS: String(PARTITIONS), SESSION_TIMEOUT_MS: '6000' };
    const cli = async (...args: string[]) => {
      const run = start(process.execPath, ['dist/runtime/cli.js', ...args], env);
      const code = await run.exit;
      expect(code, run.stderr()).toBe(0);
    };
    try {
      writeFileSync(join(tmp, 'stores.json'), storesToJson(world.stores));
      writeFileSync(join(tmp, 'profiles.jsonl'), profilesToJsonl(world.profiles));
      await cli('topics', 'create');
      await cli('load-reference', '--stores', join(tmp, 'stores.json'), '--profiles', join(tmp, 'profiles.jsonl'));

      const jobs: Running[] = [0, 1, 2].map(() => startJob(env));
      const bases = await Promise.all(jobs.map((j, i) => until(`instance ${i}'s health URL`, () => healthUrl(j))));
      const assignment = async (live: readonly number[]) => {
        const owned = await Promise.all(live.map(async (i) => ((await get(`${bases[i]}/healthz`)).body as { assigned?: number[] }).assigned ?? []));
        const all = owned.flat().sort((a, b) => a - b);
        return owned.every((a) => a.length > 0) && all.length === PARTITIONS && all.every((p, i) => p === i) ? owned : undefined;
      };
      for (const b of bases) await until('ready', async () => ((await get(`${b}/readyz`)).status === 200 ? true : undefined), 120_000);
      const before = await until('the partitions spread over three instances', () => assignment([0, 1, 2]), 60_000);
      const ownerBefore = (p: number) => before.findIndex((a) => a.includes(p));

      // Every store's page, open on instance 0 before any event.
      const pages = new Map<string, Awaited<ReturnType<BrowserContext['newPage']>>>();
      for (const s of world.stores) {
        const page = await context.newPage();
        await page.goto(`${bases[0]}/stores/${s.storeId}`);
        await page.evaluate(RECORD_CARDS);
        pages.set(s.storeId, page);
      }
      const seenOn = async (storeId: string) => new Set(await pages.get(storeId)!.evaluate('window.cardsSeen') as string[]);
      /** Waits until one of `updates` has been drawn on its store's page. */
      const onScreen = (what: string, updates: readonly RecommendationUpdate[]) =>
        until(
          what,
          async () => {
            for (const u of updates) if ((await seenOn(u.storeId!)).has(screenUpdateId(u))) return true;
            return undefined;
          },
          30_000,
        );

      const kafka = testKafka(uniqueId('three-test'));
      const metrics = (live: readonly number[]) => Promise.all(live.map(async (i) => (await fetch(`${bases[i]}/metrics`)).text()));
      const eventsIn = async (live: readonly number[]) => (await metrics(live)).reduce((n, text) => n + metricSum(text, 'scenestream_events_in_total'), 0);
      /** The live instances have read at least `events` records since `from` (events read), and have no lag left. */
      const caughtUp = async (live: readonly number[], from: number, events: number) => {
        const texts = await metrics(live);
        const read = texts.reduce((n, text) => n + metricSum(text, 'scenestream_events_in_total'), 0);
        const lags = texts.flatMap((text) => text.match(/^scenestream_consumer_lag_records\{.*$/gm) ?? []);
        return read - from >= events && lags.length >= 3 * PARTITIONS && lags.every((l) => l.endsWith(' 0')) ? true : undefined;
      };
      const storeUpdates = async () =>
        (await readToEnd(kafka, `${prefix}recommendations`))
          .map((m) => decodeConfluent(m.value!, undefined, 'RecommendationUpdate'))
          .map((d) => (d.ok ? (d.value.value as RecommendationUpdate) : undefined))
          .filter((u): u is RecommendationUpdate => u !== undefined && u.storeId !== null && u.items.length > 0);

      // 1. The first two days. A screen on instance 0 shows updates that instances 1 and 2 computed.
      await produceRecords(kafka, first, prefix);
      await until('the first days consumed', () => caughtUp([0, 1, 2], 0, first.length), 180_000);
      const foreign = await until('store updates computed by instances 1 and 2', async () => {
        const found = (await storeUpdates()).filter((u) => ownerBefore(partitionOf(u.customerId, PARTITIONS)) !== 0);
        return found.length > 0 ? found : undefined;
      });
      await onScreen('an update computed by another instance on instance 0’s screen', foreign);

      // 2. Kill an instance that computed store updates; its partitions move to the other two.
      const victim = ownerBefore(partitionOf(foreign[0]!.customerId, PARTITIONS));
      const survivors = [0, 1, 2].filter((i) => i !== victim);
      jobs[victim]!.child.kill('SIGKILL');
      await jobs[victim]!.exit;
      await until('the partitions on the two survivors', () => assignment(survivors), 90_000);
      const moved = before[victim]!;

      // 3. The third day: the screens go on updating with what the survivors compute for the moved partitions.
      const readBefore = await eventsIn(survivors);
      await produceRecords(kafka, second, prefix);
      await until('the last day consumed', () => caughtUp(survivors, readBefore, second.length), 180_000);
      const afterKill = await until('store updates of the moved partitions', async () => {
        const found = (await storeUpdates()).filter((u) => u.ts >= cut && moved.includes(partitionOf(u.customerId, PARTITIONS)));
        return found.length > 0 ? found : undefined;
      });
      await onScreen('an update of a moved partition on the screen', afterKill);

      // 4. Attribution: each closed window in the topic (deduplicated: the killed instance's last batch
      //    was replayed) is the replay's, and every survivor serves the same job-wide totals.
      const replay = replayRecords(records.map((r, i) => ({ topic: r.topic, value: r.value, line: i + 1 })), { stores: world.stores, profiles: profilesFrom(world.profiles) });
      const replayed = new Map((replay.outputs[RETAIL_SINKS.attribution] as AttributionEvent[]).map((e) => [e.decisionId, e]));
      const closed = new Map<string, AttributionEvent>();
      for (const m of await readToEnd(kafka, `${prefix}attribution`)) {
        const d = decodeConfluent(m.value!, undefined, 'AttributionEvent');
        if (d.ok) closed.set((d.value.value as AttributionEvent).decisionId, d.value.value as AttributionEvent);
      }
      expect(closed.size).toBeGreaterThan(0);
      for (const [id, e] of closed) expect(e).toEqual(replayed.get(id));
      const totals = attributionTotals(closed.values());
      for (const i of survivors) {
        const served = await until(`instance ${i}'s /attribution to count every closed window`, async () => {
          const body = (await get(`${bases[i]}/attribution`)).body as { scenes: Record<string, SceneAttributionTotals> };
          return SCENES.reduce((n, s) => n + body.scenes[s]!.sent + body.scenes[s]!.holdout, 0) === closed.size ? body.scenes : undefined;
        });
        for (const s of SCENES) {
          expect({ ...served[s], uplift: 0, sentRevenue: 0, holdoutRevenue: 0 }).toEqual({ ...totals[s], uplift: 0, sentRevenue: 0, holdoutRevenue: 0 });
          expect(served[s]!.sentRevenue).toBeCloseTo(totals[s].sentRevenue, 6);
        }
      }
      for (const i of survivors) jobs[i]!.child.kill('SIGTERM');
      for (const i of survivors) expect(await jobs[i]!.exit).toBe(0);
    } finally {
      redis.process.child.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 600_000);
});
