import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import { DEFAULT_CAMPAIGN, jsonErrorPosition, measurementSettings, openCampaign, parseCampaign, validateCampaign, type CampaignHandle, type CampaignLog, type ReloadOutcome } from './campaign.js';
import { DEFAULT_OFFER_TEMPLATES } from './offers.js';
import { DEFAULT_PARAMS } from './params.js';
import { RECOMMENDATION_DEFAULTS } from './recommendations.js';

/** The problems of an invalid campaign (fails the test if it is valid). */
function problemsOf(json: unknown): Array<{ field: string; message: string }> {
  const r = validateCampaign(json);
  if (r.ok) throw new Error(`expected problems, the campaign is valid: ${JSON.stringify(json)}`);
  return r.problems;
}

function fieldsOf(json: unknown): string[] {
  return problemsOf(json).map((p) => p.field);
}

describe('campaign validation', () => {
  it('an empty file is SCENES.md: the defaults of params.ts and offers.ts', () => {
    const r = validateCampaign({});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.campaign.params).toEqual(DEFAULT_PARAMS);
    expect(r.campaign.templates).toEqual(DEFAULT_OFFER_TEMPLATES);
    expect(r.campaign.name).toBe('default');
    expect(DEFAULT_CAMPAIGN.params).toEqual(DEFAULT_PARAMS);
  });

  it('the example at the repo root is valid and overrides what it names, field by field', () => {
    const text = readFileSync(new URL('../campaign.example.json', import.meta.url), 'utf8');
    const r = parseCampaign(text, 'campaign.example.json');
    if (!r.ok) throw r.error;
    const c = r.value;
    expect(c.name).toBe('spring-2025');
    expect(c.params.decisions.channels.store_proximity).toBe('in_store');
    expect(c.params.decisions.channels.dormant_reactivation).toBe('email');
    expect(c.params.decisions.quietHours).toEqual({ startMin: 22 * 60, endMin: 7 * 60 });
    expect(c.params.scenes.commute.windows).toEqual([
      { startMin: 420, endMin: 570 },
      { startMin: 1020, endMin: 1170 },
    ]);
    // Not in the file: the default stays.
    expect(c.params.scenes.commute.maxGapMs).toBe(DEFAULT_PARAMS.scenes.commute.maxGapMs);
    expect(c.templates.store_proximity).toEqual({ campaignId: 'spring-store', title: 'Welcome in! 15% off today', fallbackTitle: '', discountPct: 15, expiresInMs: 14_400_000 });
    expect(c.templates.commute).toEqual(DEFAULT_OFFER_TEMPLATES.commute);
  });

  it('merges a subset: one field of one scene changes, its siblings keep their defaults', () => {
    const r = validateCampaign({ scenes: { storeProximity: { dwellMs: 90_000 } }, offers: { commute: { discountPct: 12.5 } } });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.campaign.params.scenes.storeProximity).toEqual({ ...DEFAULT_PARAMS.scenes.storeProximity, dwellMs: 90_000 });
    expect(r.campaign.templates.commute).toEqual({ ...DEFAULT_OFFER_TEMPLATES.commute, discountPct: 12.5 });
    expect(r.campaign.params.scenes.cartAbandonment).toEqual(DEFAULT_PARAMS.scenes.cartAbandonment);
  });

  it('is deeply frozen and shares nothing with the defaults', () => {
    const c = DEFAULT_CAMPAIGN;
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.params.scenes.commute.windows[0])).toBe(true);
    expect(Object.isFrozen(c.templates.cart_abandonment)).toBe(true);
    expect(c.params.scenes.commute.windows).not.toBe(DEFAULT_PARAMS.scenes.commute.windows);
    expect(Object.isFrozen(DEFAULT_PARAMS.scenes.commute.windows)).toBe(false);
  });

  it('names the bad field as a dotted path, with the rule and the value', () => {
    expect(problemsOf({ scenes: { storeProximity: { dwellMs: -5 } } })).toEqual([
      { field: 'scenes.storeProximity.dwellMs', message: 'scenes.storeProximity.dwellMs must be an integer >= 0 (got -5)' },
    ]);
    expect(problemsOf({ scenes: { browseAbandonment: { views: 2.5 } } })[0]!.message).toBe('scenes.browseAbandonment.views must be an integer >= 1 (got 2.5)');
    expect(problemsOf({ decisions: { holdoutRatio: 1.5 } })[0]!.message).toBe('decisions.holdoutRatio must be a number in [0, 1] (got 1.5)');
    expect(problemsOf({ decisions: { capPerDay: '3' } })[0]!.message).toBe('decisions.capPerDay must be an integer >= 0 (got "3")');
    expect(problemsOf({ offers: { commute: { discountPct: 101 } } })[0]!.message).toBe('offers.commute.discountPct must be a number in [0, 100] (got 101)');
    expect(problemsOf({ offers: { commute: { title: '  ' } } })[0]!.message).toBe('offers.commute.title must be a non-empty string (got "  ")');
    expect(problemsOf({ defaultStoreRadiusM: 0 })[0]!.message).toBe('defaultStoreRadiusM must be a number > 0 (got 0)');
    expect(problemsOf({ defaultTimezone: 'Mars/Olympus' })[0]!.message).toMatch(/^defaultTimezone must be an IANA timezone name/);
    expect(problemsOf({ decisions: { channels: { commute: 'pigeon' } } })[0]!.message).toBe('decisions.channels.commute must be one of push, sms, email, in_store (got "pigeon")');
    expect(fieldsOf({ scenes: { commute: { storeWithinM: Number.NaN } } })).toEqual(['scenes.commute.storeWithinM']);
    expect(fieldsOf({ scenes: { cartAbandonment: { timeoutMs: 0 } } })).toEqual(['scenes.cartAbandonment.timeoutMs']);
  });

  it('checks offer title placeholders: known names only, and a fallback without placeholders when the title has some', () => {
    expect(problemsOf({ offers: { commute: { title: 'Hi {firstName}', fallbackTitle: 'Hi' } } })).toEqual([
      { field: 'offers.commute.title', message: 'offers.commute.title has an unknown placeholder {firstName} (known: {product}, {category}, {price}, {store}, {discount})' },
    ]);
    expect(fieldsOf({ offers: { store_proximity: { title: 'Welcome to {store}' } } })).toEqual(['offers.store_proximity.fallbackTitle']);
    expect(fieldsOf({ offers: { store_proximity: { title: 'Welcome to {store}', fallbackTitle: 'At {store}' } } })).toEqual(['offers.store_proximity.fallbackTitle']);
    const ok = validateCampaign({ offers: { store_proximity: { title: '{discount}% off {product} at {store}', fallbackTitle: 'Welcome' } } });
    expect(ok.ok && ok.campaign.templates.store_proximity.fallbackTitle).toBe('Welcome');
  });

  it('rejects unknown keys with their path and wrong scene names with the right ones', () => {
    expect(problemsOf({ scenes: { storeProximity: { dwelMs: 1 } } })).toEqual([
      { field: 'scenes.storeProximity.dwelMs', message: 'scenes.storeProximity.dwelMs is not a known field (expected one of: dwellMs, cooldownMs, maxAccuracyM)' },
    ]);
    // scene parameters use params.ts's camelCase names; channels and offers the wire names.
    expect(problemsOf({ scenes: { store_proximity: { dwellMs: 1 } } })[0]!.message).toBe(
      'scenes.store_proximity is not a known scene (expected one of: cartAbandonment, browseAbandonment, storeProximity, commute, dormantReactivation)',
    );
    expect(fieldsOf({ offers: { storeProximity: { discountPct: 5 } } })).toEqual(['offers.storeProximity']);
    expect(fieldsOf({ decisions: { channels: { flash_sale: 'push' } } })).toEqual(['decisions.channels.flash_sale']);
    expect(fieldsOf({ sceens: {} })).toEqual(['sceens']);
    expect(fieldsOf({ scenes: { commute: { windows: [{ start: '07:00', end: '09:00', tz: 'UTC' }] } } })).toEqual(['scenes.commute.windows.0.tz']);
  });

  it('reports every problem, not only the first, and the thrown error names the first field', () => {
    expect(fieldsOf({ scenes: { storeProximity: { dwellMs: -1, cooldownMs: 'x' } }, decisions: { capPerDay: -1 }, bogus: 1 })).toEqual([
      'bogus',
      'scenes.storeProximity.dwellMs',
      'scenes.storeProximity.cooldownMs',
      'decisions.capPerDay',
    ]);
    const r = parseCampaign('{"scenes": {"storeProximity": {"dwellMs": -1}}, "decisions": {"capPerDay": -1}}', 'c.json');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(isScenestreamError(r.error, 'SS_ERR_CONFIG')).toBe(true);
    expect(r.error.field).toBe('scenes.storeProximity.dwellMs');
    expect(r.error.message).toContain('campaign c.json: 2 problems');
    expect(r.error.message).toContain('decisions.capPerDay must be an integer >= 0 (got -1)');
  });

  it('reads local-time windows as "HH:MM": quiet hours may wrap midnight, commute windows may not', () => {
    const ok = validateCampaign({ decisions: { quietHours: { start: '21:30', end: '06:45' } }, scenes: { commute: { windows: [{ start: '16:00', end: '24:00' }] } } });
    if (!ok.ok) throw new Error(JSON.stringify(ok.problems));
    expect(ok.campaign.params.decisions.quietHours).toEqual({ startMin: 21 * 60 + 30, endMin: 6 * 60 + 45 });
    expect(ok.campaign.params.scenes.commute.windows).toEqual([{ startMin: 960, endMin: 1440 }]);

    expect(problemsOf({ scenes: { commute: { windows: [{ start: '18:00', end: '07:00' }] } } })[0]!.message).toBe(
      'scenes.commute.windows.0 must not cross midnight (start 18:00 is after end 07:00)',
    );
    expect(problemsOf({ decisions: { quietHours: { start: '22:00', end: '22:00' } } })[0]!.message).toBe('decisions.quietHours is empty (start = end = 22:00)');
    expect(fieldsOf({ decisions: { quietHours: { start: '7:00', end: '25:00' } } })).toEqual(['decisions.quietHours.start', 'decisions.quietHours.end']);
    expect(fieldsOf({ decisions: { quietHours: { start: '24:00', end: '07:00' } } })).toEqual(['decisions.quietHours.start']);
    expect(fieldsOf({ decisions: { quietHours: { start: 1320, end: 420 } } })).toEqual(['decisions.quietHours.start', 'decisions.quietHours.end']);
    expect(fieldsOf({ decisions: { quietHours: { start: '22:00' } } })).toEqual(['decisions.quietHours.end']);
  });

  it('checks arrays element by element: weekdays 1-7 without repeats, channels known, windows non-empty', () => {
    expect(fieldsOf({ scenes: { commute: { weekdays: [1, 8] } } })).toEqual(['scenes.commute.weekdays.1']);
    expect(problemsOf({ scenes: { commute: { weekdays: [1, 2, 1] } } })[0]!.message).toBe('scenes.commute.weekdays.2 repeats an earlier entry (got 1)');
    expect(fieldsOf({ scenes: { commute: { weekdays: [] } } })).toEqual(['scenes.commute.weekdays']);
    expect(fieldsOf({ scenes: { commute: { windows: [] } } })).toEqual(['scenes.commute.windows']);
    expect(fieldsOf({ decisions: { quietChannels: ['push', 'fax'] } })).toEqual(['decisions.quietChannels.1']);
    const none = validateCampaign({ decisions: { quietChannels: [] } });
    expect(none.ok && none.campaign.params.decisions.quietChannels).toEqual([]);
  });

  it('rejects a file that is not a JSON object, and bad JSON, at the root ($)', () => {
    expect(fieldsOf([])).toEqual(['$']);
    expect(fieldsOf(null)).toEqual(['$']);
    expect(fieldsOf({ scenes: [] })).toEqual(['scenes']);
    const r = parseCampaign('{"scenes": ', 'x.json');
    expect(!r.ok && r.error.code).toBe('SS_ERR_CONFIG');
    expect(!r.ok && r.error.field).toBe('$');
    expect(!r.ok && r.error.message).toMatch(/campaign x\.json: not valid JSON/);
    // Where it is, as a line and column of the file, whatever Node's message says.
    const bad = parseCampaign('{\n  "name": "spring",\n  "decisions": { "capPerDay": 2, }\n}', 'c.json');
    expect(!bad.ok && bad.error.message).toMatch(/campaign c\.json: not valid JSON at line 3, column 34: Expected/);
    expect(!bad.ok && bad.error.message).not.toMatch(/position/);
    expect(jsonErrorPosition('Unexpected end of JSON input', '{\n "a": [1,')).toEqual({ line: 2, column: 10 });
    expect(jsonErrorPosition("Expected ',' or '}' after property value in JSON at position 9 (line 2 column 3)", 'ignored')).toEqual({ line: 2, column: 3 });
  });

  it('the digest follows the text: same text, same digest', () => {
    const a = parseCampaign('{"name": "a"}');
    const b = parseCampaign('{"name": "a"}');
    const c = parseCampaign('{"name": "b"}');
    expect(a.ok && b.ok && a.value.digest === b.value.digest).toBe(true);
    expect(a.ok && c.ok && a.value.digest !== c.value.digest).toBe(true);
  });
});

describe('CampaignHandle', () => {
  let dir: string;
  let file: string;
  let handle: CampaignHandle | undefined;
  const logged: Array<{ level: 'info' | 'error'; msg: string; obj: object }> = [];
  const log: CampaignLog = {
    info: (obj, msg) => logged.push({ level: 'info', msg, obj }),
    error: (obj, msg) => logged.push({ level: 'error', msg, obj }),
  };
  const counted: ReloadOutcome[] = [];
  const reloads = { inc: (l: { result: ReloadOutcome }) => void counted.push(l.result) };

  const write = (json: unknown): void => writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'scenestream-campaign-'));
    file = join(dir, 'campaign.json');
    logged.length = 0;
    counted.length = 0;
  });
  afterEach(() => {
    handle?.close();
    handle = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a bad file at start throws SS_ERR_CONFIG naming the field', () => {
    write({ scenes: { storeProximity: { dwellMs: -1 } } });
    expect(() => openCampaign(file)).toThrow(expect.objectContaining({ code: 'SS_ERR_CONFIG', field: 'scenes.storeProximity.dwellMs' }));
    expect(() => openCampaign(join(dir, 'missing.json'))).toThrow(/SS_ERR_CONFIG: campaign .*missing\.json: cannot be read/);
  });

  it('reload applies a changed file to the next current(), tells listeners, and counts it', () => {
    write({ name: 'v1', scenes: { storeProximity: { dwellMs: 120_000 } } });
    handle = openCampaign(file, { log, reloads });
    const inFlight = handle.current();
    const seen: Array<[string, string]> = [];
    handle.onChange((next, prev) => seen.push([prev.name, next.name]));

    write({ name: 'v2', scenes: { storeProximity: { dwellMs: 60_000 } } });
    const r = handle.reload();
    expect(r.ok && r.value.name).toBe('v2');
    expect(handle.current().params.scenes.storeProximity.dwellMs).toBe(60_000);
    // What a trigger already read is untouched: it finishes on the campaign it started with.
    expect(inFlight.name).toBe('v1');
    expect(inFlight.params.scenes.storeProximity.dwellMs).toBe(120_000);
    expect(seen).toEqual([['v1', 'v2']]);
    expect(counted).toEqual(['applied']);
    expect(logged.map((l) => l.level)).toEqual(['info']);
  });

  it('reload of an unchanged file keeps the same object and does not call listeners', () => {
    write({ name: 'v1' });
    handle = openCampaign(file, { log, reloads });
    const before = handle.current();
    let calls = 0;
    handle.onChange(() => calls++);
    const r = handle.reload();
    expect(r.ok && r.value).toBe(before);
    expect(handle.current()).toBe(before);
    expect(calls).toBe(0);
    expect(counted).toEqual(['unchanged']);
  });

  it('a bad file on reload keeps the old campaign, returns and logs the error, counts it, never throws', () => {
    write({ name: 'good', decisions: { capPerDay: 2 } });
    handle = openCampaign(file, { log, reloads });
    const good = handle.current();
    let calls = 0;
    handle.onChange(() => calls++);

    write({ name: 'bad', decisions: { capPerDay: -2 } });
    const r = handle.reload();
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.field).toBe('decisions.capPerDay');
    expect(handle.current()).toBe(good);

    write('{ truncated');
    expect(handle.reload().ok).toBe(false);
    rmSync(file);
    expect(handle.reload().ok).toBe(false);
    expect(handle.current()).toBe(good);

    expect(calls).toBe(0);
    expect(counted).toEqual(['error', 'error', 'error']);
    expect(handle.reloadCounts).toEqual({ applied: 0, unchanged: 0, error: 3 });
    expect(logged.filter((l) => l.level === 'error')).toHaveLength(3);
    expect(logged[0]!.obj).toMatchObject({ code: 'SS_ERR_CONFIG', field: 'decisions.capPerDay', keeping: good.digest });

    write({ name: 'fixed' });
    expect(handle.reload().ok).toBe(true);
    expect(handle.current().name).toBe('fixed');
  });

  it('a listener that throws is logged and does not stop the others', () => {
    write({ name: 'a' });
    handle = openCampaign(file, { log });
    const got: string[] = [];
    handle.onChange(() => {
      throw new Error('boom');
    });
    handle.onChange((c) => got.push(c.name));
    write({ name: 'b' });
    expect(handle.reload().ok).toBe(true);
    expect(got).toEqual(['b']);
    expect(logged.some((l) => l.level === 'error' && l.msg.includes('listener threw'))).toBe(true);
  });

  /** Bounded polling on real file-system events: at most `ms`, checking every 10 ms. */
  async function until(cond: () => boolean, ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('watch() picks up an edit in place and an atomic replace (rename), and ignores a bad write', async () => {
    write({ name: 'v1' });
    handle = openCampaign(file, { log, reloads, debounceMs: 20 });
    const h = handle;
    const names: string[] = [];
    h.onChange((c) => names.push(c.name));
    h.watch();
    h.watch(); // idempotent

    write({ name: 'v2', scenes: { cartAbandonment: { timeoutMs: 60_000 } } });
    await until(() => h.current().name === 'v2');
    expect(h.current().params.scenes.cartAbandonment.timeoutMs).toBe(60_000);

    write({ name: 'v3', scenes: { cartAbandonment: { timeoutMs: -1 } } });
    await until(() => h.reloadCounts.error >= 1);
    expect(h.current().name).toBe('v2');

    // How editors and deploy tools replace a file: write aside, rename over.
    writeFileSync(join(dir, 'campaign.json.tmp'), JSON.stringify({ name: 'v4' }));
    renameSync(join(dir, 'campaign.json.tmp'), file);
    await until(() => h.current().name === 'v4');
    expect(names).toEqual(['v2', 'v4']);
  });

  it('close() stops watching: later changes are not applied', async () => {
    write({ name: 'v1' });
    handle = openCampaign(file, { log, reloads, debounceMs: 0 });
    const h = handle;
    h.watch();
    write({ name: 'v2' });
    await until(() => h.current().name === 'v2');
    h.close();
    const applied = h.reloadCounts.applied;
    write({ name: 'v3' });
    // A sentinel file in the same directory shows file events have been delivered meanwhile.
    const other = openCampaign(file, { log, debounceMs: 0 });
    other.watch();
    write({ name: 'v4' });
    await until(() => other.current().name === 'v4');
    other.close();
    expect(h.current().name).toBe('v2');
    expect(h.reloadCounts.applied).toBe(applied);
  });
});

describe('campaign recommendations section', () => {
  it('defaults to RECOMMENDATION_DEFAULTS, merges field by field, and names a bad field', () => {
    expect(DEFAULT_CAMPAIGN.params.recommendations).toEqual(RECOMMENDATION_DEFAULTS);
    const r = validateCampaign({ recommendations: { topN: 3, weights: { bought: 5 } } });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.campaign.params.recommendations).toEqual({ ...RECOMMENDATION_DEFAULTS, topN: 3, weights: { ...RECOMMENDATION_DEFAULTS.weights, bought: 5 } });
    expect(problemsOf({ recommendations: { topN: 0 } })[0]!.message).toBe('recommendations.topN must be an integer >= 1 (got 0)');
    expect(fieldsOf({ recommendations: { weights: { viewed: -1 }, decimals: 11, halfLifeMs: 0, colour: 'red' } }).sort()).toEqual([
      'recommendations.colour',
      'recommendations.decimals',
      'recommendations.halfLifeMs',
      'recommendations.weights.viewed',
    ]);
  });

  it('the example at the repo root spells out every recommendation field', () => {
    const text = readFileSync(new URL('../campaign.example.json', import.meta.url), 'utf8');
    const raw = JSON.parse(text) as { recommendations: Record<string, unknown> };
    expect(Object.keys(raw.recommendations).sort()).toEqual(Object.keys(RECOMMENDATION_DEFAULTS).sort());
    const r = parseCampaign(text, 'campaign.example.json');
    if (!r.ok) throw r.error;
    expect(r.value.params.recommendations).toEqual(RECOMMENDATION_DEFAULTS);
  });
});

describe('campaign measurement section', () => {
  it('defaults to a minimum of 30 decisions per arm and CNY, the window being decisions.attributionMs', () => {
    expect(DEFAULT_CAMPAIGN.measurement).toEqual({ minPerArm: 30, currency: 'CNY' });
    expect(measurementSettings(DEFAULT_CAMPAIGN)).toEqual({ minPerArm: 30, currency: 'CNY', attributionWindowMs: 86_400_000 });
    const r = validateCampaign({ measurement: { currency: 'EUR' }, decisions: { attributionMs: 3_600_000 } });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(measurementSettings(r.campaign)).toEqual({ minPerArm: 30, currency: 'EUR', attributionWindowMs: 3_600_000 });
  });

  it("docs/measurement.md's campaign example is the defaults, and valid", () => {
    const doc = readFileSync(new URL('../docs/measurement.md', import.meta.url), 'utf8');
    const block = /## Configuration \(campaign file\)\n\n```json\n([\s\S]*?)```/.exec(doc)![1]!;
    const r = parseCampaign(block, 'docs/measurement.md');
    if (!r.ok) throw r.error;
    expect(measurementSettings(r.value)).toEqual(measurementSettings(DEFAULT_CAMPAIGN));
  });

  it('names a bad minimum, a currency that is not an ISO 4217 code, and an unknown field', () => {
    expect(problemsOf({ measurement: { minPerArm: 0, currency: 'euro', window: 5 } }).map((p) => p.message)).toEqual([
      'measurement.window is not a known field (expected one of: minPerArm, currency)',
      'measurement.minPerArm must be an integer >= 1 (got 0)',
      'measurement.currency must be an ISO 4217 currency code of three capital letters such as "CNY" (got "euro")',
    ]);
    expect(fieldsOf({ measurement: { minPerArm: 2.5, currency: '' } })).toEqual(['measurement.minPerArm', 'measurement.currency']);
    expect(fieldsOf({ measurement: [] })).toEqual(['measurement']);
    expect(fieldsOf({ decisions: { attributionMs: 0 } })).toEqual(['decisions.attributionMs']);
  });
});
