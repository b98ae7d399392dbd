/**
 * A campaign reloaded while the retail pipelines run (issue 6, item 5): changes apply to new
 * triggers, nothing in flight is lost. Drives `buildRetail` through the TestDriver, with a real
 * `openCampaign` handle over a temp file and with a small in-test source whose campaign the test swaps.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pipeline } from '../stream/stream.js';
import type { ClickEvent, CustomerProfile, LocationEvent, Offer, RecommendationUpdate, Store, Trigger } from '../schemas/index.js';
import { destination, type LatLon } from '../simulator/geo.js';
import { TestDriver } from '../testkit/driver.js';
import { openCampaign, validateCampaign, type Campaign, type CampaignHandle, type CampaignLog, type CampaignSource } from './campaign.js';
import { profilesFrom } from './deps.js';
import { buildRetail } from './retail.js';
import { TOPICS } from './sources.js';

const S = 1_000;
const MIN = 60 * S;
/** Tuesday 12 March 2024, 10:00 in Shanghai: a weekday, outside quiet hours. */
const T0 = Date.UTC(2024, 2, 12, 2, 0);
const HERE: LatLon = { lat: 31.23, lon: 121.47 };
const STORE: Store = { storeId: 's1', name: 'Store one', lat: HERE.lat, lon: HERE.lon, radiusM: 150, timezone: 'Asia/Shanghai' };
const IN = destination(HERE, 0, 40);
const OUT = destination(HERE, 0, 2_000);
const CUSTOMERS = ['a', 'b', 'c', 'd'];
const PROFILES: CustomerProfile[] = CUSTOMERS.map((customerId) => ({ customerId, tier: 'gold', timezone: 'Asia/Shanghai', consent: { push: true, sms: true, email: true, in_store: true }, lastPurchaseTs: null }));

/** Every trigger decided and sent: no holdout, no caps in the way. */
const BASE = { name: 'reload-test', decisions: { holdoutRatio: 0, capPerDay: 100, capPerScenePerDay: 100 } };
const campaignJson = (over: { scenes?: object; offers?: object } = {}): object => ({ ...BASE, ...over });

let n = 0;
const ping = (customerId: string, t: number, at: LatLon): LocationEvent => ({ eventId: `l${++n}`, customerId, ts: T0 + t, lat: at.lat, lon: at.lon, accuracyM: 10, speedMps: null });
const click = (customerId: string, t: number, type: ClickEvent['type'], productId: string | null = null): ClickEvent => ({
  eventId: `c${++n}`,
  customerId,
  sessionId: null,
  ts: T0 + t,
  type,
  productId,
  category: null,
  price: null,
  quantity: null,
  channel: 'app',
});

function build(campaign: CampaignSource): TestDriver {
  const p = pipeline('retail');
  buildRetail(p, { deps: { stores: [STORE], profiles: profilesFrom(PROFILES) }, campaign, sources: { outOfOrdernessMs: 0 } });
  return TestDriver.of(p);
}

/** Event time reaches `t` on every input: every record at or before it has been applied. */
function settle(d: TestDriver, t: number): void {
  for (const topic of Object.values(TOPICS)) d.watermark(topic, T0 + t);
}

const fired = (d: TestDriver): Array<[string, string, number]> => d.values<Trigger>('triggers').map((t) => [t.scene, t.customerId, t.ts - T0]);

/** A campaign source whose campaign the test swaps (validated like a file). */
class SwappableCampaign implements CampaignSource {
  private campaign: Campaign;
  constructor(json: object) {
    this.campaign = SwappableCampaign.valid(json);
  }
  private static valid(json: object): Campaign {
    const r = validateCampaign(json);
    if (!r.ok) throw new Error(`invalid test campaign: ${JSON.stringify(r.problems)}`);
    return r.campaign;
  }
  current(): Campaign {
    return this.campaign;
  }
  swap(json: object): void {
    this.campaign = SwappableCampaign.valid(json);
  }
}

describe('retail pipelines with a campaign reloaded from its file', () => {
  let dir: string;
  let file: string;
  let handle: CampaignHandle;
  const logged: string[] = [];
  const log: CampaignLog = { info: () => {}, error: (_o, msg) => logged.push(msg) };

  const write = (json: object | string): void => writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'scenestream-reload-'));
    file = join(dir, 'campaign.json');
    logged.length = 0;
    write(campaignJson({ scenes: { storeProximity: { dwellMs: 120 * S } } }));
    handle = openCampaign(file, { log });
  });
  afterEach(() => {
    handle.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a store dwell cut from 120 s to 60 s: a 90 s visit before the reload does not fire, one after it does', () => {
    const d = build(handle);
    // Before: a visit of 90 s (0 .. 90 s), ended by a ping outside.
    for (const e of [ping('a', 0, IN), ping('a', 45 * S, IN), ping('a', 90 * S, IN), ping('a', 100 * S, OUT)]) d.push(TOPICS.location, e);
    settle(d, 100 * S);
    expect(fired(d)).toEqual([]);

    write(campaignJson({ scenes: { storeProximity: { dwellMs: 60 * S } } }));
    const r = handle.reload();
    expect(r.ok && r.value.params.scenes.storeProximity.dwellMs).toBe(60 * S);
    expect(handle.reloadCounts.applied).toBe(1);

    // After: the same customer, the same 90 s visit (200 .. 290 s); 45 s of dwell is still too short.
    for (const e of [ping('a', 200 * S, IN), ping('a', 245 * S, IN), ping('a', 290 * S, IN)]) d.push(TOPICS.location, e);
    settle(d, 290 * S);
    expect(fired(d)).toEqual([['store_proximity', 'a', 290 * S]]);
    expect(d.values<Offer>('offers').map((o) => [o.customerId, o.ts - T0])).toEqual([['a', 290 * S]]);
  });

  it('a visit open across the reload keeps its start; its dwell is judged with the dwell current at the ping that would fire', () => {
    const d = build(handle);
    for (const e of [ping('b', 0, IN), ping('b', 30 * S, IN)]) d.push(TOPICS.location, e);
    settle(d, 30 * S);
    write(campaignJson({ scenes: { storeProximity: { dwellMs: 60 * S } } }));
    expect(handle.reload().ok).toBe(true);
    d.push(TOPICS.location, ping('b', 61 * S, IN));
    settle(d, 61 * S);
    // 61 s since the visit began at 0 (not since the reload).
    expect(fired(d)).toEqual([['store_proximity', 'b', 61 * S]]);
  });

  it('an invalid reload keeps the old campaign and the stream goes on', () => {
    const d = build(handle);
    const before = handle.current();

    write(campaignJson({ scenes: { storeProximity: { dwellMs: -5 } } }));
    const bad = handle.reload();
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.field).toBe('scenes.storeProximity.dwellMs');
    write('{ "scenes": ');
    expect(handle.reload().ok).toBe(false);
    expect(handle.current()).toBe(before);
    expect(handle.reloadCounts).toEqual({ applied: 0, unchanged: 0, error: 2 });
    expect(logged).toHaveLength(2);

    // Still 120 s: a 90 s visit does not fire, the next 120 s one does.
    for (const e of [ping('a', 0, IN), ping('a', 90 * S, IN), ping('a', 100 * S, OUT), ping('a', 200 * S, IN), ping('a', 320 * S, IN)]) d.push(TOPICS.location, e);
    settle(d, 320 * S);
    expect(fired(d)).toEqual([['store_proximity', 'a', 320 * S]]);
    expect(d.deadLetters).toEqual([]);

    // A good file after the bad ones applies.
    write(campaignJson({ scenes: { storeProximity: { dwellMs: 60 * S } } }));
    expect(handle.reload().ok).toBe(true);
    for (const e of [ping('b', 400 * S, IN), ping('b', 460 * S, IN)]) d.push(TOPICS.location, e);
    settle(d, 460 * S);
    expect(fired(d)).toEqual([
      ['store_proximity', 'a', 320 * S],
      ['store_proximity', 'b', 460 * S],
    ]);
  });
});

describe('retail pipelines with a campaign swapped in memory', () => {
  it('a new offer title: the next offer carries it, earlier ones keep theirs', () => {
    const campaign = new SwappableCampaign(campaignJson({ offers: { store_proximity: { title: 'Welcome in', discountPct: 10 } } }));
    const d = build(campaign);
    for (const e of [ping('a', 0, IN), ping('a', 120 * S, IN)]) d.push(TOPICS.location, e);
    settle(d, 120 * S);
    campaign.swap(campaignJson({ offers: { store_proximity: { title: 'Spring sale: 20% off', discountPct: 20 } } }));
    for (const e of [ping('b', 200 * S, IN), ping('b', 320 * S, IN)]) d.push(TOPICS.location, e);
    settle(d, 320 * S);
    const offers = d.values<Offer>('offers').map((o) => [o.customerId, o.title, o.discountPct]);
    expect(offers).toEqual([
      ['a', 'Welcome in', 10],
      ['b', 'Spring sale: 20% off', 20],
    ]);
  });

  it('a cart armed before a shorter timeout keeps the deadline computed when it was armed; a cart armed after gets the new one', () => {
    const campaign = new SwappableCampaign(campaignJson({ scenes: { cartAbandonment: { timeoutMs: 30 * MIN } } }));
    const d = build(campaign);
    d.push(TOPICS.clickstream, click('c', 0, 'add_to_cart', 'p1'));
    settle(d, 1 * MIN);
    campaign.swap(campaignJson({ scenes: { cartAbandonment: { timeoutMs: 10 * MIN } } }));
    d.push(TOPICS.clickstream, click('d', 2 * MIN, 'add_to_cart', 'p2'));
    settle(d, 60 * MIN);
    expect(fired(d)).toEqual([
      ['cart_abandonment', 'd', 12 * MIN],
      ['cart_abandonment', 'c', 30 * MIN],
    ]);
  });

  it('recommendations read live: a smaller topN applies from the customer next event', () => {
    const campaign = new SwappableCampaign(campaignJson());
    const d = build(campaign);
    // Two baskets make x~y and x~z bought together; u then views x.
    d.push(TOPICS.pos, { eventId: 'p1', customerId: null, storeId: 's1', ts: T0, items: [{ productId: 'x', quantity: 1, unitPrice: 1 }, { productId: 'y', quantity: 1, unitPrice: 1 }], total: 2 });
    d.push(TOPICS.pos, { eventId: 'p2', customerId: null, storeId: 's1', ts: T0 + 1, items: [{ productId: 'x', quantity: 1, unitPrice: 1 }, { productId: 'z', quantity: 1, unitPrice: 1 }], total: 2 });
    d.push(TOPICS.clickstream, click('a', 1 * MIN, 'product_view', 'x'));
    settle(d, 1 * MIN);
    campaign.swap({ ...BASE, recommendations: { topN: 1 } });
    d.push(TOPICS.clickstream, click('a', 2 * MIN, 'product_view', 'w'));
    settle(d, 2 * MIN);
    const lists = d.values<RecommendationUpdate>('recommendations').map((u) => u.items.map((i) => i.productId));
    expect(lists).toEqual([['y', 'z'], ['y']]);
  });

  it('snapshot, reload, restore: state from before the reload keeps what was computed; new work uses the new campaign', () => {
    const campaign = new SwappableCampaign(campaignJson({ scenes: { cartAbandonment: { timeoutMs: 30 * MIN }, storeProximity: { dwellMs: 120 * S } } }));
    const first = build(campaign);
    first.push(TOPICS.clickstream, click('c', 0, 'add_to_cart', 'p1'));
    for (const e of [ping('a', 0, IN), ping('a', 30 * S, IN)]) first.push(TOPICS.location, e);
    settle(first, 1 * MIN);
    const snap = JSON.parse(JSON.stringify(first.snapshot())) as ReturnType<TestDriver['snapshot']>;
    expect(fired(first)).toEqual([]);

    campaign.swap(campaignJson({ scenes: { cartAbandonment: { timeoutMs: 10 * MIN }, storeProximity: { dwellMs: 60 * S } } }));
    const second = build(campaign).restore(snap);
    second.push(TOPICS.location, ping('a', 70 * S, IN));
    settle(second, 70 * S);
    second.push(TOPICS.clickstream, click('d', 2 * MIN, 'add_to_cart', 'p2'));
    settle(second, 60 * MIN);
    expect(fired(second)).toEqual([
      // The visit began at 0 before the snapshot; 70 s >= the new 60 s dwell.
      ['store_proximity', 'a', 70 * S],
      ['cart_abandonment', 'd', 12 * MIN],
      // Armed before the snapshot with 30 min.
      ['cart_abandonment', 'c', 30 * MIN],
    ]);
    // The restored pipeline still reads the campaign live.
    campaign.swap(campaignJson({ scenes: { cartAbandonment: { timeoutMs: 5 * MIN } } }));
    second.push(TOPICS.clickstream, click('b', 61 * MIN, 'add_to_cart', 'p3'));
    settle(second, 90 * MIN);
    expect(fired(second).slice(3)).toEqual([['cart_abandonment', 'b', 66 * MIN]]);
    expect(second.deadLetters).toEqual([]);
  });
});
