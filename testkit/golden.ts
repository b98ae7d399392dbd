/**
 * Golden replays: fixed inputs replayed through `scenestream replay` (`replayFiles`, in process),
 * their outputs compared byte for byte with outputs recorded before a change. The inputs are
 * regenerated here, never stored: the simulator is seeded and byte-deterministic, and the dataset
 * loaders read `../shared/datasets`. The recording (`runtime/golden/`) holds every output file
 * gzipped and a manifest with the sha256 of every input and output file, so a failure says whether
 * the input or the engine changed. `scripts/golden.ts record` writes it; `runtime/replay.golden.test.ts`
 * checks it.
 */

import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { replayFiles, type ReplayFilesOptions } from '../runtime/replay.js';
import type { CustomerProfile, LocationEvent, Store } from '../schemas/index.js';
import { loadGeoLife, loadInstacart, loadOnlineRetail, loadRees46 } from '../simulator/datasets/index.js';
import { profilesToJsonl, recordToJsonLine, storesToJson } from '../simulator/jsonl.js';
import type { SimRecord } from '../simulator/life.js';
import { simulate } from '../simulator/simulate.js';

const projectRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

/** Where the recording lives: one folder per input with `<output>.gz`, and `manifest.json`. */
export const GOLDEN_DIR = join(projectRoot, 'runtime', 'golden');

/** Every file `scenestream replay` writes, in the order it writes them. */
export const OUTPUT_FILES = [
  'triggers.jsonl',
  'decisions.jsonl',
  'offers.jsonl',
  'recommendations.jsonl',
  'bought_together.jsonl',
  'summary.json',
  'dead_letters.jsonl',
  'profiles.jsonl',
] as const;

/** A replay's input files, as `scenestream replay` takes them (all but `--out`). */
export type GoldenReplayInput = Omit<ReplayFilesOptions, 'out'>;

export interface GoldenInput {
  /** Folder name under `runtime/golden/`. */
  readonly name: string;
  readonly about: string;
  /** Writes the input files into `dir` (which exists) and says which they are. */
  prepare(dir: string): Promise<GoldenReplayInput>;
}

/** The three unusable lines `runtime/replay.test.ts` appends: not JSON, an unknown topic, a latitude of 95. */
const BAD_LINES =
  'not json\n{"topic":"clicks","value":{}}\n' +
  '{"topic":"location","value":{"eventId":"x","customerId":"c","ts":1,"lat":95,"lon":0,"accuracyM":null,"speedMps":null}}\n';

function simulated(seed: string, customers: number, days: number, extra: { badLines?: boolean; config?: string } = {}): GoldenInput['prepare'] {
  return async (dir) => {
    await simulate({ seed, customers, days, dir });
    const input = join(dir, 'events.jsonl');
    if (extra.badLines === true) await appendFile(input, BAD_LINES);
    return { input, stores: join(dir, 'stores.json'), profiles: join(dir, 'profiles.jsonl'), ...(extra.config === undefined ? {} : { config: extra.config }) };
  };
}

async function writeRecords(path: string, records: Iterable<SimRecord>): Promise<void> {
  let text = '';
  for (const r of records) text += `${recordToJsonLine(r)}\n`;
  await writeFile(path, text);
}

/** The first `n` events of a load (stops reading there). */
async function take<T>(load: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  if (n <= 0) return out;
  for await (const e of load) {
    out.push(e);
    if (out.length >= n) break;
  }
  return out;
}

async function all<T>(load: AsyncIterable<T>): Promise<T[]> {
  return take(load, Infinity);
}

const MIN = 60_000;
const HOUR = 60 * MIN;

/**
 * Haversine on the mean Earth radius, written out here so that the inputs never depend on engine
 * code the change may touch (a moved store would be a changed input, not a changed engine).
 */
function distM(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const r = Math.PI / 180;
  const h = Math.sin(((bLat - aLat) * r) / 2) ** 2 + Math.cos(aLat * r) * Math.cos(bLat * r) * Math.sin(((bLon - aLon) * r) / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Beijing (UTC+8, no DST since 1991) weekday 1-7, and which commute window the instant is in, if any. */
function beijingCommuteWindow(ts: number): string | null {
  const d = new Date(ts + 8 * HOUR);
  const weekday = d.getUTCDay() === 0 ? 7 : d.getUTCDay();
  if (weekday > 5) return null;
  const minute = d.getUTCHours() * 60 + d.getUTCMinutes();
  const w = minute >= 420 && minute < 570 ? 0 : minute >= 1020 && minute < 1170 ? 1 : -1;
  return w < 0 ? null : `${d.toISOString().slice(0, 10)}/${w}`;
}

/**
 * Stores for GeoLife, placed as `pipelines/geolife.test.ts` places them: at each user's four longest
 * stays (a run of 30+ pings within 50 m of its first, over 10 min; stores 1 km apart, radius 100 m),
 * so the proximity scene fires, and 300 m north of points passed at walking speed or more in a
 * weekday commute window (up to 12 windows, radius 150 m), so the commute scene does.
 */
export function geoLifeStores(events: readonly LocationEvent[]): Store[] {
  const byUser = new Map<string, LocationEvent[]>();
  for (const e of [...events].sort((a, b) => a.ts - b.ts)) {
    const list = byUser.get(e.customerId);
    if (list === undefined) byUser.set(e.customerId, [e]);
    else list.push(e);
  }
  const stores: Store[] = [];
  const place = (id: string, lat: number, lon: number, radiusM: number) => stores.push({ storeId: id, name: id, lat, lon, radiusM, timezone: 'Asia/Shanghai' });
  for (const [user, pings] of byUser) {
    const stays: Array<{ lat: number; lon: number; ms: number }> = [];
    for (let i = 0; i < pings.length; ) {
      const a = pings[i]!;
      let j = i + 1;
      while (j < pings.length && distM(a.lat, a.lon, pings[j]!.lat, pings[j]!.lon) <= 50) j++;
      const ms = pings[j - 1]!.ts - a.ts;
      if (ms > 10 * MIN && j - i >= 30) {
        const run = pings.slice(i, j);
        stays.push({ lat: run.reduce((s, p) => s + p.lat, 0) / run.length, lon: run.reduce((s, p) => s + p.lon, 0) / run.length, ms });
      }
      i = j;
    }
    const picked: Array<{ lat: number; lon: number }> = [];
    for (const s of stays.sort((a, b) => b.ms - a.ms)) {
      if (picked.some((p) => distM(p.lat, p.lon, s.lat, s.lon) < 1000)) continue;
      picked.push(s);
      place(`stay-${user}-${picked.length}`, s.lat, s.lon, 100);
      if (picked.length === 4) break;
    }
  }
  const windows = new Set<string>();
  for (const [user, pings] of byUser) {
    for (let k = 1; k < pings.length && windows.size < 12; k += 7) {
      const [p1, p2] = [pings[k - 1]!, pings[k]!];
      const gap = p2.ts - p1.ts;
      const w = beijingCommuteWindow(p2.ts);
      if (w === null || windows.has(w) || gap <= 0 || gap > 10 * MIN || distM(p1.lat, p1.lon, p2.lat, p2.lon) / (gap / 1000) < 1.5) continue;
      windows.add(w);
      place(`route-${user}-${windows.size}`, p2.lat + 300 / 111_195, p2.lon, 150);
    }
  }
  return stores;
}

/** GeoLife points before this instant: both users' first weeks, about a third of the sample. */
const GEOLIFE_UNTIL = Date.UTC(2008, 10, 8);

/**
 * The inputs, covering every scene and every output file: simulated cities of several seeds and
 * sizes (one with unusable lines, one with the example campaign), and the real datasets the tests
 * load, bounded so the whole set replays in seconds.
 */
export const GOLDEN_INPUTS: readonly GoldenInput[] = [
  {
    name: 'sim-scenestream-40x2-bad-lines',
    about: "simulator, default seed 'scenestream', 40 customers x 2 days, plus replay.test.ts's three unusable lines (dead letters)",
    prepare: simulated('scenestream', 40, 2, { badLines: true }),
  },
  {
    name: 'sim-replay-test-120x3',
    about: "simulator, seed 'replay-test', 120 customers x 3 days: runtime/replay.test.ts's input",
    prepare: simulated('replay-test', 120, 3),
  },
  {
    name: 'sim-replay-test-120x3-campaign',
    about: 'the same input with --config campaign.example.json',
    prepare: simulated('replay-test', 120, 3, { config: join(projectRoot, 'campaign.example.json') }),
  },
  {
    name: 'sim-golden-300x3',
    about: "simulator, seed 'golden', 300 customers x 3 days: every scene, decision outcome, offer and recommendation in numbers",
    prepare: simulated('golden', 300, 3),
  },
  {
    name: 'online-retail-first-1000',
    about: 'UCI Online Retail, the first 1,000 invoices (2010-12-01 to 2010-12-10) as pos events; no stores or profiles, as pipelines/onlineRetail.test.ts',
    prepare: async (dir) => {
      const input = join(dir, 'events.jsonl');
      await writeRecords(input, (await take(loadOnlineRetail(), 1000)).map((value) => ({ topic: 'pos', value })));
      return { input };
    },
  },
  {
    name: 'geolife-until-2008-11-08',
    about: 'GeoLife sample (users 001 and 005, Beijing) before 2008-11-08 as location events, in file order; stores placed as pipelines/geolife.test.ts does, profiles with push and in-store consent',
    prepare: async (dir) => {
      const events = (await all(loadGeoLife())).filter((e) => e.ts < GEOLIFE_UNTIL);
      const profiles: CustomerProfile[] = [...new Set(events.map((e) => e.customerId))].sort().map((customerId) => ({
        customerId,
        tier: 'basic',
        timezone: 'Asia/Shanghai',
        consent: { push: true, sms: false, email: false, in_store: true },
        lastPurchaseTs: null,
      }));
      const input = join(dir, 'events.jsonl');
      const stores = join(dir, 'stores.json');
      const profilesPath = join(dir, 'profiles.jsonl');
      await writeRecords(input, events.map((value) => ({ topic: 'location', value })));
      await writeFile(stores, storesToJson(geoLifeStores(events)));
      await writeFile(profilesPath, profilesToJsonl(profiles));
      return { input, stores, profiles: profilesPath };
    },
  },
  {
    name: 'rees46',
    about: 'REES46 October 2019 sample, all 1,000 rows as clickstream events; no profiles (every decision suppressed)',
    prepare: async (dir) => {
      const input = join(dir, 'events.jsonl');
      await writeRecords(input, (await all(loadRees46())).map((value) => ({ topic: 'clickstream', value })));
      return { input };
    },
  },
  {
    name: 'instacart',
    about: 'Instacart sample, every order with products as pos events (one synthetic week): bought together and recommendations',
    prepare: async (dir) => {
      const input = join(dir, 'events.jsonl');
      await writeRecords(input, (await all(loadInstacart())).map((value) => ({ topic: 'pos', value })));
      return { input };
    },
  },
];

export interface FileDigest {
  readonly sha256: string;
  readonly lines: number;
  readonly bytes: number;
}

export function digest(content: Buffer): FileDigest {
  let lines = 0;
  for (let i = content.indexOf(0x0a); i !== -1; i = content.indexOf(0x0a, i + 1)) lines++;
  return { sha256: createHash('sha256').update(content).digest('hex'), lines, bytes: content.length };
}

export interface GoldenRun {
  readonly input: GoldenInput;
  /** The input files by role (`events.jsonl`, `stores.json`, `profiles.jsonl`, `campaign.json`). */
  readonly inputs: Readonly<Record<string, FileDigest>>;
  /** Every output file's bytes, by name. */
  readonly outputs: ReadonlyMap<string, Buffer>;
  readonly events: number;
  readonly prepareMs: number;
  readonly replayMs: number;
}

/** Prepares an input in `dir/in` and replays it with `replayFiles` into `dir/out`. */
export async function runGolden(input: GoldenInput, dir: string): Promise<GoldenRun> {
  const inDir = join(dir, 'in');
  const outDir = join(dir, 'out');
  await mkdir(inDir, { recursive: true });
  const t0 = performance.now();
  const files = await input.prepare(inDir);
  const t1 = performance.now();
  const result = await replayFiles({ ...files, out: outDir });
  const t2 = performance.now();
  const inputs: Record<string, FileDigest> = {};
  const roles: Array<[string, string | undefined]> = [
    ['events.jsonl', files.input],
    ['stores.json', files.stores],
    ['profiles.jsonl', files.profiles],
    ['campaign.json', files.config],
  ];
  for (const [role, path] of roles) if (path !== undefined) inputs[role] = digest(await readFile(path));
  const outputs = new Map<string, Buffer>();
  for (const name of OUTPUT_FILES) outputs.set(name, await readFile(join(outDir, name)));
  return { input, inputs, outputs, events: result.events, prepareMs: t1 - t0, replayMs: t2 - t1 };
}

export interface GoldenRecording {
  /** The commit the outputs were replayed on. */
  readonly recordedOn: string;
  readonly about: string;
  readonly events: number;
  readonly inputs: Readonly<Record<string, FileDigest>>;
  readonly outputs: Readonly<Record<string, FileDigest>>;
}

export interface GoldenManifest {
  readonly inputs: Readonly<Record<string, GoldenRecording>>;
}

export async function readManifest(dir = GOLDEN_DIR): Promise<GoldenManifest> {
  return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as GoldenManifest;
}

export async function readRecordedOutput(name: string, file: string, dir = GOLDEN_DIR): Promise<Buffer> {
  return gunzipSync(await readFile(join(dir, name, `${file}.gz`)));
}

const SHOW = 600;

/** A line for a message: JSON-quoted (so whitespace shows), cut around `at` if long. */
function showLine(line: string | undefined, at: number): string {
  if (line === undefined) return '(no such line: the file ends before)';
  if (line.length <= SHOW) return JSON.stringify(line);
  const from = Math.max(0, at - SHOW / 2);
  return `${from > 0 ? `…[${from} chars] ` : ''}${JSON.stringify(line.slice(from, from + SHOW))}${from + SHOW < line.length ? ` [${line.length - from - SHOW} chars]…` : ''}`;
}

/** Where two texts first differ, as a message (file, line, column, both lines), or null if equal. */
export function firstDifference(file: string, expected: string, actual: string): string | null {
  if (expected === actual) return null;
  const a = expected.split('\n');
  const b = actual.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const x = a[i];
  const y = b[i];
  let col = 0;
  if (x !== undefined && y !== undefined) while (col < x.length && col < y.length && x[col] === y[col]) col++;
  // split('\n') gives one more element than there are newlines.
  return [
    `${file}: first difference at line ${i + 1}${x !== undefined && y !== undefined ? `, column ${col + 1}` : ''} (recorded ${a.length - 1} lines, now ${b.length - 1})`,
    `  recorded: ${showLine(x, col)}`,
    `  now:      ${showLine(y, col)}`,
  ].join('\n');
}

/**
 * Every difference between a run and the recording, one message per file: the input's files first
 * (a changed input makes the output comparison meaningless), then each output's first differing line.
 */
export async function compareGolden(run: GoldenRun, manifest: GoldenManifest, dir = GOLDEN_DIR): Promise<string[]> {
  const name = run.input.name;
  const recorded = manifest.inputs[name];
  if (recorded === undefined) return [`${name}: not recorded (run \`npx tsx scripts/golden.ts record\` on the commit before the change)`];
  const problems: string[] = [];
  for (const role of new Set([...Object.keys(recorded.inputs), ...Object.keys(run.inputs)])) {
    const was = recorded.inputs[role];
    const now = run.inputs[role];
    if (JSON.stringify(was) !== JSON.stringify(now)) {
      problems.push(`${name}: INPUT ${role} changed (recorded ${JSON.stringify(was)}, now ${JSON.stringify(now)}): the inputs must stay fixed for the outputs to be comparable`);
    }
  }
  if (problems.length > 0) return problems;
  for (const file of OUTPUT_FILES) {
    const now = run.outputs.get(file) ?? Buffer.alloc(0);
    const was = await readRecordedOutput(name, file, dir);
    if (was.equals(now)) continue;
    problems.push(`${name}/${firstDifference(file, was.toString('utf8'), now.toString('utf8')) ?? `${file}: bytes differ (not as UTF-8 text)`}`);
  }
  return problems;
}
