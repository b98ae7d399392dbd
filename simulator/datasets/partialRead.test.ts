import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGeoLife } from './geolife.js';
import { loadOnlineRetail } from './online-retail.js';
import { datasetPath } from './paths.js';
import { loadRees46 } from './rees46.js';
import type { DatasetLoad, LoadOptions } from './report.js';

/**
 * A reader that stops after n events (`convertDataset --max-events`) must have seen the same rows
 * whatever chunks the file arrived in: the catalogue is built from the rows passed to `onRow`, and
 * the report counts them. The same data is read as a plain file (chunks of 1 MiB) and gzipped
 * (chunks as gunzip hands them over): the loaders hand over each event as soon as a row makes it,
 * not at the end of a chunk's rows, so both agree.
 */
const dir = mkdtempSync(join(tmpdir(), 'ss-partial-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The first `lines` lines of a dataset file, written plain and gzipped. */
function bothForms(file: string, lines: number): { plain: string; gzip: string } {
  const raw = readFileSync(file);
  const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const head = `${text.split('\n').slice(0, lines).join('\n')}\n`;
  const name = file.split('/').pop()!.replace(/\.gz$/, '');
  const plain = join(dir, name);
  const gzip = join(dir, `${name}.gz`);
  writeFileSync(plain, head);
  writeFileSync(gzip, gzipSync(head));
  return { plain, gzip };
}

/** Reads `n` events of a load, then stops: what the report and `onRow` saw by then. */
async function stopAfter(load: (opts: LoadOptions) => DatasetLoad<unknown>, path: string, n: number) {
  let rows = 0;
  const l = load({ path, onRow: () => rows++ });
  let events = 0;
  for await (const _ of l) if (++events >= n) break;
  const { read, emitted, events: counted, complete } = l.report;
  return { events, rows, read, emitted, counted, complete };
}

describe('a read stopped after n events has seen the same rows, whatever the chunks', () => {
  const cases = [
    ['online-retail', loadOnlineRetail, datasetPath('online-retail', 'online-retail.csv.gz'), 40_000],
    ['rees46', loadRees46, datasetPath('rees46', '2019-Oct-sample.csv'), 2_000],
    ['geolife', loadGeoLife, datasetPath('geolife', 'geolife_sample.txt.gz'), 40_000],
  ] as const;

  for (const [name, load, file, lines] of cases) {
    it(`${name}`, async () => {
      const { plain, gzip } = bothForms(file, lines);
      for (const n of [1, 7, 150]) {
        const a = await stopAfter(load, plain, n);
        const b = await stopAfter(load, gzip, n);
        expect(a.events, `${name} n=${n}`).toBe(n);
        expect(a.complete).toBe(false);
        expect(b, `${name} n=${n}`).toEqual(a);
        // Rows are read only as far as the n-th event needs: far fewer than the file's lines.
        expect(a.read, `${name} n=${n}`).toBeLessThan(lines / 4);
      }
    });
  }
});
