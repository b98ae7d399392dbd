import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseCsvLine, readCsvRows, readLineBatches } from './csv.js';

describe('parseCsvLine', () => {
  it('splits plain and quoted fields, with commas and doubled quotes inside quotes', () => {
    expect(parseCsvLine('a,b,,d')).toEqual(['a', 'b', '', 'd']);
    expect(parseCsvLine('1,"AIRLINE LOUNGE,METAL SIGN",2')).toEqual(['1', 'AIRLINE LOUNGE,METAL SIGN', '2']);
    expect(parseCsvLine('1,"RECORD FRAME 7"" SINGLE SIZE ",48')).toEqual(['1', 'RECORD FRAME 7" SINGLE SIZE ', '48']);
    expect(parseCsvLine('"",x,""')).toEqual(['', 'x', '']);
    expect(parseCsvLine('12" TV,5')).toEqual(['12" TV', '5']);
    expect(parseCsvLine('1,"open')).toBeNull();
  });
});

describe('readCsvRows / readLineBatches', () => {
  const dir = mkdtempSync(join(tmpdir(), 'csv-'));

  it('reads gzip by its magic bytes, strips CRLF, joins quoted line breaks into one row', async () => {
    const text = 'h1,h2\r\n1,"two\r\nlines"\r\n3,4\r\n5,"never closed\n6,7';
    const plain = join(dir, 'a.txt');
    const gz = join(dir, 'a.data'); // no .gz suffix on purpose
    writeFileSync(plain, text);
    writeFileSync(gz, gzipSync(text));
    for (const path of [plain, gz]) {
      const rows = [];
      for await (const batch of readCsvRows(path, 3)) rows.push(...batch);
      expect(rows).toEqual([
        { line: 1, raw: 'h1,h2', fields: ['h1', 'h2'] },
        { line: 2, raw: '1,"two\nlines"', fields: ['1', 'two\nlines'] },
        { line: 4, raw: '3,4', fields: ['3', '4'] },
        { line: 5, raw: '5,"never closed\n6,7', fields: null },
      ]);
    }
    const lines = [];
    for await (const batch of readLineBatches(gz)) lines.push(...batch);
    expect(lines).toEqual(['h1,h2', '1,"two', 'lines"', '3,4', '5,"never closed', '6,7']);
  });
});
