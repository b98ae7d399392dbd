import { describe, expect, it } from 'vitest';
import { addDays, isoWeekday, localParts, offsetMs, parseCivilDate, zonedToEpoch } from './localTime.js';

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
