import { localParts, offsetMs, zonedToEpoch, type LocalParts } from '../pipelines/localTime.js';
import { fmt, time } from './machine.js';

/**
 * `npm run bench -- --tz`: ns per call of pipelines/localTime.ts against the code it replaced (below,
 * as it was: one Intl formatToParts call per localParts; offsets cached per quarter hour), on the
 * same inputs in one run. Both must give the same answers (checked on the baseline's inputs).
 */

const ISO_WEEKDAY: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
const formats = new Map<string, Intl.DateTimeFormat>();

function baselineFormat(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formats.set(timeZone, f);
  }
  return f;
}

function baselineLocalParts(epochMs: number, timeZone: string): LocalParts {
  const out: LocalParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
  for (const part of baselineFormat(timeZone).formatToParts(epochMs)) {
    switch (part.type) {
      case 'year':
        out.year = Number(part.value);
        break;
      case 'month':
        out.month = Number(part.value);
        break;
      case 'day':
        out.day = Number(part.value);
        break;
      case 'hour':
        out.hour = Number(part.value);
        break;
      case 'minute':
        out.minute = Number(part.value);
        break;
      case 'second':
        out.second = Number(part.value);
        break;
      case 'weekday':
        out.weekday = ISO_WEEKDAY[part.value] ?? 0;
        break;
      default:
        break;
    }
  }
  return out;
}

const QUARTER_HOUR = 15 * 60_000;
const baselineOffsets = new Map<string, Map<number, number | null>>();

function baselineRawOffset(epochMs: number, timeZone: string): number {
  const p = baselineLocalParts(epochMs, timeZone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - (epochMs - (((epochMs % 1000) + 1000) % 1000));
}

function baselineOffsetMs(epochMs: number, timeZone: string): number {
  let zone = baselineOffsets.get(timeZone);
  if (zone === undefined) baselineOffsets.set(timeZone, (zone = new Map()));
  const bucket = Math.floor(epochMs / QUARTER_HOUR);
  let cached = zone.get(bucket);
  if (cached === undefined) {
    const start = baselineRawOffset(bucket * QUARTER_HOUR, timeZone);
    const end = baselineRawOffset((bucket + 1) * QUARTER_HOUR - 1000, timeZone);
    cached = start === end ? start : null;
    if (zone.size > 200_000) zone.clear();
    zone.set(bucket, cached);
  }
  return cached ?? baselineRawOffset(epochMs, timeZone);
}

function baselineZonedToEpoch(timeZone: string, y: number, mo: number, d: number, h: number, mi: number): number {
  const asUtc = Date.UTC(y, mo - 1, d, h, mi);
  const before = baselineOffsetMs(asUtc - 86_400_000, timeZone);
  const after = baselineOffsetMs(asUtc + 86_400_000, timeZone);
  const candidates = before === after ? [asUtc - before] : [asUtc - before, asUtc - after].sort((a, b) => a - b);
  for (const t of candidates) if (baselineOffsetMs(t, timeZone) === asUtc - t) return t;
  return asUtc - before;
}

interface Input {
  readonly t: number;
  readonly zone: string;
}

type Call = (input: Input) => number;

const ZONES = ['America/Los_Angeles', 'Europe/London', 'Asia/Shanghai', 'America/Sao_Paulo', 'Australia/Lord_Howe'];
const sumParts = (p: LocalParts): number => p.year + p.month + p.day + p.hour + p.minute + p.second + p.weekday;
const wall = (input: Input): [number, number, number, number, number] => {
  const d = new Date(input.t);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()];
};

interface TzCase {
  readonly name: string;
  readonly inputs: readonly Input[];
  readonly baseline: Call;
  readonly now: Call;
}

/** A seeded generator (mulberry32), so runs compare. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function cases(n: number): TzCase[] {
  const start = Date.UTC(2025, 2, 1);
  const rand = random(7);
  // A replay: records in time order 0-2 s apart (n = 2M spans about a month, a DST change
  // included), each from a customer in one of five zones.
  const replay: Input[] = [];
  for (let i = 0, t = start; i < n; i++, t += Math.floor(rand() * 2000)) replay.push({ t, zone: ZONES[i % ZONES.length]! });
  const shuffled = (years: number): Input[] =>
    Array.from({ length: Math.ceil(n / 20) }, () => ({ t: start + Math.floor(rand() * years * 365 * 86_400_000), zone: 'America/Los_Angeles' }));
  const parts = (f: (t: number, z: string) => LocalParts): Call => (x) => sumParts(f(x.t, x.zone));
  return [
    { name: 'localParts, a replay (time order, 5 zones)', inputs: replay, baseline: parts(baselineLocalParts), now: parts(localParts) },
    { name: 'localParts, random instants within 3 years', inputs: shuffled(3), baseline: parts(baselineLocalParts), now: parts(localParts) },
    { name: 'localParts, random instants within 30 years (mostly learning)', inputs: shuffled(30), baseline: parts(baselineLocalParts), now: parts(localParts) },
    { name: 'offsetMs, a replay', inputs: replay, baseline: (x) => baselineOffsetMs(x.t, x.zone), now: (x) => offsetMs(x.t, x.zone) },
    {
      name: 'zonedToEpoch, wall times of a replay',
      inputs: replay,
      baseline: (x) => baselineZonedToEpoch(x.zone, ...wall(x)),
      now: (x) => zonedToEpoch(x.zone, ...wall(x)),
    },
  ];
}

function run(call: Call, inputs: readonly Input[], count: number): { ns: number; sum: number } {
  let sum = 0;
  const s = time(() => {
    for (let i = 0; i < count; i++) sum += call(inputs[i]!);
  });
  return { ns: (s * 1e9) / count, sum };
}

export function runTz(scale: number): string[] {
  const n = Math.round(2_000_000 * scale);
  const baselineCalls = Math.round(100_000 * scale);
  const rows: string[] = [];
  for (const c of cases(n)) {
    const b = Math.min(baselineCalls, c.inputs.length);
    // Warm both (the replay's first records teach the new cache their intervals, as in a run).
    run(c.baseline, c.inputs, Math.min(b, 2000));
    run(c.now, c.inputs, Math.min(b, 2000));
    const before = run(c.baseline, c.inputs, b);
    const now = run(c.now, c.inputs, c.inputs.length);
    const same = run(c.now, c.inputs, b).sum === before.sum;
    rows.push(`| ${c.name} | ${fmt(b)} | ${before.ns.toFixed(0)} | ${fmt(c.inputs.length)} | ${now.ns.toFixed(0)} | ${(before.ns / now.ns).toFixed(1)}x | ${same ? 'yes' : 'NO'} |`);
  }
  return ['| case | calls before | ns/call before (Intl) | calls now | ns/call now | speedup | same answers |', '|---|---:|---:|---:|---:|---:|---|', ...rows];
}
