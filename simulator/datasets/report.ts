/**
 * The accounting every dataset loader keeps: each row read is either part of an emitted event or
 * rejected with a reason, so `read = emitted + sum(rejected)` (all in rows); `events` counts what
 * came out (an event may combine several rows, e.g. the lines of one invoice).
 */

import { ssError, type ScenestreamError } from '../../schemas/errors.js';

/** What each count of a report counts. */
export const REPORT_UNITS = { read: 'rows', emitted: 'rows', rejected: 'rows', events: 'events' } as const;

export interface RejectionReport {
  readonly dataset: string;
  /** Says which counts are rows and which are events (always {@link REPORT_UNITS}). */
  readonly units: typeof REPORT_UNITS;
  /** The files read, in order. */
  files: string[];
  /** Data rows read, header lines excluded. Unit: rows. */
  read: number;
  /** Rows that went into emitted events. Unit: rows. */
  emitted: number;
  /** Rejected rows by reason. Unit: rows. */
  rejected: Record<string, number>;
  /** Events emitted. Unit: events. */
  events: number;
  /** Other counts worth knowing that are neither rejections nor events (e.g. duplicate rows kept). */
  notes: Record<string, number>;
  /** true once the whole input has been read and accounted for. */
  complete: boolean;
}

/** A rejected row, as handed to `onReject` (e.g. to dead-letter it). */
export interface RejectedRow {
  readonly file: string;
  /** 1-based line number of the row's first line in its file. */
  readonly line: number;
  readonly reason: string;
  readonly raw: string;
}

export interface LoadOptions {
  /** The file (or, for Instacart, the directory) to read; defaults to the shared datasets folder. */
  path?: string;
  /** Called once per rejected row with an `SS_ERR_DATASET_ROW` error. */
  onReject?: (error: ScenestreamError, row: RejectedRow) => void;
  /**
   * Called with each row that passed its checks, its columns by header name, for what the events do
   * not carry (REES46's brand, Online Retail's Description). REES46 and Online Retail only. An
   * Online Retail row may still be rejected later with its invoice (`invalid_event`).
   */
  onRow?: (columns: Readonly<Record<string, string>>) => void;
}

/** A loader's result: iterate it (once) for the events; `report` is complete when iteration ends. */
export interface DatasetLoad<T> extends AsyncIterable<T> {
  readonly report: RejectionReport;
}

export function newReport(dataset: string): RejectionReport {
  return { dataset, units: REPORT_UNITS, files: [], read: 0, emitted: 0, rejected: {}, events: 0, notes: {}, complete: false };
}

export function rejectedTotal(report: RejectionReport): number {
  return Object.values(report.rejected).reduce((s, n) => s + n, 0);
}

/** Counts a rejection and tells `onReject`. */
export function rejectRow(
  report: RejectionReport,
  onReject: LoadOptions['onReject'],
  row: RejectedRow,
  message: string,
  field?: string,
): void {
  report.rejected[row.reason] = (report.rejected[row.reason] ?? 0) + 1;
  if (onReject !== undefined) {
    const details = field === undefined ? {} : { field };
    onReject(ssError('SS_ERR_DATASET_ROW', `${report.dataset} ${row.file}:${row.line}: ${row.reason}: ${message}`, details), row);
  }
}

export function note(report: RejectionReport, key: string, n = 1): void {
  report.notes[key] = (report.notes[key] ?? 0) + n;
}

/** Wrap a generator as a single-use DatasetLoad that marks the report complete at the end. */
export function datasetLoad<T>(report: RejectionReport, run: () => AsyncGenerator<T>): DatasetLoad<T> {
  let used = false;
  return {
    report,
    [Symbol.asyncIterator](): AsyncIterator<T> {
      if (used) throw new Error(`${report.dataset}: a DatasetLoad can be iterated only once; call the loader again`);
      used = true;
      const inner = run();
      return {
        async next(): Promise<IteratorResult<T>> {
          const r = await inner.next();
          if (r.done === true) report.complete = true;
          return r;
        },
        async return(value?: unknown): Promise<IteratorResult<T>> {
          await inner.return(undefined);
          return { done: true, value: value as T };
        },
      };
    },
  };
}

/** Read a whole load into memory (for small datasets and tests). */
export async function collect<T>(load: DatasetLoad<T>): Promise<{ events: T[]; report: RejectionReport }> {
  const events: T[] = [];
  for await (const e of load) events.push(e);
  return { events, report: load.report };
}
