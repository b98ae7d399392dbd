import type { Assigner, GroupMemberAssignment, PartitionAssigner } from 'kafkajs';
import { AssignerProtocol } from './kafkajs.js';
import { ssError } from '../../schemas/errors.js';


/**
 * Assigns partitions by number across all subscribed topics: partition `p` of every input topic
 * goes to the same instance, because one task (one partition number) holds the state of the
 * customers that hash to `p` on every topic. This is Kafka Streams' co-partitioning requirement;
 * the topics must have the same partition count and the same key (the customer id), which the
 * producers' default murmur2 partitioner then maps alike.
 *
 * Partition numbers are dealt to members sorted by id, `p -> members[p mod m]`: deterministic, so
 * every member computes the same plan.
 */
export function coPartitionedAssigner(): PartitionAssigner {
  return ({ cluster }) => {
    const assigner: Assigner = {
      name: 'ScenestreamCoPartitioned',
      version: 1,
      async assign({ members, topics }) {
        await cluster.refreshMetadataIfNecessary();
        const counts = topics.map((t) => cluster.findTopicPartitionMetadata(t).length);
        const n = Math.min(...counts);
        if (counts.some((c) => c !== n)) {
          throw ssError('SS_ERR_CONFIG', `co-partitioned topics must have equal partition counts: ${topics.map((t, i) => `${t}=${counts[i]}`).join(', ')}`);
        }
        const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
        const plan = new Map<string, Record<string, number[]>>(sorted.map((m) => [m.memberId, Object.fromEntries(topics.map((t) => [t, [] as number[]]))]));
        for (let p = 0; p < n; p++) {
          const owner = plan.get(sorted[p % sorted.length]!.memberId)!;
          for (const t of topics) owner[t]!.push(p);
        }
        return sorted.map(
          (m): GroupMemberAssignment => ({
            memberId: m.memberId,
            memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: plan.get(m.memberId)!, userData: Buffer.alloc(0) }),
          }),
        );
      },
      protocol({ topics }) {
        return { name: 'ScenestreamCoPartitioned', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
      },
    };
    return assigner;
  };
}
