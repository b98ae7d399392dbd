/**
 * Wall-clock time in IANA time zones, with the platform's `Intl` data (no time-zone library).
 *
 * `zonedToEpoch` resolves a local wall time like Temporal's `disambiguation: 'compatible'`: a time
 * that occurs twice (the hour repeated when clocks go back) takes the earlier instant; a time that
 * does not exist (skipped when clocks go forward) is moved forward by the length of the gap.
 */

export interface LocalParts {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** ISO weekday: 1 = Monday ... 7 = Sunday. */
  weekday: number;
}

/** A calendar date without a zone. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

const DAY_MS = 86_400_000;
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
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
    formatters.set(timeZone, f);
  }
  return f;
}

/** true if the platform knows the IANA zone name. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock fields of an instant in a zone. */
export function localParts(epochMs: number, timeZone: string): LocalParts {
  const out: LocalParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
  for (const part of formatter(timeZone).formatToParts(epochMs)) {
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
        out.weekday = WEEKDAYS[part.value] ?? 0;
        break;
      default:
        break;
    }
  }
  return out;
}

function rawOffsetMs(epochMs: number, timeZone: string): number {
  const p = localParts(epochMs, timeZone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - (epochMs - (((epochMs % 1000) + 1000) % 1000));
}

const QUARTER_HOUR = 15 * 60_000;
/** Offsets per zone per quarter hour of UTC, where the offset is the same at both ends of it. */
const offsetCache = new Map<string, Map<number, number | null>>();

/**
 * The zone's offset from UTC at an instant, in ms (wall time minus UTC), at whole-second precision.
 * Cached per quarter hour (transitions fall on quarter hours); a quarter hour that holds a
 * transition is not cached and is computed exactly each time.
 */
export function offsetMs(epochMs: number, timeZone: string): number {
  let zone = offsetCache.get(timeZone);
  if (zone === undefined) {
    zone = new Map();
    offsetCache.set(timeZone, zone);
  }
  const bucket = Math.floor(epochMs / QUARTER_HOUR);
  let cached = zone.get(bucket);
  if (cached === undefined) {
    const start = rawOffsetMs(bucket * QUARTER_HOUR, timeZone);
    const end = rawOffsetMs((bucket + 1) * QUARTER_HOUR - 1000, timeZone);
    cached = start === end ? start : null;
    if (zone.size > 200_000) zone.clear();
    zone.set(bucket, cached);
  }
  return cached ?? rawOffsetMs(epochMs, timeZone);
}

/** The instant of a local wall time in a zone (see the module comment for gaps and folds). */
export function zonedToEpoch(
  timeZone: string,
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
  ms = 0,
): number {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const before = offsetMs(asUtc - DAY_MS, timeZone);
  const after = offsetMs(asUtc + DAY_MS, timeZone);
  const candidates = before === after ? [asUtc - before] : [asUtc - before, asUtc - after].sort((a, b) => a - b);
  for (const t of candidates) {
    if (offsetMs(t, timeZone) === asUtc - t) return t;
  }
  // In a gap: interpret with the offset before the transition, which lands after the gap.
  return asUtc - before;
}

/** Calendar arithmetic on a civil date (no zone involved). */
export function addDays(date: CivilDate, days: number): CivilDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** ISO weekday of a civil date: 1 = Monday ... 7 = Sunday. */
export function isoWeekday(date: CivilDate): number {
  const dow = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
  return dow === 0 ? 7 : dow;
}

/** Parse `YYYY-MM-DD` (the leading date of an ISO string); throws a RangeError otherwise. */
export function parseCivilDate(text: string): CivilDate {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (m === null) throw new RangeError(`not an ISO date (YYYY-MM-DD): ${JSON.stringify(text)}`);
  const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  const back = addDays(date, 0);
  if (back.year !== date.year || back.month !== date.month || back.day !== date.day) {
    throw new RangeError(`not a calendar date: ${JSON.stringify(text)}`);
  }
  return date;
}

export function formatCivilDate(date: CivilDate): string {
  const pad = (n: number, w: number): string => String(n).padStart(w, '0');
  return `${pad(date.year, 4)}-${pad(date.month, 2)}-${pad(date.day, 2)}`;
}
