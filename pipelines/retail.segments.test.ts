/**
 * Segment targeting in the retail pipelines (issue 13, item 3), driven through `buildRetail` (and
 * the Kafka job's graph) on a virtual clock: a decision suppressed as `segment`, judged on the live
 * profile as of the trigger's ts, and a reload of the rules applying to the decisions after it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RedisCommands } from '../runtime/redis/checkpoints.js';
import { retailJobOptions } from '../runtime/retailJob.js';
import { pipeline } from '../stream/stream.js';
import type { ClickEvent, CustomerProfile, Decision } from '../schemas/index.js';
import { TestDriver } from '../testkit/driver.js';
import { openCampaign, validateCampaign, type CampaignHandle, type CampaignSource } from './campaign.js';
import { profilesFrom } from './deps.js';
import { buildRetail } from './retail.js';
import { TOPICS } from './sources.js';

const MIN = 60_000;
/** Tuesday 12 March 2024, 10:00 in Shanghai: a weekday, outside quiet hours. */
const T0 = Date.UTC(2024, 2, 12, 2, 0);
const T = 30 * MIN; // cart abandonment's timeout

const profile = (customerId: string, tier: CustomerProfile['tier']): CustomerProfile => ({ customerId, tier, timezone: 'Asia/Shanghai', consent: { push: true, sms: true, email: true, in_store: true }, lastPurchaseTs: null });
const PROFILES = [profile('a', 'basic'), profile('b', 'gold'), profile('c', 'platinum'), profile('d', 'silver')];

/** Every trigger sent unless a segment says otherwise: no holdout, no caps in the way. */
const campaignJson = (segments: Record<string, string>, targeting: { targets?: string[]; excludes?: string[] }): object => ({
  name: 'segments-test',
  decisions: { holdoutRatio: 0, capPerDay: 100, capPerScenePerDay: 100 },
  segments,
  offers: { cart_abandonment: targeting },
});

let n = 0;
const click = (customerId: string, t: number, type: ClickEvent['type'], price: number | null = null): ClickEvent => ({
  eventId: `c${++n}`,
  customerId,
  sessionId: null,
  ts: T0 + t,
  type,
  productId: type === 'add_to_cart' || type === 'checkout' ? 'p1' : null,
  category: 'toys',
  price,
  quantity: null,
  channel: 'app',
});

function source(json: object): CampaignSource {
  const r = validateCampaign(json);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return { current: () => r.campaign };
}

function build(campaign: CampaignSource): TestDriver {
  const p = pipeline('retail');
  buildRetail(p, { deps: { stores: [], profiles: profilesFrom(PROFILES) }, campaign, sources: { outOfOrdernessMs: 0 } });
  return TestDriver.of(p);
}

/** The Kafka job's graph of a partition (what each task runs), on the same virtual clock. */
function buildKafkaTask(campaign: CampaignSource): TestDriver {
  const options = retailJobOptions({ deps: { stores: [], profiles: profilesFrom(PROFILES) }, campaign, kafka: {} as Kafka, redis: {} as RedisCommands, idleTimeoutMs: 1_000 });
  return TestDriver.of(options.graph(0, 1));
}

function settle(d: TestDriver, t: number): void {
  for (const topic of Object.values(TOPICS)) d.watermark(topic, T0 + t);
}

const decided = (d: TestDriver): Array<[string, number, string]> => d.values<Decision>('decisions').map((x) => [x.customerId, x.ts - T0, x.reason ?? x.outcome]);

/**
 * a: never bought; b: bought an hour before the cart; c: buys one minute after the cart's
 * deadline (after the trigger, so not yet a buyer at its ts), all pushed before event time moves,
 * so the profile step has applied c's purchase before the decision step decides.
 */
function feed(d: TestDriver): void {
  for (const e of [click('b', -60 * MIN, 'checkout', 50), click('a', 0, 'add_to_cart'), click('b', 0, 'add_to_cart'), click('c', 0, 'add_to_cart'), click('c', T + MIN, 'checkout', 80)]) d.push(TOPICS.clickstream, e);
  settle(d, T + 2 * MIN);
}

describe('segment targeting in the retail pipelines', () => {
  it('suppresses as segment whom the offer does not target, judged on the profile as of the trigger ts', () => {
    const d = build(source(campaignJson({ buyers: 'frequency >= 1' }, { targets: ['buyers'] })));
    feed(d);
    expect(decided(d)).toEqual([
      ['a', T, 'segment'],
      ['b', T, 'sent'],
      ['c', T, 'segment'], // c's purchase at T + 1 min is after the trigger
    ]);
    expect(d.deadLetters).toEqual([]);
  });

  it('excludes win over targets; tier >= gold at silver, gold, platinum', () => {
    const d = build(source(campaignJson({ vip: 'tier >= gold', buyers: 'frequency >= 1' }, { targets: ['vip'], excludes: ['buyers'] })));
    feed(d);
    d.push(TOPICS.clickstream, click('d', T + 2 * MIN, 'add_to_cart'));
    settle(d, 2 * T + 3 * MIN);
    // a basic, b gold but a buyer, c platinum, d silver.
    expect(decided(d)).toEqual([
      ['a', T, 'segment'],
      ['b', T, 'segment'],
      ['c', T, 'sent'],
      ['d', 2 * T + 2 * MIN, 'segment'],
    ]);
  });

  it('a campaign without targeting decides as before: nobody suppressed as segment', () => {
    const d = build(source(campaignJson({ buyers: 'frequency >= 1' }, {})));
    feed(d);
    expect(decided(d)).toEqual([
      ['a', T, 'sent'],
      ['b', T, 'sent'],
      ['c', T, 'sent'],
    ]);
  });

  it('the Kafka job runs the same graph: the same decisions from a task', () => {
    const json = campaignJson({ buyers: 'frequency >= 1' }, { targets: ['buyers'] });
    const embedded = build(source(json));
    const task = buildKafkaTask(source(json));
    feed(embedded);
    feed(task);
    expect(decided(task)).toEqual(decided(embedded));
    expect(decided(task).map((x) => x[2])).toContain('segment');
  });
});

describe('segment rules reloaded from the campaign file', () => {
  let dir: string;
  let file: string;
  let handle: CampaignHandle;
  const write = (json: object): void => writeFileSync(file, JSON.stringify(json));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'scenestream-segments-'));
    file = join(dir, 'campaign.json');
    write(campaignJson({ buyers: 'frequency >= 1' }, { targets: ['buyers'] }));
    handle = openCampaign(file, { log: { info: () => {}, error: () => {} } });
  });
  afterEach(() => {
    handle.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies to the decisions after the reload, not to those before', () => {
    const d = build(handle);
    d.push(TOPICS.clickstream, click('a', 0, 'add_to_cart'));
    settle(d, T);
    expect(decided(d)).toEqual([['a', T, 'segment']]);

    // The rule widened: every customer is a "buyer" now.
    write(campaignJson({ buyers: 'frequency >= 0' }, { targets: ['buyers'] }));
    expect(handle.reload().ok).toBe(true);
    d.push(TOPICS.clickstream, click('a', T + MIN, 'add_to_cart'));
    settle(d, 2 * T + MIN);
    expect(decided(d)).toEqual([
      ['a', T, 'segment'],
      ['a', 2 * T + MIN, 'sent'],
    ]);

    // A bad rule keeps the current campaign.
    write(campaignJson({ buyers: 'frequency >= many' }, { targets: ['buyers'] }));
    const bad = handle.reload();
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.field).toBe('segments.buyers');
    d.push(TOPICS.clickstream, click('a', 2 * T + 2 * MIN, 'add_to_cart'));
    settle(d, 3 * T + 2 * MIN);
    expect(decided(d).at(-1)).toEqual(['a', 3 * T + 2 * MIN, 'sent']);
  });
});
