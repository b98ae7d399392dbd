import { describe, expect, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import { validate } from '../schemas/index.js';
import { haversineM } from './geo.js';
import { catalogueProducts, createCatalogue } from './catalogue.js';
import { createRng } from './prng.js';
import { generateWorld } from './world.js';

describe('generateWorld', () => {
  const world = generateWorld();

  it('has the default sizes, unique ids and valid reference data', () => {
    expect(world.customers).toHaveLength(200);
    expect(world.stores).toHaveLength(12);
    expect(new Set(world.profiles.map((p) => p.customerId)).size).toBe(200);
    expect(new Set(world.stores.map((s) => s.storeId)).size).toBe(12);
    for (const s of world.stores) expect(validate('Store', s)).toMatchObject({ ok: true });
    for (const p of world.profiles) expect(validate('CustomerProfile', p)).toMatchObject({ ok: true });
  });

  it('is deterministic in its options, and the seed matters', () => {
    expect(JSON.stringify(generateWorld({ seed: 'x', customers: 30 }).profiles)).toBe(JSON.stringify(generateWorld({ seed: 'x', customers: 30 }).profiles));
    expect(JSON.stringify(generateWorld({ seed: 'y', customers: 30 }).profiles)).not.toBe(JSON.stringify(generateWorld({ seed: 'x', customers: 30 }).profiles));
    // More stores do not move the customers.
    expect(generateWorld({ seed: 'x', customers: 30, stores: 20 }).customers.map((c) => c.home)).toEqual(
      generateWorld({ seed: 'x', customers: 30, stores: 3 }).customers.map((c) => c.home),
    );
  });

  it('mixes the profiles the scenes need: other time zones, no push consent, lapsed and new customers, all tiers', () => {
    const start = Date.parse('2025-03-02T16:00:00Z'); // 2025-03-03 00:00 in Shanghai
    const zones = new Set(world.profiles.map((p) => p.timezone));
    expect(zones.has('Asia/Shanghai')).toBe(true);
    expect(zones.size).toBeGreaterThan(1);
    expect(world.profiles.filter((p) => p.timezone === 'Asia/Shanghai').length).toBeGreaterThan(150);
    const push = world.profiles.filter((p) => p.consent.push).length;
    expect(push).toBeGreaterThan(140);
    expect(push).toBeLessThan(200);
    expect(world.profiles.some((p) => p.lastPurchaseTs === null)).toBe(true);
    expect(world.profiles.some((p) => p.lastPurchaseTs !== null && p.lastPurchaseTs < start - 30 * 86_400_000)).toBe(true);
    expect(world.profiles.some((p) => p.lastPurchaseTs !== null && p.lastPurchaseTs > start - 30 * 86_400_000)).toBe(true);
    expect(world.profiles.every((p) => p.lastPurchaseTs === null || p.lastPurchaseTs < start)).toBe(true);
    expect(new Set(world.profiles.map((p) => p.tier))).toEqual(new Set(['basic', 'silver', 'gold', 'platinum']));
  });

  it('places homes around the centre, stores mostly with a 150 m radius, some on commute routes', () => {
    const centre = world.options.center;
    for (const c of world.customers) expect(haversineM(centre, c.home)).toBeLessThanOrEqual(world.options.cityRadiusM + 1);
    const radii = world.stores.map((s) => s.radiusM);
    expect(radii.filter((r) => r === 150).length).toBeGreaterThanOrEqual(6);
    expect(radii.every((r) => r >= 80 && r <= 300)).toBe(true);
    const nearRoute = world.stores.filter((s) => world.customers.some((c) => c.commuter && c.commute.distanceToM(s, 100) < 800));
    expect(nearRoute.length).toBeGreaterThanOrEqual(3);
    const nearHome = world.stores.filter((s) => world.customers.some((c) => haversineM(c.home, s) < 1000));
    expect(nearHome.length).toBeGreaterThanOrEqual(3);
  });

  it('takes another city', () => {
    const london = generateWorld({ center: { lat: 51.5074, lon: -0.1278 }, timezone: 'Europe/London', customers: 20, stores: 3 });
    expect(london.stores.every((s) => s.timezone === 'Europe/London' && haversineM(s, { lat: 51.5074, lon: -0.1278 }) < 20_000)).toBe(true);
    expect(london.profiles.filter((p) => p.timezone === 'Europe/London').length).toBeGreaterThan(10);
  });

  it('rejects bad options with SS_ERR_CONFIG naming the field', () => {
    const bad = [{ customers: 0 }, { stores: 1.5 }, { start: '2025-13-01' }, { timezone: 'Mars/Olympus' }, { center: { lat: 95, lon: 0 } }];
    for (const opts of bad) {
      let err: unknown;
      try {
        generateWorld(opts);
      } catch (e) {
        err = e;
      }
      expect(isScenestreamError(err, 'SS_ERR_CONFIG')).toBe(true);
      expect((err as { field?: string }).field).toBe(Object.keys(opts)[0]);
    }
  });
});

describe('catalogueProducts (products.json)', () => {
  it('gives every product of the catalogue a valid Product with a distinct shelf name, its category and price', () => {
    const world = generateWorld({ seed: 'x', customers: 10 });
    const products = catalogueProducts(world.catalogue);
    expect(products.map((p) => p.productId)).toEqual(world.catalogue.products.map((p) => p.productId));
    for (const p of products) expect(validate('Product', p)).toMatchObject({ ok: true });
    expect(new Set(products.map((p) => p.name)).size).toBe(products.length);
    const shoe = products.find((p) => p.productId === 'SHO-001')!;
    expect([shoe.name, shoe.category, shoe.price]).toEqual(['Trail runner', 'shoes', world.catalogue.byCategory.get('shoes')![0]!.price]);
  });

  it('numbers names past the end of a category list', () => {
    const names = catalogueProducts(createCatalogue(createRng('c'), 14)).filter((p) => p.category === 'toys').map((p) => p.name);
    expect(names.slice(11)).toEqual(['Robot kit', 'Building blocks 2', 'Puzzle 500 2']);
  });
});
