import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SCENES, validate, type Decision, type Offer, type SchemaName, type Trigger } from '../schemas/index.js';
import { simulate } from '../simulator/simulate.js';
import { main } from './cli.js';
import { referenceWarnings, replayFiles } from './replay.js';

const readLines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);

describe('scenestream replay', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ss-replay-'));
    await simulate({ seed: 'replay-test', customers: 120, days: 3, dir: join(dir, 'in') });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const args = (out: string) => ({ input: join(dir, 'in/events.jsonl'), stores: join(dir, 'in/stores.json'), profiles: join(dir, 'in/profiles.jsonl'), out: join(dir, out) });

  it('gives the same output byte for byte on the same input', async () => {
    await replayFiles(args('a'));
    expect(await main(['replay', '--input', args('b').input, '--stores', args('b').stores, '--profiles', args('b').profiles, '--out', args('b').out])).toBe(0);
    for (const f of ['triggers.jsonl', 'decisions.jsonl', 'offers.jsonl', 'recommendations.jsonl', 'bought_together.jsonl', 'summary.json', 'dead_letters.jsonl']) {
      expect(await readFile(join(dir, 'b', f), 'utf8'), f).toBe(await readFile(join(dir, 'a', f), 'utf8'));
    }
  });

  it("with --products, titles cart and browse offers by the first product's name; everything else is unchanged", async () => {
    await replayFiles(args('p0'));
    expect(await main(['replay', '--input', args('p1').input, '--stores', args('p1').stores, '--profiles', args('p1').profiles, '--products', join(dir, 'in/products.json'), '--out', args('p1').out])).toBe(0);
    const names = new Map(((JSON.parse(await readFile(join(dir, 'in/products.json'), 'utf8')) as Array<{ productId: string; name: string }>)).map((p) => [p.productId, p.name]));
    const without = (await readLines(join(dir, 'p0/offers.jsonl'))) as Offer[];
    const withProducts = (await readLines(join(dir, 'p1/offers.jsonl'))) as Offer[];
    expect(withProducts.map((o) => ({ ...o, title: '' }))).toEqual(without.map((o) => ({ ...o, title: '' })));
    const expected = without.map((o) => {
      const name = names.get(o.productIds[0] ?? '');
      if (o.scene === 'cart_abandonment' && name !== undefined) return `${name} is waiting in your cart: 10% off`;
      if (o.scene === 'browse_abandonment' && name !== undefined) return `Still looking at ${name}? 5% off what you viewed`;
      return o.title;
    });
    expect(withProducts.map((o) => o.title)).toEqual(expected);
    expect(new Set(withProducts.map((o) => o.title)).size).toBeGreaterThan(new Set(without.map((o) => o.title)).size + 5);
    for (const f of ['triggers.jsonl', 'decisions.jsonl', 'recommendations.jsonl', 'summary.json']) {
      expect(await readFile(join(dir, 'p1', f), 'utf8'), f).toBe(await readFile(join(dir, 'p0', f), 'utf8'));
    }
  });

  it('detects all five scenes and decides every trigger exactly once, with an offer per sent decision', async () => {
    const r = await replayFiles(args('c'));
    const triggers = (await readLines(join(dir, 'c/triggers.jsonl'))) as Trigger[];
    const decisions = (await readLines(join(dir, 'c/decisions.jsonl'))) as Decision[];
    const offers = (await readLines(join(dir, 'c/offers.jsonl'))) as Offer[];
    expect(new Set(triggers.map((t) => t.scene))).toEqual(new Set(SCENES));
    const key = (x: { scene: string; customerId: string; ts: number }) => `${x.scene}|${x.customerId}|${x.ts}`;
    expect(decisions.map(key).sort()).toEqual(triggers.map(key).sort());
    expect(new Set(decisions.map((d) => d.decisionId)).size).toBe(decisions.length);
    const sent = decisions.filter((d) => d.outcome === 'sent');
    expect(offers.map((o) => o.offerId).sort()).toEqual(sent.map((d) => d.offerId).sort());
    expect(sent.length).toBeGreaterThan(0);
    expect(decisions.some((d) => d.reason === 'no_consent')).toBe(true);
    const check = (name: SchemaName, xs: unknown[]) => xs.forEach((x) => expect(validate(name, x).ok, `${name} ${JSON.stringify(x)}`).toBe(true));
    check('Trigger', triggers);
    check('Decision', decisions);
    check('Offer', offers);
    const recs = await readLines(join(dir, 'c/recommendations.jsonl'));
    check('RecommendationUpdate', recs);
    // Every proximity trigger updates that store's screens.
    const screenUpdates = (recs as Array<{ storeId: string | null; customerId: string; ts: number }>).filter((u) => u.storeId !== null);
    expect(screenUpdates.map((u) => `${u.customerId}|${u.storeId}|${u.ts}`).sort()).toEqual(
      triggers.filter((t) => t.scene === 'store_proximity').map((t) => `${t.customerId}|${t.storeId}|${t.ts}`).sort(),
    );
    const table = await readLines(join(dir, 'c/bought_together.jsonl'));
    check('BoughtTogether', table);
    expect(table.length).toBeGreaterThan(0);
    const summary = JSON.parse(await readFile(join(dir, 'c/summary.json'), 'utf8')) as typeof r.summary;
    expect(Object.keys(summary.scenes)).toEqual([...SCENES]);
    for (const s of SCENES) {
      const x = summary.scenes[s];
      expect(x.triggers).toBe(triggers.filter((t) => t.scene === s).length);
      expect(x.sent + Object.values(x.suppressed).reduce((a, b) => a + b, 0)).toBe(x.triggers);
    }
    // The measurement (issue 14) of the same windows: per scene it counts what §7's attribution does,
    // but for the holdout decisions consent, quiet hours or caps would have suppressed (not in its control arm).
    const m = summary.measurement;
    expect([m.method, m.currency, m.minPerArm, m.attributionWindowMs]).toEqual(['newcombe-hybrid-score', 'CNY', 30, 86_400_000]);
    for (const s of SCENES) {
      const a = summary.scenes[s].attribution;
      const r = m.scenes[s];
      expect([r.sent.decisions, r.sent.converted, r.holdout.decisions + r.holdoutExcluded]).toEqual([a.sent, a.sentConverted, a.holdout]);
      expect(r.holdout.converted).toBeLessThanOrEqual(a.holdoutConverted);
      expect(r.enoughData).toBe(a.sent >= 30 && r.holdout.decisions >= 30);
    }
    expect(m.campaign.holdoutExcluded).toBeGreaterThan(0);
    const segments = Object.values(m.segments);
    expect(segments.reduce((n, r) => n + r.sent.decisions + r.holdout.decisions, 0)).toBe(m.campaign.sent.decisions + m.campaign.holdout.decisions);
    expect(segments.filter((r) => r.sent.decisions > 0).length).toBeGreaterThan(1); // segments from the live profiles, not all "none"
    expect(m.campaign.discountCost).toBeGreaterThan(0);
  });

  it('measures with the campaign file: currency, minimum sample per arm and attribution window', async () => {
    const config = join(dir, 'measure.json');
    await writeFile(config, JSON.stringify({ measurement: { currency: 'EUR', minPerArm: 1 }, decisions: { attributionMs: 3_600_000 } }));
    const r = await replayFiles({ ...args('f'), config });
    const summary = JSON.parse(await readFile(join(dir, 'f/summary.json'), 'utf8')) as typeof r.summary;
    expect([summary.measurement.currency, summary.measurement.minPerArm, summary.measurement.attributionWindowMs]).toEqual(['EUR', 1, 3_600_000]);
    const both = SCENES.filter((s) => summary.scenes[s].attribution.sent > 0 && summary.scenes[s].attribution.holdout > 0);
    expect(both.length).toBeGreaterThan(0);
    for (const s of both) expect(summary.measurement.scenes[s].enoughData).toBe(true);
    // A shorter window converts no more decisions than the default one.
    const d = (await replayFiles(args('g'))).summary;
    expect(summary.measurement.campaign.sent.converted).toBeLessThanOrEqual(d.measurement.campaign.sent.converted);
  });

  it('puts undecodable and invalid lines in dead_letters.jsonl with the reason, and goes on', async () => {
    await replayFiles(args('d'));
    const input = args('e').input.replace('events.jsonl', 'events-bad.jsonl');
    await appendFile(input, await readFile(args('e').input, 'utf8'));
    await appendFile(input, 'not json\n{"topic":"clicks","value":{}}\n{"topic":"location","value":{"eventId":"x","customerId":"c","ts":1,"lat":95,"lon":0,"accuracyM":null,"speedMps":null}}\n');
    const r = await replayFiles({ ...args('e'), input });
    expect(r.rejected.map((x) => [x.code, x.field])).toEqual([
      ['SS_ERR_DECODE', null],
      ['SS_ERR_VALIDATION', 'topic'],
      ['SS_ERR_VALIDATION', 'value.lat'],
    ]);
    const dead = await readLines(join(dir, 'e/dead_letters.jsonl'));
    expect(dead).toHaveLength(3);
    expect(await readFile(join(dir, 'e/triggers.jsonl'), 'utf8')).toBe(await readFile(join(dir, 'd/triggers.jsonl'), 'utf8'));
  });
  it('says in summary.json and on the console why scenes could not fire or be sent for lack of stores or profiles', async () => {
    const { input, profiles, stores } = args('w');
    const withAll = await replayFiles(args('w0'));
    expect(withAll.warnings).toEqual([]);
    expect(Object.keys(JSON.parse(await readFile(join(dir, 'w0/summary.json'), 'utf8')) as object)).toEqual(['scenes', 'measurement']); // no warnings key

    const noStores = await replayFiles({ input, profiles, out: join(dir, 'w1') });
    expect(noStores.summary.scenes.store_proximity.triggers + noStores.summary.scenes.commute.triggers).toBe(0);
    const pings = (await readLines(input)).filter((l) => (l as { topic: string }).topic === 'location').length;
    const summary = JSON.parse(await readFile(join(dir, 'w1/summary.json'), 'utf8')) as { scenes: object; warnings: string[] };
    expect(summary.warnings).toEqual([`no stores loaded: store_proximity and commute cannot fire on the ${pings} location events (give --stores)`]);
    expect(Object.keys(summary)).toEqual(['scenes', 'measurement', 'warnings']);

    let out = '';
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
    try {
      expect(await main(['replay', '--input', input, '--stores', stores, '--out', join(dir, 'w2')])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const decisions = (await readLines(join(dir, 'w2/decisions.jsonl'))) as Decision[];
    const notHeldOut = decisions.filter((d) => d.reason !== 'holdout');
    expect(notHeldOut.length).toBeGreaterThan(0);
    expect(notHeldOut.every((d) => d.reason === 'no_consent')).toBe(true);
    expect(out).toContain(`\nwarning: no profiles loaded: every decision not held out (${notHeldOut.length}) was suppressed as no_consent, since a customer without a profile consents to no channel (give --profiles)\n`);
    expect(out).not.toContain('no stores loaded');
  });
});

describe('referenceWarnings', () => {
  const decision = (customerId: string, reason: Decision['reason']): Decision => ({
    decisionId: `d-${customerId}-${String(reason)}`,
    scene: 'cart_abandonment',
    customerId,
    ts: 0,
    outcome: reason === null ? 'sent' : 'suppressed',
    reason,
    channel: 'push',
    offerId: reason === null ? 'o' : null,
  });
  const profile = (customerId: string) => ({ customerId, tier: 'basic' as const, timezone: 'UTC', consent: { push: true, sms: false, email: false, in_store: false }, lastPurchaseTs: null });
  const store = { storeId: 's', name: 's', lat: 0, lon: 0, radiusM: 150, timezone: 'UTC' };

  it('names the customers without a profile when only some have one; says nothing when nothing was missing', () => {
    const decisions = [decision('a', null), decision('b', 'no_consent'), decision('b', 'no_consent'), decision('c', 'no_consent'), decision('d', 'holdout')];
    expect(referenceWarnings([], { stores: [], profiles: [profile('a')] }, decisions)).toEqual([
      '2 customers have no profile: their 3 decisions were suppressed as no_consent (a customer without a profile consents to no channel)',
    ]);
    // b and c have profiles that refuse push: no_consent by their own choice, nothing missing.
    expect(referenceWarnings([], { stores: [store], profiles: ['a', 'b', 'c'].map(profile) }, decisions)).toEqual([]);
    // Till transactions need no store.
    const pos = { topic: 'pos', value: { ts: 0 }, line: 1 };
    expect(referenceWarnings([pos], { stores: [], profiles: [] }, [])).toEqual([]);
  });
});

describe('replayRecords: event-time sanity', () => {
  it('a record stamped beyond the bound ahead of the wall clock is a dead letter and changes nothing else', async () => {
    const { generateWorld } = await import('../simulator/world.js');
    const { generateEvents } = await import('../simulator/life.js');
    const { profilesFrom } = await import('../pipelines/deps.js');
    const { replayRecords } = await import('./replay.js');
    const world = generateWorld({ seed: 'replay-sanity', customers: 20 });
    const records = [...generateEvents(world, { days: 1 })].map((r, i) => ({ topic: r.topic, value: r.value, line: i + 1 }));
    const deps = { stores: world.stores, profiles: profilesFrom(world.profiles) };
    const click = records.find((r) => r.topic === 'clickstream')!;
    const future = { topic: 'clickstream', value: { ...click.value, eventId: 'year-3000', ts: Date.UTC(3000, 0, 1) }, line: records.length + 1 };
    const now = Date.UTC(2026, 11, 6);
    const clean = replayRecords(records, deps, undefined, { now });
    const dirty = replayRecords([...records, future], deps, undefined, { now });
    expect(dirty.outputs).toEqual(clean.outputs);
    expect(dirty.deadLetters.map((d) => [d.error.code, d.index])).toEqual([['SS_ERR_EVENT_TIME', records.length + 1]]);
    expect(dirty.deadLetters[0]!.error.message).toContain('event time 3000-01-01T00:00:00.000Z is');
    // Without the bound it would be replayed last, at its own time.
    const unbounded = replayRecords([...records, future], deps, undefined, { now, maxEventAheadMs: Number.MAX_SAFE_INTEGER });
    expect(unbounded.deadLetters).toEqual([]);
    expect(unbounded.outputs).not.toEqual(clean.outputs);
  });
});
