/**
 * Reference data as a table that the runtime may change while the job runs (stores, products):
 * rows by id, a version that grows by one on every change, and listeners told of each change.
 *
 * **Semantics of a change (processing time).** As a broadcast-state update in Flink: a change
 * applies to what the steps handle after it is applied and never rewrites what was decided
 * before. A replay uses a fixed table (version 0) and stays deterministic.
 */

import { ssError } from '../schemas/errors.js';
import { validate, type SchemaTypes } from '../schemas/index.js';

/** What one change did to a {@link LiveTable}. */
export interface TableChange<T> {
  /** The table's version after the change. */
  readonly version: number;
  /** Rows that were not in the table, by id ascending. */
  readonly added: readonly T[];
  /** Rows whose content changed, by id ascending. */
  readonly updated: readonly T[];
  /** Ids of rows no longer in the table, ascending. */
  readonly removed: readonly string[];
}

/** How a {@link LiveTable} reads its rows. */
export interface RowKind<T> {
  /** The row's id. */
  id(row: T): string;
  /** The row if it is valid; throws (`SS_ERR_VALIDATION`, naming it) otherwise. */
  check(row: T): T;
  /** Whether two rows of one id have the same content (an unchanged row is no change). */
  same(a: T, b: T): boolean;
}

/**
 * A {@link RowKind.check} by schema: the row if `validate(schema)` passes, else
 * `SS_ERR_VALIDATION` naming the row and the field (`<table>.<id>.<field>`, e.g. `stores.s1.lat`).
 */
export function checkBySchema<N extends 'Store' | 'Product'>(schema: N, noun: string, table: string, id: (row: SchemaTypes[N]) => string): (row: SchemaTypes[N]) => SchemaTypes[N] {
  return (row) => {
    const r = validate(schema, row);
    if (!r.ok) throw ssError('SS_ERR_VALIDATION', `${noun} ${String(id(row))} is invalid: ${r.error.message}`, { field: `${table}.${String(id(row))}${r.error.field !== undefined ? `.${r.error.field}` : ''}` });
    return row;
  };
}

const byIdOf =
  <T>(id: (row: T) => string) =>
  (a: T, b: T): number => {
    const x = id(a);
    const y = id(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };

/**
 * The table. A change with an invalid row throws (from {@link RowKind.check}) and changes nothing,
 * so readers never meet a row they cannot use; feeds reject such records before. Listeners hear
 * every change, after it is applied, in the order of the changes.
 */
export class LiveTable<T> {
  private byId = new Map<string, T>();
  private sorted: readonly T[] = [];
  private v = 0;
  private readonly listeners = new Set<(c: TableChange<T>) => void>();
  private readonly order: (a: T, b: T) => number;

  constructor(
    private readonly kind: RowKind<T>,
    initial: Iterable<T> = [],
  ) {
    this.order = byIdOf(kind.id);
    for (const row of initial) this.byId.set(kind.id(row), kind.check(row));
    this.sort();
  }

  /** 0 for the first content; one more after each change. */
  get version(): number {
    return this.v;
  }

  /** The current rows, by id ascending. The same array until the next change. */
  all(): readonly T[] {
    return this.sorted;
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }

  /**
   * Makes `rows` the whole table: rows not in it are removed. An id given twice keeps the later
   * row. Returns the change, or undefined (and the version stays) when nothing changed.
   */
  replace(rows: Iterable<T>): TableChange<T> | undefined {
    const next = new Map<string, T>();
    for (const row of rows) next.set(this.kind.id(row), this.kind.check(row));
    const removed = [...this.byId.keys()].filter((id) => !next.has(id));
    return this.apply(next.values(), removed);
  }

  /** Adds a row or changes it; undefined when it is already there as given. */
  upsert(row: T): TableChange<T> | undefined {
    return this.apply([this.kind.check(row)], []);
  }

  /** Removes a row; undefined when there is none by that id. */
  remove(id: string): TableChange<T> | undefined {
    return this.apply([], [id]);
  }

  /** Calls `listener` after each change; returns the function that stops it. */
  onChange(listener: (c: TableChange<T>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private apply(upserts: Iterable<T>, removals: readonly string[]): TableChange<T> | undefined {
    const added: T[] = [];
    const updated: T[] = [];
    const removed: string[] = [];
    for (const row of upserts) {
      const id = this.kind.id(row);
      const prev = this.byId.get(id);
      if (prev === undefined) added.push(row);
      else if (!this.kind.same(prev, row)) updated.push(row);
      else continue;
      this.byId.set(id, row);
    }
    for (const id of removals) if (this.byId.delete(id)) removed.push(id);
    if (added.length + updated.length + removed.length === 0) return undefined;
    this.sort();
    this.v++;
    const change: TableChange<T> = { version: this.v, added: added.sort(this.order), updated: updated.sort(this.order), removed: removed.sort() };
    for (const l of [...this.listeners]) l(change);
    return change;
  }

  private sort(): void {
    this.sorted = Object.freeze([...this.byId.values()].sort(this.order));
  }
}
