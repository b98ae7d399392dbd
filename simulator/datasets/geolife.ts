/**
 * Microsoft Research GeoLife GPS points (`lat,lng,datetime,uid`, datetime in GMT) as `location`
 * events: `customerId` `geolife-<uid>`, `eventId` `geolife-<uid>-<line>`, `accuracyM` and `speedMps`
 * null (the data has neither). Events come in file order (by user, then time), not merged across
 * users; within a user they are in time order as the file is.
 *
 * Rejected rows, by reason: `malformed_row` (not 4 fields, or an empty uid), `bad_coordinate`
 * (lat or lng not a number), `out_of_range` (lat outside [-90, 90] or lng outside [-180, 180]),
 * `null_island` (exactly 0,0: a device with no fix), `bad_datetime`, and `invalid_event` (failed
 * `validate('LocationEvent')`). A first line starting with `lat` is the header and is not a row.
 */

import { validate, type LocationEvent } from '../../schemas/index.js';
import { readLineBatches } from './csv.js';
import { datasetPath } from './paths.js';
import { datasetLoad, newReport, rejectRow, type DatasetLoad, type LoadOptions } from './report.js';

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;

/** `YYYY-MM-DD HH:MM:SS` in UTC to epoch ms; undefined if it is not a real date-time. */
export function parseUtcDateTime(text: string): number | undefined {
  const m = DATETIME.exec(text.trim());
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i])) as [number, number, number, number, number, number];
  const ts = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ts);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return ts;
}

type Parsed = { ok: true; event: LocationEvent } | { ok: false; reason: string; message: string; field?: string };

function parseLine(text: string, line: number): Parsed {
  const fields = text.split(',');
  if (fields.length !== 4) return { ok: false, reason: 'malformed_row', message: `expected 4 fields, got ${fields.length}` };
  const [latText = '', lonText = '', datetime = '', uidText = ''] = fields;
  const uid = uidText.trim();
  if (uid === '') return { ok: false, reason: 'malformed_row', message: 'empty uid', field: 'uid' };
  const lat = latText.trim() === '' ? NaN : Number(latText);
  const lon = lonText.trim() === '' ? NaN : Number(lonText);
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) {
    return { ok: false, reason: 'bad_coordinate', message: `lat/lng ${JSON.stringify(`${latText},${lonText}`)} is not a number`, field: Number.isFinite(lat) ? 'lng' : 'lat' };
  }
  if (lat < -90 || lat > 90 || lon < -180 || lon > 180) {
    return { ok: false, reason: 'out_of_range', message: `lat ${lat}, lng ${lon} is not a WGS84 position`, field: lat < -90 || lat > 90 ? 'lat' : 'lng' };
  }
  if (lat === 0 && lon === 0) return { ok: false, reason: 'null_island', message: 'position 0,0 (no fix)', field: 'lat' };
  const ts = parseUtcDateTime(datetime);
  if (ts === undefined) return { ok: false, reason: 'bad_datetime', message: `datetime ${JSON.stringify(datetime)} is not a date-time`, field: 'datetime' };
  return {
    ok: true,
    event: { eventId: `geolife-${uid}-${line}`, customerId: `geolife-${uid}`, ts, lat, lon, accuracyM: null, speedMps: null },
  };
}

export function loadGeoLife(opts: LoadOptions = {}): DatasetLoad<LocationEvent> {
  const path = opts.path ?? datasetPath('geolife', 'geolife_sample.txt.gz');
  const report = newReport('geolife');

  async function* run(): AsyncGenerator<LocationEvent> {
    report.files.push(path);
    let lineNo = 0;
    for await (const lines of readLineBatches(path)) {
      for (const text of lines) {
        lineNo++;
        if (lineNo === 1 && text.trimStart().toLowerCase().startsWith('lat')) continue;
        report.read++;
        const parsed = parseLine(text, lineNo);
        if (!parsed.ok) {
          rejectRow(report, opts.onReject, { file: path, line: lineNo, raw: text, reason: parsed.reason }, parsed.message, parsed.field);
          continue;
        }
        const checked = validate('LocationEvent', parsed.event);
        if (!checked.ok) {
          rejectRow(report, opts.onReject, { file: path, line: lineNo, raw: text, reason: 'invalid_event' }, checked.error.message, checked.error.field);
          continue;
        }
        report.emitted++;
        report.events++;
        // At once, not at the end of the read's batch: a reader that stops after n events has then
        // seen the same rows (the report) whatever the batches were.
        yield parsed.event;
      }
    }
  }

  return datasetLoad(report, run);
}
