import { describe, expect, it } from 'vitest';
import type { LocationEvent } from '../../schemas/index.js';
import { haversineM, offsetM } from '../geo.js';
import { detectAllStays, detectStays, placesOf } from './stays.js';

const MIN = 60_000;
const HOME = { lat: 39.98, lon: 116.32 };

let n = 0;
/** A ping of `customerId` at `minute`, `northM` metres north of HOME. */
function ping(customerId: string, minute: number, northM: number, eastM = 0): LocationEvent {
  const p = offsetM(HOME, northM, eastM);
  return { eventId: `e${++n}`, customerId, ts: minute * MIN, lat: p.lat, lon: p.lon, accuracyM: null, speedMps: null };
}

/** Pings every minute from `from` to `to` (inclusive), at `northM`, jittering 0-40 m east. */
const run = (customerId: string, from: number, to: number, northM: number): LocationEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ping(customerId, from + i, northM, (i * 13) % 40));

describe('detectStays', () => {
  it('finds a run within the radius of its first point lasting the minimum duration, at its mean position', () => {
    // Walk in from 2 km north, stay 30 min at home, walk out 1 km east.
    const pings = [ping('u', 0, 2000), ping('u', 5, 1000), ...run('u', 10, 40, 0), ping('u', 45, 0, 1000)];
    const stays = detectStays(pings);
    expect(stays).toHaveLength(1);
    expect(stays[0]).toMatchObject({ customerId: 'u', arrivedTs: 10 * MIN, leftTs: 40 * MIN, points: 31 });
    expect(haversineM(stays[0]!, HOME)).toBeLessThan(25);
  });

  it('a shorter stop or a wider one is no stay; a stay of exactly the minimum duration is one', () => {
    expect(detectStays(run('u', 0, 19, 0))).toEqual([]);
    const edge = [ping('u', 0, 0), ping('u', 20, 200)];
    expect(detectStays(edge, { radiusM: 200.5 })).toHaveLength(1);
    expect(detectStays(edge, { radiusM: 199 })).toEqual([]);
    expect(detectStays(run('u', 0, 10, 0), { minDurationMs: 10 * MIN })).toHaveLength(1);
  });

  it('a gap in the recording at the same place is part of the stay (home overnight, device off)', () => {
    const stays = detectStays([ping('u', 0, 0), ping('u', 600, 10)]);
    expect(stays).toMatchObject([{ arrivedTs: 0, leftTs: 600 * MIN, points: 2 }]);
  });

  it('keeps users apart: each user has their own trajectory', () => {
    const stays = detectAllStays([...run('a', 0, 25, 0), ...run('b', 0, 10, 0), ...run('b', 11, 12, 5000)]);
    expect(stays.map((s) => s.customerId)).toEqual(['a']);
  });
});

describe('placesOf', () => {
  it('gathers the stays near a place, by arrival, into one place at its first stay; a stay further away starts another', () => {
    const stays = detectAllStays([
      ...run('a', 0, 30, 0),
      ...run('a', 100, 130, 3000),
      ...run('a', 200, 230, 50),
      ...run('b', 10, 40, 120),
    ]);
    expect(stays).toHaveLength(4);
    const places = placesOf(stays);
    expect(places.map((p) => p.stays.map((s) => `${s.customerId}@${s.arrivedTs / MIN}`))).toEqual([['a@0', 'b@10', 'a@200'], ['a@100']]);
    expect(places[0]).toMatchObject({ lat: stays[0]!.lat, lon: stays[0]!.lon });
    // The same stays in another order make the same places.
    expect(placesOf([...stays].reverse())).toEqual(places);
  });
});
