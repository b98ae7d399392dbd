/**
 * Campaign configuration: one JSON file with the scene parameters, the decision parameters and the
 * offer templates, validated at start and reloadable while running.
 *
 * ## The file
 *
 * Every section and every field is optional; what is given overrides {@link DEFAULT_PARAMS} and
 * {@link DEFAULT_OFFER_TEMPLATES} field by field (objects merge, arrays and values replace):
 *
 * ```json
 * {
 *   "name": "spring-2025",
 *   "scenes": {
 *     "cartAbandonment": { "timeoutMs": 1800000 },
 *     "storeProximity": { "dwellMs": 90000 },
 *     "commute": { "windows": [{ "start": "07:00", "end": "09:30" }, { "start": "17:00", "end": "19:30" }] }
 *   },
 *   "decisions": {
 *     "holdoutSalt": "spring-2025", "holdoutRatio": 0.1,
 *     "channels": { "store_proximity": "in_store" },
 *     "quietHours": { "start": "22:00", "end": "07:00" },
 *     "capPerDay": 2
 *   },
 *   "offers": { "cart_abandonment": { "campaignId": "spring-cart", "title": "Still thinking? 15% off", "discountPct": 15, "expiresInMs": 86400000 } }
 * }
 * ```
 *
 * - `scenes.<scene>` uses the camelCase names of `pipelines/params.ts` (`cartAbandonment`,
 *   `browseAbandonment`, `storeProximity`, `commute`, `dormantReactivation`) and their fields.
 * - `decisions` has the fields of `DecisionParams`; `channels` and `offers` are keyed by the scene's
 *   wire name (`cart_abandonment`, ...), as in Trigger and Offer.
 * - An offer's `title` may name `{product}`, `{category}`, `{price}` (of the offer's first product,
 *   from the product catalogue), `{store}` (the store's name) and `{discount}`; a title with
 *   placeholders needs a `fallbackTitle` without any, used when a placeholder has no value.
 * - `measurement` says how results are reported (`pipelines/measurement.ts`): `minPerArm`, the
 *   decisions each arm (sent, holdout) needs before uplift and the figures after it are given
 *   (default 30; below it "not enough data"), and `currency`, the ISO 4217 code of the input's
 *   prices shown with every amount (default `CNY`). The attribution window is
 *   `decisions.attributionMs` (default 24 h).
 * - `recommendations` has the fields of `RecommendationParams` (`topN`, `weights.viewed|carted|bought`,
 *   `halfLifeMs`, `maxHistory`, `maxBought`, `retentionMs`, `decimals`).
 * - Local-time windows (`decisions.quietHours`, `scenes.commute.windows`) are written
 *   `{"start": "HH:MM", "end": "HH:MM"}`, 24-hour clock, `[start, end)`; `end` may be `"24:00"`.
 *   Quiet hours may wrap midnight (`22:00` to `07:00`); commute windows may not. Strings rather than
 *   minutes because a marketer reads `"22:00"` at a glance and cannot confuse it with a duration.
 * - Durations are integer milliseconds (`...Ms`), distances metres, speeds m/s.
 * - `segments` names boolean rules over the live profile (`"vip": "rfm.segment in [champions, loyal]
 *   and tier >= gold"`, `segments.ts`), parsed when the file loads; `offers.<scene>.targets` and
 *   `excludes` list segment names. A decision of a scene whose offer names segments is suppressed
 *   as `segment` when the customer is in none of its targets or in one of its excludes
 *   (`decisions.ts`). A bad rule is reported as `segments.<name> at column C, field F: ...`.
 * - Unknown keys are rejected with their path (a typo must not silently fall back to a default).
 *
 * Every problem in the file is reported, each as a dotted path and a sentence
 * (`scenes.storeProximity.dwellMs must be an integer >= 0 (got -5)`); the thrown
 * `SS_ERR_CONFIG` lists them all and its `field` is the first.
 *
 * ## Reloading
 *
 * {@link openCampaign} returns a {@link CampaignHandle}. "Changes apply to new triggers, nothing in
 * flight is lost", precisely (`buildRetail`):
 *
 * - Every step reads `handle.current()` once per record or timer it handles, and uses that frozen
 *   {@link Campaign} for the whole of that work: a reload never changes one half-way.
 * - Scenes (`scenes.*`, `defaultStoreRadiusM`, `defaultTimezone`) judge each record with the
 *   parameters current when the step applies it: as the watermark passes its ts (scenes apply a
 *   customer's records in event-time order), not when it arrives. What earlier records left in the
 *   state stays as computed then: a cart armed before a reload keeps the deadline computed when it
 *   was armed (the new timeout applies to carts armed after); a visit keeps its start, and its
 *   dwell is judged with the dwell current at the ping that would fire; cooldowns run from the
 *   last trigger as recorded, judged with the cooldown current at the later record; a commute
 *   window remembers "fired today" by its bounds.
 * - The decision step (`decisions.*` except `attributionMs`, offer templates, segments and
 *   targeting) reads the campaign for every trigger: offers made before keep their title, discount
 *   and expiry; a reloaded segment rule judges the triggers decided after the reload.
 * - Recommendations (`recommendations.*` except `retentionMs`) apply from a customer's next event.
 * - Read only when the graph is built (a state's TTL, a window's size are part of the graph):
 *   `decisions.attributionMs` and `recommendations.retentionMs`; they change at the next start.
 * - Nothing is restarted, so no state, timer or buffered record is dropped by a reload.
 *
 * A file that fails to read or validate on reload keeps the current campaign, is logged and
 * counted (`result="error"`), and never throws out of the watcher.
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isScenestreamError, ScenestreamError, ssError } from '../schemas/errors.js';
import { DELIVERY_CHANNELS, SCENES, type DeliveryChannel, type Result, type Scene } from '../schemas/index.js';
import { DEFAULT_OFFER_TEMPLATES, type OfferTemplate, type OfferTemplates } from './offers.js';
import { MEASUREMENT_DEFAULTS, type MeasurementParams, type MeasurementSettings } from './measurement.js';
import { titleProblems } from './products.js';
import { DEFAULT_PARAMS, type DecisionParams, type LocalWindow, type RetailParams, type SceneParams } from './params.js';
import type { ProfileParams } from './profile.js';
import type { RecommendationParams } from './recommendations.js';
import { isRfmSegment } from './rfm.js';
import { parseSegmentRule, type CampaignSegment, type SegmentTargeting } from './segments.js';

/** A validated campaign: resolved parameters and templates, deeply frozen. */
export interface Campaign {
  /** `name` from the file, or `default`. */
  readonly name: string;
  readonly params: RetailParams;
  readonly templates: OfferTemplates;
  /** How results are measured: minimum sample per arm and currency (`measurement`; the window is `decisions.attributionMs`). */
  readonly measurement: MeasurementParams;
  /** The named segments (`segments`), in the file's order; none by default. */
  readonly segments: readonly CampaignSegment[];
  /** Per scene, the segments its offer targets and excludes (`offers.<scene>.targets|excludes`). */
  readonly targeting: Readonly<Record<Scene, SegmentTargeting>>;
  /** The first 16 hex digits of the sha256 of the file's text: which version is live, in logs. */
  readonly digest: string;
  /** Where it came from (a file path, or `<defaults>` / `<inline>`). */
  readonly source: string;
}

/** One thing wrong with a campaign file. */
export interface ConfigProblem {
  /** Dotted path of the bad field (`scenes.storeProximity.dwellMs`); `$` for the whole file. */
  readonly field: string;
  /** A sentence that starts with the path. */
  readonly message: string;
}

/** What pipelines depend on: the campaign to use for the trigger at hand. */
export interface CampaignSource {
  current(): Campaign;
}

// ---------------------------------------------------------------------------------------------
// The specification of the file, typed so that it must cover every field of RetailParams.

interface IntSpec {
  readonly kind: 'int';
  readonly min: number;
  readonly max?: number;
}
interface NumSpec {
  readonly kind: 'num';
  readonly min: number;
  readonly max?: number;
  /** `min` itself is not allowed. */
  readonly above?: boolean;
}
interface StrSpec {
  readonly kind: 'str';
  readonly nonEmpty: boolean;
  /** A shape the string must have, and how the message says it. */
  readonly pattern?: { readonly re: RegExp; readonly says: string };
}
interface TimeZoneSpec {
  readonly kind: 'timezone';
}
interface EnumSpec {
  readonly kind: 'enum';
  readonly values: readonly string[];
}
interface WindowSpec {
  readonly kind: 'window';
  /** Whether `start > end` (across midnight) is allowed. */
  readonly wraps: boolean;
}
interface ArraySpec<E> {
  readonly kind: 'array';
  readonly of: Spec<E>;
  readonly nonEmpty: boolean;
  readonly distinct: boolean;
  /** Exactly this many entries. */
  readonly length?: number;
  /** Strictly ascending (numbers). */
  readonly ascending?: boolean;
}
interface ObjectSpec<T> {
  readonly kind: 'object';
  /** What a key names, for the message on an unknown key (`scene`, `field`). */
  readonly keyNoun: string;
  readonly fields: { readonly [K in keyof T]-?: Spec<T[K]> };
}

/** The spec of a value of type T; tuple-wrapped so unions (`DeliveryChannel`) do not distribute. */
type Spec<T> = [T] extends [LocalWindow]
  ? WindowSpec
  : [T] extends [readonly (infer E)[]]
    ? ArraySpec<E>
    : [T] extends [number]
      ? IntSpec | NumSpec
      : [T] extends [string]
        ? StrSpec | TimeZoneSpec | EnumSpec
        : ObjectSpec<T>;

type AnySpec = IntSpec | NumSpec | StrSpec | TimeZoneSpec | EnumSpec | WindowSpec | ArraySpec<unknown> | ObjectSpec<Record<string, unknown>>;

const intMin = (min: number, max?: number): IntSpec => (max === undefined ? { kind: 'int', min } : { kind: 'int', min, max });
const durationMs = intMin(0);
const positiveMs = intMin(1);
const metres: NumSpec = { kind: 'num', min: 0 };

const SCENE_SPEC: ObjectSpec<SceneParams> = {
  kind: 'object',
  keyNoun: 'scene',
  fields: {
    cartAbandonment: { kind: 'object', keyNoun: 'field', fields: { timeoutMs: positiveMs } },
    browseAbandonment: { kind: 'object', keyNoun: 'field', fields: { views: intMin(1), windowMs: durationMs, cooldownMs: durationMs } },
    storeProximity: { kind: 'object', keyNoun: 'field', fields: { dwellMs: durationMs, cooldownMs: durationMs, maxAccuracyM: metres } },
    commute: {
      kind: 'object',
      keyNoun: 'field',
      fields: {
        weekdays: { kind: 'array', of: intMin(1, 7), nonEmpty: true, distinct: true },
        windows: { kind: 'array', of: { kind: 'window', wraps: false }, nonEmpty: true, distinct: false },
        minSpeedMps: { kind: 'num', min: 0 },
        storeWithinM: { kind: 'num', min: 0, above: true },
        maxGapMs: positiveMs,
        maxAccuracyM: metres,
      },
    },
    dormantReactivation: { kind: 'object', keyNoun: 'field', fields: { dormantMs: positiveMs, cooldownMs: durationMs } },
  },
};

const channelSpec: EnumSpec = { kind: 'enum', values: DELIVERY_CHANNELS };

const DECISION_SPEC: ObjectSpec<DecisionParams> = {
  kind: 'object',
  keyNoun: 'field',
  fields: {
    holdoutSalt: { kind: 'str', nonEmpty: false },
    holdoutRatio: { kind: 'num', min: 0, max: 1 },
    channels: {
      kind: 'object',
      keyNoun: 'scene',
      fields: Object.fromEntries(SCENES.map((s) => [s, channelSpec])) as { readonly [S in Scene]: Spec<DeliveryChannel> },
    },
    quietHours: { kind: 'window', wraps: true },
    quietChannels: { kind: 'array', of: channelSpec, nonEmpty: false, distinct: true },
    capPerDay: intMin(0),
    capPerScenePerDay: intMin(0),
    attributionMs: positiveMs,
  },
};

const RECOMMENDATION_SPEC: ObjectSpec<RecommendationParams> = {
  kind: 'object',
  keyNoun: 'field',
  fields: {
    topN: intMin(1),
    weights: { kind: 'object', keyNoun: 'weight', fields: { viewed: { kind: 'num', min: 0 }, carted: { kind: 'num', min: 0 }, bought: { kind: 'num', min: 0 } } },
    halfLifeMs: positiveMs,
    maxHistory: intMin(1),
    maxBought: intMin(0),
    retentionMs: positiveMs,
    decimals: intMin(0, 10),
  },
};

const ascending4 = (of: IntSpec | NumSpec): ArraySpec<number> => ({ kind: 'array', of, nonEmpty: true, distinct: true, length: 4, ascending: true });

const PROFILE_SPEC: ObjectSpec<ProfileParams> = {
  kind: 'object',
  keyNoun: 'field',
  fields: {
    horizonMs: positiveMs,
    recencyMs: ascending4(durationMs),
    frequency: ascending4(intMin(0)),
    monetary: ascending4({ kind: 'num', min: 0 }),
    interestHalfLifeMs: positiveMs,
    interestWeights: { kind: 'object', keyNoun: 'weight', fields: { viewed: { kind: 'num', min: 0 }, carted: { kind: 'num', min: 0 }, bought: { kind: 'num', min: 0 } } },
    topCategories: intMin(1),
    maxCategories: intMin(1),
    maxPurchases: intMin(2),
    maxCartItems: intMin(1),
  },
};

const TEMPLATE_SPEC: ObjectSpec<OfferTemplate> = {
  kind: 'object',
  keyNoun: 'field',
  fields: {
    campaignId: { kind: 'str', nonEmpty: true },
    title: { kind: 'str', nonEmpty: true },
    fallbackTitle: { kind: 'str', nonEmpty: false },
    discountPct: { kind: 'num', min: 0, max: 100 },
    expiresInMs: durationMs,
  },
};

const MEASUREMENT_SPEC: ObjectSpec<MeasurementParams> = {
  kind: 'object',
  keyNoun: 'field',
  fields: {
    minPerArm: intMin(1),
    currency: { kind: 'str', nonEmpty: true, pattern: { re: /^[A-Z]{3}$/, says: 'must be an ISO 4217 currency code of three capital letters such as "CNY"' } },
  },
};

/** The whole file, as the resolved values it produces. */
interface CampaignValues {
  readonly name: string;
  readonly scenes: SceneParams;
  readonly decisions: DecisionParams;
  readonly recommendations: RecommendationParams;
  readonly profile: ProfileParams;
  readonly defaultTimezone: string;
  readonly defaultStoreRadiusM: number;
  readonly offers: OfferTemplates;
  readonly measurement: MeasurementParams;
}

const FILE_SPEC: ObjectSpec<CampaignValues> = {
  kind: 'object',
  keyNoun: 'section',
  fields: {
    name: { kind: 'str', nonEmpty: true },
    scenes: SCENE_SPEC,
    decisions: DECISION_SPEC,
    recommendations: RECOMMENDATION_SPEC,
    profile: PROFILE_SPEC,
    defaultTimezone: { kind: 'timezone' },
    defaultStoreRadiusM: { kind: 'num', min: 0, above: true },
    offers: { kind: 'object', keyNoun: 'scene', fields: Object.fromEntries(SCENES.map((s) => [s, TEMPLATE_SPEC])) as { readonly [S in Scene]: ObjectSpec<OfferTemplate> } },
    measurement: MEASUREMENT_SPEC,
  },
};

// ---------------------------------------------------------------------------------------------
// Validation: walks the raw JSON against the spec, merging over the defaults, collecting problems.

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? 'an object' : String(v));

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** `HH:MM` (24-hour) to minutes after midnight; `24:00` only where `allow24`. */
function parseClock(text: unknown, allow24: boolean): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (m === null) return undefined;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  if (minutes > 24 * 60 || (minutes === 24 * 60 && !allow24)) return undefined;
  return minutes;
}

function formatClock(min: number): string {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
}

class Walker {
  readonly problems: ConfigProblem[] = [];

  /** Records a problem; `got` (one value, possibly undefined) is quoted when given. */
  private bad(field: string, what: string, ...got: [unknown?]): undefined {
    const gotText = got.length > 0 ? ` (got ${got[0] === undefined ? 'nothing' : describe(got[0])})` : '';
    this.problems.push({ field, message: `${field} ${what}${gotText}` });
    return undefined;
  }

  /** The value of `raw` (or `base` where `raw` is undefined) per `spec`, or undefined after a problem. */
  walk(spec: AnySpec, raw: unknown, base: unknown, path: string): unknown {
    if (raw === undefined) return copy(base);
    switch (spec.kind) {
      case 'int': {
        const range = spec.max === undefined ? `>= ${spec.min}` : `in [${spec.min}, ${spec.max}]`;
        if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < spec.min || (spec.max !== undefined && raw > spec.max)) {
          return this.bad(path, `must be an integer ${range}`, raw);
        }
        return raw;
      }
      case 'num': {
        const lower = spec.above === true ? `> ${spec.min}` : `>= ${spec.min}`;
        const range = spec.max === undefined ? lower : `in [${spec.min}, ${spec.max}]`;
        const belowMin = typeof raw === 'number' && (spec.above === true ? raw <= spec.min : raw < spec.min);
        if (typeof raw !== 'number' || !Number.isFinite(raw) || belowMin || (spec.max !== undefined && raw > spec.max)) {
          return this.bad(path, `must be a number ${range}`, raw);
        }
        return raw;
      }
      case 'str':
        if (typeof raw !== 'string' || (spec.nonEmpty && raw.trim() === '')) return this.bad(path, spec.nonEmpty ? 'must be a non-empty string' : 'must be a string', raw);
        if (spec.pattern !== undefined && !spec.pattern.re.test(raw)) return this.bad(path, spec.pattern.says, raw);
        return raw;
      case 'timezone':
        if (typeof raw !== 'string' || !isTimeZone(raw)) return this.bad(path, 'must be an IANA timezone name such as "Asia/Shanghai"', raw);
        return raw;
      case 'enum':
        if (typeof raw !== 'string' || !spec.values.includes(raw)) return this.bad(path, `must be one of ${spec.values.join(', ')}`, raw);
        return raw;
      case 'window':
        return this.window(spec, raw, path);
      case 'array':
        return this.array(spec, raw, path);
      case 'object':
        return this.object(spec, raw, base, path);
    }
  }

  private window(spec: WindowSpec, raw: unknown, path: string): LocalWindow | undefined {
    if (!isPlainObject(raw)) return this.bad(path, 'must be {"start": "HH:MM", "end": "HH:MM"}', raw);
    let ok = true;
    for (const k of Object.keys(raw)) {
      if (k !== 'start' && k !== 'end') {
        this.bad(`${path}.${k}`, 'is not a field of a time window (start, end)');
        ok = false;
      }
    }
    const startMin = parseClock(raw.start, false);
    const endMin = parseClock(raw.end, true);
    if (startMin === undefined) this.bad(`${path}.start`, 'must be a time "HH:MM" from "00:00" to "23:59"', raw.start);
    if (endMin === undefined) this.bad(`${path}.end`, 'must be a time "HH:MM" from "00:00" to "24:00"', raw.end);
    if (!ok || startMin === undefined || endMin === undefined) return undefined;
    if (startMin === endMin) return this.bad(path, `is empty (start = end = ${formatClock(startMin)})`);
    if (!spec.wraps && startMin > endMin) return this.bad(path, `must not cross midnight (start ${formatClock(startMin)} is after end ${formatClock(endMin)})`);
    return { startMin, endMin };
  }

  private array(spec: ArraySpec<unknown>, raw: unknown, path: string): unknown[] | undefined {
    if (!Array.isArray(raw)) return this.bad(path, 'must be an array', raw);
    if (spec.nonEmpty && raw.length === 0) return this.bad(path, 'must not be empty');
    const before = this.problems.length;
    const out = raw.map((item, i) => this.walk(spec.of as AnySpec, item, undefined, `${path}.${i}`));
    if (this.problems.length > before) return undefined;
    if (spec.length !== undefined && out.length !== spec.length) return this.bad(path, `must have exactly ${spec.length} entries`, raw);
    if (spec.ascending === true) {
      for (let i = 1; i < out.length; i++) if (!((out[i] as number) > (out[i - 1] as number))) return this.bad(`${path}.${i}`, `must be greater than the entry before (${String(out[i - 1])})`, out[i]);
    }
    if (spec.distinct) {
      const seen = new Set<string>();
      for (const [i, v] of out.entries()) {
        const k = JSON.stringify(v);
        if (seen.has(k)) return this.bad(`${path}.${i}`, 'repeats an earlier entry', v);
        seen.add(k);
      }
    }
    return out;
  }

  private object(spec: ObjectSpec<Record<string, unknown>>, raw: unknown, base: unknown, path: string): Record<string, unknown> | undefined {
    const here = path === '' ? '$' : path;
    if (!isPlainObject(raw)) return this.bad(here, 'must be an object', raw);
    const known = Object.keys(spec.fields);
    const baseObj = isPlainObject(base) ? base : {};
    let ok = true;
    for (const k of Object.keys(raw)) {
      if (!Object.hasOwn(spec.fields, k)) {
        this.bad(path === '' ? k : `${path}.${k}`, `is not a known ${spec.keyNoun} (expected one of: ${known.join(', ')})`);
        ok = false;
      }
    }
    const out: Record<string, unknown> = {};
    for (const k of known) {
      const child = this.walk(spec.fields[k] as AnySpec, raw[k], baseObj[k], path === '' ? k : `${path}.${k}`);
      if (child === undefined) ok = false;
      else out[k] = child;
    }
    return ok ? out : undefined;
  }
}

/** A fresh deep copy of plain JSON-like data (defaults are never shared with a frozen campaign). */
function copy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copy);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)]));
  return v;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

const DEFAULT_VALUES: CampaignValues = {
  name: 'default',
  scenes: DEFAULT_PARAMS.scenes,
  decisions: DEFAULT_PARAMS.decisions,
  recommendations: DEFAULT_PARAMS.recommendations,
  profile: DEFAULT_PARAMS.profile,
  defaultTimezone: DEFAULT_PARAMS.defaultTimezone,
  defaultStoreRadiusM: DEFAULT_PARAMS.defaultStoreRadiusM,
  offers: DEFAULT_OFFER_TEMPLATES,
  measurement: MEASUREMENT_DEFAULTS,
};

const digestOf = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);

// ---------------------------------------------------------------------------------------------
// Segments: a map of names to rules, and each offer's targets and excludes. Validated beside the
// walker (their keys are the user's names, not a fixed spec), with the same kind of problems.

/** A segment's name: it is a metric label and a path of the profile API, beside the RFM segments. */
const SEGMENT_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const TARGETING_KEYS = ['targets', 'excludes'] as const;

interface SplitSegments {
  /** The file without `segments` and without the offers' `targets` and `excludes`. */
  readonly rest: unknown;
  readonly segments: unknown;
  readonly targeting: ReadonlyArray<{ readonly scene: string; readonly key: (typeof TARGETING_KEYS)[number]; readonly raw: unknown }>;
}

function splitSegments(json: unknown): SplitSegments {
  if (!isPlainObject(json)) return { rest: json, segments: undefined, targeting: [] };
  const { segments, ...rest } = json;
  const targeting: Array<SplitSegments['targeting'][number]> = [];
  if (isPlainObject(rest.offers)) {
    const offers: Record<string, unknown> = {};
    for (const [scene, tpl] of Object.entries(rest.offers)) {
      if (!isPlainObject(tpl)) {
        offers[scene] = tpl;
        continue;
      }
      const { targets, excludes, ...template } = tpl;
      if (targets !== undefined) targeting.push({ scene, key: 'targets', raw: targets });
      if (excludes !== undefined) targeting.push({ scene, key: 'excludes', raw: excludes });
      offers[scene] = template;
    }
    rest.offers = offers;
  }
  return { rest, segments, targeting };
}

/**
 * Where column `column` of segment `name`'s rule is in the file's text, as the CLI shows a JSON
 * error (1-based line and column); undefined without the text or if the rule is not found as written.
 */
function rulePosition(text: string | undefined, name: string, rule: string, column: number): { line: number; column: number } | undefined {
  if (text === undefined) return undefined;
  const key = text.indexOf(JSON.stringify(name));
  const at = key < 0 ? -1 : text.indexOf(JSON.stringify(rule), key);
  if (at < 0) return undefined;
  // The opening quote, then the rule's text up to the column as JSON escapes it.
  const pos = at + 1 + JSON.stringify(rule.slice(0, column - 1)).length - 2;
  const before = text.slice(0, pos);
  return { line: before.split('\n').length, column: pos - before.lastIndexOf('\n') };
}

/** Parses the segments and the offers' targeting, adding what is wrong to `problems`. */
function segmentProblems(split: SplitSegments, problems: ConfigProblem[], text?: string): { segments: CampaignSegment[]; targeting: Record<Scene, SegmentTargeting> } {
  const bad = (field: string, message: string): void => {
    problems.push({ field, message: `${field} ${message}` });
  };
  const segments: CampaignSegment[] = [];
  if (split.segments !== undefined && !isPlainObject(split.segments)) bad('segments', `must be an object of segment names to rules (got ${describe(split.segments)})`);
  else {
    for (const [name, rule] of Object.entries(split.segments ?? {})) {
      const field = `segments.${name}`;
      if (!SEGMENT_NAME.test(name)) bad(field, 'is not a segment name: lower-case letters, digits and _, starting with a letter, at most 64');
      else if (isRfmSegment(name)) bad(field, 'is the name of an RFM segment; name it otherwise (rfm.segment = ' + name + ' reads that one)');
      else if (typeof rule !== 'string') bad(field, `must be a rule such as "rfm.segment in [champions, loyal] and tier >= gold" (got ${describe(rule)})`);
      else {
        const r = parseSegmentRule(rule);
        if (r.ok) segments.push({ name, rule, expr: r.expr });
        else {
          const inFile = rulePosition(text, name, rule, r.problem.column);
          const where = inFile === undefined ? '' : ` (line ${inFile.line}, column ${inFile.column} of the file)`;
          bad(field, `at column ${r.problem.column}${where}${r.problem.field !== undefined ? `, field ${r.problem.field}` : ''}: ${r.problem.message}`);
        }
      }
    }
  }
  const names = new Set(Object.keys(isPlainObject(split.segments) ? split.segments : {}));
  const targeting = Object.fromEntries(SCENES.map((s) => [s, { targets: [] as string[], excludes: [] as string[] }])) as Record<Scene, { targets: string[]; excludes: string[] }>;
  for (const { scene, key, raw } of split.targeting) {
    const field = `offers.${scene}.${key}`;
    if (!(SCENES as readonly string[]).includes(scene)) continue; // the walker reports the unknown scene
    if (!Array.isArray(raw)) {
      bad(field, `must be an array of segment names (got ${describe(raw)})`);
      continue;
    }
    raw.forEach((n: unknown, i) => {
      if (typeof n !== 'string' || !names.has(n)) bad(`${field}.${i}`, `must name a segment of this file (${names.size > 0 ? [...names].join(', ') : 'it defines none'}) (got ${describe(n)})`);
      else if (raw.indexOf(n) !== i) bad(`${field}.${i}`, `repeats an earlier entry (got ${describe(n)})`);
      else targeting[scene as Scene][key].push(n);
    });
  }
  return { segments, targeting };
}

/**
 * Validates parsed JSON as a campaign file. Returns the frozen campaign, or every problem found.
 * `text` (the file's text) only feeds the digest; by default the canonical JSON of `json`.
 */
export function validateCampaign(json: unknown, source = '<inline>', text?: string): { ok: true; campaign: Campaign } | { ok: false; problems: ConfigProblem[] } {
  const w = new Walker();
  const split = splitSegments(json);
  // The walker's output mirrors FILE_SPEC, which is typed against CampaignValues field by field.
  const values = w.walk(FILE_SPEC as unknown as AnySpec, split.rest, DEFAULT_VALUES, '') as CampaignValues | undefined;
  const segments = segmentProblems(split, w.problems, text);
  if (values === undefined || w.problems.length > 0) return { ok: false, problems: w.problems };
  const titles = SCENES.flatMap((scene) =>
    titleProblems(values.offers[scene].title, values.offers[scene].fallbackTitle).map((p) => ({ field: `offers.${scene}.${p.field}`, message: `offers.${scene}.${p.field} ${p.message}` })),
  );
  if (titles.length > 0) return { ok: false, problems: titles };
  const campaign: Campaign = {
    name: values.name,
    params: { scenes: values.scenes, decisions: values.decisions, recommendations: values.recommendations, profile: values.profile, defaultTimezone: values.defaultTimezone, defaultStoreRadiusM: values.defaultStoreRadiusM },
    templates: values.offers,
    measurement: values.measurement,
    segments: segments.segments,
    targeting: segments.targeting,
    digest: digestOf(text ?? JSON.stringify(json)),
    source,
  };
  return { ok: true, campaign: deepFreeze(campaign) };
}

/** One `SS_ERR_CONFIG` for all the problems; `field` is the first. */
export function campaignError(source: string, problems: readonly ConfigProblem[]): ScenestreamError {
  const first = problems[0];
  const list = problems.map((p) => `  - ${p.message}`).join('\n');
  const n = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return ssError('SS_ERR_CONFIG', `campaign ${source}: ${n}:\n${list}`, first === undefined ? {} : { field: first.field });
}

/**
 * Where a `JSON.parse` error points, as 1-based line and column: from the message's `(line L
 * column C)` (Node 22 and later) or its `at position P` (Node 20), counted in `text`; the end of
 * the text for an unexpected end.
 */
export function jsonErrorPosition(message: string, text: string): { line: number; column: number } | undefined {
  const lc = /\(line (\d+) column (\d+)\)/.exec(message);
  if (lc !== null) return { line: Number(lc[1]), column: Number(lc[2]) };
  const p = /at position (\d+)/.exec(message);
  const pos = p !== null ? Number(p[1]) : /Unexpected end of JSON input/.test(message) ? text.length : undefined;
  if (pos === undefined) return undefined;
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return { line, column: pos - (before.lastIndexOf('\n') + 1) + 1 };
}

/** Parses a campaign from the text of its file. */
export function parseCampaign(text: string, source = '<inline>'): Result<Campaign> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const at = jsonErrorPosition(why, text);
    const where = at === undefined ? '' : ` at line ${at.line}, column ${at.column}`;
    return { ok: false, error: ssError('SS_ERR_CONFIG', `campaign ${source}: not valid JSON${where}: ${why.replace(/ in JSON at position \d+.*$| \(line \d+ column \d+\)$/, '')}`, { field: '$', cause }) };
  }
  const r = validateCampaign(json, source, text);
  return r.ok ? { ok: true, value: r.campaign } : { ok: false, error: campaignError(source, r.problems) };
}

/** Reads and validates a campaign file; never throws. */
export function readCampaignFile(path: string): Result<Campaign> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    return { ok: false, error: ssError('SS_ERR_CONFIG', `campaign ${path}: cannot be read: ${why}`, { field: '$', cause }) };
  }
  return parseCampaign(text, path);
}

/** Whether an offer of the campaign targets or excludes a segment (decisions may then be suppressed as `segment`). */
export function hasTargeting(c: Campaign): boolean {
  return SCENES.some((s) => c.targeting[s].targets.length > 0 || c.targeting[s].excludes.length > 0);
}

/** SCENES.md's defaults as a campaign (no file). */
export const DEFAULT_CAMPAIGN: Campaign = (() => {
  const r = validateCampaign({}, '<defaults>');
  if (!r.ok) throw campaignError('<defaults>', r.problems);
  return r.campaign;
})();

/** What the measurement of a campaign's results uses: its `measurement` section and attribution window. */
export function measurementSettings(c: Campaign): MeasurementSettings {
  return { ...c.measurement, attributionWindowMs: c.params.decisions.attributionMs };
}

/** A campaign that never changes (tests, replay). */
export function staticCampaign(campaign: Campaign = DEFAULT_CAMPAIGN): CampaignSource {
  return { current: () => campaign };
}

// ---------------------------------------------------------------------------------------------
// The reloadable handle.

/** How a reload ended, as counted (`scenestream_campaign_reloads_total{result}`). */
export type ReloadOutcome = 'applied' | 'unchanged' | 'error';

/** The log calls used (pino's `Logger` fits). */
export interface CampaignLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface CampaignHandleOptions {
  /** Counts reloads by outcome; `Metrics.campaignReloads` fits. */
  readonly reloads?: { inc(labels: { result: ReloadOutcome }): void };
  readonly log?: CampaignLog;
  /** Quiet time after the last file event before reloading (default 200 ms): editors write in bursts. */
  readonly debounceMs?: number;
}

export type CampaignListener = (next: Campaign, previous: Campaign) => void;

export interface CampaignHandle extends CampaignSource {
  /** The campaign for the trigger at hand; read it once per trigger. */
  current(): Campaign;
  /** Called after a reload that changed the campaign. Returns the unsubscribe function. */
  onChange(listener: CampaignListener): () => void;
  /** Reads the file again now. On error the current campaign stays and the error is returned (and logged, counted). */
  reload(): Result<Campaign>;
  /** Watches the file's directory (`fs.watch`, debounced) and reloads on change. Idempotent. */
  watch(): void;
  /** Stops watching; pending debounced reloads are dropped. */
  close(): void;
  /** Reloads by outcome since open. */
  readonly reloadCounts: Readonly<Record<ReloadOutcome, number>>;
}

const stderrLog: CampaignLog = {
  info: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'info', msg, ...obj })}\n`),
  error: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'error', msg, ...obj })}\n`),
};

/**
 * Loads the campaign file at `path` (throwing `SS_ERR_CONFIG` with every problem if it is bad: a
 * bad file at start is fatal) and returns a handle that can reload it while running.
 */
export function openCampaign(path: string, opts: CampaignHandleOptions = {}): CampaignHandle {
  const file = resolve(path);
  const first = readCampaignFile(file);
  if (!first.ok) throw first.error;
  return new FileCampaignHandle(file, first.value, opts);
}

class FileCampaignHandle implements CampaignHandle {
  private campaign: Campaign;
  private readonly listeners = new Set<CampaignListener>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly log: CampaignLog;
  private readonly debounceMs: number;
  readonly reloadCounts: Record<ReloadOutcome, number> = { applied: 0, unchanged: 0, error: 0 };

  constructor(
    private readonly file: string,
    initial: Campaign,
    private readonly opts: CampaignHandleOptions,
  ) {
    this.campaign = initial;
    this.log = opts.log ?? stderrLog;
    this.debounceMs = opts.debounceMs ?? 200;
    if (!(Number.isFinite(this.debounceMs) && this.debounceMs >= 0)) throw ssError('SS_ERR_CONFIG', `debounceMs must be >= 0, got ${this.debounceMs}`, { field: 'debounceMs' });
  }

  current(): Campaign {
    return this.campaign;
  }

  onChange(listener: CampaignListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private count(result: ReloadOutcome): void {
    this.reloadCounts[result] += 1;
    this.opts.reloads?.inc({ result });
  }

  reload(): Result<Campaign> {
    const r = readCampaignFile(this.file);
    if (!r.ok) {
      this.count('error');
      this.log.error({ code: r.error.code, field: r.error.field, file: this.file, keeping: this.campaign.digest }, `campaign reload failed; keeping the current campaign: ${r.error.message}`);
      return r;
    }
    const previous = this.campaign;
    if (r.value.digest === previous.digest) {
      this.count('unchanged');
      return { ok: true, value: previous };
    }
    this.campaign = r.value;
    this.count('applied');
    this.log.info({ file: this.file, name: r.value.name, digest: r.value.digest, previous: previous.digest }, 'campaign reloaded');
    for (const l of [...this.listeners]) {
      try {
        l(r.value, previous);
      } catch (e) {
        // A listener's bug must not stop the others or the watcher.
        this.log.error({ file: this.file, err: e instanceof Error ? e.message : String(e), code: isScenestreamError(e) ? e.code : undefined }, 'campaign change listener threw');
      }
    }
    return { ok: true, value: r.value };
  }

  watch(): void {
    if (this.watcher !== undefined || this.closed) return;
    // The directory, not the file: editors and `mv` replace the file, which ends a watch on it.
    const name = basename(this.file);
    this.watcher = fsWatch(dirname(this.file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      this.schedule();
    });
    this.watcher.on('error', (e) => this.log.error({ file: this.file, err: e.message }, 'campaign watch failed; reload() still works'));
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.reload();
    }, this.debounceMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    this.listeners.clear();
  }
}
