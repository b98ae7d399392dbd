import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import { ssError } from '../../schemas/errors.js';

/**
 * The Kafka topics of a job, as part of its deployment.
 *
 * A job needs its input topics (co-partitioned: the same partition count for all, since partition
 * `p` of every input is one task), its output topics and a dead-letter topic `<topic>.dlq` per
 * input (records that cannot be read) and per output (records too large to produce). {@link planTopics} lists them with their settings; {@link ensureTopics} checks them against
 * the broker and, in `create` mode, creates the missing ones, then waits until every partition has
 * a leader, so that a job on a fresh broker starts instead of failing on "This server does not host
 * this topic-partition".
 *
 * Retention defaults never delete input by age: input and dead-letter topics keep records until
 * deleted by hand (`retention.ms=-1`), since a replayed or backlogged input may carry event times
 * far in the past and must still be there when the job reads it. That includes internal inputs (a
 * repartition topic the job writes and reads itself). Outputs keep 7 days. A changelog (an output
 * read back whole as a table) is compacted (`cleanup.policy=compact`): the last record of every key
 * stays.
 */

/** kafkajs' `ConfigResourceTypes.TOPIC`, written out so that this module loads no Kafka client (the replay imports the config). */
const TOPIC_RESOURCE = 2;

/** `changelog`: an output read back as a table (last record per key), created compacted. */
export type TopicRole = 'input' | 'output' | 'dead-letter' | 'changelog';

export interface TopicSpec {
  readonly topic: string;
  readonly role: TopicRole;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** `retention.ms` of a created topic (-1: never deleted by age). */
  readonly retentionMs: number;
}

export interface TopicsConfig {
  /** At job start: create missing topics, fail listing them, or do nothing (`none`). */
  readonly onStart: 'create' | 'check' | 'none';
  /** Partitions of created topics (inputs that already exist fix the count for the rest). */
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly inputRetentionMs: number;
  readonly outputRetentionMs: number;
  /** How long to wait for created topics' partitions to have leaders. */
  readonly metadataTimeoutMs: number;
}

export const DEFAULT_TOPICS_CONFIG: TopicsConfig = {
  onStart: 'create',
  partitions: 6,
  replicationFactor: 1,
  inputRetentionMs: -1,
  outputRetentionMs: 7 * 24 * 3600 * 1000,
  metadataTimeoutMs: 60_000,
};

/** The topics a job with these inputs, outputs and changelogs (compacted outputs) needs. */
export function planTopics(inputs: readonly string[], outputs: readonly string[], config: TopicsConfig, partitionsOfInputs?: number, changelogs: readonly string[] = []): TopicSpec[] {
  const partitions = partitionsOfInputs ?? config.partitions;
  const spec = (topic: string, role: TopicRole, retentionMs: number): TopicSpec => ({ topic, role, partitions, replicationFactor: config.replicationFactor, retentionMs });
  const unique = (xs: readonly string[]) => [...new Set(xs)];
  return [
    ...unique(inputs).map((t) => spec(t, 'input', config.inputRetentionMs)),
    ...unique(outputs).filter((t) => !inputs.includes(t) && !changelogs.includes(t)).map((t) => spec(t, 'output', config.outputRetentionMs)),
    ...unique(inputs).map((t) => spec(deadLetterTopic(t), 'dead-letter', config.inputRetentionMs)),
    // Outputs too large for the broker (SS_ERR_OUTPUT_TOO_LARGE): their id and size, kept like other dead letters.
    ...unique(outputs).filter((t) => !inputs.includes(t)).map((t) => spec(deadLetterTopic(t), 'dead-letter', config.inputRetentionMs)),
    // Compaction keeps the last record of every key; nothing is deleted by age.
    ...unique(changelogs).filter((t) => !inputs.includes(t)).map((t) => spec(t, 'changelog', -1)),
  ];
}

/** Where records of `topic` that cannot be processed go. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

export type TopicStatus = 'exists' | 'created' | 'missing';

export interface TopicReport extends TopicSpec {
  readonly status: TopicStatus;
  /** What the broker has (the plan's values for a missing topic). */
  readonly actual: { readonly partitions: number; readonly replicationFactor: number; readonly retentionMs: number };
}

export interface EnsureResult {
  readonly topics: readonly TopicReport[];
  /** Problems that make the job unable to run (missing topics in `check` mode, inputs not co-partitioned). */
  readonly problems: readonly string[];
  /** What may hurt without stopping the job (an input topic that deletes records by age). */
  readonly warnings: readonly string[];
}

/**
 * Compares the planned topics with the broker; in `create` mode creates the missing ones (inputs get
 * the partition count of inputs that already exist) and waits for their leaders. Never alters an
 * existing topic. Inputs with different partition counts are a problem in either mode.
 */
export async function ensureTopics(admin: Admin, inputs: readonly string[], outputs: readonly string[], config: TopicsConfig, mode: 'create' | 'check', changelogs: readonly string[] = []): Promise<EnsureResult> {
  const existing = new Set(await admin.listTopics());
  const known = [...inputs, ...outputs, ...inputs.map(deadLetterTopic), ...outputs.map(deadLetterTopic), ...changelogs].filter((t) => existing.has(t));
  const partitionsOf = new Map<string, number>();
  const replicationOf = new Map<string, number>();
  const retentionOf = new Map<string, number>();
  if (known.length > 0) {
    const meta = await admin.fetchTopicMetadata({ topics: known });
    for (const t of meta.topics) {
      partitionsOf.set(t.name, t.partitions.length);
      replicationOf.set(t.name, t.partitions[0]?.replicas.length ?? 0);
    }
    const configs = await admin.describeConfigs({ resources: known.map((name) => ({ type: TOPIC_RESOURCE, name, configNames: ['retention.ms'] })), includeSynonyms: false });
    for (const r of configs.resources) {
      const v = r.configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
      if (v !== undefined && v !== null) retentionOf.set(r.resourceName, Number(v));
    }
  }
  const inputCounts = [...new Set(inputs.filter((t) => partitionsOf.has(t)).map((t) => partitionsOf.get(t)!))];
  const problems: string[] = [];
  if (inputCounts.length > 1) {
    problems.push(`input topics are not co-partitioned: ${inputs.filter((t) => partitionsOf.has(t)).map((t) => `${t} has ${partitionsOf.get(t)}`).join(', ')} partitions`);
  }
  const plan = planTopics(inputs, outputs, config, inputCounts[0], changelogs);
  const missing = plan.filter((s) => !partitionsOf.has(s.topic));
  if (mode === 'create' && missing.length > 0) {
    // kafkajs' own waitForLeaders gives up on "This server does not host this topic-partition",
    // which a broker answers until the new topic's metadata has spread: poll ourselves instead.
    await admin.createTopics({ topics: missing.map(topicConfig), waitForLeaders: false, timeout: config.metadataTimeoutMs });
    await waitForLeaders(admin, missing.map((s) => s.topic), config.metadataTimeoutMs);
  } else if (missing.length > 0) {
    problems.push(`missing topics: ${missing.map((s) => s.topic).join(', ')} (create them with \`scenestream topics create\`)`);
  }
  // Topics that exist may still be electing leaders (a broker that just started).
  const present = plan.filter((s) => partitionsOf.has(s.topic)).map((s) => s.topic);
  if (present.length > 0) await waitForLeaders(admin, present, config.metadataTimeoutMs);
  const created = new Set(mode === 'create' ? missing.map((s) => s.topic) : []);
  const topics = plan.map((s): TopicReport => ({
    ...s,
    status: created.has(s.topic) ? 'created' : partitionsOf.has(s.topic) ? 'exists' : 'missing',
    actual: {
      partitions: partitionsOf.get(s.topic) ?? s.partitions,
      replicationFactor: replicationOf.get(s.topic) ?? s.replicationFactor,
      retentionMs: retentionOf.get(s.topic) ?? s.retentionMs,
    },
  }));
  const warnings = topics
    .filter((t) => (t.role === 'input' || t.role === 'dead-letter') && t.actual.retentionMs >= 0)
    .map((t) => `${t.topic} deletes records older than ${formatRetention(t.actual.retentionMs)}: input with older event times may be deleted before it is read`);
  return { topics, problems, warnings };
}

/**
 * What a job (or the simulator) does before using its topics: per `config.onStart`, create the
 * missing ones or check them, log what was created and every warning, and throw `SS_ERR_TOPICS`
 * listing the problems. `none` does nothing.
 */
export async function prepareTopics(kafka: Kafka, inputs: readonly string[], outputs: readonly string[], config: TopicsConfig, log: (level: 'info' | 'warn', msg: string) => void, changelogs: readonly string[] = []): Promise<void> {
  if (config.onStart === 'none') return;
  const admin = kafka.admin();
  await admin.connect();
  let result: EnsureResult;
  try {
    result = await ensureTopics(admin, inputs, outputs, config, config.onStart, changelogs);
  } finally {
    await admin.disconnect();
  }
  const created = result.topics.filter((t) => t.status === 'created').map((t) => t.topic);
  if (created.length > 0) log('info', `created topics ${created.join(', ')}`);
  for (const w of result.warnings) log('warn', w);
  if (result.problems.length > 0) throw ssError('SS_ERR_TOPICS', result.problems.join('; '));
}

function topicConfig(s: TopicSpec): ITopicConfig {
  return {
    topic: s.topic,
    numPartitions: s.partitions,
    replicationFactor: s.replicationFactor,
    configEntries: [
      { name: 'retention.ms', value: String(s.retentionMs) },
      { name: 'retention.bytes', value: '-1' },
      ...(s.role === 'changelog' ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
    ],
  };
}

/** Polls metadata until every partition of `topics` has a leader, or fails after `timeoutMs`. */
export async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting: string[] = [...topics];
  while (waiting.length > 0) {
    try {
      const meta = await admin.fetchTopicMetadata({ topics: waiting });
      waiting = meta.topics.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0)).map((t) => t.name);
    } catch {
      // A just-created topic may not be in the metadata yet.
    }
    if (waiting.length === 0) return;
    if (Date.now() > deadline) {
      throw ssError('SS_ERR_TOPICS', `topics without a partition leader after ${timeoutMs} ms: ${waiting.join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One line per topic, for `scenestream topics` and the job's start-up log. */
export function formatTopics(result: EnsureResult): string {
  const rows = result.topics.map((t) => [t.topic, t.role, String(t.actual.partitions), String(t.actual.replicationFactor), t.role === 'changelog' ? 'compacted' : formatRetention(t.actual.retentionMs), t.status]);
  const head = ['topic', 'role', 'partitions', 'replication', 'retention', 'status'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((c, i) => c.padEnd(width[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line), ...result.warnings.map((w) => `warning: ${w}`), ...result.problems.map((p) => `problem: ${p}`)].join('\n');
}

function formatRetention(ms: number): string {
  if (ms < 0) return 'forever';
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000} d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${ms} ms`;
}
