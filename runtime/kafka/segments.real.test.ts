/**
 * Segment targeting in production mode (issue 13, item 3): the Kafka job on a real broker and Redis
 * decides with the same evaluation as the in-process graph (`runPartitioned` over the job's own
 * `graph`): the decisions topic, read back, equals it, `segment` suppressions included.
 */
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateCampaign } from '../../pipelines/campaign.js';
import type { Decision } from '../../schemas/index.js';
import { retailTestInput, runPartitioned, waitFor } from '../../testkit/kafka.js';
import { loadServiceConfig } from '../config.js';
import { retailJobOptions } from '../retailJob.js';
import { broadcast } from './broadcast.js';
import { KafkaJob } from './job.js';

const PARTITIONS = 3;

describe('segment targeting in the Kafka job (real Kafka and Redis)', () => {
  const redis = createClient({ url: loadServiceConfig().redisUrl });
  beforeAll(async () => void (await redis.connect()));
  afterAll(async () => void (await redis.quit()));

  it('the decisions topic equals the in-process decisions, segment suppressions included', async () => {
    const { kafka, prefix, records, deps } = await retailTestInput('seg', { seed: 'segments-real', customers: 60, days: 2, partitions: PARTITIONS });
    const parsed = validateCampaign({
      name: 'segments-real',
      segments: { buyers: 'frequency >= 1', vip: 'tier >= gold' },
      offers: { cart_abandonment: { targets: ['buyers'] }, browse_abandonment: { excludes: ['vip'] }, store_proximity: { targets: ['vip'] } },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const campaign = { current: () => parsed.campaign };
    const options = () => retailJobOptions({ kafka, redis, deps, campaign, name: `${prefix}job`, topicsPrefix: prefix, tickMs: 200 });
    const expected = (runPartitioned(options().graph, records, PARTITIONS).get('decisions') ?? []) as Decision[];
    const reasons = new Set(expected.map((d) => d.reason ?? d.outcome));
    expect(reasons.has('segment'), [...reasons].join()).toBe(true);
    expect(reasons.has('sent')).toBe(true);

    const job = new KafkaJob(options());
    const read = new Map<string, Decision>(); // by id: at least once
    const feed = await broadcast({ kafka, topic: `${prefix}decisions`, schema: 'Decision', group: `${prefix}view`, onValue: (d) => void read.set(d.decisionId, d) });
    try {
      await job.start();
      await waitFor(() => job.stats.eventsIn >= records.length, 90_000, 'every event consumed');
      await waitFor(() => read.size >= expected.length, 30_000, 'the decisions topic read back');
      const byId = (a: Decision, b: Decision) => (a.decisionId < b.decisionId ? -1 : a.decisionId > b.decisionId ? 1 : 0);
      expect([...read.values()].sort(byId)).toEqual([...expected].sort(byId));
    } finally {
      await job.stop();
      await feed.stop();
    }
  });
});
