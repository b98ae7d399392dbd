import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents, readProducts, readProfiles, readStores, replayFiles } from '../../runtime/replay.js';
import { haversineM } from '../geo.js';
import { convertDataset, DATASET_NAMES, rees46ProductName, type ConvertResult } from './convert.js';

/** Small slices of each dataset: fast, and enough for its scenes. */
const SLICE = { geolife: 5_000, instacart: 60, 'online-retail': 150, rees46: 1_000 } as const;

let dir: string;
const converted = new Map<string, ConvertResult>();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ss-datasets-'));
  for (const dataset of DATASET_NAMES) converted.set(dataset, await convertDataset({ dataset, out: join(dir, dataset), maxEvents: SLICE[dataset] }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The product ids an event names. */
function productIdsOf(value: object): string[] {
  if ('items' in value) return (value as { items: Array<{ productId: string }> }).items.map((i) => i.productId);
  if ('productId' in value) return [(value as { productId: string | null }).productId].filter((p): p is string => p !== null);
  return [];
}

describe('convertDataset on a slice of each dataset', () => {
  for (const dataset of DATASET_NAMES) {
    it(`${dataset}: replay input that replay reads whole, with a profile per customer and the catalogue of the products seen`, async () => {
      const r = converted.get(dataset)!;
      expect(r.events).toBe(SLICE[dataset]);
      const { records, rejected } = await readEvents(r.files.events);
      expect(rejected).toEqual([]);
      expect(records).toHaveLength(r.events);
      const profiles = await readProfiles(r.files.profiles);
      const customers = new Set(records.map((x) => ('customerId' in x.value && typeof x.value.customerId === 'string' ? x.value.customerId : null)).filter((c) => c !== null));
      expect(profiles.map((p) => p.customerId)).toEqual([...customers].sort());
      expect(profiles.every((p) => p.consent.push && p.consent.in_store && p.consent.email && p.consent.sms)).toBe(true);
      const products = await readProducts(r.files.products);
      expect(products).toHaveLength(r.products);
      const seen = new Set(records.flatMap((x) => productIdsOf(x.value)));
      expect(new Set(products.map((p) => p.productId))).toEqual(seen);
      expect((await readStores(r.files.stores)).length).toBe(r.stores);
      const report = JSON.parse(await readFile(r.files.report, 'utf8')) as { dataset: string; events: number; rows: { read: number } };
      expect(report).toMatchObject({ dataset, events: r.events });
      expect(report.rows.read).toBeGreaterThanOrEqual(r.events);
    });
  }

  it('geolife: a store at each place where the users stayed, in Beijing time; no catalogue (no products in the data)', async () => {
    const r = converted.get('geolife')!;
    const stores = await readStores(r.files.stores);
    expect(r.stays).toBeGreaterThanOrEqual(stores.length);
    expect(stores.length).toBeGreaterThan(2);
    expect(stores.map((s) => s.storeId)).toEqual(stores.map((_, i) => `geolife-place-${i + 1}`));
    for (const s of stores) expect(s).toMatchObject({ radiusM: 150, timezone: 'Asia/Shanghai' });
    // Places are apart: stays within 200 m of a place joined it.
    for (const a of stores) for (const b of stores) if (a !== b) expect(haversineM(a, b)).toBeGreaterThan(200);
    expect((await readProfiles(r.files.profiles)).map((p) => p.timezone)).toEqual(['Asia/Shanghai']);
    expect(r.products).toBe(0);
  });

  it("rees46 and online-retail: products named from the data's brand and category, or description", async () => {
    const rees = await readProducts(converted.get('rees46')!.files.products);
    // 2019-10-01 00:00:04 UTC,view,1004237,...,electronics.smartphone,apple,1081.98,...
    expect(rees.find((p) => p.productId === '1004237')).toEqual({ productId: '1004237', name: 'Apple smartphone', category: 'electronics.smartphone', price: 1081.98, imageUrl: null });
    expect(rees46ProductName('7', '', '')).toBe('Product 7');
    expect(rees46ProductName('7', '', 'appliances.environment.water_heater')).toBe('Water heater');
    const retail = await readProducts(converted.get('online-retail')!.files.products);
    // 536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
    expect(retail.find((p) => p.productId === '85123A')).toMatchObject({ name: 'WHITE HANGING HEART T-LIGHT HOLDER', category: null });
    const zones = new Map((await readProfiles(converted.get('online-retail')!.files.profiles)).map((p) => [p.customerId, p.timezone]));
    expect(zones.get('17850')).toBe('Europe/London');
    expect(new Set(zones.values()).size).toBeGreaterThan(1); // customers abroad live by their country's clock
  });

  it('the same options give the same bytes', async () => {
    const again = await convertDataset({ dataset: 'online-retail', out: join(dir, 'again'), maxEvents: SLICE['online-retail'] });
    for (const f of ['events', 'stores', 'profiles', 'products', 'report'] as const) {
      expect(await readFile(again.files[f], 'utf8'), f).toBe(await readFile(converted.get('online-retail')!.files[f], 'utf8'));
    }
  });
});

describe('a replay of converted data fires its scenes', () => {
  const replay = (r: ConvertResult, out: string) =>
    replayFiles({ input: r.files.events, stores: r.files.stores, profiles: r.files.profiles, products: r.files.products, out: join(dir, out) });

  it('geolife: store_proximity at the stays and commute past them, sent to consenting customers; no warnings', async () => {
    const x = await replay(converted.get('geolife')!, 'replay-geolife');
    expect(x.warnings).toEqual([]);
    expect(x.summary.scenes.store_proximity.triggers).toBeGreaterThan(0);
    expect(x.summary.scenes.commute.triggers).toBeGreaterThan(0);
    expect(x.summary.scenes.store_proximity.sent + x.summary.scenes.commute.sent).toBeGreaterThan(0);
    for (const s of Object.values(x.summary.scenes)) expect(s.suppressed.no_consent).toBe(0);
  });

  it('rees46: browse and cart abandonment, never no_consent; sent when the zone puts the night of 2019-10-01 UTC in the day', async () => {
    const x = await replay(converted.get('rees46')!, 'replay-rees46');
    expect(x.warnings).toEqual([]);
    expect(x.summary.scenes.browse_abandonment.triggers).toBeGreaterThan(0);
    expect(x.summary.scenes.cart_abandonment.triggers).toBeGreaterThan(0);
    for (const s of Object.values(x.summary.scenes)) expect(s.suppressed.no_consent).toBe(0);
    // 00:00-00:17 UTC is within quiet hours [22:00, 07:00) in UTC; in New York it is 20:00.
    expect(x.summary.scenes.browse_abandonment.suppressed.quiet_hours).toBeGreaterThan(0);
    const ny = await convertDataset({ dataset: 'rees46', out: join(dir, 'rees46-ny'), maxEvents: SLICE.rees46, timezone: 'America/New_York' });
    const y = await replay(ny, 'replay-rees46-ny');
    expect(y.summary.scenes.browse_abandonment.sent).toBeGreaterThan(0);
    expect(y.summary.scenes.browse_abandonment.suppressed.quiet_hours).toBe(0);
    const offers = (await readFile(join(dir, 'replay-rees46-ny/offers.jsonl'), 'utf8')).split('\n').filter((l) => l !== '');
    expect(offers.some((l) => /"title":"Still looking at [A-Z]/.test(l))).toBe(true); // named from the catalogue
  });

  it('without the reference data, the summary says why: geolife without stores, rees46 without profiles', async () => {
    const geo = converted.get('geolife')!;
    const noStores = await replayFiles({ input: geo.files.events, profiles: geo.files.profiles, out: join(dir, 'replay-geolife-bare') });
    expect(noStores.summary.scenes.store_proximity.triggers).toBe(0);
    expect(noStores.warnings).toEqual([`no stores loaded: store_proximity and commute cannot fire on the ${geo.events} location events (give --stores)`]);
    const rees = converted.get('rees46')!;
    const noProfiles = await replayFiles({ input: rees.files.events, out: join(dir, 'replay-rees46-bare') });
    expect(noProfiles.warnings).toHaveLength(1);
    expect(noProfiles.warnings[0]).toMatch(/^no profiles loaded: every decision not held out \(\d+\) was suppressed as no_consent/);
    const summary = JSON.parse(await readFile(join(dir, 'replay-rees46-bare/summary.json'), 'utf8')) as { warnings?: string[] };
    expect(summary.warnings).toEqual(noProfiles.warnings);
  });
});
