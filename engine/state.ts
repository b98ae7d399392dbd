import { ssError } from '../schemas/errors.js';
import { fromPlain, toPlain, type Json } from './plain.js';
import { TimerQueue, type TimerChanges } from './timers.js';

/**
 * Keyed state, scoped by step id and key.
 *
 * Operators read and write state synchronously from an in-process table; a backend decides where
 * the tables live between checkpoints. This is the Kafka Streams model (local store, written behind
 * to a changelog): the runtime serves a whole input batch from memory and flushes what the batch
 * changed in one round trip ({@link StateBackend.drainChanges}), so a remote backend (Redis) costs a
 * few round trips per batch, not per event.
 *
 * Time-to-live is measured in **event time**, so a replay of the same input expires the same
 * entries however it is batched. An entry written while processing event time `t` (a record's ts,
 * or a timer's) with `ttlMs` is invisible to reads at event time `>= t + ttlMs`, and is removed
 * from memory once the whole pipeline's watermark has passed `t + ttlMs` (after that watermark
 * has reached every step, so a step still applying held-back records never loses an entry early).
 */

export interface StateOptions {
  /** Event-time lifetime of an entry after its last write. */
  readonly ttlMs?: number;
}

/** A change to flush: `value === undefined` means the entry was deleted. */
export interface StateChange {
  readonly table: string;
  readonly key: string;
  readonly value: unknown;
  readonly expiresAt: number | undefined;
}

/** One value per key. */
export interface ValueState<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  delete(key: string): void;
  has(key: string): boolean;
  /**
   * The value of `key` was mutated in place (a step that owns its per-key object changes it rather
   * than copying it): marks it changed, as `set` would, so that change tracking writes it behind
   * and a TTL counts from now. Costs nothing without change tracking or TTL.
   */
  touch(key: string): void;
  readonly size: number;
}

/** A map per key (e.g. the open windows of a key, by window start). */
export interface MapState<V> {
  get(key: string, field: string): V | undefined;
  set(key: string, field: string, value: V): void;
  delete(key: string, field: string): void;
  /** The fields of one key, in insertion order. Do not mutate while iterating. */
  entries(key: string): ReadonlyMap<string, V> | undefined;
  clear(key: string): void;
  readonly size: number;
}

/** A list per key. */
export interface ListState<V> {
  get(key: string): readonly V[];
  /**
   * Appends to the key's list. A short list is replaced by a copy one longer, a long one grows in
   * place: a list read with `get` before may or may not show the new value (read it again).
   */
  add(key: string, value: V): void;
  set(key: string, values: V[]): void;
  clear(key: string): void;
  /** An element of the key's list was mutated in place: marks it changed, as `ValueState.touch`. */
  touch(key: string): void;
  readonly size: number;
}

/** The event-time view a backend needs: the time of the current record, and the watermark. */
export interface StateTime {
  /** Event time of the record (or timer) being processed. */
  currentTime: number;
  /** All records with ts <= watermark have been seen. */
  watermark: number;
}

/** JSON-safe (values encoded with `toPlain`): it can be written to Redis or a file as it is. */
export interface StateSnapshot {
  readonly version: 1;
  readonly tables: Record<string, Array<[string, Json, number | null]>>;
  readonly timers: Record<string, Array<[number, string]>>;
}

/** Where keyed state lives. The in-memory backend is the embedded default. */
export interface StateBackend {
  readonly time: StateTime;
  valueState<V>(stepId: string, name: string, opts?: StateOptions): ValueState<V>;
  mapState<V>(stepId: string, name: string, opts?: StateOptions): MapState<V>;
  listState<V>(stepId: string, name: string, opts?: StateOptions): ListState<V>;
  /** Timers are state too: they are snapshotted and restored with the tables. */
  timers(stepId: string, name: string): TimerQueue;
  /** Drops entries whose TTL has passed the watermark. Called by the runtime as time advances. */
  expire(): void;
  /** The changes since the last drain (only when change tracking is on), for write-behind. */
  drainChanges(): StateChange[];
  snapshot(): StateSnapshot;
  restore(snapshot: StateSnapshot): void;
}

/** Suffix of the change-table name under which a timer queue's changes are tracked. */
export const TIMER_TABLE_SUFFIX = '#timers';
/** Separates the timestamp from the key in a tracked timer change's key. */
export const TIMER_KEY_SEP = '\u0002';

/**
 * Below this length `ListState.add` copies the list into an exact-size array instead of pushing:
 * V8's push leaves room for about 16 more elements (128 bytes), which most per-key lists, of a few
 * elements for as long as the key lives, would carry for nothing. Longer lists grow in place, so
 * appending stays amortised O(1).
 */
const SHORT_LIST = 16;

interface Entry {
  v: unknown;
  e: number; // expiresAt (event time), Infinity when no TTL
}

/**
 * A table of key -> value with optional TTL. Values without TTL are stored bare to keep a million
 * keys cheap; with TTL each value is wrapped with its expiry.
 */
class Table {
  readonly data = new Map<string, unknown>();
  /** Keys written or deleted since the last drain (null: no change tracking). */
  private readonly dirty: Set<string> | null;
  private lastSweep = -Infinity;
  constructor(
    readonly name: string,
    readonly ttlMs: number | undefined,
    private readonly time: StateTime,
    trackChanges: boolean,
  ) {
    this.dirty = trackChanges ? new Set() : null;
  }

  get(key: string): unknown {
    const raw = this.data.get(key);
    if (this.ttlMs === undefined || raw === undefined) return raw;
    const entry = raw as Entry;
    return entry.e <= this.time.currentTime ? undefined : entry.v;
  }

  set(key: string, value: unknown): void {
    if (this.ttlMs === undefined) this.data.set(key, value);
    else this.data.set(key, { v: value, e: this.time.currentTime + this.ttlMs });
    this.dirty?.add(key);
  }

  /** Marks a value that was mutated in place as changed. */
  touch(key: string): void {
    if (this.ttlMs === undefined) {
      if (this.dirty !== null && this.data.has(key)) this.dirty.add(key);
      return;
    }
    const v = this.get(key);
    if (v !== undefined) this.set(key, v);
  }

  delete(key: string): void {
    if (this.data.delete(key)) this.dirty?.add(key);
  }

  expire(): void {
    if (this.ttlMs === undefined) return;
    const wm = this.time.watermark;
    // Amortise: sweep when the watermark has moved a quarter of the TTL since the last sweep.
    if (wm - this.lastSweep < this.ttlMs / 4) return;
    this.lastSweep = wm;
    for (const [key, raw] of this.data) {
      if ((raw as Entry).e <= wm) this.delete(key);
    }
  }

  snapshot(): Array<[string, Json, number | null]> {
    const out: Array<[string, Json, number | null]> = [];
    for (const [key, raw] of this.data) {
      if (this.ttlMs === undefined) out.push([key, toPlain(raw), null]);
      else out.push([key, toPlain((raw as Entry).v), (raw as Entry).e]);
    }
    return out;
  }

  restore(rows: Array<[string, Json, number | null]>): void {
    this.data.clear();
    for (const [key, v, e] of rows) {
      this.data.set(key, this.ttlMs === undefined ? fromPlain(v) : { v: fromPlain(v), e: e ?? Infinity });
    }
  }

  /**
   * Appends the changes since the last drain: each dirty key once, with what it holds now (a value
   * mutated in place and touched is read as it is now, which is what a write-behind must store).
   */
  drainInto(out: StateChange[]): void {
    if (this.dirty === null || this.dirty.size === 0) return;
    for (const key of this.dirty) {
      const raw = this.data.get(key);
      if (raw === undefined) out.push({ table: this.name, key, value: undefined, expiresAt: undefined });
      else if (this.ttlMs === undefined) out.push({ table: this.name, key, value: raw, expiresAt: undefined });
      else out.push({ table: this.name, key, value: (raw as Entry).v, expiresAt: (raw as Entry).e });
    }
    this.dirty.clear();
  }
}

/**
 * The timers added or removed since the last drain, per timestamp: a Set per timestamp costs no
 * string or object per change. Drained as the entries of table `<queue id>#timers`, key
 * `ts SEP key`, value `true` if the timer exists at drain time, else deleted.
 */
class DirtyTimers implements TimerChanges {
  private readonly byTs = new Map<number, Set<string>>();
  constructor(
    private readonly table: string,
    private readonly queue: TimerQueue,
  ) {}

  added(ts: number, key: string): void {
    this.mark(ts, key);
  }

  removed(ts: number, key: string): void {
    this.mark(ts, key);
  }

  private mark(ts: number, key: string): void {
    const keys = this.byTs.get(ts);
    if (keys === undefined) this.byTs.set(ts, new Set([key]));
    else keys.add(key);
  }

  drainInto(out: StateChange[]): void {
    if (this.byTs.size === 0) return;
    for (const [ts, keys] of this.byTs) {
      for (const key of keys) {
        out.push({ table: this.table, key: `${ts}${TIMER_KEY_SEP}${key}`, value: this.queue.has(ts, key) ? true : undefined, expiresAt: undefined });
      }
    }
    this.byTs.clear();
  }
}

export interface InMemoryBackendOptions {
  /** Record every write for {@link StateBackend.drainChanges}; off by default (nothing to flush to). */
  readonly trackChanges?: boolean;
}

/** The embedded default: everything in process, snapshot and restore as plain data. */
export class InMemoryStateBackend implements StateBackend {
  readonly time: StateTime = { currentTime: -Infinity, watermark: -Infinity };
  private readonly tables = new Map<string, Table>();
  private readonly timerQueues = new Map<string, TimerQueue>();
  private readonly trackChanges: boolean;
  private readonly dirtyTimers: DirtyTimers[] = [];

  constructor(opts: InMemoryBackendOptions = {}) {
    this.trackChanges = opts.trackChanges === true;
  }

  private table(stepId: string, name: string, opts: StateOptions | undefined): Table {
    const id = `${stepId}/${name}`;
    if (this.tables.has(id)) {
      throw ssError('SS_ERR_GRAPH_DUPLICATE_STEP', `state "${name}" is declared twice`, { stepId });
    }
    const ttl = opts?.ttlMs;
    if (ttl !== undefined && !(ttl > 0)) {
      throw ssError('SS_ERR_GRAPH_INVALID', `state "${name}" has ttlMs ${ttl}; it must be > 0`, { stepId });
    }
    const t = new Table(id, ttl, this.time, this.trackChanges);
    this.tables.set(id, t);
    return t;
  }

  valueState<V>(stepId: string, name: string, opts?: StateOptions): ValueState<V> {
    const t = this.table(stepId, name, opts);
    return {
      get: (key) => t.get(key) as V | undefined,
      set: (key, value) => t.set(key, value),
      delete: (key) => t.delete(key),
      has: (key) => t.get(key) !== undefined,
      touch: (key) => t.touch(key),
      get size() {
        return t.data.size;
      },
    };
  }

  mapState<V>(stepId: string, name: string, opts?: StateOptions): MapState<V> {
    const t = this.table(stepId, name, opts);
    const mapOf = (key: string): Map<string, V> | undefined => t.get(key) as Map<string, V> | undefined;
    return {
      get: (key, field) => mapOf(key)?.get(field),
      set: (key, field, value) => {
        const m = mapOf(key);
        if (m === undefined) t.set(key, new Map([[field, value]]));
        else {
          m.set(field, value);
          t.touch(key);
        }
      },
      delete: (key, field) => {
        const m = mapOf(key);
        if (m === undefined || !m.delete(field)) return;
        if (m.size === 0) t.delete(key);
        else t.touch(key);
      },
      entries: (key) => mapOf(key),
      clear: (key) => t.delete(key),
      get size() {
        return t.data.size;
      },
    };
  }

  listState<V>(stepId: string, name: string, opts?: StateOptions): ListState<V> {
    const t = this.table(stepId, name, opts);
    const empty: readonly V[] = Object.freeze([]);
    return {
      get: (key) => (t.get(key) as V[] | undefined) ?? empty,
      add: (key, value) => {
        const l = t.get(key) as V[] | undefined;
        if (l === undefined) t.set(key, [value]);
        else if (l.length < SHORT_LIST) t.set(key, l.concat([value]));
        else {
          l.push(value);
          t.touch(key);
        }
      },
      set: (key, values) => (values.length === 0 ? t.delete(key) : t.set(key, values)),
      clear: (key) => t.delete(key),
      touch: (key) => t.touch(key),
      get size() {
        return t.data.size;
      },
    };
  }

  timers(stepId: string, name: string): TimerQueue {
    const id = `${stepId}/${name}`;
    if (this.timerQueues.has(id)) {
      throw ssError('SS_ERR_GRAPH_DUPLICATE_STEP', `timers "${name}" are declared twice`, { stepId });
    }
    const q = new TimerQueue();
    this.timerQueues.set(id, q);
    if (this.trackChanges) {
      // Timers are written behind like table entries: table `<step>/<name>#timers`, key `ts SEP key`.
      const dirty = new DirtyTimers(`${id}${TIMER_TABLE_SUFFIX}`, q);
      this.dirtyTimers.push(dirty);
      q.changes = dirty;
    }
    return q;
  }

  expire(): void {
    for (const t of this.tables.values()) t.expire();
  }

  drainChanges(): StateChange[] {
    const out: StateChange[] = [];
    if (!this.trackChanges) return out;
    for (const t of this.tables.values()) t.drainInto(out);
    for (const d of this.dirtyTimers) d.drainInto(out);
    return out;
  }

  snapshot(): StateSnapshot {
    const tables: StateSnapshot['tables'] = {};
    for (const [id, t] of this.tables) tables[id] = t.snapshot();
    const timers: StateSnapshot['timers'] = {};
    for (const [id, q] of this.timerQueues) timers[id] = q.entries();
    return { version: 1, tables, timers };
  }

  restore(snapshot: StateSnapshot): void {
    if (snapshot.version !== 1) {
      throw ssError('SS_ERR_STATE_RESTORE', `unknown snapshot version ${String(snapshot.version)}`);
    }
    for (const id of Object.keys(snapshot.tables)) {
      if (!this.tables.has(id)) {
        throw ssError('SS_ERR_STATE_RESTORE', `snapshot has state "${id}" that no step of this pipeline declares`);
      }
    }
    for (const [id, t] of this.tables) t.restore(snapshot.tables[id] ?? []);
    for (const [id, q] of this.timerQueues) {
      const changes = q.changes;
      q.changes = null; // restoring is not a change to write back
      q.clear();
      for (const [ts, key] of snapshot.timers[id] ?? []) q.register(ts, key);
      q.changes = changes;
    }
  }
}
