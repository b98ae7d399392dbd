/**
 * `npm run bench -- --codec`: per-record cost of the codec against avsc alone, side by side in one run.
 *
 * Inputs (ClickEvent, PosEvent, LocationEvent, from the simulator) are decoded from plain Avro and
 * from the Confluent framing; outputs (Trigger, Decision, Offer, RecommendationUpdate, varied copies
 * of `schemas/samples.ts`) are encoded. "raw avsc" is avsc alone on the same schema: `fromBuffer`,
 * `decode(buf, 5)` and `toBuffer`, with no bounds scan, no contract check and no copy to plain objects.
 *
 * `--baseline DIR` also measures the codec of another checkout (its `schemas/index.ts`, or
 * `schemas/index.js` when compiled), e.g. the commit before a change, in the same rounds.
 *
 * Each figure is the main thread's CPU time per record over the same 512 records (fewer distinct
 * ones where the simulator makes fewer), the median of 11 rounds after a warm-up round. Within a
 * round the variants of a record type run one after another, in an order that changes from round
 * to round, so that load on the machine and the garbage one variant leaves hit them all alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import avsc from 'avsc';
import * as schemas from '../schemas/index.js';
import { SAMPLES } from '../schemas/samples.js';
import { generateEvents } from '../simulator/life.js';
import { generateWorld } from '../simulator/world.js';
import { gc } from './machine.js';

type Codec = typeof schemas;
/** What the benchmark calls: the API every version of the codec has had. */
type CodecApi = Pick<Codec, 'decode' | 'decodeConfluent' | 'encode' | 'encodeConfluent' | 'avroSchema'>;
type InputName = 'ClickEvent' | 'PosEvent' | 'LocationEvent';
type OutputName = 'Trigger' | 'Decision' | 'Offer' | 'RecommendationUpdate';

const RECORDS = 512;
const TRUSTED: schemas.EncodeOptions = { trusted: true };
const ROUNDS = 11;

export interface CodecBenchOptions {
  /** Milliseconds each variant runs per round (default 60). */
  readonly budgetMs?: number;
  /** A checkout whose codec to measure beside this one. */
  readonly baseline?: string;
}

interface Variant {
  readonly label: string;
  readonly run: (i: number) => unknown;
  /** Held to the target (1.5 µs per record). */
  readonly target?: boolean;
}

const TARGET_US = 1.5;

function isCodecApi(m: unknown): m is CodecApi {
  if (typeof m !== 'object' || m === null) return false;
  const api = m as Record<string, unknown>;
  return ['decode', 'decodeConfluent', 'encode', 'encodeConfluent', 'avroSchema'].every((k) => typeof api[k] === 'function');
}

async function loadBaseline(dir: string): Promise<CodecApi> {
  const ts = resolve(dir, 'schemas/index.ts');
  const file = existsSync(ts) ? ts : resolve(dir, 'schemas/index.js');
  const m: unknown = await import(pathToFileURL(file).href);
  if (!isCodecApi(m)) throw new Error(`${file} does not export the codec`);
  return m;
}

const SCHEDSTAT = '/proc/thread-self/schedstat';
const hasSchedstat = existsSync(SCHEDSTAT);

/**
 * CPU nanoseconds of this thread so far (Linux: the first field of `/proc/thread-self/schedstat`);
 * elsewhere, of the whole process.
 */
function cpuNanos(): number {
  if (hasSchedstat) return Number(readFileSync(SCHEDSTAT, 'latin1').split(' ', 1)[0]);
  const t = process.cpuUsage();
  return (t.user + t.system) * 1000;
}

/**
 * CPU microseconds per call of `run` over the records, for about `budgetMs` of CPU time. CPU time
 * of the main thread rather than wall-clock time: the machines are shared, and time spent
 * descheduled while others run is not the codec's; nor is the garbage collector's work on its
 * helper threads, which lands on whichever variant happens to run while it goes on.
 */
function measure(run: (i: number) => unknown, budgetMs: number): number {
  const budget = budgetMs * 1e6;
  let calls = 0;
  let sink = 0;
  const t0 = cpuNanos();
  let elapsed = 0;
  do {
    for (let i = 0; i < RECORDS; i++) if (run(i) !== undefined) sink++;
    calls += RECORDS;
    elapsed = cpuNanos() - t0;
  } while (elapsed < budget);
  if (sink < 0) console.log(sink); // keeps the results alive
  return elapsed / 1e3 / calls;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/** A deterministic shuffle (mulberry32), so that runs order the variants alike. */
function shuffled(n: number, seed: number): number[] {
  let a = seed;
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const j = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (i + 1));
    [out[i], out[j]] = [out[j] ?? i, out[i] ?? j];
  }
  return out;
}

/**
 * Runs every variant for ROUNDS rounds (after a warm-up round) and returns the median µs per call.
 * The order of the variants changes from round to round: a variant runs slower right after some
 * others (garbage they left, CPU time of the collector's helper threads, which is billed to the
 * process), and a fixed order would always bill the same one.
 */
function compare(variants: readonly Variant[], budgetMs: number): number[] {
  for (const v of variants) measure(v.run, budgetMs);
  const samples = variants.map((): number[] => []);
  for (let r = 0; r < ROUNDS; r++) {
    gc();
    for (const index of shuffled(variants.length, r + 1)) {
      const v = variants[index];
      if (v !== undefined) samples[index]?.push(measure(v.run, budgetMs / 2));
    }
  }
  return samples.map(median);
}

function avroType(name: schemas.SchemaName): avsc.Type {
  return avsc.Type.forSchema(schemas.avroSchema(name) as Parameters<typeof avsc.Type.forSchema>[0], { wrapUnions: 'never' });
}

function inputRecords(): { [N in InputName]: schemas.SchemaTypes[N][] } {
  const out: { [N in InputName]: schemas.SchemaTypes[N][] } = { ClickEvent: [], PosEvent: [], LocationEvent: [] };
  for (const r of generateEvents(generateWorld({ seed: 'bench-codec', customers: 300 }), { days: 2 })) {
    if (r.topic === 'clickstream' && out.ClickEvent.length < RECORDS) out.ClickEvent.push(r.value);
    if (r.topic === 'pos' && out.PosEvent.length < RECORDS) out.PosEvent.push(r.value);
    if (r.topic === 'location' && out.LocationEvent.length < RECORDS) out.LocationEvent.push(r.value);
  }
  for (const name of ['ClickEvent', 'PosEvent', 'LocationEvent'] as const) {
    const list: unknown[] = out[name];
    for (let i = 0; list.length < RECORDS; i++) list.push(list[i] ?? SAMPLES[name]);
  }
  return out;
}

function outputRecords(): { [N in OutputName]: schemas.SchemaTypes[N][] } {
  const out: { [N in OutputName]: schemas.SchemaTypes[N][] } = { Trigger: [], Decision: [], Offer: [], RecommendationUpdate: [] };
  for (let i = 0; i < RECORDS; i++) {
    const scene = schemas.SCENES[i % schemas.SCENES.length] ?? 'cart_abandonment';
    const customerId = `cust-${i}`;
    const ts = SAMPLES.Trigger.ts + i * 1000;
    out.Trigger.push({ ...SAMPLES.Trigger, scene, customerId, ts, storeId: i % 3 === 0 ? `store-${i % 7}` : null, productIds: [`sku-${i}`, `sku-${i + 1}`].slice(0, 1 + (i % 2)) });
    out.Decision.push(
      i % 4 === 0
        ? { ...SAMPLES.Decision, decisionId: `dec-${i}`, scene, customerId, ts, outcome: 'suppressed', reason: 'frequency_cap', offerId: null }
        : { ...SAMPLES.Decision, decisionId: `dec-${i}`, scene, customerId, ts, offerId: `offer-${i}` },
    );
    out.Offer.push({ ...SAMPLES.Offer, offerId: `offer-${i}`, customerId, scene, ts, expiresAt: ts + 86_400_000, discountPct: i % 30 });
    out.RecommendationUpdate.push({
      ...SAMPLES.RecommendationUpdate,
      customerId,
      ts,
      items: Array.from({ length: 1 + (i % 5) }, (_, k) => ({ productId: `sku-${i + k}`, score: 1 / (k + 1), reason: `bought_together:sku-${i}` })),
    });
  }
  return out;
}

interface Row {
  readonly record: string;
  readonly variants: readonly Variant[];
  readonly figures: readonly number[];
}

function table(title: string, rows: readonly Row[]): string {
  const labels = rows[0]?.variants.map((v) => v.label) ?? [];
  const lines = [`### ${title}`, '', `| record | ${labels.join(' | ')} | target ${TARGET_US} µs |`, `|---|${labels.map(() => '---:').join('|')}|---|`];
  for (const r of rows) {
    const held = r.figures.filter((_, k) => r.variants[k]?.target === true);
    const worst = Math.max(...held);
    lines.push(`| ${r.record} | ${r.figures.map((f) => f.toFixed(2)).join(' | ')} | ${worst <= TARGET_US ? 'met' : 'NOT met'} (worst ${worst.toFixed(2)}) |`);
  }
  return lines.join('\n');
}

/** Prints two markdown tables (decode, encode) of µs per record. */
export async function runCodecBench(opts: CodecBenchOptions = {}): Promise<void> {
  const budgetMs = opts.budgetMs ?? 60;
  const base = opts.baseline === undefined ? undefined : await loadBaseline(opts.baseline);
  const registry = schemas.defaultRegistry;

  const inputs = inputRecords();
  const decodeRows: Row[] = [];
  for (const name of ['ClickEvent', 'PosEvent', 'LocationEvent'] as const) {
    const raw = avroType(name);
    const plain = inputs[name].map((v) => schemas.encode(name, v));
    const framed = inputs[name].map((v) => schemas.encodeConfluent(name, v));
    for (const [i, bytes] of plain.entries()) {
      const r = schemas.decode(name, bytes);
      if (!r.ok) throw new Error(`${name} record ${i} does not decode: ${r.error.message}`);
    }
    const at = (list: readonly Buffer[], i: number): Buffer => list[i] ?? Buffer.alloc(0);
    const variants: Variant[] = [
      { label: 'raw avsc', run: (i) => raw.fromBuffer(at(plain, i)) },
      { label: 'raw avsc, Confluent', run: (i) => raw.decode(at(framed, i), 5).value },
      { label: 'ours', run: (i) => schemas.decode(name, at(plain, i)), target: true },
      { label: 'ours, Confluent', run: (i) => schemas.decodeConfluent(at(framed, i), registry, name), target: true },
    ];
    if (base !== undefined) {
      variants.push({ label: 'before', run: (i) => base.decode(name, at(plain, i)) });
      variants.push({ label: 'before, Confluent', run: (i) => base.decodeConfluent(at(framed, i), registry, name) });
    }
    const figures = compare(variants, budgetMs);
    decodeRows.push({ record: `${name} (${Math.round(plain.reduce((s, b) => s + b.length, 0) / plain.length)} B)`, variants, figures });
    process.stderr.write(`codec: decoded ${name}\n`);
  }

  const outputs = outputRecords();
  const encodeRows: Row[] = [];
  const encodeCase = <N extends OutputName>(name: N, values: readonly schemas.SchemaTypes[N][]): void => {
    const raw = avroType(name);
    const id = registry.idOf(name);
    const at = (i: number): schemas.SchemaTypes[N] => values[i] ?? SAMPLES[name];
    const variants: Variant[] = [
      { label: 'raw avsc', run: (i) => raw.toBuffer(at(i)) },
      { label: 'ours', run: (i) => schemas.encode(name, at(i)), target: true },
      { label: 'ours, trusted', run: (i) => schemas.encode(name, at(i), TRUSTED) },
      { label: 'ours, Confluent', run: (i) => schemas.encodeConfluent(name, at(i), id), target: true },
    ];
    if (base !== undefined) {
      variants.push({ label: 'before', run: (i) => base.encode(name, at(i)) });
      variants.push({ label: 'before, Confluent', run: (i) => base.encodeConfluent(name, at(i), id) });
    }
    const figures = compare(variants, budgetMs);
    const bytes = values.reduce((s, v) => s + schemas.encode(name, v).length, 0) / values.length;
    encodeRows.push({ record: `${name} (${Math.round(bytes)} B)`, variants, figures });
    process.stderr.write(`codec: encoded ${name}\n`);
  };
  encodeCase('Trigger', outputs.Trigger);
  encodeCase('Decision', outputs.Decision);
  encodeCase('Offer', outputs.Offer);
  encodeCase('RecommendationUpdate', outputs.RecommendationUpdate);

  console.log(`\n${table(`Decode + validate, µs per record (median of ${ROUNDS} rounds)`, decodeRows)}\n`);
  console.log(`${table(`Encode, µs per record (median of ${ROUNDS} rounds)`, encodeRows)}\n`);
  if (base !== undefined) console.log(`"before": the codec of ${join(resolve(opts.baseline ?? '.'), 'schemas')}, measured in the same rounds.\n`);
}
