/**
 * Streaming text input for the dataset loaders: lines of a plain or gzipped file (told apart by the
 * gzip magic bytes, not the name), and RFC 4180 CSV rows (both in batches), whose quoted fields may hold commas,
 * doubled quotes and line breaks.
 */

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * The lines of a file (gunzipped if it is gzip), without terminators (LF or CRLF), in batches of
 * whatever one read chunk holds: per-line async iteration costs more than parsing the line.
 */
export async function* readLineBatches(path: string): AsyncGenerator<string[]> {
  // Sniffed before the stream opens: a missing file is then one rejection of this generator, not
  // also an 'error' event of a stream nobody listens to yet (an uncaught exception).
  const gzip = await isGzip(path);
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  const input: Readable = gzip ? raw.pipe(createGunzip()) : raw;
  // A gunzip error (truncated file) must reach the reader, not vanish in the pipe.
  raw.on('error', (e) => input.destroy(e));
  input.setEncoding('utf8');
  let rest = '';
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i] as string;
        if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
      }
      if (lines.length > 0) yield lines;
    }
    if (rest.length > 0) yield [rest.endsWith('\r') ? rest.slice(0, -1) : rest];
  } finally {
    raw.destroy();
  }
}

/** Split one CSV record; null when a quoted field is not closed on this text (it continues on the next line). */
export function parseCsvLine(text: string): string[] | null {
  if (!text.includes('"')) return text.split(',');
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return null;
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      // Anything between the closing quote and the next comma is kept, as lenient parsers do.
      const comma = text.indexOf(',', i);
      value += comma < 0 ? text.slice(i) : text.slice(i, comma);
      fields.push(value);
      if (comma < 0) return fields;
      i = comma + 1;
    } else {
      const comma = text.indexOf(',', i);
      if (comma < 0) {
        fields.push(text.slice(i));
        return fields;
      }
      fields.push(text.slice(i, comma));
      i = comma + 1;
    }
  }
}

export interface CsvRow {
  /** 1-based line number of the row's first line. */
  line: number;
  /** The row's text (lines joined with `\n` if a quoted field spans lines). */
  raw: string;
  /** The fields, or null if a quote is never closed (within `maxLines` lines). */
  fields: string[] | null;
}

/**
 * CSV rows of a file, header included (it is row 1; the caller decides), in batches. A quoted field
 * may span at most `maxLines` lines; past that the row is given with `fields: null` and reading
 * resumes after it.
 */
export async function* readCsvRows(path: string, maxLines = 20): AsyncGenerator<CsvRow[]> {
  let lineNo = 0;
  let pending: { line: number; raw: string; lines: number } | null = null;
  for await (const lines of readLineBatches(path)) {
    const rows: CsvRow[] = [];
    for (const text of lines) {
      lineNo++;
      if (pending === null) {
        const fields = parseCsvLine(text);
        if (fields !== null) rows.push({ line: lineNo, raw: text, fields });
        else pending = { line: lineNo, raw: text, lines: 1 };
        continue;
      }
      pending.raw += `\n${text}`;
      pending.lines++;
      const fields = parseCsvLine(pending.raw);
      if (fields !== null || pending.lines >= maxLines) {
        rows.push({ line: pending.line, raw: pending.raw, fields });
        pending = null;
      }
    }
    if (rows.length > 0) yield rows;
  }
  if (pending !== null) yield [{ line: pending.line, raw: pending.raw, fields: null }];
}
