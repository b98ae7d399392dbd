import type { LiveTable, TableChange } from '../../pipelines/liveTable.js';
import type { ScenestreamError } from '../../schemas/errors.js';
import { errorText } from '../dependencies.js';

/** A record of a reference table in Redis that is not valid: left out, with the reason. */
export interface RejectedRow {
  readonly id: string;
  /** The record as stored. */
  readonly raw: string;
  readonly error: ScenestreamError;
}

/** A reference table as read from Redis: the valid rows and the records rejected. */
export interface ReferenceRead<T> {
  readonly rows: T[];
  readonly rejected: RejectedRow[];
}

/** What a {@link ReferenceFeed} reads: a version counter and the table. */
export interface ReferenceSource<T> {
  version(): Promise<number>;
  read(): Promise<ReferenceRead<T>>;
}

export interface ReferenceFeedOptions<T> {
  readonly source: ReferenceSource<T>;
  /** The live table the pipelines and the screens read. */
  readonly table: LiveTable<T>;
  /** Between two polls of the version counter. */
  readonly intervalMs: number;
  /** The table, for logs: `store catalogue`. */
  readonly what: string;
  /** One row, for logs: `store`. */
  readonly noun: string;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Called once for each invalid record (again only if its content changes), after it is logged. */
  readonly onRejected?: (r: RejectedRow) => void;
}

/**
 * Keeps a {@link LiveTable} equal to a reference table in Redis, its source of truth (`scenestream
 * load-reference` writes it). Every `intervalMs` it reads the table's version counter (one GET);
 * when the counter moved it reads the table and replaces the live one, which tells its listeners.
 *
 * **Invalid records** never stop the job: each is logged once (again only when its content
 * changes) and reported to `onRejected` (production counts it as a dead letter of the table). The
 * row keeps its last valid content if it had any; otherwise it is not in the table.
 *
 * **Redis unreachable** during a poll: the table stays as it is, the failure is logged once until
 * a poll succeeds again, and polling goes on. Only the first {@link refresh} (at start) throws.
 */
export class ReferenceFeed<T> {
  private lastVersion: number | undefined;
  private readonly loggedRejections = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<unknown> | undefined;
  private failing = false;
  private stopped = false;

  constructor(private readonly o: ReferenceFeedOptions<T>) {}

  /** Records currently rejected. */
  get rejected(): number {
    return this.loggedRejections.size;
  }

  /**
   * One poll: reads the version, and the table if the version moved since the last read (or
   * always with `force`). Returns the change applied to the table, if any.
   */
  async refresh(force = false): Promise<TableChange<T> | undefined> {
    const version = await this.o.source.version();
    if (!force && version === this.lastVersion) return undefined;
    const read = await this.o.source.read();
    this.lastVersion = version;
    const rows: T[] = [...read.rows];
    const rejectedNow = new Set<string>();
    for (const r of read.rejected) {
      rejectedNow.add(r.id);
      const previous = this.o.table.get(r.id);
      if (previous !== undefined) rows.push(previous);
      if (this.loggedRejections.get(r.id) === r.raw) continue;
      this.loggedRejections.set(r.id, r.raw);
      this.o.log?.('warn', `${r.error.code}: ${r.error.message}; the record is ignored (${previous !== undefined ? `the ${this.o.noun} keeps its last valid details` : `the ${this.o.noun} is not served`})`);
      this.o.onRejected?.(r);
    }
    for (const id of [...this.loggedRejections.keys()]) if (!rejectedNow.has(id)) this.loggedRejections.delete(id);
    const change = this.o.table.replace(rows);
    if (change === undefined) return undefined;
    const n = (xs: readonly unknown[], what: string) => (xs.length > 0 ? [`${xs.length} ${what}`] : []);
    const what = [...n(change.added, 'added'), ...n(change.updated, 'updated'), ...n(change.removed, 'removed')].join(', ');
    this.o.log?.('info', `${this.o.what} version ${version}: ${what}; ${this.o.table.size} ${this.o.noun}s`);
    return change;
  }

  /** Polls every `intervalMs` until {@link stop}; a failed poll is logged and retried at the next. */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    const tick = (): void => {
      this.inFlight = this.refresh()
        .then(() => {
          if (this.failing) this.o.log?.('info', `${this.o.what}: read from Redis again`);
          this.failing = false;
        })
        .catch((e: unknown) => {
          if (!this.failing) this.o.log?.('warn', `${this.o.what} not refreshed (kept as it is, retried every ${this.o.intervalMs} ms): ${errorText(e)}`);
          this.failing = true;
        })
        .finally(() => {
          this.inFlight = undefined;
          if (!this.stopped) {
            this.timer = setTimeout(tick, this.o.intervalMs);
            this.timer.unref();
          }
        });
    };
    this.timer = setTimeout(tick, this.o.intervalMs);
    this.timer.unref();
  }

  /** Stops polling; waits for a poll in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.inFlight;
  }
}
