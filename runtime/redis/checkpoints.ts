import { ssError } from '../../schemas/errors.js';
import { fromPlain, toPlain, type Json } from '../../engine/plain.js';
import { TIMER_KEY_SEP, TIMER_TABLE_SUFFIX, type StateChange, type StateSnapshot } from '../../engine/state.js';

/**
 * Checkpoints of one job's tasks in Redis: each task's state and the offsets it consumed, committed
 * together in one atomic step.
 *
 * A task is one partition number of the job's co-partitioned input topics (all keyed by customer).
 * Its keys share one hash tag, `{ss:<job>:<partition>}`, so on a Redis Cluster they live on one
 * slot and a checkpoint is a single Lua call: atomic on a single Redis and on a cluster alike. A
 * customer maps to exactly one partition, so every key of one customer lands on one slot.
 *
 *   ss:{ss:<job>:<p>}:state  HASH  `<table>\0<key>` -> JSON [value, expiresAt|null]; timers as `<queue>#timers\0<ts>\2<key>` -> 1
 *   ss:{ss:<job>:<p>}:meta   HASH  owner, epoch, offsets (JSON), meta (JSON: watermarks)
 *
 * Views (the live customer profiles, `liveProfiles.ts`) can ride along in the same call: each is a
 * HASH under the task's hash tag, replaced whole, and optionally a member of one sorted-set index
 * (its `segment` field names which); so a view is never ahead of the state and offsets committed
 * with it.
 *
 * Fencing: an instance claims a task with its owner token when the consumer group assigns it the
 * partition; every commit checks the token inside the script. A zombie (an instance that lost the
 * partition but still runs) fails with `FENCED` and cannot overwrite its successor's state.
 *
 * Redis without persistence may restart empty. A commit that finds no meta at all answers
 * `MISSING`; the owner then writes its whole state again from its in-process copy
 * ({@link CheckpointStore.rewrite}), so nothing is lost.
 */

/** The commands we need, as @redis/client's single-node client and cluster client both have them. */
export interface RedisCommands {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  hScan(key: string, cursor: number, options?: { COUNT?: number }): Promise<{ cursor: number; tuples: Array<{ field: string; value: string }> }>;
}

/**
 * HASH entities written with a checkpoint, all under the task's hash tag. A view whose `member`
 * names an index is added to that sorted set (score 0, by id) and removed from the index its
 * previous `segment` field named.
 */
export interface CheckpointViews {
  /** Index name -> key (sorted sets). */
  readonly indexes: Readonly<Record<string, string>>;
  readonly writes: ReadonlyArray<{ readonly key: string; readonly id: string; readonly member: string | null; readonly fields: Readonly<Record<string, string>> }>;
}

const NO_VIEWS: CheckpointViews = { indexes: {}, writes: [] };

/** Attempts of a command that Redis Cluster answers MOVED or ASK (a client whose slot map is stale). */
const REDIRECT_ATTEMPTS = 6;

/**
 * Runs a Redis command; a `MOVED` or `ASK` answer that the cluster client did not follow (its slot
 * map was stale, as right after a cluster forms or a slot moves) is tried again after a short
 * pause, while the client rediscovers the slots. Any other failure, or the last redirect, is
 * `SS_ERR_SERVICE_UNAVAILABLE` naming Redis.
 */
async function redirected<T>(command: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await command();
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      if (attempt < REDIRECT_ATTEMPTS && /^(MOVED|ASK) /.test(message)) {
        await new Promise((r) => setTimeout(r, 50 * attempt));
        continue;
      }
      throw ssError('SS_ERR_SERVICE_UNAVAILABLE', `Redis: ${message}`, { cause });
    }
  }
}

/** What a task resumes from. */
export interface LoadedTask {
  readonly state: StateSnapshot;
  /** Next offset to consume, per topic. */
  readonly offsets: Readonly<Record<string, string>>;
  /** The executor's watermarks, as saved (null for a task never checkpointed). */
  readonly meta: Json;
  readonly epoch: number;
}

export class FencedError extends Error {
  readonly code = 'FENCED';
}

const SEP = '\u0000';

const CLAIM = `
local epoch = redis.call('HINCRBY', KEYS[2], 'epoch', 1)
redis.call('HSET', KEYS[2], 'owner', ARGV[1])
local offsets = redis.call('HGET', KEYS[2], 'offsets')
local meta = redis.call('HGET', KEYS[2], 'meta')
return {epoch, offsets or false, meta or false}
`;

// KEYS: state, meta, index keys (nIndex), view keys (nViews).
// ARGV: owner, offsets, meta, full(0|1), nSets, nDels, nIndex, nViews, index names..., set fields/values...,
// delete fields..., then per view: id, index name ('' for none), nFields, fields/values...
const COMMIT = `
local owner = redis.call('HGET', KEYS[2], 'owner')
if not owner then
  if ARGV[4] ~= '1' then return 'MISSING' end
  redis.call('HSET', KEYS[2], 'owner', ARGV[1])
  redis.call('HINCRBY', KEYS[2], 'epoch', 1)
elseif owner ~= ARGV[1] then
  return 'FENCED'
end
if ARGV[4] == '1' then redis.call('DEL', KEYS[1]) end
local nSets = tonumber(ARGV[5])
local nDels = tonumber(ARGV[6])
local nIndex = tonumber(ARGV[7])
local nViews = tonumber(ARGV[8])
local index = {}
for j = 1, nIndex do index[ARGV[8 + j]] = KEYS[2 + j] end
local i = 9 + nIndex
for j = 1, nSets do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
for j = 1, nDels do
  redis.call('HDEL', KEYS[1], ARGV[i])
  i = i + 1
end
for j = 1, nViews do
  local key = KEYS[2 + nIndex + j]
  local id = ARGV[i]
  local member = ARGV[i + 1]
  local nFields = tonumber(ARGV[i + 2])
  i = i + 3
  local old = redis.call('HGET', key, 'segment')
  if old and old ~= member and index[old] then redis.call('ZREM', index[old], id) end
  redis.call('DEL', key)
  if nFields > 0 then redis.call('HSET', key, unpack(ARGV, i, i + 2 * nFields - 1)) end
  i = i + 2 * nFields
  if member ~= '' and index[member] then redis.call('ZADD', index[member], 0, id) end
end
redis.call('HSET', KEYS[2], 'offsets', ARGV[2], 'meta', ARGV[3])
return 'OK'
`;

const RELEASE = `
if redis.call('HGET', KEYS[2], 'owner') == ARGV[1] then redis.call('HDEL', KEYS[2], 'owner') end
return 'OK'
`;

export class CheckpointStore {
  /** Redis calls made, for the round-trips-per-event figure. */
  roundTrips = 0;

  constructor(
    private readonly redis: RedisCommands,
    readonly job: string,
  ) {}

  keys(partition: number): [string, string] {
    const tag = `{ss:${this.job}:${partition}}`;
    return [`ss:${tag}:state`, `ss:${tag}:meta`];
  }

  private async call(script: string, keys: string[], args: string[]): Promise<unknown> {
    this.roundTrips++;
    return redirected(() => this.redis.eval(script, { keys, arguments: args }));
  }

  /** Takes ownership of a task and reads what it resumes from. */
  async claim(partition: number, owner: string): Promise<LoadedTask> {
    const keys = this.keys(partition);
    // Lua `false` arrives as null.
    const [epoch, offsets, meta] = (await this.call(CLAIM, keys, [owner])) as [number, string | null, string | null];
    const tables: Record<string, Array<[string, Json, number | null]>> = {};
    const timers: Record<string, Array<[number, string]>> = {};
    let cursor = 0;
    do {
      this.roundTrips++;
      let reply: Awaited<ReturnType<RedisCommands['hScan']>>;
      reply = await redirected(() => this.redis.hScan(keys[0], cursor, { COUNT: 2000 }));
      cursor = reply.cursor;
      for (const { field, value } of reply.tuples) {
        const i = field.indexOf(SEP);
        const table = field.slice(0, i);
        const key = field.slice(i + 1);
        if (table.endsWith(TIMER_TABLE_SUFFIX)) {
          const j = key.indexOf(TIMER_KEY_SEP);
          (timers[table.slice(0, -TIMER_TABLE_SUFFIX.length)] ??= []).push([Number(key.slice(0, j)), key.slice(j + 1)]);
        } else {
          const [v, e] = JSON.parse(value) as [Json, number | null];
          (tables[table] ??= []).push([key, v, e]);
        }
      }
    } while (cursor !== 0);
    for (const list of Object.values(timers)) list.sort((a, b) => a[0] - b[0]);
    return {
      state: { version: 1, tables, timers },
      offsets: offsets !== null ? (JSON.parse(offsets) as Record<string, string>) : {},
      meta: meta !== null ? (JSON.parse(meta) as Json) : null,
      epoch: Number(epoch),
    };
  }

  /**
   * Commits a task's changes since its last checkpoint with its offsets, atomically.
   * Returns `MISSING` if Redis lost the task (restarted empty): call {@link rewrite}.
   * Throws {@link FencedError} if another instance owns the task now.
   */
  async commit(partition: number, owner: string, changes: readonly StateChange[], offsets: Readonly<Record<string, string>>, meta: Json, views: CheckpointViews = NO_VIEWS): Promise<'OK' | 'MISSING'> {
    return this.write(partition, owner, changes, offsets, meta, false, views);
  }

  /** Writes a task's whole state (after Redis lost it), claiming it again. */
  async rewrite(partition: number, owner: string, state: StateSnapshot, offsets: Readonly<Record<string, string>>, meta: Json, views: CheckpointViews = NO_VIEWS): Promise<void> {
    const changes: StateChange[] = [];
    for (const [table, rows] of Object.entries(state.tables)) {
      for (const [key, v, e] of rows) changes.push({ table, key, value: fromPlain(v), expiresAt: e ?? undefined });
    }
    for (const [queue, list] of Object.entries(state.timers)) {
      for (const [ts, key] of list) changes.push({ table: `${queue}${TIMER_TABLE_SUFFIX}`, key: `${ts}${TIMER_KEY_SEP}${key}`, value: true, expiresAt: undefined });
    }
    await this.write(partition, owner, changes, offsets, meta, true, views);
  }

  private async write(partition: number, owner: string, changes: readonly StateChange[], offsets: Readonly<Record<string, string>>, meta: Json, full: boolean, views: CheckpointViews): Promise<'OK' | 'MISSING'> {
    const sets: string[] = [];
    const dels: string[] = [];
    for (const c of changes) {
      const field = `${c.table}${SEP}${c.key}`;
      if (c.value === undefined) dels.push(field);
      else if (c.table.endsWith(TIMER_TABLE_SUFFIX)) sets.push(field, '1');
      else sets.push(field, JSON.stringify([toPlain(c.value), c.expiresAt ?? null]));
    }
    const indexNames = Object.keys(views.indexes);
    const viewArgs: string[] = [];
    for (const v of views.writes) {
      const fields = Object.entries(v.fields);
      viewArgs.push(v.id, v.member ?? '', String(fields.length));
      for (const [f, value] of fields) viewArgs.push(f, value);
    }
    const keys = [...this.keys(partition), ...indexNames.map((n) => views.indexes[n]!), ...views.writes.map((v) => v.key)];
    const args = [owner, JSON.stringify(offsets), JSON.stringify(meta), full ? '1' : '0', String(sets.length / 2), String(dels.length), String(indexNames.length), String(views.writes.length), ...indexNames, ...sets, ...dels, ...viewArgs];
    const reply = await this.call(COMMIT, keys, args);
    if (reply === 'FENCED') throw new FencedError(`task ${this.job}/${partition} is owned by another instance`);
    return reply === 'MISSING' ? 'MISSING' : 'OK';
  }

  /** Gives a task up (graceful shutdown or revocation), so its successor need not wait. */
  async release(partition: number, owner: string): Promise<void> {
    await this.call(RELEASE, this.keys(partition), [owner]);
  }
}
