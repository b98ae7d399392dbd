import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { freePort } from '../testkit/cli.js';
import { SCENES, type Scene } from '../schemas/index.js';
import type { Summary } from '../pipelines/attribution.js';
import { formatSegments, formatSummary, localStamp, main } from './cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'ss-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Runs the CLI in process: its exit code and what it wrote. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out, err };
}

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
  it('shows conversion rates with group sizes and the uplift with its 95% interval, or "not enough data"', () => {
    const scene = (sent: number, sentConverted: number, holdout: number, holdoutConverted: number) => ({
      triggers: sent + holdout,
      sent,
      suppressed: { holdout, no_consent: 0, quiet_hours: 0, frequency_cap: 0 },
      attribution: { sent, sentConverted, holdout, holdoutConverted, uplift: 0 },
    });
    const scenes = Object.fromEntries(SCENES.map((s) => [s, scene(0, 0, 0, 0)])) as Record<Scene, ReturnType<typeof scene>>;
    scenes.cart_abandonment = scene(70, 56, 80, 48); // Newcombe's example (a): +20.0 [+5.2, +33.4]
    scenes.store_proximity = scene(129, 96, 2, 1);
    const lines = formatSummary({ scenes } as Summary).split('\n');
    expect(lines.find((l) => l.startsWith('cart_abandonment'))).toMatch(/80\.0% of 70 +60\.0% of 80 +\+20\.0 pp \[\+5\.2, \+33\.4\]$/);
    expect(lines.find((l) => l.startsWith('store_proximity'))).toMatch(/74\.4% of 129 +50\.0% of 2 +not enough data \(< 30 per group\)$/);
    expect(lines.find((l) => l.startsWith('commute'))).toMatch(/- of 0 +- of 0 +not enough data/);
  });
});

describe('the end-of-run table with targeting', () => {
  it('has a segment column when the summary counts segment suppressions', () => {
    const scenes = Object.fromEntries(
      SCENES.map((s) => [s, { triggers: 5, sent: 1, suppressed: { holdout: 0, no_consent: 0, quiet_hours: 0, frequency_cap: 0, segment: s === 'commute' ? 4 : 0 }, attribution: { sent: 1, sentConverted: 0, holdout: 0, holdoutConverted: 0, uplift: 0 } }]),
    ) as Summary['scenes'];
    const [head, ...rows] = formatSummary({ scenes }).split('\n');
    expect(head).toMatch(/^scene +triggers +sent +segment +holdout +consent/);
    expect(rows.find((l) => l.startsWith('commute'))).toMatch(/^commute +5 +1 +4 +0 +0/);
    const without = formatSummary({ scenes: Object.fromEntries(SCENES.map((s) => [s, { ...scenes[s], suppressed: { holdout: 0, no_consent: 0, quiet_hours: 0, frequency_cap: 0 } }])) as Summary['scenes'] });
    expect(without.split('\n')[0]).not.toMatch(/segment/);
  });
});

describe('the segment line at the end of a run', () => {
  it('names the segments that have customers, with the total', () => {
    expect(formatSegments({ champions: 15, loyal: 0, cant_lose_them: 2 })).toBe('RFM segments (17 customers with a purchase in the horizon): champions 15, cant lose them 2');
    expect(formatSegments({ champions: 0 })).toBe('RFM segments (0 customers with a purchase in the horizon): none yet');
  });
});
