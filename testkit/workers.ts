import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import type { Json } from '../engine/plain.js';
import type { JobSink } from '../runtime/kafka/job.js';
import type { CheckpointStore } from '../runtime/redis/checkpoints.js';
import { decodeConfluent, defaultRegistry } from '../schemas/index.js';
import type { StateSnapshot } from '../engine/state.js';
import { readTopic } from './kafka.js';
export { referenceRun } from './kafka.js';

/** Helpers for the fault tests: worker processes, a webhook that counts, and the reference run. */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The compiled worker (dist/, which the real project's globalSetup builds), as production runs it.
const WORKER = fileURLToPath(new URL('../dist/runtime/kafka/worker.js', import.meta.url));

/** A progress line of `runtime/kafka/worker.ts`. */
export interface WorkerProgress {
  readonly eventsIn: number;
  readonly outputs: number;
  /** Partitions this process holds tasks for (loaded on their first batch). */
  readonly partitions: number[];
  /** Partitions the consumer group assigned this process at its last join. */
  readonly assigned: number[];
  readonly checkpoints: number;
  readonly retries: number;
  readonly fenced: number;
  readonly delivered: number;
  readonly duplicatesDropped: number;
  readonly roundTrips: number;
}

const ZERO: WorkerProgress = { eventsIn: 0, outputs: 0, partitions: [], assigned: [], checkpoints: 0, retries: 0, fenced: 0, delivered: 0, duplicatesDropped: 0, roundTrips: 0 };

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running worker process, followed through its stdout. */
export class WorkerProcess {
  readonly child: ChildProcess;
  /** The last progress line (counters of this process since it started). */
  progress: WorkerProgress = ZERO;
  started = false;
  stopped = false;
  exit: WorkerExit | undefined;
  readonly exited: Promise<WorkerExit>;
  private readonly stderrTail: string[] = [];

  constructor(
    readonly label: string,
    args: readonly string[],
  ) {
    this.child = spawn(process.execPath, [WORKER, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        this.onLine(line);
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line !== '') this.stderrTail.push(line);
      if (this.stderrTail.length > 400) this.stderrTail.splice(0, this.stderrTail.length - 400);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  private onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    if ('event' in msg) {
      if (msg.event === 'started') this.started = true;
      if (msg.event === 'stopped') this.stopped = true;
    } else if ('eventsIn' in msg) {
      this.progress = msg as WorkerProgress;
    }
  }

  /** The last lines the worker logged (for failure messages). */
  logs(lines = 40): string {
    return this.stderrTail.slice(-lines).join('\n');
  }

  /** Whether the log mentions `text`. */
  logged(text: string): boolean {
    return this.stderrTail.some((l) => l.includes(text));
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** SIGTERM, then waits for a clean exit (SIGKILL and throw after `timeoutMs`). */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    const result = await Promise.race([this.exited, timeout]);
    if (result === 'timeout') {
      this.kill('SIGKILL');
      throw new Error(`worker ${this.label} did not stop within ${timeoutMs} ms after SIGTERM:\n${this.logs()}`);
    }
    if (result.code !== 0) throw new Error(`worker ${this.label} exited with ${result.code ?? result.signal} after SIGTERM:\n${this.logs()}`);
  }
}

/** A local HTTP endpoint standing in for a person-facing channel: counts deliveries per id. */
export class CountingWebhook {
  readonly counts = new Map<string, number>();
  private server: Server | undefined;
  url = '';

  /** `delayMs`: how long each delivery takes to be answered (a slow endpoint). */
  constructor(private readonly delayMs = 0) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        try {
          const { id } = JSON.parse(body) as { id: string };
          this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
          if (this.delayMs > 0) setTimeout(() => res.writeHead(204).end(), this.delayMs);
          else res.writeHead(204).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/deliver`;
  }

  /** Ids delivered more than once. */
  duplicates(): string[] {
    return [...this.counts].filter(([, n]) => n > 1).map(([id]) => id);
  }

  async close(): Promise<void> {
    if (this.server === undefined) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
  }
}

/** JSON with object keys sorted, so equal values print equal. */
export function canonicalJson(v: unknown): string {
  const sortKeys = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sortKeys);
    if (x !== null && typeof x === 'object') {
      return Object.fromEntries(
        Object.keys(x)
          .sort()
          .map((k) => [k, sortKeys((x as Record<string, unknown>)[k])]),
      );
    }
    return x;
  };
  return JSON.stringify(sortKeys(v));
}

/**
 * A state snapshot as the pipeline sees it: rows sorted by key, without the entries whose TTL the
 * watermark has passed (they read as absent; when the sweep deletes them depends on batch
 * boundaries, which differ between a live run and the reference), timers sorted.
 *
 * Event-time buffers (tables named by `isBuffer`, by default the `.../pending` lists of
 * `eventTimeOrder` and cart abandonment) hold records until the watermark passes them and release
 * them sorted by ts (ties ranked by the scene): their order in the list is arrival order, which
 * across topics depends on how Kafka interleaves the partitions' batches, in a live run as in a
 * replay. They are compared as multisets: sorted by ts, then by content. A map state of such a
 * table (`{$map: [...]}` as `toPlain` encodes it) whose readers do not depend on insertion order
 * is compared as a set of entries, sorted by field.
 */
export function visibleState(s: StateSnapshot, watermark: number, isBuffer: (table: string) => boolean = (t) => t.endsWith('/pending')): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [table, rows] of Object.entries(s.tables)) {
    const live = rows
      .filter(([, , e]) => e === null || e > watermark)
      .map(([key, v, e]): [string, Json, number | null] => [key, isBuffer(table) ? unordered(v) : v, e])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    if (live.length > 0) out[table] = live;
  }
  for (const [queue, list] of Object.entries(s.timers)) {
    if (list.length > 0) out[`${queue}#timers`] = [...list].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  }
  return out;
}

function unordered(v: Json): Json {
  if (Array.isArray(v)) return sortBuffer(v);
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Array.isArray(v['$map'])) {
    const entries = [...(v['$map'] as Json[])].sort((a, b) => {
      const ka = canonicalJson(Array.isArray(a) ? a[0] : a);
      const kb = canonicalJson(Array.isArray(b) ? b[0] : b);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    return { ...v, $map: entries };
  }
  return v;
}

function sortBuffer(list: Json[]): Json[] {
  const tsOf = (x: Json): number => (x !== null && typeof x === 'object' && !Array.isArray(x) && typeof x['ts'] === 'number' ? x['ts'] : 0);
  return list
    .map((x) => ({ x, ts: tsOf(x), json: canonicalJson(x) }))
    .sort((a, b) => a.ts - b.ts || (a.json < b.json ? -1 : a.json > b.json ? 1 : 0))
    .map((e) => e.x);
}

/** What {@link allCheckpointed} reads from Redis: the single-node and the cluster client both have it. */
export interface CheckpointReader {
  hGet(key: string, field: string): Promise<string | undefined | null>;
}

/**
 * True when every task's checkpoint in `store` has consumed every partition of `topics` to its
 * end: the job is done with the input. False while Redis does not answer.
 */
export async function allCheckpointed(admin: Admin, store: CheckpointStore, redis: CheckpointReader, topics: readonly string[], partitions: number): Promise<boolean> {
  const ends = new Map<string, Map<number, { low: bigint; high: bigint }>>();
  for (const t of topics) {
    const offs = await admin.fetchTopicOffsets(t);
    ends.set(t, new Map(offs.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }])));
  }
  for (let p = 0; p < partitions; p++) {
    let raw: string | undefined | null;
    try {
      raw = await redis.hGet(store.keys(p)[1], 'offsets');
    } catch {
      return false; // Redis away for the moment
    }
    const offsets = raw === undefined || raw === null ? {} : (JSON.parse(raw) as Record<string, string>);
    for (const [topic, byPartition] of ends) {
      const end = byPartition.get(p)!;
      const at = offsets[topic] !== undefined ? BigInt(offsets[topic]) : end.low;
      if (at < end.high) return false;
    }
  }
  return true;
}

/** A sink's outputs: how many messages, the distinct ones by id (id -> canonical JSON), and the ids seen again with other content. */
export interface OutputsById {
  readonly raw: number;
  readonly byId: Map<string, string>;
  readonly conflicts: string[];
}

function byId(values: readonly unknown[], id: (v: unknown) => string): OutputsById {
  const out = new Map<string, string>();
  const conflicts: string[] = [];
  for (const v of values) {
    const json = canonicalJson(v);
    const key = id(v);
    // A replayed batch must produce the same output under the same id.
    if (out.has(key) && out.get(key) !== json) conflicts.push(key);
    out.set(key, json);
  }
  return { raw: values.length, byId: out, conflicts };
}

/** Reads a sink's topic until `expected` distinct ids arrived (or `timeoutMs`), deduplicated by id. */
export async function readOutputsById(kafka: Kafka, sink: JobSink, expected: number, timeoutMs = expected === 0 ? 3_000 : 60_000): Promise<OutputsById> {
  const decode = (messages: readonly KafkaMessage[]) =>
    messages.map((m) => {
      const r = decodeConfluent(m.value!, defaultRegistry, sink.schema);
      if (!r.ok) throw r.error;
      return r.value.value;
    });
  const messages = await readTopic(kafka, sink.topic, (m) => new Set(decode(m).map(sink.id)).size >= expected, timeoutMs);
  return byId(decode(messages), sink.id);
}

/** The reference run's outputs of the named sinks, by id (id -> canonical JSON). */
export function referenceOutputsById(outputs: ReadonlyMap<string, unknown[]>, sinks: Readonly<Record<string, JobSink>>, names: readonly string[]): Map<string, Map<string, string>> {
  return new Map(names.map((name) => [name, byId(outputs.get(name) ?? [], sinks[name]!.id).byId]));
}

/** An engine's `/healthz` on 127.0.0.1:`port` as JSON, or undefined while it does not answer 200. */
export async function healthz<T>(port: number): Promise<T | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}
