import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CAMPAIGN, openCampaign, validateCampaign, type CampaignHandle } from '../../pipelines/campaign.js';
import type { LiveProfile } from '../../pipelines/profile.js';
import { RFM_SEGMENTS } from '../../pipelines/rfm.js';
import { liveProfile } from '../../testkit/liveProfile.js';
import { Metrics } from '../metrics.js';
import { MemoryProfileStore, PendingProfileStore, type ProfileStore } from '../profileStore.js';
import { loadApiTokens, roleOf } from './profileApi.js';
import { buildServer } from './server.js';

const READER = 'reader-token-0123456789';
const ADMIN = 'admin-token-0123456789ab';
const HOUR = 3_600_000;

const profile = (customerId: string, segment: LiveProfile['segment'], extra: Partial<LiveProfile> = {}): LiveProfile =>
  liveProfile(customerId, {
    asOf: 1_000 * HOUR,
    lastPurchaseTs: 990 * HOUR,
    frequency: 3,
    monetary: 120.5,
    frequencyScore: 3,
    monetaryScore: 2,
    ...(segment !== undefined ? { segment } : {}),
    topCategories: ['toys'],
    cartItems: 1,
    cartQuantity: 2,
    cartProductIds: ['p1'],
    ...extra,
  });

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

async function server(store: ProfileStore, reload?: () => ReturnType<CampaignHandle['reload']>): Promise<FastifyInstance> {
  return buildServer({
    metrics: new Metrics(),
    profiles: { store, tokens: loadApiTokens({ API_TOKENS: `reader:${READER}, admin:${ADMIN}` }), campaign: () => DEFAULT_CAMPAIGN, ...(reload !== undefined ? { reload } : {}) },
  });
}

describe('profile API (fastify inject)', () => {
  let app: FastifyInstance;
  let dir: string;
  let campaign: CampaignHandle;
  const store = new MemoryProfileStore();

  beforeAll(async () => {
    store.put(profile('c1', 'champions', { cartDeadline: 1_000 * HOUR + 1_800_000, lastBrowseAbandonment: 990 * HOUR, lastCartAbandonment: 900 * HOUR }));
    for (const id of ['a3', 'a1', 'a2', 'a5', 'a4']) store.put(profile(id, 'loyal'));
    store.put(profile('new', undefined));
    dir = mkdtempSync(join(tmpdir(), 'ss-api-'));
    writeFileSync(join(dir, 'campaign.json'), JSON.stringify({ name: 'first' }));
    campaign = openCampaign(join(dir, 'campaign.json'));
    app = await server(store, () => campaign.reload());
  });
  afterAll(async () => {
    await app.close();
    campaign.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const routes = [
    ['GET', '/customers/c1'],
    ['GET', '/segments'],
    ['GET', '/segments/loyal/customers'],
    ['POST', '/campaign/reload'],
  ] as const;

  it.each(routes)('%s %s: 401 with a JSON error without a token, with a malformed header, or an unknown token', async (method, url) => {
    for (const headers of [{}, { authorization: READER }, { authorization: 'Basic abc' }, auth('not-a-configured-token')]) {
      const r = await app.inject({ method, url, headers });
      expect(r.statusCode).toBe(401);
      expect(r.json()).toMatchObject({ code: 'SS_ERR_HTTP_UNAUTHORIZED' });
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(r.body).not.toContain('c1');
    }
  });

  it('403 for a reader on the admin route; the reader routes accept admin tokens too', async () => {
    const r = await app.inject({ method: 'POST', url: '/campaign/reload', headers: auth(READER) });
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({ code: 'SS_ERR_HTTP_FORBIDDEN' });
    for (const [method, url] of routes.slice(0, 3)) expect((await app.inject({ method, url, headers: auth(ADMIN) })).statusCode).toBe(200);
  });

  it('GET /customers/:id: the profile, segment, open cart, pending timers and cooldowns (from the live campaign)', async () => {
    const r = await app.inject({ url: '/customers/c1', headers: auth(READER) });
    expect(r.statusCode).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.json()).toEqual({
      customerId: 'c1',
      asOf: 1_000 * HOUR,
      segment: 'champions',
      segments: [],
      rfm: { recency: 5, frequency: 3, monetary: 2 },
      cart: { items: 1, quantity: 2, productIds: ['p1'] },
      timers: [{ scene: 'cart_abandonment', at: 1_000 * HOUR + 1_800_000 }],
      cooldowns: [
        { scene: 'cart_abandonment', lastTriggerTs: 900 * HOUR, until: null, active: false },
        { scene: 'browse_abandonment', lastTriggerTs: 990 * HOUR, until: 1_014 * HOUR, active: true }, // 24 h
      ],
      profile: JSON.parse(JSON.stringify(store.all().find((p) => p.customerId === 'c1'))),
    });
    const none = await app.inject({ url: '/customers/new', headers: auth(READER) });
    expect(none.json()).toMatchObject({ segment: null, timers: [], cooldowns: [] });
  });

  it('GET /customers/:id: 404 for an unknown customer, 400 for an id too long', async () => {
    const r = await app.inject({ url: '/customers/nobody', headers: auth(READER) });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ code: 'SS_ERR_HTTP_NOT_FOUND', field: 'id' });
    const long = await app.inject({ url: `/customers/${'x'.repeat(300)}`, headers: auth(READER) });
    expect(long.statusCode).toBe(400);
    expect(long.json()).toMatchObject({ code: 'SS_ERR_HTTP_BAD_REQUEST', field: 'id' });
  });

  it('GET /segments: every RFM segment with its size, kind rfm', async () => {
    const r = await app.inject({ url: '/segments', headers: auth(READER) });
    expect(r.statusCode).toBe(200);
    const segments = (r.json() as { segments: Array<{ name: string; kind: string; customers: number }> }).segments;
    expect(segments.map((s) => s.name)).toEqual([...RFM_SEGMENTS]);
    expect(segments.find((s) => s.name === 'loyal')).toEqual({ name: 'loyal', kind: 'rfm', customers: 5 });
    expect(segments.find((s) => s.name === 'champions')!.customers).toBe(1);
    expect(segments.reduce((n, s) => n + s.customers, 0)).toBe(6); // the customer with no purchase is in none
  });

  it('GET /segments/:name/customers: pages by customerId with a cursor', async () => {
    const page = async (query: string) => (await app.inject({ url: `/segments/loyal/customers${query}`, headers: auth(READER) })).json() as { customerIds: string[]; next: string | null };
    expect(await page('?limit=2')).toEqual({ segment: 'loyal', customerIds: ['a1', 'a2'], next: 'a2' });
    expect(await page('?limit=2&cursor=a2')).toEqual({ segment: 'loyal', customerIds: ['a3', 'a4'], next: 'a4' });
    expect(await page('?limit=2&cursor=a4')).toEqual({ segment: 'loyal', customerIds: ['a5'], next: null });
    expect(await page('')).toEqual({ segment: 'loyal', customerIds: ['a1', 'a2', 'a3', 'a4', 'a5'], next: null });
  });

  it.each([
    ['/segments/loyal/customers?limit=0', 'limit'],
    ['/segments/loyal/customers?limit=1001', 'limit'],
    ['/segments/loyal/customers?limit=abc', 'limit'],
    ['/segments/loyal/customers?limit=2.5', 'limit'],
    [`/segments/loyal/customers?cursor=${'x'.repeat(300)}`, 'cursor'],
    ['/segments/vips/customers', 'name'],
  ])('GET %s: 400 naming %s', async (url, field) => {
    const r = await app.inject({ url, headers: auth(READER) });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'SS_ERR_HTTP_BAD_REQUEST', field });
  });

  it('POST /campaign/reload: 200 with the live campaign; 422 for a bad file, which keeps the old one', async () => {
    writeFileSync(join(dir, 'campaign.json'), JSON.stringify({ name: 'second' }));
    const ok = await app.inject({ method: 'POST', url: '/campaign/reload', headers: auth(ADMIN) });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ name: 'second' });
    expect(campaign.current().name).toBe('second');
    writeFileSync(join(dir, 'campaign.json'), JSON.stringify({ profile: { frequency: [1] } }));
    const bad = await app.inject({ method: 'POST', url: '/campaign/reload', headers: auth(ADMIN) });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: 'SS_ERR_CONFIG' });
    expect(campaign.current().name).toBe('second');
  });

  it("GET /customers/:id: the live campaign's named segments the customer is in", async () => {
    const v = validateCampaign({ segments: { vip: 'tier >= gold and rfm.segment = champions', buyers: 'frequency >= 1', big: 'monetary >= 1000' } });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const withSegments = await buildServer({ metrics: new Metrics(), profiles: { store, tokens: loadApiTokens({ API_TOKENS: `reader:${READER}` }), campaign: () => v.campaign } });
    try {
      expect((await withSegments.inject({ url: '/customers/c1', headers: auth(READER) })).json()).toMatchObject({ segment: 'champions', segments: ['vip', 'buyers'] });
      expect((await withSegments.inject({ url: '/customers/a1', headers: auth(READER) })).json()).toMatchObject({ segment: 'loyal', segments: ['buyers'] });
    } finally {
      await withSegments.close();
    }
  });

  it('POST /campaign/reload: 404 without a campaign file; 503 while the store is not connected', async () => {
    const pending = new PendingProfileStore();
    const bare = await server(pending);
    try {
      const r = await bare.inject({ method: 'POST', url: '/campaign/reload', headers: auth(ADMIN) });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toMatchObject({ code: 'SS_ERR_HTTP_NOT_FOUND' });
      const down = await bare.inject({ url: '/segments', headers: auth(READER) });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ code: 'SS_ERR_SERVICE_UNAVAILABLE' });
      pending.connect(store);
      expect((await bare.inject({ url: '/customers/c1', headers: auth(READER) })).statusCode).toBe(200);
    } finally {
      await bare.close();
    }
  });
});

describe('API tokens', () => {
  it('reads role:token pairs and a JSON file, and tells roles apart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-tokens-'));
    try {
      writeFileSync(join(dir, 't.json'), JSON.stringify([{ role: 'admin', token: 'file-admin-token-000' }]));
      const t = loadApiTokens({ API_TOKENS: `reader:${READER}`, API_TOKENS_FILE: join(dir, 't.json') });
      expect(roleOf(t, READER)).toBe('reader');
      expect(roleOf(t, 'file-admin-token-000')).toBe('admin');
      expect(roleOf(t, `${READER}x`)).toBeUndefined();
      expect(loadApiTokens({}).tokens).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ API_TOKENS: 'owner:abcdefghijklmnopq' }, 'API_TOKENS'],
    [{ API_TOKENS: 'reader:short' }, 'API_TOKENS'],
    [{ API_TOKENS: 'abcdefghijklmnopqrs' }, 'API_TOKENS'],
    [{ API_TOKENS_FILE: '/nonexistent/tokens.json' }, 'API_TOKENS_FILE'],
  ])('rejects %j as SS_ERR_CONFIG naming %s, never echoing the token', (env, field) => {
    let error: unknown;
    try {
      loadApiTokens(env);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'SS_ERR_CONFIG', field });
    expect((error as Error).message).not.toContain('abcdefghijklmnop');
  });
});
