import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { validate, type LocationEvent } from '../../schemas/index.js';
import { loadGeoLife } from './geolife.js';
import { datasetPath } from './paths.js';
import { collect, rejectedTotal } from './report.js';

async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(path).pipe(createGunzip()) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

describe('loadGeoLife on the real sample', async () => {
  const path = datasetPath('geolife', 'geolife_sample.txt.gz');
  const { events, report } = await collect(loadGeoLife());

  it('reads every point and accounts for each row', async () => {
    expect(report.read).toBe((await countLines(path)) - 1);
    expect(report.read).toBe(217_653);
    expect(report.emitted + rejectedTotal(report)).toBe(report.read);
    expect(report.rejected).toEqual({});
    expect(report.events).toBe(217_653);
  });

  it('converts a known point: first line of user 001, GMT', () => {
    // 39.984094,116.319236,2008-10-23 05:53:05,001
    expect(events[0]).toEqual<LocationEvent>({
      eventId: 'geolife-001-2',
      customerId: 'geolife-001',
      ts: Date.parse('2008-10-23T05:53:05Z'),
      lat: 39.984094,
      lon: 116.319236,
      accuracyM: null,
      speedMps: null,
    });
    // The first point of user 005 is line 108,609: 40.004155,116.321337,2008-10-24 04:12:30,005
    expect(events.find((e) => e.customerId === 'geolife-005')).toMatchObject({ eventId: 'geolife-005-108609', ts: Date.parse('2008-10-24T04:12:30Z'), lat: 40.004155 });
  });

  it('emits valid events, in time order per user', () => {
    expect(report.rejected['invalid_event']).toBeUndefined();
    let invalid = 0;
    let backwards = 0;
    for (let i = 0; i < events.length; i++) {
      if (i % 11 === 0 && !validate('LocationEvent', events[i]).ok) invalid++;
      const prev = events[i - 1];
      if (prev !== undefined && prev.customerId === events[i]!.customerId && events[i]!.ts < prev.ts) backwards++;
    }
    expect(invalid).toBe(0);
    expect(backwards).toBe(0);
    expect(new Set(events.map((e) => e.customerId))).toEqual(new Set(['geolife-001', 'geolife-005']));
  });
});

describe('loadGeoLife on bad rows', () => {
  it('rejects each kind of bad row with its reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'geolife-'));
    const path = join(dir, 'bad.txt.gz');
    const lines = [
      'lat,lng,datetime,uid',
      '39.9,116.3,2008-10-23 05:53:05,001',
      '95.0,116.3,2008-10-23 05:53:06,001',
      '39.9,-181,2008-10-23 05:53:06,001',
      'abc,116.3,2008-10-23 05:53:07,001',
      '39.9,116.3,2008-02-30 05:53:07,001',
      '39.9,116.3,yesterday,001',
      '0,0,2008-10-23 05:53:08,001',
      '39.9,116.3,2008-10-23 05:53:09',
      '39.9,116.3,2008-10-23 05:53:09,',
      '',
      '39.9,116.3,2008-10-23 05:53:10,002',
    ];
    writeFileSync(path, gzipSync(lines.join('\n') + '\n'));
    const codes: string[] = [];
    const { events, report } = await collect(loadGeoLife({ path, onReject: (e) => codes.push(e.code) }));
    expect(report.read).toBe(lines.length - 1);
    expect(report.rejected).toEqual({ out_of_range: 2, bad_coordinate: 1, bad_datetime: 2, null_island: 1, malformed_row: 3 });
    expect(report.emitted + rejectedTotal(report)).toBe(report.read);
    expect(events.map((e) => e.eventId)).toEqual(['geolife-001-2', 'geolife-002-12']);
    expect(new Set(codes)).toEqual(new Set(['SS_ERR_DATASET_ROW']));
  });
});
