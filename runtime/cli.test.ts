import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { freePort, runCliInProcess } from '../testkit/cli.js';
import { SCENES, type Decision, type Scene } from '../schemas/index.js';
import type { AttributionEvent, Summary } from '../pipelines/attribution.js';
import { measure, summariseMeasured } from '../pipelines/measurement.js';
import { formatSegments, formatSummary, localStamp, main } from './cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'ss-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Runs the CLI in process: its exit code and what it wrote. */
const cli = (...argv: string[]) => runCliInProcess(main, argv);

const noStack = (text: string) => expect(text).not.toMatch(/^\s+at /m);

describe('the CLI explains itself', () => {
  it('every command has --help (exit 0, its usage on stdout)', async () => {
    for (const command of ['run', 'replay', 'load-reference', 'topics', 'datasets']) {
      const r = await cli(command, '--help');
      expect([r.code, r.err]).toEqual([0, '']);
      expect(r.out).toMatch(new RegExp(`^usage: scenestream ${command} `));
    }
    expect((await cli('help', 'replay')).out).toMatch(/^usage: scenestream replay --input/);
    expect((await cli('--help')).out).toMatch(/^usage: scenestream <command>/);
  });

  it('an unknown or invalid flag: one line naming it, then the usage; exit 2', async () => {
    for (const [argv, says] of [
      [['run', '--bogus'], /^scenestream run: Unknown option '--bogus'/],
      [['run', '--speed', 'fast'], /^scenestream run: --speed must be an integer >= 0, got "fast"/],
      [['run', '--speed', '-1'], /^scenestream run: .*--speed/],
      [['run', '--history', 'maybe'], /^scenestream run: --history must be on or off, got "maybe"/],
      [['run', '--effects', 'cart=5'], /^scenestream run: --effects: unknown scene cart \(one of cart_abandonment, /],
      [['run', '--effects', 'commute:5'], /^scenestream run: --effects must be scene=points pairs/],
      [['run', '--respond', 'off', '--effects', 'commute=1'], /^scenestream run: --effects applies to --respond on only/],
      [['replay', '--out', 'x'], /^scenestream replay: missing --input FILE/],
      [['topics', 'delete'], /^scenestream topics: expected create or check, got "delete"/],
      [['load-reference'], /^scenestream load-reference: nothing to load/],
      [['load-reference', '--products', 'p.json', '--products-to', 'ftp'], /^scenestream load-reference: --products-to must be redis or topic/],
      [['datasets', '--dataset', 'rees46'], /^scenestream datasets: missing --out DIR/],
      [['datasets', '--out', 'x', '--dataset', 'movielens'], /^scenestream datasets: --dataset must be one of geolife, instacart, online-retail, rees46 or all, got "movielens"/],
      [['datasets', '--out', 'x', '--timezone', 'Mars/Olympus'], /^scenestream datasets: --timezone must be an IANA zone/],
      [['datasets', '--out', 'x', '--max-events', '0'], /^scenestream datasets: --max-events must be an integer >= 1/],
    ] as const) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      const lines = r.err.trimEnd().split('\n');
      expect(lines[0], argv.join(' ')).toMatch(says);
      expect(lines[1], argv.join(' ')).toMatch(new RegExp(`^usage: scenestream ${argv[0]}`));
      expect(lines[2]).toBe(`(scenestream ${argv[0]} --help for more)`);
      noStack(r.err);
    }
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^scenestream: unknown command "frobnicate"/);
  });

  it('a missing file is one line, exit 1, no stack; --verbose adds the error as Node reports it', async () => {
    const missing = join(tmp, 'nope.jsonl');
    const r = await cli('replay', '--input', missing, '--out', join(tmp, 'out'));
    expect(r.code).toBe(1);
    expect(r.err).toBe(`scenestream replay: cannot read ${missing}: no such file or directory\n`);
    const v = await cli('replay', '--input', missing, '--out', join(tmp, 'out'), '--verbose');
    expect(v.code).toBe(1);
    // The error itself as Node reports it (fs/promises errors carry no frames of ours).
    expect(v.err.split('\n')[1]).toBe(`Error: ENOENT: no such file or directory, open '${missing}'`);
  });

  it('Redis that cannot be reached is one line naming it and where, exit 1', async () => {
    writeFileSync(join(tmp, 'products.json'), '[{"productId": "p1", "name": "Mug", "price": 3}]');
    const port = await freePort();
    vi.stubEnv('REDIS_URL', `redis://127.0.0.1:${port}`);
    try {
      const r = await cli('load-reference', '--products', join(tmp, 'products.json'));
      expect(r.code).toBe(1);
      expect(r.err).toBe(`scenestream load-reference: SS_ERR_SERVICE_UNAVAILABLE: cannot reach Redis at redis://127.0.0.1:${port}: ECONNREFUSED\n`);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('a campaign with a JSON syntax error names its line and column; exit 2', async () => {
    writeFileSync(join(tmp, 'bad.json'), '{\n  "decisions": {\n    "capPerDay": 2,\n  }\n}\n');
    writeFileSync(join(tmp, 'events.jsonl'), '');
    const r = await cli('replay', '--input', join(tmp, 'events.jsonl'), '--out', join(tmp, 'o2'), '--config', join(tmp, 'bad.json'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not valid JSON at line 4, column 3: /);
    noStack(r.err);
  });
});

describe('scenestream datasets', () => {
  it('converts a dataset into a folder of replay input and says how to replay it; a missing dataset file is one line, exit 1', async () => {
    const out = join(tmp, 'datasets');
    const r = await cli('datasets', '--dataset', 'rees46', '--max-events', '50', '--out', out);
    expect([r.code, r.err]).toEqual([0, '']);
    const dir = join(out, 'rees46');
    expect(r.out.split('\n')[0]).toMatch(new RegExp(`^rees46: 50 events, 0 stores, \\d+ profiles, \\d+ products; 0 rows rejected \\(report.json\\) -> ${dir}$`));
    expect(r.out.split('\n')[1]).toBe(`  scenestream replay --input ${dir}/events.jsonl --stores ${dir}/stores.json --profiles ${dir}/profiles.jsonl --products ${dir}/products.json --out ${dir}/replay`);
    const missing = await cli('datasets', '--dataset', 'geolife', '--from', join(tmp, 'none'), '--out', out);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(`scenestream datasets: cannot read ${join(tmp, 'none', 'geolife', 'geolife_sample.txt.gz')}: no such file or directory\n`);
  });
});

describe('console times', () => {
  it("are the customer's local time with the zone named", () => {
    const ts = Date.UTC(2025, 2, 3, 9, 7);
    expect(localStamp(ts, 'America/Los_Angeles')).toBe('Mon 2025-03-03 01:07 America/Los_Angeles');
    expect(localStamp(ts, 'Asia/Shanghai')).toBe('Mon 2025-03-03 17:07 Asia/Shanghai');
  });
});

describe('the end-of-run table', () => {
  /** `sent` and `holdout` decisions of a scene, the first `converted` of each converting for `revenue` each. */
  const windows = (scene: Scene, segment: string | null, group: 'sent' | 'holdout', n: number, converted: number, revenue: number, discountPct: number): AttributionEvent[] =>
    Array.from({ length: n }, (_, i) => ({ decisionId: `${scene}-${group}-${i}`, scene, customerId: `c${i}`, group, converted: i < converted, revenue: i < converted ? revenue : 0, ts: 2, decisionTs: 1, segment, discountPct, wouldSend: true }));
  const events = [
    ...windows('cart_abandonment', 'champions', 'sent', 70, 56, 100, 10), // Newcombe's example (a): +20.0 [+5.2, +33.4]
    ...windows('cart_abandonment', 'champions', 'holdout', 80, 48, 50, 0),
    ...windows('store_proximity', null, 'sent', 129, 96, 0, 15),
    ...windows('store_proximity', null, 'holdout', 2, 1, 0, 0),
  ];
  const decisions = (scene: Scene, outcome: 'sent' | 'holdout', n: number): Decision[] =>
    Array.from({ length: n }, (_, i) => ({ decisionId: `${scene}-${outcome}-${i}`, scene, customerId: `c${i}`, ts: 1, outcome: outcome === 'sent' ? 'sent' : 'suppressed', reason: outcome === 'sent' ? null : 'holdout', channel: 'push', offerId: outcome === 'sent' ? `o${i}` : null }));
  const summary = summariseMeasured([...decisions('cart_abandonment', 'sent', 70), ...decisions('cart_abandonment', 'holdout', 80)], events, { minPerArm: 30, currency: 'EUR', attributionWindowMs: 86_400_000 });
  const lines = formatSummary(summary).split('\n');
  const row = (prefix: string, from = 0) => lines.slice(from).find((l) => l.startsWith(prefix));

  it('shows conversion rates with group sizes and the uplift with its 95% interval, or "not enough data"', () => {
    expect(row('cart_abandonment')).toMatch(/^cart_abandonment +150 +70 +80 +0 +0 +0 +80\.0% of 70 +60\.0% of 80 +\+20\.0 pp \[\+5\.2, \+33\.4\]$/);
    expect(row('store_proximity')).toMatch(/74\.4% of 129 +50\.0% of 2 +not enough data \(< 30 per group\)$/);
    expect(row('commute')).toMatch(/- of 0 +- of 0 +not enough data/);
  });

  it('shows incremental conversions and revenue, discount cost and ROI per scene and for the campaign, in its currency', () => {
    const at = lines.findIndex((l) => l.startsWith('value (EUR)'));
    expect(at).toBeGreaterThan(0);
    // cart: (56/70 - 48/80) * 70 = 14 conversions; revenue (5600/70 - 2400/80) * 70 = 3500; discount 56 * 100 * 10% = 560;
    // ROI (3500 - 560) / 560 = 525 %.
    expect(row('cart_abandonment', at)).toMatch(/^cart_abandonment +\+33% +\+14\.0 +\+3500\.00 +560\.00 +525%$/); // relative: 0.2 / 0.6
    // store_proximity: 2 holdout decisions, not enough data; its discount cost is 0 (no revenue).
    expect(row('store_proximity', at)).toMatch(/^store_proximity +- +- +- +0\.00 +-$/);
    // campaign: sent 152 of 199, holdout 49 of 82: 152 - 49 * 199 / 82 = 33.09 conversions;
    // revenue 5600 - 2400 * 199 / 82 = -224.39; ROI (-224.39 - 560) / 560 = -140 %.
    expect(row('campaign (all scenes)', at)).toMatch(/^campaign \(all scenes\) +\+28% +\+33\.1 +-224\.39 +560\.00 +-140%$/); // (152/199 - 49/82) / (49/82)
  });

  it('shows each RFM segment with decisions, "none" for customers without a purchase known', () => {
    const at = lines.findIndex((l) => l.startsWith('RFM segment'));
    expect(row('champions', at)).toMatch(/80\.0% of 70 +60\.0% of 80 +\+20\.0 pp/);
    expect(row('none', at)).toMatch(/74\.4% of 129 +50\.0% of 2 +not enough data/);
    expect(row('loyal', at)).toBeUndefined();
    expect(lines.at(-1)).toBe('ROI = (incremental revenue - discount cost) / discount cost; attribution window 24 h');
  });
});

describe('the end-of-run table with targeting', () => {
  it('has a segment column when the summary counts segment suppressions, in the campaign row too', () => {
    const scenes = Object.fromEntries(
      SCENES.map((s) => [s, { triggers: 5, sent: 1, suppressed: { holdout: 0, no_consent: 0, quiet_hours: 0, frequency_cap: 0, segment: s === 'commute' ? 4 : 0 }, attribution: { sent: 1, sentConverted: 0, holdout: 0, holdoutConverted: 0, uplift: 0 } }]),
    ) as Summary['scenes'];
    const measurement = measure([], { minPerArm: 30, currency: 'CNY', attributionWindowMs: 86_400_000 });
    const [head, ...rows] = formatSummary({ scenes, measurement }).split('\n');
    expect(head).toMatch(/^scene +triggers +sent +segment +holdout +consent/);
    expect(rows.find((l) => l.startsWith('commute'))).toMatch(/^commute +5 +1 +4 +0 +0/);
    expect(rows.find((l) => l.startsWith('campaign (all scenes)'))).toMatch(/^campaign \(all scenes\) +25 +5 +4 +0 +0/);
    const without = formatSummary({ scenes: Object.fromEntries(SCENES.map((s) => [s, { ...scenes[s], suppressed: { holdout: 0, no_consent: 0, quiet_hours: 0, frequency_cap: 0 } }])) as Summary['scenes'], measurement });
    expect(without.split('\n')[0]).not.toMatch(/segment/);
  });
});

describe('the segment line at the end of a run', () => {
  it('names the segments that have customers, with the total', () => {
    expect(formatSegments({ champions: 15, loyal: 0, cant_lose_them: 2 })).toBe('RFM segments (17 customers with a purchase in the horizon): champions 15, cant lose them 2');
    expect(formatSegments({ champions: 0 })).toBe('RFM segments (0 customers with a purchase in the horizon): none yet');
  });
});
