/**
 * Wall-clock time in IANA time zones, with the platform's `Intl` data (no time-zone library).
 *
 * `zonedToEpoch` resolves a local wall time like Temporal's `disambiguation: 'compatible'`: a time
 * that occurs twice (the hour repeated when clocks go back) takes the earlier instant; a time that
 * does not exist (skipped when clocks go forward) is moved forward by the length of the gap.
 *
 * Speed: `Intl` is asked only when an instant falls outside the intervals already known for its
 * zone. An interval is a span [from, to) over which the zone's UTC offset is constant, found from
 * one `Intl` reading, probes a day apart and a bisection to the millisecond at each end; inside it,
 * the wall-clock fields are plain arithmetic on (instant + offset). Results equal `Intl`'s for every
 * instant, given that a zone never changes its offset twice within one day (the closest two changes
 * in tzdata are about four days apart: Africa/Freetown 1939 in the backzone data, which ICU does
 * not ship; Brazil 2000 and Gaza's predicted rules at seven days).
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

/** The last instant `Intl` formats (ECMAScript's time value range is +-8.64e15 ms). */
const INTL_MAX = 8.64e15;
/**
 * The first instant of the cached path: 0001-01-02T00:00Z. Earlier instants read (in some zone) as
 * a year before 1, which `Intl` shows as an era year (1 BC as 1); those go to `Intl` on every call.
 */
const FAST_MIN = -62_135_596_800_000 + DAY_MS;
/** Probe spacing: shorter than any two offset changes of one zone, so equal ends mean no change. */
const PROBE_MS = DAY_MS;
/** How far either side of the asked instant a miss certifies the offset when no change comes sooner. */
const REACH_MS = 14 * DAY_MS;
/**
 * Intervals kept per zone (a DST zone has two a year; 128 hold decades read in any order); past
 * that, the least recently used goes.
 */
const INTERVALS_PER_ZONE = 128;
/** Zone names kept (names differ only in case or alias, so the set is bounded only by callers). */
const MAX_ZONES = 1024;

/** A span [from, to) of instants with one UTC offset. */
interface Interval {
  from: number;
  to: number;
  readonly offset: number;
  used: number;
}

interface Zone {
  readonly format: Intl.DateTimeFormat;
  /** The same fields but the weekday, read with `format` (one string, cheaper than formatToParts). */
  readonly probe: Intl.DateTimeFormat;
  /** The interval of the previous lookup, checked first. */
  last: Interval;
  /** Disjoint, ordered by `from`. */
  intervals: Interval[];
  tick: number;
}

const zones = new Map<string, Zone>();

function zoneOf(timeZone: string): Zone {
  let zone = zones.get(timeZone);
  if (zone === undefined) {
    const fields = {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    } as const;
    const format = new Intl.DateTimeFormat('en-US', { ...fields, weekday: 'short' });
    const probe = new Intl.DateTimeFormat('en-US', fields);
    if (zones.size >= MAX_ZONES) zones.clear();
    zone = { format, probe, last: { from: 0, to: 0, offset: 0, used: 0 }, intervals: [], tick: 0 };
    zones.set(timeZone, zone);
  }
  return zone;
}

/** true if the platform knows the IANA zone name. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    zoneOf(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock fields of an instant in a zone. */
export function localParts(epochMs: number, timeZone: string): LocalParts {
  const zone = zoneOf(timeZone);
  // Intl truncates a fractional time value toward zero (TimeClip); NaN fails both comparisons.
  const t = Math.trunc(epochMs);
  if (!(t >= FAST_MIN && t <= INTL_MAX)) return intlParts(epochMs, zone.format);
  return wallParts(t + offsetIn(zone, t));
}

/**
 * The zone's offset from UTC at an instant, in ms (wall time minus UTC), at whole-second precision.
 */
export function offsetMs(epochMs: number, timeZone: string): number {
  const zone = zoneOf(timeZone);
  const t = Math.trunc(epochMs);
  if (!(t >= FAST_MIN && t <= INTL_MAX)) return intlOffset(zone.format, epochMs);
  return offsetIn(zone, t);
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
  // At most one offset change lies within a day either side: the wall time reads with the offset
  // before it, after it, both (a fold: the larger offset is the earlier instant) or neither (a gap).
  const before = offsetMs(asUtc - DAY_MS, timeZone);
  const after = offsetMs(asUtc + DAY_MS, timeZone);
  const earlier = asUtc - Math.max(before, after);
  if (offsetMs(earlier, timeZone) === asUtc - earlier) return earlier;
  const later = asUtc - Math.min(before, after);
  if (later !== earlier && offsetMs(later, timeZone) === asUtc - later) return later;
  // In a gap: interpret with the offset before the transition, which lands after the gap.
  return asUtc - before;
}

/** The offset at t (an integer in [FAST_MIN, INTL_MAX]) from the zone's intervals, learning one on a miss. */
function offsetIn(zone: Zone, t: number): number {
  const last = zone.last;
  if (t >= last.from && t < last.to) return last.offset;
  const found = containing(zone, t) ?? learn(zone, t);
  found.used = ++zone.tick;
  zone.last = found;
  return found.offset;
}

function containing(zone: Zone, t: number): Interval | undefined {
  const ivs = zone.intervals;
  // The last interval starting at or before t, if t is before its end.
  let lo = 0;
  let hi = ivs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ivs[mid]!.from <= t) lo = mid + 1;
    else hi = mid;
  }
  const iv = ivs[lo - 1];
  return iv !== undefined && t < iv.to ? iv : undefined;
}

/**
 * Reads the offset at t (in no known interval) from `Intl`, then walks a day at a time each way
 * until the offset differs (bisected to the first millisecond of the change), a known interval
 * with the same offset is met (merged), or REACH_MS is covered. Caches and returns the interval.
 */
function learn(zone: Zone, t: number): Interval {
  const offset = probeOffset(zone, t);
  let from = t;
  for (;;) {
    if (from <= FAST_MIN || t - from >= REACH_MS) break;
    const p = Math.max(from - PROBE_MS, FAST_MIN);
    const known = containing(zone, p);
    if (known !== undefined && known.offset === offset) {
      from = known.from;
      break;
    }
    const atP = known !== undefined ? known.offset : probeOffset(zone, p);
    if (atP !== offset) {
      from = changeAt(zone, p, from, atP);
      break;
    }
    from = p;
  }
  let last = t; // the last instant known to have `offset`
  let to: number;
  for (;;) {
    if (last >= INTL_MAX || last - t >= REACH_MS) {
      to = last + 1;
      break;
    }
    const p = Math.min(last + PROBE_MS, INTL_MAX);
    const known = containing(zone, p);
    if (known !== undefined && known.offset === offset) {
      to = known.to;
      break;
    }
    const atP = known !== undefined ? known.offset : probeOffset(zone, p);
    if (atP !== offset) {
      to = changeAt(zone, last, p, offset);
      break;
    }
    last = p;
  }
  // Known intervals that overlap [from, to) share its offset: absorb them.
  const kept: Interval[] = [];
  for (const iv of zone.intervals) {
    if (iv.to <= from || iv.from >= to) kept.push(iv);
    else {
      from = Math.min(from, iv.from);
      to = Math.max(to, iv.to);
    }
  }
  if (kept.length >= INTERVALS_PER_ZONE) {
    let lru = 0;
    for (let i = 1; i < kept.length; i++) if (kept[i]!.used < kept[lru]!.used) lru = i;
    kept.splice(lru, 1);
  }
  const learned: Interval = { from, to, offset, used: 0 };
  let at = 0;
  while (at < kept.length && kept[at]!.from < from) at++;
  kept.splice(at, 0, learned);
  zone.intervals = kept;
  return learned;
}

/** The first instant in (a, b] whose offset is not `offsetAtA`, given exactly one change there. */
function changeAt(zone: Zone, a: number, b: number, offsetAtA: number): number {
  while (b - a > 1) {
    const mid = a + Math.floor((b - a) / 2);
    if (probeOffset(zone, mid) === offsetAtA) a = mid;
    else b = mid;
  }
  return b;
}

/** The civil date of the last day number converted (records in time order mostly share a day). */
const lastDate = { days: Number.NaN, year: 0, month: 0, day: 0 };

/** The wall-clock fields of a local time given as ms since 1970-01-01T00:00 local. */
function wallParts(local: number): LocalParts {
  const days = Math.floor(local / DAY_MS);
  const secOfDay = Math.floor((local - days * DAY_MS) / 1000);
  const date = lastDate;
  if (days !== date.days) {
    // civil_from_days (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"): 400-year eras
    // of 146,097 days, each year counted from March so that the leap day falls last.
    const z = days + 719_468;
    const era = Math.floor(z / 146_097);
    const doe = z - era * 146_097;
    const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    date.month = mp < 10 ? mp + 3 : mp - 9;
    date.year = yoe + era * 400 + (date.month <= 2 ? 1 : 0);
    date.day = doy - Math.floor((153 * mp + 2) / 5) + 1;
    date.days = days;
  }
  return {
    year: date.year,
    month: date.month,
    day: date.day,
    hour: Math.floor(secOfDay / 3600),
    minute: Math.floor(secOfDay / 60) % 60,
    second: secOfDay % 60,
    // Day 0 (1970-01-01) was a Thursday.
    weekday: ((days % 7) + 10) % 7 + 1,
  };
}

/** Days from 1970-01-01 to a proleptic Gregorian date (days_from_civil, the inverse of the above). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

/** The wall-clock fields from `Intl` (one formatToParts call): the reference the cache reproduces. */
function intlParts(epochMs: number, format: Intl.DateTimeFormat): LocalParts {
  const out: LocalParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
  for (const part of format.formatToParts(epochMs)) {
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

/** Wall time minus UTC from `Intl`, both at whole seconds. */
function intlOffset(format: Intl.DateTimeFormat, epochMs: number): number {
  const p = intlParts(epochMs, format);
  const wallSeconds = daysFromCivil(p.year, p.month, p.day) * 86_400 + p.hour * 3600 + p.minute * 60 + p.second;
  return (wallSeconds - Math.floor(Math.trunc(epochMs) / 1000)) * 1000;
}

/**
 * Wall time minus UTC at t (an integer in [FAST_MIN, INTL_MAX]) from the probe format's string,
 * en-US "M/D/YYYY, HH:MM:SS": its six numbers in that order. Anything else (never seen) goes to
 * formatToParts.
 */
function probeOffset(zone: Zone, t: number): number {
  const text = zone.probe.format(t);
  const n = [0, 0, 0, 0, 0, 0];
  let field = -1;
  let inNumber = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c >= 0 && c <= 9) {
      if (!inNumber) {
        inNumber = true;
        if (++field > 5) break;
      }
      n[field] = n[field]! * 10 + c;
    } else inNumber = false;
  }
  if (field !== 5) return intlOffset(zone.format, t);
  const [month, day, year, hour, minute, second] = n as [number, number, number, number, number, number];
  const wallSeconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
  return (wallSeconds - Math.floor(t / 1000)) * 1000;
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
