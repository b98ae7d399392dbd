import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AttributionEvent } from '../pipelines/attribution.js';
import { summariseMeasured, type MeasuredSummary } from '../pipelines/measurement.js';
import { boughtTogetherJsonl } from '../pipelines/boughtTogether.js';
import { hasTargeting, measurementSettings, readCampaignFile, staticCampaign, type Campaign, type CampaignSource } from '../pipelines/campaign.js';
import { profilesFrom, type RetailDeps } from '../pipelines/deps.js';
import { LiveProducts } from '../pipelines/products.js';
import { buildRetail, RETAIL_SINKS } from '../pipelines/retail.js';
import { TOPICS } from '../pipelines/sources.js';
import { fromJson, toJson, type BoughtTogether, type CustomerProfile, type Decision, type Product, type SchemaName, type SchemaTypes, type Store } from '../schemas/index.js';
import { VirtualClock } from '../engine/clock.js';
import { eventTimeAhead, Executor, type DeadLetter } from '../engine/executor.js';
import { pipeline } from '../stream/stream.js';
import type { LiveProfile } from '../pipelines/profile.js';
import { MemoryProfileStore } from './profileStore.js';
import { isScenestreamError, ssError, type ScenestreamError } from '../schemas/errors.js';

/**
 * Replay: the retail pipelines over recorded events, in event-time order on a virtual clock, with
 * every pending timer flushed at the end of input. Same input, same output, byte for byte.
 */

export const TOPIC_SCHEMAS: Readonly<Record<string, SchemaName>> = {
  [TOPICS.clickstream]: 'ClickEvent',
  [TOPICS.pos]: 'PosEvent',
  [TOPICS.location]: 'LocationEvent',
};

/** An input record that could not be used, with why. */
export interface Rejected {
  readonly line: number;
  readonly code: ScenestreamError['code'];
  readonly field: string | null;
  readonly message: string;
}

export interface InputRecord {
  readonly topic: string;
  readonly value: { readonly ts: number };
  readonly line: number;
}

/** Parses one JSONL line `{"topic", "value"}` into a validated record, or says why not. */
export function parseInputLine(text: string, line: number): InputRecord | Rejected {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { line, code: 'SS_ERR_DECODE', field: null, message: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { line, code: 'SS_ERR_VALIDATION', field: null, message: 'a line must be an object {"topic", "value"}' };
  }
  const { topic, value } = raw as { topic?: unknown; value?: unknown };
  const schema = typeof topic === 'string' ? TOPIC_SCHEMAS[topic] : undefined;
  if (schema === undefined) {
    return { line, code: 'SS_ERR_VALIDATION', field: 'topic', message: `topic must be one of ${Object.keys(TOPIC_SCHEMAS).join(', ')}, got ${JSON.stringify(topic)}` };
  }
  const r = fromJson(schema, (value ?? null) as object);
  if (!r.ok) return { line, code: r.error.code, field: r.error.field === undefined ? null : `value.${r.error.field}`, message: r.error.message };
  return { topic: topic as string, value: r.value as { ts: number }, line };
}

/** Reads a JSONL events file: the valid records, and the rejected lines with their reasons. */
export async function readEvents(path: string): Promise<{ records: InputRecord[]; rejected: Rejected[] }> {
  const records: InputRecord[] = [];
  const rejected: Rejected[] = [];
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const text of rl) {
    n++;
    if (text.trim() === '') continue;
    const r = parseInputLine(text, n);
    if ('code' in r) rejected.push(r);
    else records.push(r);
  }
  return { records, rejected };
}

/** A reference file holding a JSON array of records of one schema (`stores.json`, `products.json`). */
async function readJsonArray<N extends 'Store' | 'Product'>(path: string, schema: N, field: string): Promise<Array<SchemaTypes[N]>> {
  const text = await readFile(path, 'utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw ssError('SS_ERR_CONFIG', `${path} is not JSON: ${e instanceof Error ? e.message : String(e)}`, { field });
  }
  if (!Array.isArray(raw)) throw ssError('SS_ERR_CONFIG', `${path} must hold a JSON array of ${schema}`, { field });
  return raw.map((x, i) => {
    const r = fromJson(schema, x as object);
    if (!r.ok) throw ssError('SS_ERR_CONFIG', `${path}: ${schema.toLowerCase()} ${i}: ${r.error.message}`, { field: `${field}.${i}.${r.error.field ?? ''}` });
    return r.value;
  });
}

export async function readStores(path: string): Promise<Store[]> {
  return readJsonArray(path, 'Store', 'stores');
}

/** `products.json`: the product catalogue, a JSON array of Product. */
export async function readProducts(path: string): Promise<Product[]> {
  return readJsonArray(path, 'Product', 'products');
}

export async function readProfiles(path: string): Promise<CustomerProfile[]> {
  const out: CustomerProfile[] = [];
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const text of rl) {
    n++;
    if (text.trim() === '') continue;
    const r = fromJson('CustomerProfile', text);
    if (!r.ok) throw ssError('SS_ERR_CONFIG', `${path}:${n}: ${r.error.message}`, { field: `profiles.${n}.${r.error.field ?? ''}` });
    out.push(r.value);
  }
  return out;
}

export interface ReplayResult {
  readonly outputs: Readonly<Record<string, readonly unknown[]>>;
  /** The bought-together table at the end of input (SCENES.md §5). */
  readonly boughtTogether: readonly BoughtTogether[];
  /** SCENES.md §7's summary and the measurement of the campaign (`summary.json`). */
  readonly summary: MeasuredSummary;
  readonly deadLetters: readonly DeadLetter[];
  /** The latest event time of the input (-Infinity for none): where the input ended, before `end()` fired the timers beyond it. */
  readonly endTs: number;
}

/** Event-time sanity of a replay: records stamped further ahead of the wall clock are dead letters. */
export interface ReplaySanity {
  /** Default 300,000 (5 minutes), as production mode's `MAX_EVENT_AHEAD_MS`. */
  readonly maxEventAheadMs?: number;
  /** The wall clock's now (tests pin it); default `Date.now()` when the replay starts. */
  readonly now?: number;
}

/**
 * Runs the retail pipelines over records (any order: they are sorted by ts, ties in input order),
 * with a virtual clock that follows event time, and flushes every timer at the end.
 *
 * A record stamped more than `maxEventAheadMs` ahead of the **wall clock** (a year-3000 typo) is a
 * dead letter (`SS_ERR_EVENT_TIME`) and never reaches the pipelines: it would otherwise come last
 * and fire everything still pending at its own time. The bound is not taken from the watermark, as
 * in a live job it could be: a replay of real data has quiet days (a holiday) that are not errors.
 */
export function replayRecords(records: readonly InputRecord[], deps: RetailDeps, campaign: CampaignSource = staticCampaign(), sanity: ReplaySanity = {}): ReplayResult {
  const now = sanity.now ?? Date.now();
  const bound = sanity.maxEventAheadMs ?? 300_000;
  const deadLetters: DeadLetter[] = [];
  const kept: InputRecord[] = [];
  for (const r of records) {
    if (r.value.ts > now + bound) deadLetters.push({ source: r.topic, value: r.value, ts: r.value.ts, partition: 0, index: r.line, error: eventTimeAhead(r.topic, r.value.ts, now, bound) });
    else kept.push(r);
  }
  // Array.prototype.sort is stable (ES2019): equal ts keep their input order, as SCENES.md asks.
  const sorted = kept.sort((a, b) => a.value.ts - b.value.ts);
  const p = pipeline('retail');
  const retail = buildRetail(p, { deps, campaign });
  const graph = p.build();
  const outputs: Record<string, unknown[]> = Object.fromEntries(graph.sinks.map((s) => [s.id, []]));
  const clock = new VirtualClock(0);
  const exec = new Executor(graph, {
    clock,
    sinks: Object.fromEntries(graph.sinks.map((s) => [s.id, (v: unknown) => void outputs[s.id]!.push(v)])),
    onDeadLetter: (d) => deadLetters.push(d),
  });
  for (const r of sorted) {
    if (r.value.ts > clock.now()) clock.set(r.value.ts);
    exec.push(r.topic, r.value);
  }
  exec.end();
  const summary = summariseMeasured(outputs[RETAIL_SINKS.decisions] as Decision[], outputs[RETAIL_SINKS.attribution] as AttributionEvent[], measurementSettings(campaign.current()), { segmentReason: hasTargeting(campaign.current()) });
  const endTs = sorted.length > 0 ? sorted[sorted.length - 1]!.value.ts : -Infinity;
  return { outputs, summary, deadLetters, boughtTogether: retail.boughtTogether.table(), endTs };
}

const OUTPUT_FILES: ReadonlyArray<readonly [string, SchemaName, string]> = [
  [RETAIL_SINKS.triggers, 'Trigger', 'triggers.jsonl'],
  [RETAIL_SINKS.decisions, 'Decision', 'decisions.jsonl'],
  [RETAIL_SINKS.offers, 'Offer', 'offers.jsonl'],
  [RETAIL_SINKS.recommendations, 'RecommendationUpdate', 'recommendations.jsonl'],
];

export interface ReplayFilesOptions {
  readonly input: string;
  readonly out: string;
  readonly stores?: string;
  readonly profiles?: string;
  /** `products.json`: the product catalogue for offer titles. */
  readonly products?: string;
  readonly config?: string;
}

export interface ReplayFilesResult extends ReplayResult {
  /** The campaign replayed with (`--config`, or SCENES.md's defaults). */
  readonly campaign: Campaign;
  readonly files: readonly string[];
  readonly rejected: readonly Rejected[];
  readonly events: number;
  /** Why scenes could not fire or be sent for lack of reference data ({@link referenceWarnings}); also in `summary.json` when any. */
  readonly warnings: readonly string[];
}

/**
 * What a replay could not do for lack of reference data, one sentence each, so that a run of real
 * data without it says why its summary is empty rather than leaving the reader to guess:
 *
 * - location events but no stores: store_proximity and commute (both need a store) cannot fire;
 * - decisions suppressed as `no_consent` for customers without a profile (SCENES.md §2: no profile,
 *   no consent on any channel): with no profiles at all, every decision not held out.
 *
 * Only what the input would have needed: pos events without stores, or no triggers without
 * profiles, say nothing.
 */
export function referenceWarnings(
  records: readonly InputRecord[],
  reference: { readonly stores: readonly Store[]; readonly profiles: readonly CustomerProfile[] },
  decisions: readonly Decision[],
): string[] {
  const known = new Set(reference.profiles.map((p) => p.customerId));
  const warnings: string[] = [];
  const pings = records.filter((r) => r.topic === TOPICS.location).length;
  if (pings > 0 && reference.stores.length === 0) warnings.push(`no stores loaded: store_proximity and commute cannot fire on the ${pings} location events (give --stores)`);
  const unknown = decisions.filter((d) => d.reason === 'no_consent' && !known.has(d.customerId));
  if (unknown.length > 0) {
    const customers = new Set(unknown.map((d) => d.customerId)).size;
    warnings.push(
      known.size === 0
        ? `no profiles loaded: every decision not held out (${unknown.length}) was suppressed as no_consent, since a customer without a profile consents to no channel (give --profiles)`
        : `${customers} customers have no profile: their ${unknown.length} decisions were suppressed as no_consent (a customer without a profile consents to no channel)`,
    );
  }
  return warnings;
}

/** `scenestream replay`: files in, files out. */
export async function replayFiles(o: ReplayFilesOptions): Promise<ReplayFilesResult> {
  let campaign: CampaignSource = staticCampaign();
  if (o.config !== undefined) {
    const c = readCampaignFile(o.config);
    if (!c.ok) throw c.error;
    campaign = staticCampaign(c.value);
  }
  const stores = o.stores !== undefined ? await readStores(o.stores) : [];
  const profiles = o.profiles !== undefined ? await readProfiles(o.profiles) : [];
  const products = o.products !== undefined ? new LiveProducts(await readProducts(o.products)) : undefined;
  const { records, rejected } = await readEvents(o.input);
  const result = replayRecords(records, { stores, profiles: profilesFrom(profiles), ...(products !== undefined ? { products } : {}) }, campaign);
  const warnings = referenceWarnings(records, { stores, profiles }, result.outputs[RETAIL_SINKS.decisions] as Decision[]);
  await mkdir(o.out, { recursive: true });
  const files: string[] = [];
  const write = async (name: string, text: string) => {
    const path = join(o.out, name);
    await writeFile(path, text);
    files.push(path);
  };
  for (const [sink, schema, file] of OUTPUT_FILES) {
    await write(file, (result.outputs[sink] ?? []).map((v) => `${toJson(schema, v as never)}\n`).join(''));
  }
  await write('bought_together.jsonl', boughtTogetherJsonl(result.boughtTogether));
  // `warnings` only when there is something to say, so a replay with its reference data writes §7's shape unchanged.
  await write('summary.json', `${JSON.stringify(warnings.length > 0 ? { ...result.summary, warnings } : result.summary, null, 2)}\n`);
  const dead = [
    ...rejected.map((r) => ({ line: r.line, code: r.code, field: r.field, message: r.message })),
    ...result.deadLetters.map((d) => ({ line: null, source: d.source, code: d.error.code, field: d.error.field ?? null, message: d.error.message })),
  ];
  await write('dead_letters.jsonl', dead.map((d) => `${JSON.stringify(d)}\n`).join(''));
  await write('profiles.jsonl', finalProfiles(result.outputs[RETAIL_SINKS.profiles] as LiveProfile[], result.endTs).map((p) => `${JSON.stringify(p)}\n`).join(''));
  return { ...result, campaign: campaign.current(), files, rejected, events: records.length, warnings };
}

/**
 * Each customer's profile where the input ended (`endTs`), by customerId, as `profiles.jsonl`
 * writes it: the last one emitted with `asOf <= endTs`. A customer's profiles come in event-time
 * order, and `end()` fires the timers up to `endTs` (every record applied) before the expiries and
 * recency drops beyond it, so this is the profile as of the end of the input: scores and segment
 * as at `endTs`, `asOf` the customer's last change up to then.
 */
export function finalProfiles(emitted: readonly LiveProfile[] = [], endTs = Infinity): LiveProfile[] {
  const store = new MemoryProfileStore();
  for (const p of emitted) if (p.asOf <= endTs) store.put(p);
  return store.all();
}

export function describeError(e: unknown): string {
  return isScenestreamError(e) ? e.message : e instanceof Error ? e.message : String(e);
}
