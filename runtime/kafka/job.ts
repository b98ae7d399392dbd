import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, ConsumerConfig, EachBatchPayload, IHeaders, Kafka, Message, Producer } from 'kafkajs';
import { Partitioners } from './kafkajs.js';
import { decodeAuto, defaultRegistry, encodeConfluent, type SchemaName, type SchemaRegistry } from '../../schemas/index.js';
import { systemClock, type Clock } from '../../engine/clock.js';
import { Executor, type DeadLetter } from '../../engine/executor.js';
import type { PipelineGraph } from '../../engine/graph.js';
import { InMemoryStateBackend, type StateSnapshot } from '../../engine/state.js';
import { isScenestreamError, ssError, type ScenestreamError } from '../../schemas/errors.js';
import { CheckpointStore, FencedError, type CheckpointViews, type RedisCommands } from '../redis/checkpoints.js';
import { coPartitionedAssigner } from './assigner.js';
import { deadLetterTopic, prepareTopics, type TopicsConfig } from './topics.js';

/** Upper bound of the payload of one produce request (the broker's default limit is 1 MB per record batch). */
const PRODUCE_REQUEST_BYTES = 256 * 1024;
/**
 * Default largest output record (key, value and headers): under Kafka's default `message.max.bytes`
 * (1,048,588) with room for the record batch around it. A larger output cannot be produced by any
 * retry; it goes to its topic's dead-letter topic instead (see {@link JobOptions.maxOutputBytes}).
 */
export const DEFAULT_MAX_OUTPUT_BYTES = 1_000_000;
/** How much of a too-large output its dead letter keeps (JSON, in a header), to tell what it was. */
const TOO_LARGE_PREVIEW_CHARS = 1_024;

/** Splits per-topic messages into requests whose keys, values and headers stay under `maxBytes` (a single bigger message goes alone). */
/** About what a message weighs in a record batch: key, value, headers and a little framing. */
export function messageBytes(m: Message): number {
  const sizeOf = (v: Message['key'] | Message['value']) => (v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  let size = sizeOf(m.key) + sizeOf(m.value) + 16;
  for (const [k, v] of Object.entries(m.headers ?? {})) size += k.length + (typeof v === 'string' ? Buffer.byteLength(v) : Buffer.isBuffer(v) ? v.length : 0);
  return size;
}

export function chunkMessages(topicMessages: ReadonlyMap<string, Message[]>, maxBytes: number): Array<Array<{ topic: string; messages: Message[] }>> {
  const requests: Array<Array<{ topic: string; messages: Message[] }>> = [];
  let current: Array<{ topic: string; messages: Message[] }> = [];
  let bytes = 0;
  for (const [topic, messages] of topicMessages) {
    let entry: { topic: string; messages: Message[] } | undefined;
    for (const m of messages) {
      const size = messageBytes(m);
      if (bytes > 0 && bytes + size > maxBytes) {
        requests.push(current);
        current = [];
        bytes = 0;
        entry = undefined;
      }
      if (entry === undefined) current.push((entry = { topic, messages: [] }));
      entry.messages.push(m);
      bytes += size;
    }
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/** How often a task held up by a delivery tells the group it is alive (kafkajs throttles to its heartbeat interval). */
const DELIVERY_HEARTBEAT_MS = 1_000;

/**
 * Runs `work` while heartbeating every {@link DELIVERY_HEARTBEAT_MS}: a long delivery (a slow
 * webhook, hundreds of offers) must not get the instance evicted from its group for silence.
 * A failed heartbeat (a rebalance under way) is left to the consumer: the batch ends as usual.
 */
export async function heartbeating<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => void heartbeat().catch(() => {}), DELIVERY_HEARTBEAT_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** This process's CPU time so far, user + system, in seconds. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The promise under `key` in `cache`, made by `make` when absent; a rejected one is forgotten, so the next call tries again. */
function memoized<K, V>(cache: Map<K, Promise<V>>, key: K, make: () => Promise<V>): Promise<V> {
  let known = cache.get(key);
  if (known === undefined) {
    known = make();
    cache.set(key, known);
    known.catch(() => cache.delete(key));
  }
  return known;
}

/** kafkajs' special offset for "the start of the log" in `seek`. */
const EARLIEST_OFFSET = '-2';

/**
 * A pipeline running on Kafka with its state checkpointed in Redis: the production runtime.
 *
 * - **Tasks.** The input topics are co-partitioned by customer; partition number `p` of all of them
 *   is one task with its own executor, in-process state, watermarks and timers (as Kafka Streams).
 *   The consumer group deals tasks to instances ({@link coPartitionedAssigner}); adding instances
 *   scales out.
 * - **Exactly once for state.** After each batch, the task's outputs are produced (idempotent
 *   producer, keyed by customer, each with a deterministic id header), then its state changes and
 *   the offsets it consumed are committed to Redis in one atomic, fenced step. On assignment a
 *   task resumes from the offsets stored with its state and skips what that state already holds.
 *   A crash between produce and checkpoint replays the batch: the same outputs with the same ids,
 *   which consumers and person-facing sinks drop ({@link JobOptions.deliver}).
 * - **Bad input** never stops a partition: a record that does not decode or validate goes to
 *   `<topic>.dlq` with headers naming the error code, message and source topic/partition/offset.
 * - **Backpressure.** If Kafka (sinks) or Redis fail, the task retries with exponential backoff
 *   while heartbeating, so it holds its partitions, consumes nothing more, and loses nothing.
 */

export interface JobSource {
  readonly topic: string;
  readonly schema: SchemaName;
  /**
   * The Kafka key a record of this source must carry (the customer id: the records of one key meet
   * in one task), or undefined when any key will do. A record with another key (or none) would be
   * processed on a partition that does not hold its customer's state: it goes to the dead-letter
   * topic with `SS_ERR_INPUT_KEY` instead. Absent: keys are not checked.
   */
  key?(value: unknown): string | undefined;
}

export interface JobSink {
  readonly topic: string;
  readonly schema: SchemaName;
  /** Message key (the customer id, so outputs of one customer stay in order). */
  key(value: unknown): string;
  /** Deterministic id of an output: the same on a replay. */
  id(value: unknown): string;
  /** A changelog read as a table (last record per key): the topic is created compacted. */
  readonly compacted?: boolean;
  /**
   * The partition of an output, instead of its key's: a number (the producing task's, to keep a
   * task's records with its marks in one partition), `'all'` (one copy in every partition: a
   * watermark mark that every reader must see), or undefined (by key). `task` is the producing
   * task's partition, `partitions` the topic's count.
   */
  partition?(value: unknown, task: number, partitions: number): number | 'all' | undefined;
}

/**
 * A task's event-time progress on one of its sources, announced downstream as an output (as Flink
 * forwards watermarks through a shuffle): after each batch and tick, when the announced watermark
 * rose, `value(task, watermark)` goes to `sink` after the outputs it covers. The watermark is
 * **by position**: while any input of the task has records after its offset, the source's
 * record-driven watermark (its largest ts minus `outOfOrdernessMs` minus 1), never idleness; once
 * every input has been read to its log end (as last seen) for `idleTimeoutMs` without a break, the
 * source's watermark as the executor has it (which has moved on with the quiet time, so that the
 * end of the input is announced too). A task with
 * no record at all on any input (an empty partition) follows the others, never the clock: once
 * the largest event time it has read from `follows` (the other tasks' announcements and records)
 * has stood still for `idleTimeoutMs` while the task stayed caught up and empty, it announces that;
 * so it never holds the others back for ever, and while no task has any input (a job started
 * before its input) nothing moves. An announcement that idleness carries past the records goes out
 * at most once per `idleTimeoutMs`.
 */
export interface WatermarkAnnouncement {
  readonly source: string;
  readonly sink: string;
  /** The source's bounded out-of-orderness (as its pipeline source declares it). */
  readonly outOfOrdernessMs: number;
  /**
   * The sources whose position says whether the task is caught up: the task's own inputs (not a
   * repartition topic fed by every task, whose marks would keep it from ever looking quiet).
   */
  readonly inputs: readonly string[];
  /** The sources' idle timeout: how long a caught-up task waits before idleness moves its announcement. */
  readonly idleTimeoutMs: number;
  /** The source carrying the other tasks' announcements (the repartition topic): what an empty task follows. */
  readonly follows: string;
  readonly value: (task: number, watermark: number) => unknown;
}

/**
 * A pipeline sink materialised in Redis **with the checkpoint** instead of produced to Kafka (the
 * live customer profiles): the latest output per id since the last checkpoint is written in the
 * same atomic call as the state and offsets it came from, so it is never ahead of them, and a
 * batch replayed after a crash rewrites it to the same value.
 */
export interface JobView {
  /** Id of an output: one write per id per checkpoint, the latest. */
  id(value: unknown): string;
  /** The Redis writes of a task's latest outputs (keys under the task's hash tag). */
  writes(partition: number, values: readonly unknown[]): CheckpointViews;
  /**
   * Every entity of the view, from a task's whole state: written when Redis lost the task (came
   * back empty) and the job writes its state again. Absent: only what changed since the last
   * checkpoint is written then.
   */
  rebuild?(partition: number, state: StateSnapshot): CheckpointViews;
  /**
   * This instance took a task: its whole restored state (every entity of the view it holds), before
   * the task reads anything. With {@link released}, lets a process keep a figure over the entities
   * of the tasks it owns (the campaign segments' sizes), right after restarts and moves.
   */
  claimed?(partition: number, state: StateSnapshot, owner: string): void;
  /**
   * This instance gave a task up (revoked, fenced or stopped): forget what {@link claimed} and
   * writes told of it, unless a later claim of the partition (another `owner`) came first.
   */
  released?(partition: number, owner: string): void;
}

/**
 * The job's own CPU work on a batch, by phase: `decode` (Avro and contract checks of the inputs),
 * `pipeline` (the executor, ticks included), `encode` (the outputs), `produce` (building the produce
 * requests and the synchronous part of kafkajs' send, before its first await), `checkpoint`
 * (collecting the changes and serialising the commit, up to the Redis call). Waiting on the broker
 * or Redis is in none of them.
 */
export type JobPhase = 'decode' | 'pipeline' | 'encode' | 'produce' | 'checkpoint';

/** What the job reports for metrics. */
export interface JobObserver {
  /** Records decoded and pushed, per pipeline source. */
  eventsIn?(source: string, n: number): void;
  /**
   * After a batch: how far the source's watermark trails the input's own progress (the latest
   * event time the task has read from it minus its watermark: the out-of-orderness bound, plus
   * whatever holds it back, such as a partition without data). Meaningful for historical input too.
   */
  watermarkLagSeconds?(source: string, seconds: number): void;
  /** After a batch: wall time minus the source's watermark (how old the event time being completed is). */
  eventTimeBehindSeconds?(source: string, seconds: number): void;
  /** Wall time from a batch's arrival to its outputs being produced, once per output. */
  outputLatencySeconds?(seconds: number): void;
  /** One checkpoint's duration (the atomic commit to Redis, retries included). */
  checkpointSeconds?(seconds: number): void;
  /** Redis calls made since the last report. */
  redisRoundTrips?(n: number): void;
  /** A call to a service failed (the job retries it with backoff). */
  serviceDown?(service: JobService, error: unknown): void;
  /**
   * An attempt at an operation failed and will be retried: `claim`, `prefetch`, `produce`,
   * `deliver`, `checkpoint` or `rewrite` (a checkpoint rewritten whole), against `service`.
   */
  attemptFailed?(operation: string, service: JobService): void;
  /** A service answered again after failures (or the consumer joined its group). */
  serviceUp?(service: JobService): void;
  /** Records of an input partition after the batch just processed: the log end offset minus the next offset. */
  consumerLag?(topic: string, partition: number, records: number): void;
  /** Records of an input partition that were gone before the job read them (retention, truncation). */
  inputGap?(topic: string, partition: number, records: number): void;
  /**
   * CPU seconds of this process (`process.cpuUsage`, user + system: not inflated when the machine is
   * busy, as wall time is) one batch (or tick) spent in a phase, once per phase it went through. Off
   * unless given: without it the job reads no timers.
   */
  phaseSeconds?(phase: JobPhase, seconds: number): void;
}

/** What a failing call was talking to: the broker, Redis, or a person-facing delivery endpoint. */
export type JobService = 'kafka' | 'redis' | 'delivery';

export interface JobStats {
  eventsIn: number;
  deadLetters: number;
  outputs: number;
  batches: number;
  checkpoints: number;
  retries: number;
  fenced: number;
}

export interface JobOptions {
  /** Consumer group id and checkpoint namespace. */
  readonly name: string;
  /**
   * Builds the pipeline graph; called once per task, with the task's partition (its stable id) and
   * the inputs' partition count (read at start; 1 if the broker could not say, unless `announce`
   * needs it, which waits for it).
   */
  readonly graph: (partition: number, partitions: number) => PipelineGraph;
  /** Pipeline source name -> topic. */
  readonly sources: Readonly<Record<string, JobSource>>;
  /** Pipeline sink name -> topic. Sinks not listed (nor in `views`) are dropped (counted). */
  readonly sinks: Readonly<Record<string, JobSink>>;
  /** Pipeline sink name -> a view written to Redis with each checkpoint ({@link JobView}). */
  readonly views?: Readonly<Record<string, JobView>>;
  readonly kafka: Kafka;
  readonly redis: RedisCommands;
  readonly registry?: SchemaRegistry;
  readonly clock?: Clock;
  /** Processing-time tick: idle inputs and processing-time timers (default 1 s). */
  readonly tickMs?: number;
  /** Person-facing delivery of a sink's outputs, after they are produced and before the checkpoint; must drop ids it already delivered. */
  readonly deliver?: Readonly<Record<string, (values: readonly unknown[]) => Promise<void>>>;
  /** Called for every dead letter (after it is produced to the DLQ topic). */
  readonly onDeadLetter?: (topic: string, error: ScenestreamError) => void;
  /** Measurements for metrics (all optional; nothing is measured that no one observes). */
  readonly observer?: JobObserver;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /**
   * Records stamped more than this far ahead of the job's clock go to their input's dead-letter
   * topic (`SS_ERR_EVENT_TIME`) and never move event time (see the executor's `maxAheadMs`).
   * Absent: no bound (production mode sets 5 minutes, `MAX_EVENT_AHEAD_MS`).
   */
  readonly maxEventAheadMs?: number;
  /**
   * Largest output record in bytes (default {@link DEFAULT_MAX_OUTPUT_BYTES}; keep it under the
   * broker's and the topics' `max.message.bytes`). A larger output is not produced nor delivered:
   * it goes to `<output topic>.dlq` with `SS_ERR_OUTPUT_TOO_LARGE`, its id, its size and the start
   * of its JSON, is counted, and the partition goes on.
   */
  readonly maxOutputBytes?: number;
  /**
   * What to do when an input partition no longer holds the records after a task's checkpoint
   * (deleted by retention, or the topic truncated) so that they can never be read: `continue`
   * (default) reads on from the first record there is, `fail` stops the job with `SS_ERR_INPUT_GAP`
   * ({@link onFatal}). Either way the gap is logged with topic, partition and offsets, and counted.
   */
  readonly inputGaps?: 'continue' | 'fail';
  /** Told of an error that stops the job (an input gap under `inputGaps: 'fail'`); the host should stop it and exit non-zero. */
  readonly onFatal?: (error: ScenestreamError) => void;
  /** Backoff bounds for retries of Kafka and Redis writes. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /**
   * Consumer group timing. A crashed instance holds its partitions until its session times out
   * (kafkajs default 30 s); a short session moves them sooner at the cost of more heartbeats.
   */
  readonly consumer?: Readonly<Pick<ConsumerConfig, 'sessionTimeout' | 'heartbeatInterval' | 'rebalanceTimeout' | 'maxWaitTimeInMs' | 'maxBytesPerPartition'>>;
  /**
   * Least time between two checkpoints of a task (default 0: after every batch). Outputs are
   * produced after every batch regardless; a longer interval trades Redis round trips for a longer
   * replay after a crash. Pending work is checkpointed on the tick, on revocation and on stop.
   */
  readonly checkpointIntervalMs?: number;
  /** Partitions whose batches run at once (kafkajs `partitionsConsumedConcurrently`, default 1); tasks stay sequential. */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * What to do about the job's topics (inputs, outputs, `<input>.dlq`) before consuming: create the
   * missing ones, or check and fail with `SS_ERR_TOPICS` listing them ({@link ensureTopics}); either
   * way wait for their partition leaders. Absent: nothing is checked (topics are auto-created on
   * first use if the broker allows it).
   */
  readonly topics?: TopicsConfig;
  /**
   * Called with a batch's decoded records before they are pushed (retried like any Redis call): the
   * place to load what the pipeline reads synchronously about them, e.g. their customers' profiles.
   */
  readonly prefetch?: (source: string, values: readonly unknown[]) => Promise<void>;
  /**
   * Called once at start, after the topics are prepared and before anything is consumed: the place
   * to restore what the pipeline reads of other instances' work, e.g. a global table from its
   * changelog topic (which exists by then).
   */
  readonly beforeConsuming?: () => Promise<void>;
  /** A task's watermark on a source, announced to a sink ({@link WatermarkAnnouncement}). */
  readonly announce?: WatermarkAnnouncement;
  /**
   * Sources that carry no records, whose watermark comes from outside the task (a global table's
   * progress): before every batch and on every tick, each is advanced to its function's value.
   */
  readonly externalWatermarks?: Readonly<Record<string, () => number>>;
}

interface Output {
  readonly sink: string;
  readonly value: unknown;
}

interface DlqRecord {
  readonly topic: string;
  readonly message: Message;
}

class Task {
  /** Next offset to consume, per topic (strings, as Kafka's). */
  offsets: Record<string, string> = {};
  /** Offsets of the records of the batch being pushed, to name them in dead letters. */
  batchOffsets: string[] = [];
  /** The log end offset last seen per topic (a batch's high watermark, or the tick's refresh). */
  highs: Record<string, string> = {};
  /** The log start offset per topic, as of the last tick: where a topic the task has not read yet begins. */
  lows: Record<string, string> = {};
  /** Topic -> the offset this task last sought back to (a later skip past a newer offset seeks again). */
  readonly sought = new Map<string, string>();
  /** The offsets of the last checkpoint: the only ones that may be committed to Kafka. */
  checkpointed: Record<string, string> = {};
  /** When the last checkpoint was written (performance.now()). */
  lastCheckpoint = -Infinity;
  /** Work done since the last checkpoint. */
  uncheckpointed = false;
  /** This incarnation's fencing token: a task dropped and loaded again in the same instance is a new owner. */
  owner = '';
  /** The watermark last announced ({@link JobOptions.announce}); not state: announcing again is harmless. */
  announced = -Infinity;
  /** An empty task: the largest event time read from the others, and since when (clock) it has stood. */
  followed = { x: -Infinity, since: -Infinity };
  /** When (clock) an announcement last went past the records, by idleness. */
  idleAnnouncedAt = -Infinity;
  /** Since when (clock) every input has been read to its log end; undefined while one has a backlog. */
  caughtUpSince: number | undefined;
  /** Outputs of view sinks since the last checkpoint: sink -> id -> latest value. */
  readonly views = new Map<string, Map<string, unknown>>();
  private chain: Promise<unknown> = Promise.resolve();
  dropped = false;

  constructor(
    readonly partition: number,
    readonly executor: Executor,
    readonly backend: InMemoryStateBackend,
    readonly outputs: Output[],
    readonly dlq: DlqRecord[],
  ) {}

  /** Runs task work one unit at a time. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

export class KafkaJob {
  readonly stats: JobStats = { eventsIn: 0, deadLetters: 0, outputs: 0, batches: 0, checkpoints: 0, retries: 0, fenced: 0 };
  readonly owner: string;
  readonly store: CheckpointStore;
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly tasks = new Map<number, Promise<Task>>();
  private readonly topicToSource = new Map<string, string>();
  private readonly clock: Clock;
  private readonly registry: SchemaRegistry;
  private ticker: NodeJS.Timeout | undefined;
  private running = false;
  private assigned: number[] = [];
  private incarnations = 0;
  /** A tick is running (see {@link tick}). */
  private ticking = false;
  /** Reads the inputs' log end offsets on the tick (idleness by position); connected at start. */
  private admin: Admin | undefined;
  /** Set when the job must stop (nothing more is consumed); {@link JobOptions.onFatal} was told. */
  private fatal: ScenestreamError | undefined;
  /** Checkpointed offsets not yet committed to Kafka (for lag monitoring), by `topic/partition`. */
  private readonly lagCommits = new Map<string, { topic: string; partition: number; offset: string }>();
  private readonly log: NonNullable<JobOptions['log']>;
  private readonly phases: JobObserver['phaseSeconds'];
  /** The inputs' partition count (the first source topic's), read at start (1 when the broker could not say and nothing announces). */
  private inputPartitions = 1;
  /** Partition count per output topic, read when first needed (explicit partitions). */
  private readonly sinkPartitions = new Map<string, Promise<number>>();

  constructor(private readonly opts: JobOptions) {
    this.owner = `${opts.name}:${randomUUID()}`;
    this.clock = opts.clock ?? systemClock;
    this.registry = opts.registry ?? defaultRegistry;
    this.store = new CheckpointStore(opts.redis, opts.name);
    this.log = opts.log ?? (() => {});
    this.phases = opts.observer?.phaseSeconds;
    for (const [source, s] of Object.entries(opts.sources)) this.topicToSource.set(s.topic, source);
    this.consumer = opts.kafka.consumer({
      groupId: opts.name,
      partitionAssigners: [coPartitionedAssigner()],
      // Offsets live with the state in Redis; Kafka's committed offsets are a lower bound for lag monitoring.
      retry: { retries: 10 },
      ...opts.consumer,
    });
    // The default partitioner named explicitly (murmur2, as Kafka's Java client): kafkajs warns at every start otherwise.
    this.producer = opts.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
  }

  async start(): Promise<void> {
    await this.prepareTopics();
    await this.opts.beforeConsuming?.();
    await this.producer.connect();
    await this.consumer.connect();
    const admin = this.opts.kafka.admin();
    await admin.connect();
    this.admin = admin;
    // Required when announcing (the counting side waits for every origin); otherwise best effort, as
    // before, for jobs whose topics the broker creates on first use.
    const first = Object.values(this.opts.sources)[0]?.topic;
    if (first !== undefined && this.opts.announce !== undefined) this.inputPartitions = await this.retry('metadata', 'kafka', () => this.partitionsOf(first));
    else if (first !== undefined) this.inputPartitions = await this.partitionsOf(first).catch(() => 1);
    let crashes = 0; // consumer crashes since it was last in its group
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const assigned = new Set(Object.values(e.payload.memberAssignment).flat());
      this.assigned = [...assigned].sort((a, b) => a - b);
      for (const p of [...this.tasks.keys()]) if (!assigned.has(p)) void this.dropTask(p, 'revoked');
      // Every assigned task runs, with or without input: an empty partition must announce its progress too.
      if (this.opts.announce !== undefined) for (const p of assigned) void this.task(p).catch(() => undefined);
      this.log('info', `assigned partitions [${[...assigned].sort((a, b) => a - b).join(', ')}]`);
      this.opts.observer?.serviceUp?.('kafka');
      if (crashes > 1) this.log('info', `consumer back in its group after ${crashes} crashes`);
      crashes = 0;
    });
    // kafkajs restarts a crashed consumer on its own; without this its reason would go unseen. While
    // the broker is down it crashes again at every restart (every few seconds): the first crash of an
    // outage is logged, the rest are counted and summed up when the consumer is back in its group.
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      this.opts.observer?.serviceDown?.('kafka', e.payload.error);
      if (crashes++ === 0 || !e.payload.restart) this.log('error', `consumer crashed (restart: ${String(e.payload.restart)}): ${e.payload.error.message}`);
    });
    for (const s of Object.values(this.opts.sources)) await this.consumer.subscribe({ topic: s.topic, fromBeginning: true });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
    const tickMs = this.opts.tickMs ?? 1000;
    this.ticker = setInterval(() => void this.tick(), tickMs);
    this.ticker.unref();
  }

  private async prepareTopics(): Promise<void> {
    const config = this.opts.topics;
    if (config === undefined) return;
    const sinks = Object.values(this.opts.sinks);
    await prepareTopics(
      this.opts.kafka,
      Object.values(this.opts.sources).map((s) => s.topic),
      sinks.filter((s) => s.compacted !== true).map((s) => s.topic),
      config,
      this.log,
      sinks.filter((s) => s.compacted === true).map((s) => s.topic),
    );
  }

  /** Stops consuming, checkpoints every task, releases them, and disconnects. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    await this.consumer.disconnect();
    for (const p of [...this.tasks.keys()]) await this.dropTask(p, 'stopped');
    await this.producer.disconnect();
    await this.admin?.disconnect().catch(() => {});
    this.admin = undefined;
  }

  /** The partition numbers the consumer group gave this instance at its last join. */
  assignment(): number[] {
    return [...this.assigned];
  }

  /** The partitions this instance holds tasks for now (a task is loaded on its first batch, or at assignment when the job announces watermarks). */
  partitions(): number[] {
    return [...this.tasks.keys()].sort((a, b) => a - b);
  }

  private task(partition: number): Promise<Task> {
    return memoized(this.tasks, partition, () => this.loadTask(partition));
  }

  private async loadTask(partition: number): Promise<Task> {
    const backend = new InMemoryStateBackend({ trackChanges: true });
    const outputs: Output[] = [];
    const dlq: DlqRecord[] = [];
    const graph = this.opts.graph(partition, this.inputPartitions);
    let task: Task | undefined;
    const executor = new Executor(graph, {
      clock: this.clock,
      state: backend,
      sinks: Object.fromEntries(graph.sinks.map((s) => [s.id, (value: unknown) => void outputs.push({ sink: s.id, value })])),
      onDeadLetter: (d) => this.deadLetterFromEngine(task!, d),
      ...(this.opts.maxEventAheadMs !== undefined ? { maxAheadMs: this.opts.maxEventAheadMs } : {}),
    });
    task = new Task(partition, executor, backend, outputs, dlq);
    task.owner = `${this.owner}:${++this.incarnations}`;
    this.log('info', `task ${partition}: claiming as ${task.owner}`);
    const loaded = await this.retry(`claim task ${partition}`, 'redis', () => this.store.claim(partition, task!.owner));
    executor.restoreParts(loaded.state, loaded.meta);
    backend.drainChanges(); // restoring is not a change
    for (const view of Object.values(this.opts.views ?? {})) view.claimed?.(partition, loaded.state, task.owner);
    task.offsets = { ...loaded.offsets };
    task.checkpointed = { ...loaded.offsets };
    this.log('info', `task ${partition}: resumed at ${JSON.stringify(task.offsets)} (epoch ${loaded.epoch})`);
    return task;
  }

  private async dropTask(partition: number, why: string): Promise<void> {
    const pending = this.tasks.get(partition);
    if (pending === undefined) return;
    this.tasks.delete(partition);
    let task: Task;
    try {
      task = await pending;
    } catch {
      return;
    }
    await task.run(async () => {
      if (task.dropped) return;
      if (task.uncheckpointed) {
        // What was processed since the last checkpoint; fenced if the next owner claimed it already.
        await this.flush(task, async () => {}, true).catch((e: unknown) => this.log('warn', `task ${partition}: last checkpoint failed: ${String(e)}`));
        if (task.dropped) return;
      }
      task.dropped = true;
      for (const view of Object.values(this.opts.views ?? {})) view.released?.(partition, task.owner);
      try {
        await this.store.release(partition, task.owner);
      } catch {
        // Redis down: the next owner claims the task anyway.
      }
    });
    this.log('info', `task ${partition}: ${why}`);
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || this.fatal !== undefined) return;
    const source = this.topicToSource.get(batch.topic);
    if (source === undefined) return;
    const task = await this.task(batch.partition);
    const expected = this.opts.sources[source]!.schema;
    await task.run(async () => {
      if (task.dropped) return;
      const from = task.offsets[batch.topic];
      // The consumer resumes where the group committed, which is never past the checkpoint unless
      // Redis lost it (restarted empty while no instance held the task in memory). The state then
      // starts from what Redis has, so the input must too: move back to the checkpoint's offset, or
      // to the start of the log for a topic the checkpoint does not know.
      const first = batch.messages[0]?.offset;
      if (first !== undefined && (from !== undefined ? BigInt(first) > BigInt(from) : first !== '0')) {
        // Seek back once per position: a batch the consumer skipped (stale after a rebalance, or
        // resolved while the task was busy) moves its fetch position past records never processed,
        // and must be read again however often it happens. A second batch starting past the same
        // position after seeking there is a real hole in the log (control records, compaction, or
        // deleted input), which inputGap tells apart.
        const target = from ?? EARLIEST_OFFSET;
        if (task.sought.get(batch.topic) !== target) {
          task.sought.set(batch.topic, target);
          this.log('warn', `task ${task.partition}: ${batch.topic} resumes at ${from ?? 'the log start'} with its state, the group at ${first}: seeking back`);
          this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: from ?? EARLIEST_OFFSET });
          return;
        }
        // Sought back, and the log still starts after the checkpoint: unless the missing offsets
        // were control records or compacted away (the log start is not past them), they are gone.
        if (from !== undefined && (await this.inputGap(task, batch.topic, batch.partition, from, first)) === 'stop') return;
      }
      let t = this.phases !== undefined ? cpuSeconds() : 0;
      const values: unknown[] = [];
      const keyOf = this.opts.sources[source]?.key?.bind(this.opts.sources[source]);
      task.batchOffsets = [];
      let last: string | undefined;
      for (const m of batch.messages) {
        if (from !== undefined && BigInt(m.offset) < BigInt(from)) continue; // already in the state
        last = m.offset;
        const decoded = m.value === null ? null : decodeAuto(m.value, this.registry, expected);
        const wrongKey = decoded !== null && decoded.ok && keyOf !== undefined ? this.wrongKey(keyOf, decoded.value.value, m.key) : undefined;
        if (decoded !== null && decoded.ok && wrongKey === undefined) {
          values.push(decoded.value.value);
          task.batchOffsets.push(m.offset);
          continue;
        }
        const error = decoded === null ? ssError('SS_ERR_DECODE', 'message has no value (tombstone)', { topic: batch.topic }) : decoded.ok ? wrongKey! : decoded.error;
        this.toDlq(task, batch.topic, batch.partition, m.offset, m.key, m.value, error);
      }
      if (this.phases !== undefined) t = this.lap('decode', t);
      if (last === undefined) return;
      this.stats.eventsIn += values.length;
      this.opts.observer?.eventsIn?.(source, values.length);
      this.stats.batches++;
      const prefetch = this.opts.prefetch;
      if (prefetch !== undefined) await this.retry('prefetch', 'redis', () => prefetch(source, values), heartbeat);
      task.highs[batch.topic] = batch.highWatermark;
      this.keepBacklogActive(task);
      this.advanceExternal(task);
      task.executor.pushBatch(source, values, 0);
      if (this.phases !== undefined) this.lap('pipeline', t);
      const observer = this.opts.observer;
      if (observer?.watermarkLagSeconds !== undefined || observer?.eventTimeBehindSeconds !== undefined) {
        const wm = task.executor.watermarkOf(source);
        const latest = task.executor.maxEventTimeOf(source);
        if (Number.isFinite(wm) && Number.isFinite(latest)) observer.watermarkLagSeconds?.(source, Math.max(0, latest - wm) / 1000);
        if (Number.isFinite(wm)) observer.eventTimeBehindSeconds?.(source, (Date.now() - wm) / 1000);
      }
      task.offsets[batch.topic] = (BigInt(last) + 1n).toString();
      this.opts.observer?.consumerLag?.(batch.topic, batch.partition, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(task.offsets[batch.topic]!))));
      this.announce(task);
      await this.flush(task, heartbeat);
    });
    await heartbeat();
  }

  /** Processing time moves: idle inputs release event time, processing-time timers fire. */
  private async tick(): Promise<void> {
    // One tick at a time: a tick waits for every task's current work (a slow delivery), and the
    // interval must not pile more up behind it.
    if (!this.running || this.ticking) return;
    this.ticking = true;
    try {
      await this.tickTasks();
    } finally {
      this.ticking = false;
    }
  }

  private async tickTasks(): Promise<void> {
    const ends = await this.logEnds();
    for (const pending of [...this.tasks.values()]) {
      const task = await pending.catch(() => undefined);
      if (task === undefined) continue;
      await task
        .run(async () => {
          if (task.dropped) return;
          for (const [topic, byPartition] of ends) {
            const end = byPartition.get(task.partition);
            if (end === undefined) continue;
            task.lows[topic] = end.low;
            if (task.highs[topic] === undefined || BigInt(end.high) > BigInt(task.highs[topic]!)) task.highs[topic] = end.high;
          }
          this.keepBacklogActive(task);
          const t = this.phases !== undefined ? cpuSeconds() : 0;
          this.advanceExternal(task);
          task.executor.advanceProcessingTime();
          if (this.phases !== undefined) this.lap('pipeline', t);
          this.announce(task);
          await this.flush(task, async () => {});
        })
        .catch((e: unknown) => this.log('error', `tick of task ${task.partition}: ${String(e)}`));
    }
    await this.commitLag();
  }

  /** Advances the task's external-watermark sources ({@link JobOptions.externalWatermarks}). */
  private advanceExternal(task: Task): void {
    for (const [source, watermark] of Object.entries(this.opts.externalWatermarks ?? {})) {
      const w = watermark();
      if (w > task.executor.watermarkOf(source)) task.executor.advanceWatermark(source, w);
    }
  }

  /** Whether every one of `sources` is read to its log end as last seen (a topic whose end is unknown is not). */
  private caughtUp(task: Task, sources: readonly string[]): boolean {
    for (const name of sources) {
      const s = this.opts.sources[name];
      if (s === undefined) return false;
      const high = task.highs[s.topic];
      const next = task.offsets[s.topic] ?? task.lows[s.topic];
      if (high === undefined || next === undefined || BigInt(high) > BigInt(next)) return false;
    }
    return true;
  }

  /** Queues the task's watermark announcement if it rose ({@link WatermarkAnnouncement}): after the outputs it covers. */
  private announce(task: Task): void {
    const a = this.opts.announce;
    if (a === undefined) return;
    let w = task.executor.maxEventTimeOf(a.source) - a.outOfOrdernessMs - 1;
    const now = this.clock.now();
    if (!this.caughtUp(task, a.inputs)) task.caughtUpSince = undefined;
    else {
      task.caughtUpSince ??= now;
      // Idleness only once the whole task has had no backlog for the idle timeout: never while any of
      // its inputs is being read; then at most once per idle timeout (a quiet watermark moves with
      // the clock, and every mark is copied to every partition of a topic that keeps its records).
      if (now - task.caughtUpSince >= a.idleTimeoutMs && (w > task.announced || now - task.idleAnnouncedAt >= a.idleTimeoutMs)) {
        w = Math.max(w, task.executor.watermarkOf(a.source));
        if (a.inputs.every((s) => task.executor.maxEventTimeOf(s) === -Infinity)) {
          const x = task.executor.maxEventTimeOf(a.follows);
          if (x > task.followed.x) task.followed = { x, since: now };
          if (now - Math.max(task.followed.since, task.caughtUpSince) >= a.idleTimeoutMs) w = Math.max(w, task.followed.x);
        }
      }
    }
    if (!(w > task.announced)) return;
    if (w > task.executor.maxEventTimeOf(a.source) - a.outOfOrdernessMs - 1) task.idleAnnouncedAt = now;
    task.announced = w;
    task.outputs.push({ sink: a.sink, value: a.value(task.partition, w) });
  }

  /** A topic's partition count, from the broker. */
  private async partitionsOf(topic: string): Promise<number> {
    const { topics } = await this.admin!.fetchTopicMetadata({ topics: [topic] });
    const n = topics[0]?.partitions.length ?? 0;
    if (n === 0) throw new Error(`no partitions known for ${topic}`);
    return n;
  }

  /** A sink topic's partition count, read once (again after a failure). */
  private sinkPartitionsOf(topic: string): Promise<number> {
    return memoized(this.sinkPartitions, topic, () => this.partitionsOf(topic));
  }

  /**
   * Idleness judged by the input's position, not by the clock alone: a source whose partition
   * still has records after the task's offset (it is behind, not quiet: a slow delivery held the
   * task up) is kept active, so that its watermark never moves past records it has not read yet.
   */
  private keepBacklogActive(task: Task): void {
    for (const [source, s] of Object.entries(this.opts.sources)) {
      const high = task.highs[s.topic];
      // A topic not read yet is read from its log start.
      const next = task.offsets[s.topic] ?? task.lows[s.topic] ?? '0';
      // Where the log ends is not known yet (no batch, no tick has read it): not judged quiet either.
      if (high === undefined || BigInt(high) > BigInt(next)) task.executor.keepActive(source);
    }
  }

  /**
   * The input topics' log start and end offsets now, by topic and partition (one ListOffsets per topic, on
   * the tick), so that records produced while a task was held up count as its backlog. Empty when
   * the broker cannot say (it is down: the last known ends stand).
   */
  private async logEnds(): Promise<Map<string, Map<number, { low: string; high: string }>>> {
    const ends = new Map<string, Map<number, { low: string; high: string }>>();
    if (this.admin === undefined) return ends;
    try {
      for (const s of Object.values(this.opts.sources)) {
        const offsets = await this.admin.fetchTopicOffsets(s.topic);
        ends.set(s.topic, new Map(offsets.map((o) => [o.partition, { low: o.low, high: o.high }])));
      }
    } catch {
      // Kafka down: the consumer's own retries report it; the task keeps the ends it last saw.
    }
    return ends;
  }

  /**
   * Commits checkpointed offsets to Kafka, for lag monitoring only (the job resumes from Redis),
   * batched on the tick so that no batch waits for it. Never past a checkpoint.
   */
  private async commitLag(): Promise<void> {
    if (this.lagCommits.size === 0) return;
    const offsets = [...this.lagCommits.values()];
    this.lagCommits.clear();
    await this.consumer.commitOffsets(offsets).catch((e: unknown) => this.log('warn', `commit to Kafka (lag only) failed: ${String(e)}`));
  }

  /** Reports the CPU time since `since` ({@link cpuSeconds}) as spent in `phase`; returns the CPU time now. */
  private lap(phase: JobPhase, since: number): number {
    const now = cpuSeconds();
    this.phases?.(phase, now - since);
    return now;
  }

  private toDlq(task: Task, topic: string, partition: number, offset: string, key: Buffer | null, value: Buffer | null, error: ScenestreamError): void {
    this.stats.deadLetters++;
    const headers: IHeaders = {
      'ss-error-code': error.code,
      'ss-error-message': error.message,
      'ss-source-topic': topic,
      'ss-source-partition': String(partition),
      'ss-source-offset': offset,
    };
    if (error.field !== undefined) headers['ss-error-field'] = error.field;
    task.dlq.push({ topic: deadLetterTopic(topic), message: { key, value, headers } });
    this.opts.onDeadLetter?.(topic, error);
  }

  /** Why a decoded input record's Kafka key is not the one its source requires, or undefined when it is. */
  private wrongKey(keyOf: (value: unknown) => string | undefined, value: unknown, key: Buffer | null): ScenestreamError | undefined {
    const want = keyOf(value);
    if (want === undefined) return undefined;
    const got = key === null ? null : key.toString('utf8');
    if (got === want) return undefined;
    return ssError(
      'SS_ERR_INPUT_KEY',
      `key ${got === null ? 'null' : JSON.stringify(got)} is not the record's customer "${want}": its partition may not hold that customer's state (produce input keyed by customerId)`,
      { field: 'key' },
    );
  }

  /**
   * A task's checkpoint is at `from` and the partition's first record now is `first`: asks the
   * broker where the log starts, and if that is past `from`, reports the records lost (log line,
   * observer) and applies {@link JobOptions.inputGaps}. `stop`: the job is failing.
   */
  private async inputGap(task: Task, topic: string, partition: number, from: string, first: string): Promise<'go' | 'stop'> {
    let start: bigint;
    try {
      const offsets = await this.admin!.fetchTopicOffsets(topic);
      start = BigInt(offsets.find((o) => o.partition === partition)?.low ?? first);
    } catch {
      start = BigInt(first); // the broker could not say: the first record read is the best guess
    }
    if (start <= BigInt(from)) return 'go';
    const lost = start - BigInt(from);
    const error = ssError('SS_ERR_INPUT_GAP', `${topic} partition ${partition}: offsets ${from} to ${start - 1n} (${lost} records) were deleted before the job read them (retention or truncation); its checkpoint is at ${from}, the log now starts at ${start}`, { topic, partition, offset: from });
    this.opts.observer?.inputGap?.(topic, partition, Number(lost));
    if ((this.opts.inputGaps ?? 'continue') === 'fail') {
      this.fatal = error;
      this.log('error', `task ${task.partition}: ${error.message}; stopping (inputGaps: fail)`);
      this.opts.onFatal?.(error);
      return 'stop';
    }
    this.log('error', `task ${task.partition}: ${error.message}; reading on from ${start} (inputGaps: continue)`);
    return 'go';
  }

  /** The dead letter of an output too large to produce: its id, size and the start of its JSON, no value. */
  private tooLarge(task: Task, sink: JobSink, value: unknown, m: Message, bytes: number, maxBytes: number): Message {
    const id = sink.id(value);
    const error = ssError('SS_ERR_OUTPUT_TOO_LARGE', `${sink.schema} ${id} is ${bytes} bytes, over the ${maxBytes}-byte limit of an output record (maxOutputBytes / MAX_OUTPUT_BYTES); not produced`);
    this.stats.deadLetters++;
    this.opts.onDeadLetter?.(sink.topic, error);
    this.log('warn', `task ${task.partition}: ${error.message}`);
    const json = JSON.stringify(value) ?? '';
    const headers: IHeaders = {
      'ss-error-code': error.code,
      'ss-error-message': error.message,
      'ss-source-topic': sink.topic,
      'ss-source-partition': String(task.partition),
      'ss-source-offset': JSON.stringify(task.offsets),
      'ss-id': id,
      'ss-output-bytes': String(bytes),
      'ss-output-preview': json.length > TOO_LARGE_PREVIEW_CHARS ? `${json.slice(0, TOO_LARGE_PREVIEW_CHARS)}…` : json,
    };
    return { key: m.key ?? null, value: null, headers };
  }

  private deadLetterFromEngine(task: Task, d: DeadLetter): void {
    const source = this.opts.sources[d.source];
    const topic = source?.topic ?? d.source;
    const schema = source?.schema;
    let value: Buffer | null = null;
    try {
      value = schema !== undefined ? encodeConfluent(schema, d.value as never, this.registry.idOf(schema)) : Buffer.from(JSON.stringify(d.value));
    } catch {
      value = Buffer.from(JSON.stringify(d.value) ?? 'null');
    }
    this.toDlq(task, topic, task.partition, task.batchOffsets[d.index] ?? 'unknown', null, value, d.error);
  }

  /** Produces outputs and dead letters, delivers, then checkpoints state and offsets atomically. */
  private async flush(task: Task, heartbeat: () => Promise<void>, force = false): Promise<void> {
    const started = performance.now();
    let t = this.phases !== undefined ? cpuSeconds() : 0;
    const outputs = task.outputs.splice(0);
    const dlq = task.dlq.splice(0);
    const topicMessages = new Map<string, Message[]>();
    const add = (topic: string, m: Message) => {
      let l = topicMessages.get(topic);
      if (l === undefined) topicMessages.set(topic, (l = []));
      l.push(m);
    };
    const bySink = new Map<string, unknown[]>();
    const maxBytes = this.opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    for (const o of outputs) {
      const view = this.opts.views?.[o.sink];
      if (view !== undefined) {
        let latest = task.views.get(o.sink);
        if (latest === undefined) task.views.set(o.sink, (latest = new Map()));
        latest.set(view.id(o.value), o.value);
        continue;
      }
      const sink = this.opts.sinks[o.sink];
      if (sink === undefined) continue;
      const m: Message = { key: sink.key(o.value), value: encodeConfluent(sink.schema, o.value as never, this.registry.idOf(sink.schema)), headers: { 'ss-id': sink.id(o.value) } };
      const bytes = messageBytes(m);
      if (bytes > maxBytes) {
        add(deadLetterTopic(sink.topic), this.tooLarge(task, sink, o.value, m, bytes, maxBytes));
        continue;
      }
      if (sink.partition !== undefined) {
        const count = await this.retry('metadata', 'kafka', () => this.sinkPartitionsOf(sink.topic), heartbeat);
        const to = sink.partition(o.value, task.partition, count);
        if (to === 'all') for (let p = 0; p < count; p++) add(sink.topic, { ...m, partition: p });
        else add(sink.topic, to === undefined ? m : { ...m, partition: to });
      } else add(sink.topic, m);
      let l = bySink.get(o.sink);
      if (l === undefined) bySink.set(o.sink, (l = []));
      l.push(o.value);
    }
    for (const d of dlq) add(d.topic, d.message);
    if (this.phases !== undefined) t = this.lap('encode', t);
    if (topicMessages.size > 0) {
      // In requests of at most PRODUCE_REQUEST_BYTES: the outputs of one big fetch (one per input
      // for a 1 MB partition fetch) would exceed the broker's 1 MB message.max.bytes in one record
      // batch, which no retry cures. Sent one after another, so order per partition holds.
      for (const request of chunkMessages(topicMessages, PRODUCE_REQUEST_BYTES)) {
        const sent = this.retry('produce', 'kafka', () => this.producer.sendBatch({ topicMessages: request, acks: -1 }), heartbeat);
        if (this.phases !== undefined) this.lap('produce', t);
        await sent;
        if (this.phases !== undefined) t = cpuSeconds();
      }
      this.stats.outputs += outputs.length;
      const latency = this.opts.observer?.outputLatencySeconds;
      if (latency !== undefined) {
        const seconds = (performance.now() - started) / 1000;
        for (let i = 0; i < outputs.length; i++) latency(seconds);
      }
    }
    for (const [sink, values] of bySink) {
      const deliver = this.opts.deliver?.[sink];
      if (deliver !== undefined) await this.retry(`deliver ${sink}`, 'delivery', () => heartbeating(heartbeat, () => deliver(values)), heartbeat);
    }
    task.uncheckpointed = true;
    const now = performance.now();
    // Changes stay tracked in the backend and offsets in the task until the next checkpoint.
    if (!force && now - task.lastCheckpoint < (this.opts.checkpointIntervalMs ?? 0)) return;
    task.lastCheckpoint = now;
    const c = this.phases !== undefined ? cpuSeconds() : 0;
    const changes = task.backend.drainChanges();
    const meta = task.executor.metaSnapshot();
    const views = this.viewWrites(task);
    const tripsBefore = this.store.roundTrips;
    try {
      // Serialising the commit is synchronous, up to the Redis call: timed before awaiting it.
      const committed = this.retry('checkpoint', 'redis', () => this.store.commit(task.partition, task.owner, changes, task.offsets, meta, views), heartbeat);
      if (this.phases !== undefined) this.lap('checkpoint', c);
      const result = await committed;
      if (result === 'MISSING') {
        this.log('warn', `task ${task.partition}: Redis lost its checkpoint; writing the whole state again`);
        const snapshot = task.backend.snapshot();
        await this.retry('rewrite', 'redis', () => this.store.rewrite(task.partition, task.owner, snapshot, task.offsets, meta, this.viewWrites(task, snapshot)), heartbeat);
      }
      this.stats.checkpoints++;
      this.opts.observer?.checkpointSeconds?.((performance.now() - now) / 1000);
      this.opts.observer?.redisRoundTrips?.(this.store.roundTrips - tripsBefore);
      task.uncheckpointed = false;
      task.views.clear();
      task.checkpointed = { ...task.offsets };
      for (const [topic, offset] of Object.entries(task.checkpointed)) this.lagCommits.set(`${topic}/${task.partition}`, { topic, partition: task.partition, offset });
    } catch (e) {
      if (e instanceof FencedError) {
        this.stats.fenced++;
        this.log('warn', `task ${task.partition}: fenced (${e.message}); dropping it`);
        task.dropped = true;
        // Only if the task map still holds this task: a newer task of this instance for the same
        // partition (claimed after this one was dropped) is what fenced it, and stays.
        const pending = this.tasks.get(task.partition);
        if (pending !== undefined && (await pending.catch(() => undefined)) === task) {
          this.tasks.delete(task.partition);
          for (const view of Object.values(this.opts.views ?? {})) view.released?.(task.partition, task.owner);
        }
        return;
      }
      throw e;
    }
  }

  /**
   * The view writes of a task's outputs since its last checkpoint (all view sinks in one set of
   * writes); with `state` (Redis lost the task), every entity of the views that can rebuild from it.
   */
  private viewWrites(task: Task, state?: StateSnapshot): CheckpointViews {
    const indexes: Record<string, string> = {};
    const writes: Array<CheckpointViews['writes'][number]> = [];
    const add = (w: CheckpointViews) => {
      Object.assign(indexes, w.indexes);
      writes.push(...w.writes);
    };
    for (const [sink, view] of Object.entries(this.opts.views ?? {})) {
      if (state !== undefined && view.rebuild !== undefined) add(view.rebuild(task.partition, state));
      else {
        const latest = task.views.get(sink);
        if (latest !== undefined) add(view.writes(task.partition, [...latest.values()]));
      }
    }
    return { indexes, writes };
  }

  /** Retries a write with exponential backoff, heartbeating so the group keeps our partitions. */
  /**
   * Runs `fn` until it succeeds, with exponential backoff, heartbeating between attempts. Logs the
   * first failure and the recovery, not every attempt (the observer hears every one, for metrics
   * and the dependencies' view).
   */
  private async retry<T>(what: string, service: JobService, fn: () => Promise<T>, heartbeat: () => Promise<void> = async () => {}): Promise<T> {
    const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 100, maxMs: 5_000 };
    let delay = initialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await fn();
        if (attempt > 1) {
          this.log('info', `${what} succeeded after ${attempt} attempts`);
          this.opts.observer?.serviceUp?.(service);
        }
        return result;
      } catch (e) {
        if (e instanceof FencedError) throw e;
        if (isScenestreamError(e) && !e.retryable) throw e;
        if (!this.running && attempt > 3) throw e;
        this.stats.retries++;
        this.opts.observer?.serviceDown?.(service, e);
        this.opts.observer?.attemptFailed?.(what.split(' ')[0]!, service);
        if (attempt === 1) this.log('warn', `${what} failed, retrying with backoff (${initialMs}-${maxMs} ms): ${e instanceof Error ? e.message : String(e)}`);
        await new Promise((r) => setTimeout(r, delay));
        await heartbeat().catch(() => undefined);
        delay = Math.min(maxMs, delay * 2);
      }
    }
  }
}
