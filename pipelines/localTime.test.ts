import { describe, expect, it } from 'vitest';
import { addDays, isoWeekday, localParts, offsetMs, parseCivilDate, zonedToEpoch, type LocalParts } from './localTime.js';

describe('zonedToEpoch', () => {
  it('converts Shanghai wall time (UTC+8, no DST)', () => {
    expect(zonedToEpoch('Asia/Shanghai', 2025, 3, 3, 8, 0)).toBe(Date.parse('2025-03-03T00:00:00Z'));
  });

  it('honours GMT and BST in London', () => {
    expect(zonedToEpoch('Europe/London', 2010, 12, 1, 8, 26)).toBe(Date.parse('2010-12-01T08:26:00Z'));
    expect(zonedToEpoch('Europe/London', 2011, 6, 1, 8, 26)).toBe(Date.parse('2011-06-01T07:26:00Z'));
  });

  it('resolves the repeated hour to the earlier instant and moves the skipped hour forward', () => {
    // 2011-10-30 02:00 BST -> 01:00 GMT: 01:30 happens twice.
    expect(zonedToEpoch('Europe/London', 2011, 10, 30, 1, 30)).toBe(Date.parse('2011-10-30T00:30:00Z'));
    // 2011-03-27 01:00 GMT -> 02:00 BST: 01:30 does not exist; it reads as 02:30 BST.
    expect(zonedToEpoch('Europe/London', 2011, 3, 27, 1, 30)).toBe(Date.parse('2011-03-27T01:30:00Z'));
  });

  it('round-trips through localParts', () => {
    const t = zonedToEpoch('America/Los_Angeles', 2025, 3, 9, 12, 34, 56);
    const p = localParts(t, 'America/Los_Angeles');
    expect([p.year, p.month, p.day, p.hour, p.minute, p.second, p.weekday]).toEqual([2025, 3, 9, 12, 34, 56, 7]);
    expect(offsetMs(t, 'America/Los_Angeles')).toBe(-7 * 3_600_000);
  });
});

describe('civil dates', () => {
  it('parses, validates and adds days across months', () => {
    expect(parseCivilDate('2025-02-28')).toEqual({ year: 2025, month: 2, day: 28 });
    expect(addDays({ year: 2025, month: 2, day: 28 }, 1)).toEqual({ year: 2025, month: 3, day: 1 });
    expect(isoWeekday({ year: 2025, month: 3, day: 3 })).toBe(1);
    expect(() => parseCivilDate('2025-02-30')).toThrow(RangeError);
    expect(() => parseCivilDate('March 3')).toThrow(RangeError);
  });
});

/*
 * The cached path against `Intl`. Each zone's offset changes over the span are found here by
 * reading `Intl`'s GMT offset (`timeZoneName: 'longOffset'`, a different reading from the one
 * tz.ts uses) two days a step and bisecting each change to the millisecond. That gives an oracle
 * cheap enough for millions of instants: the expected wall clock is the instant's UTC fields
 * (`Date`) shifted by the offset in force. formatToParts itself (a few µs a call) checks the
 * instants a millisecond either side of each change and a sample of the rest, which also checks
 * the oracle.
 */

const ZONES = [
  'America/Los_Angeles',
  'Europe/London',
  'Asia/Shanghai',
  'Australia/Lord_Howe', // 30-minute DST
  'Asia/Kathmandu', // +5:45
  'America/St_Johns', // -3:30
  'Pacific/Chatham', // +12:45, +13:45 in summer
  'Africa/Casablanca', // DST suspended each Ramadan
  'America/Sao_Paulo', // DST until 2019
  'Europe/Dublin', // negative DST in winter
  'Pacific/Apia', // skipped 2011-12-30
  'Pacific/Kiritimati', // skipped 1995-01-01
  'Africa/Monrovia', // -0:44:30 until 1972
  'America/Caracas', // -4:30 from 2007 to 2016
  'Antarctica/Troll', // 2-hour DST
  'UTC',
  'Etc/GMT+12',
] as const;
type Zone = (typeof ZONES)[number];
const SPAN_FROM = Date.UTC(1965, 0, 1);
const SPAN_TO = Date.UTC(2045, 0, 1);
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const ISO_WEEKDAY: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
type Fields = [number, number, number, number, number, number, number];

function cached<V>(make: (timeZone: string) => V): (timeZone: string) => V {
  const m = new Map<string, V>();
  return (timeZone) => {
    let v = m.get(timeZone);
    if (v === undefined) m.set(timeZone, (v = make(timeZone)));
    return v;
  };
}

const partsFormat = cached(
  (timeZone) =>
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    }),
);
const gmtFormat = cached((timeZone) => new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }));

/** Wall-clock fields from formatToParts, as the pipelines read them before the cache. */
function intlFields(t: number, timeZone: string): Fields {
  const v = Object.fromEntries(partsFormat(timeZone).formatToParts(t).map((p) => [p.type, p.value]));
  return [Number(v.year), Number(v.month), Number(v.day), Number(v.hour), Number(v.minute), Number(v.second), ISO_WEEKDAY[v.weekday ?? ''] ?? 0];
}

/** Wall minus UTC from the GMT offset Intl prints ("GMT", "GMT+05:45", "GMT-00:44:30"). */
function intlGmtOffset(t: number, timeZone: string): number {
  const m = /GMT(?:([+-])(\d\d):(\d\d)(?::(\d\d))?)?$/.exec(gmtFormat(timeZone).format(t));
  if (m === null) throw new Error(`no GMT offset for ${timeZone} at ${t}`);
  if (m[1] === undefined) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0)) * 1000;
}

function fieldsOf(p: LocalParts): Fields {
  return [p.year, p.month, p.day, p.hour, p.minute, p.second, p.weekday];
}

/** The UTC fields of a ms count, read as a wall clock. */
function utcFields(wall: number): Fields {
  const d = new Date(wall);
  const dow = d.getUTCDay();
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), dow === 0 ? 7 : dow];
}

const scratch = new Date(0);
/** Whether the fields are the UTC fields of `wall` (no allocation: this runs millions of times). */
function sameFields(f: Fields, wall: number): boolean {
  const d = scratch;
  d.setTime(wall);
  const dow = d.getUTCDay();
  return (
    f[0] === d.getUTCFullYear() &&
    f[1] === d.getUTCMonth() + 1 &&
    f[2] === d.getUTCDate() &&
    f[3] === d.getUTCHours() &&
    f[4] === d.getUTCMinutes() &&
    f[5] === d.getUTCSeconds() &&
    f[6] === (dow === 0 ? 7 : dow)
  );
}

interface Change {
  /** First instant with the new offset. */
  readonly at: number;
  readonly before: number;
  readonly after: number;
}

/** The zone's offset at `from` and its changes in [from, to), from `Intl` alone. */
function scanOffsets(timeZone: string, from: number, to: number): { initial: number; changes: Change[] } {
  const step = 2 * DAY_MS; // under half the four days between the closest two changes in tzdata
  const initial = intlGmtOffset(from, timeZone);
  const changes: Change[] = [];
  let prev = from;
  let prevOffset = initial;
  while (prev < to) {
    const t = Math.min(prev + step, to);
    const o = intlGmtOffset(t, timeZone);
    if (o !== prevOffset) {
      let a = prev;
      let b = t;
      while (b - a > 1) {
        const mid = a + Math.floor((b - a) / 2);
        if (intlGmtOffset(mid, timeZone) === prevOffset) a = mid;
        else b = mid;
      }
      changes.push({ at: b, before: prevOffset, after: o });
    }
    prev = t;
    prevOffset = o;
  }
  return { initial, changes };
}

const scanOf = cached((timeZone) => scanOffsets(timeZone, SPAN_FROM, SPAN_TO));

/** The oracle's offset at t: that after the last change at or before t. */
function scannedOffset(t: number, timeZone: string): number {
  const { initial, changes } = scanOf(timeZone);
  let lo = 0;
  let hi = changes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (changes[mid]!.at <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? initial : changes[lo - 1]!.after;
}

/** Instants a millisecond either side of each change, and a second and an hour either side. */
function edgesOf(timeZone: string): number[] {
  const out: number[] = [];
  for (const { at } of scanOf(timeZone).changes) out.push(at - HOUR_MS, at - 1000, at - 1, at, at + 999, at + HOUR_MS);
  return out;
}

/** A seeded generator (mulberry32), so a failure repeats. */
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

describe('localParts and offsetMs against Intl', () => {
  it('scans the offset changes the oracle relies on', () => {
    const count = (z: Zone): number => scanOf(z).changes.length;
    expect(count('America/Los_Angeles')).toBe(2 * 80); // two a year, 1965-2044
    expect(count('Asia/Shanghai')).toBe(12); // DST 1986-1991
    expect(count('UTC')).toBe(0);
    expect(count('Etc/GMT+12')).toBe(0);
    expect(scanOf('Etc/GMT+12').initial).toBe(-12 * HOUR_MS);
    expect(scanOf('Asia/Kathmandu').changes.at(-1)).toEqual({ at: Date.parse('1985-12-31T18:30:00Z'), before: 5.5 * HOUR_MS, after: 5.75 * HOUR_MS });
    expect(scanOf('Africa/Monrovia').initial).toBe(-(44 * 60 + 30) * 1000);
    expect(scanOf('Europe/Dublin').changes.find((c) => c.at > Date.UTC(2024, 0, 1))).toEqual({ at: Date.parse('2024-03-31T01:00:00Z'), before: 0, after: HOUR_MS });
  });

  it('matches Intl over millions of instants: in time order, shuffled, zones interleaved, every change edge', () => {
    const rand = random(1);
    const perZone = 100_000;
    const mismatches: string[] = [];
    let checked = 0;
    let checkedByIntl = 0;
    const check = (t: number, z: Zone, byIntl: boolean): void => {
      checked++;
      const got = localParts(t, z);
      const gotOffset = offsetMs(t, z);
      const off = scannedOffset(t, z);
      if (byIntl) {
        checkedByIntl++;
        const want = intlFields(t, z);
        // The oracle agrees with Intl here too, or it could not stand in for it elsewhere.
        if (!sameFields(want, t + off) || fieldsOf(got).join() !== want.join() || gotOffset !== off) {
          mismatches.push(`${z} ${new Date(t).toISOString()}: ${fieldsOf(got).join()} / ${gotOffset}, Intl ${want.join()}, oracle ${utcFields(t + off).join()} / ${off}`);
        }
      } else if (!sameFields(fieldsOf(got), t + off) || gotOffset !== off) {
        mismatches.push(`${z} ${new Date(t).toISOString()}: ${fieldsOf(got).join()} / ${gotOffset}, oracle ${utcFields(t + off).join()} / ${off}`);
      }
    };
    for (const z of ZONES) {
      const edges = new Set(edgesOf(z));
      const instants = new Float64Array(perZone + edges.size);
      let i = 0;
      for (; i < perZone; i++) instants[i] = SPAN_FROM + Math.floor(rand() * (SPAN_TO - SPAN_FROM));
      for (const t of edges) instants[i++] = t;
      instants.sort();
      for (let k = 0; k < instants.length; k++) {
        const t = instants[k]!;
        check(t, z, edges.has(t) || k % 50 === 0);
      }
      // The edges again, latest first: each change met from the other side, and the oldest
      // intervals re-learned (a DST zone has 161 over the span, more than the cache keeps).
      for (const t of [...edges].reverse()) check(t, z, false);
      // Shuffled over three years: intervals missed and merged in any order.
      for (let k = 0; k < 20_000; k++) check(Date.UTC(2010, 0, 1) + Math.floor(rand() * 3 * 365 * DAY_MS), z, k % 50 === 0);
    }
    // Zones interleaved, as records of customers in different zones arrive.
    for (let k = 0; k < 100_000; k++) {
      check(Date.UTC(2024, 0, 1) + Math.floor(rand() * 365 * DAY_MS), ZONES[Math.floor(rand() * ZONES.length)]!, false);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(checked).toBeGreaterThan(2_000_000);
    expect(checkedByIntl).toBeGreaterThan(40_000);
  });

  it('matches Intl outside the span: LMT offsets with seconds, fractions of ms, the ends of the time range', () => {
    const cases: [number, string][] = [
      [Date.parse('1800-01-01T00:00:00Z'), 'America/Los_Angeles'], // LMT -7:52:58
      [Date.parse('1883-11-18T19:59:59.999Z'), 'America/Los_Angeles'], // railway time at 12:00 LMT
      [Date.parse('1883-11-18T20:00:00Z'), 'America/Los_Angeles'],
      [Date.parse('1900-06-01T12:00:00Z'), 'Asia/Kathmandu'],
      [-1.5, 'Europe/London'],
      [-1000.5, 'Europe/London'],
      [1_700_000_000_000.999, 'Pacific/Chatham'],
      [Date.parse('0001-01-01T00:00:00Z'), 'Asia/Shanghai'], // before the cached path: Intl's era year
      [Date.parse('0001-01-03T00:00:00Z'), 'America/Los_Angeles'],
      [-8.64e15, 'UTC'],
      [8.64e15, 'Pacific/Kiritimati'],
      [8.64e15 - 1, 'America/Los_Angeles'],
      [Date.parse('2100-03-14T09:59:59.999Z'), 'America/Los_Angeles'],
      [Date.parse('2100-03-14T10:00:00Z'), 'America/Los_Angeles'],
    ];
    for (const [t, z] of cases) expect(fieldsOf(localParts(t, z)), `${z} ${t}`).toEqual(intlFields(t, z));
    expect(offsetMs(Date.parse('1800-01-01T00:00:00Z'), 'America/Los_Angeles')).toBe(-(7 * 3600 + 52 * 60 + 58) * 1000);
    expect(offsetMs(-1000.5, 'Europe/London')).toBe(HOUR_MS); // British Standard Time, 1968-1971
    expect(() => localParts(Number.NaN, 'UTC')).toThrow(RangeError);
    expect(() => localParts(8.64e15 + 1, 'UTC')).toThrow(RangeError);
    expect(() => localParts(0, 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});

describe('zonedToEpoch against a brute-force Intl search', () => {
  /**
   * Tries every offset Intl shows within two days of the wall time: the earliest instant that
   * formatToParts shows as that wall time, if any; in a gap, the instant read with the offset
   * before the gap (the one Intl shows later than asked, by the gap).
   */
  function bruteForce(timeZone: string, wall: number): number {
    const offsets = new Set<number>();
    for (let k = -4; k <= 4; k++) offsets.add(intlGmtOffset(wall + k * 12 * HOUR_MS, timeZone));
    const wallFields = utcFields(wall).slice(0, 6).join();
    const hits = [...offsets].map((o) => wall - o).filter((t) => intlFields(t, timeZone).slice(0, 6).join() === wallFields);
    if (hits.length > 0) return Math.min(...hits);
    const forward = [...offsets].map((o) => wall - o).filter((t) => intlGmtOffset(t, timeZone) > wall - t);
    if (forward.length !== 1) throw new Error(`${timeZone} ${new Date(wall).toISOString()}: no single gap reading (${forward.join()})`);
    return forward[0]!;
  }

  function viaZonedToEpoch(timeZone: string, wall: number): number {
    const d = new Date(wall);
    return zonedToEpoch(timeZone, d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
  }

  it('resolves wall times around every change (gaps forward, folds to the earlier instant) and at random', () => {
    const rand = random(3);
    const mismatches: string[] = [];
    let gaps = 0;
    let folds = 0;
    for (const z of ZONES) {
      const walls: number[] = [];
      for (const { at, before, after } of scanOf(z).changes) {
        if (after > before) gaps++;
        else folds++;
        // The wall times that occur zero or two times are [lo, hi).
        const lo = at + Math.min(before, after);
        const hi = at + Math.max(before, after);
        walls.push(lo - 1, lo, Math.floor((lo + hi) / 2), hi - 1, hi);
      }
      for (let i = 0; i < 200; i++) walls.push(SPAN_FROM + DAY_MS + Math.floor(rand() * (SPAN_TO - SPAN_FROM - 2 * DAY_MS)));
      for (const wall of walls) {
        const got = viaZonedToEpoch(z, wall);
        const want = bruteForce(z, wall);
        if (got !== want) mismatches.push(`${z} wall ${new Date(wall).toISOString()}: ${new Date(got).toISOString()}, brute force ${new Date(want).toISOString()}`);
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(gaps).toBeGreaterThan(500);
    expect(folds).toBeGreaterThan(500);
  });

  it('moves the skipped day of Apia and Kiritimati forward by 24 hours', () => {
    // 2011-12-29 24:00 at -10 became 2011-12-31 00:00 at +14.
    expect(zonedToEpoch('Pacific/Apia', 2011, 12, 30, 12)).toBe(Date.parse('2011-12-30T22:00:00Z'));
    expect(fieldsOf(localParts(Date.parse('2011-12-30T22:00:00Z'), 'Pacific/Apia'))).toEqual([2011, 12, 31, 12, 0, 0, 6]);
    expect(zonedToEpoch('Pacific/Kiritimati', 1994, 12, 31, 12)).toBe(Date.parse('1994-12-31T22:00:00Z'));
  });
});
