import { createRequire } from 'node:module';

/**
 * kafkajs' producer groups a topic's messages by partition before every produce request with
 * `messages.reduce(... [...current, message] ...)`: a copy of the partition's list per message,
 * quadratic in the messages per partition of one request. With one output per input (a running
 * count), that grouping was 23 % of the job's CPU (`npm run bench -- --e2e`, (b2), profiled
 * 2026-12-07); a flush of the retail job groups thousands. Upstream knows (tulios/kafkajs PR
 * 1576, open since 2023; kafkajs has had no release since 2.2.4).
 *
 * This module, imported before kafkajs is first loaded (`./kafkajs.ts` imports it first, and the
 * product's modules import kafkajs only through that one), puts a linear grouping with the same
 * result in the place of kafkajs' module in Node's CommonJS cache, so that kafkajs' producer,
 * loaded after it, requires this one. Nothing else of kafkajs changes. If kafkajs was loaded before
 * (a program that imported it first), or its file is not where 2.2.4 has it, nothing is replaced and
 * kafkajs works as it does without us: {@link linearGroupingInstalled} says which.
 */

interface PartitionMetadataLike {
  readonly partitionId: number;
}
type Partitioner<M> = (args: { topic: string; partitionMetadata: readonly PartitionMetadataLike[]; message: M }) => number;

/**
 * The messages of one topic by the partition the partitioner gives each, in their order: the same
 * object kafkajs' own grouping returns (partition numbers as keys), built in one pass.
 */
export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: { topic: string; partitionMetadata: readonly PartitionMetadataLike[]; messages: readonly M[]; partitioner: Partitioner<M> }): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list === undefined) result[partition] = [message];
    else list.push(message);
  }
  return result;
}

const require = createRequire(import.meta.url);

function install(): boolean {
  let target: string;
  let producer: string;
  try {
    target = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
    producer = require.resolve('kafkajs/src/producer/sendMessages.js');
  } catch {
    return false;
  }
  // kafkajs already loaded: its producer holds the original; replacing the cache entry would not reach it.
  if (require.cache[producer] !== undefined) return require.cache[target]?.exports === groupMessagesPerPartition;
  // A cache entry is all Node's CommonJS loader reads for a module it has loaded: `exports` and
  // `loaded`. Built from the real module so that its identity fields (id, filename, paths) are right.
  const original = require(target) as unknown;
  const entry = require.cache[target];
  if (entry === undefined || typeof original !== 'function') return false;
  entry.exports = groupMessagesPerPartition;
  return true;
}

/** Whether kafkajs' producer in this process groups with {@link groupMessagesPerPartition}. */
export const linearGroupingInstalled: boolean = install();
