/**
 * Attribution in production: two instances of the retail job share the partitions; the closed
 * attribution windows they produce, read back from the `attribution` topic by an instance-wide view,
 * equal what the engine computes in process over the same input, and the partitions each instance
 * owns split them with nothing counted twice or left out.
 */
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attributionTotals, mergeAttribution, type AttributionEvent } from '../../pipelines/attribution.js';
import { DEFAULT_CAMPAIGN, measurementSettings } from '../../pipelines/campaign.js';
import { measure } from '../../pipelines/measurement.js';
import { SCENES } from '../../schemas/index.js';
import { retailTestInput, runPartitioned, waitFor } from '../../testkit/kafka.js';
import { AttributionView } from '../attributionView.js';
import { loadServiceConfig } from '../config.js';
import { retailJobOptions } from '../retailJob.js';
import { broadcast } from './broadcast.js';
import { KafkaJob } from './job.js';

const PARTITIONS = 4;

describe('attribution across instances (real Kafka and Redis)', () => {
  const redis = createClient({ url: loadServiceConfig().redisUrl });
  beforeAll(async () => void (await redis.connect()));
  afterAll(async () => void (await redis.quit()));

  it('the attribution topic, summed over partitions, equals the in-process totals; owned partitions split it', async () => {
    const { kafka, prefix, records, deps } = await retailTestInput('attr', { seed: 'attribution-real', customers: 80, days: 3, partitions: PARTITIONS });
    const options = () => retailJobOptions({ kafka, redis, deps, name: `${prefix}job`, topicsPrefix: prefix, tickMs: 200 });
    const expected = (runPartitioned(options().graph, records, PARTITIONS).get('attribution') ?? []) as AttributionEvent[];
    const totals = attributionTotals(expected);
    expect(totals.cart_abandonment.sent + totals.commute.sent).toBeGreaterThan(0);
    expect(SCENES.reduce((n, s) => n + totals[s].holdout, 0)).toBeGreaterThan(0);

    const jobs = [new KafkaJob(options()), new KafkaJob(options())];
    const view = new AttributionView();
    let read = 0;
    const feed = await broadcast({ kafka, topic: `${prefix}attribution`, schema: 'AttributionEvent', group: `${prefix}view`, onValue: (e, p) => void (view.add(e, p), read++) });
    try {
      for (const j of jobs) await j.start();
      await waitFor(() => jobs.reduce((n, j) => n + j.stats.eventsIn, 0) >= records.length, 90_000, 'every event consumed');
      await waitFor(() => read >= expected.length, 30_000, 'the attribution topic read back');
      const actual = view.totals();
      for (const s of SCENES) {
        expect({ ...actual[s], uplift: 0, sentRevenue: 0, holdoutRevenue: 0 }).toEqual({ ...totals[s], uplift: 0, sentRevenue: 0, holdoutRevenue: 0 });
        expect(actual[s].uplift).toBeCloseTo(totals[s].uplift, 9);
        expect(actual[s].sentRevenue).toBeCloseTo(totals[s].sentRevenue, 6);
      }
      // The measurement too, segments included: each decision's segment as of its ts is the same
      // however the Kafka job batched the records (looked up when the window closes).
      const settings = measurementSettings(DEFAULT_CAMPAIGN);
      const measured = measure(expected, settings);
      expect(view.measurement(settings)).toEqual(measured);
      expect(Object.values(measured.segments).filter((r) => r.sent.decisions + r.holdout.decisions > 0).length).toBeGreaterThan(1);
      // Once the group has settled, the instances' assignments are disjoint and cover every partition.
      await waitFor(() => jobs.map((j) => j.assignment()).flat().sort().join() === '0,1,2,3', 30_000, 'the group to settle');
      const owned = jobs.map((j) => j.assignment());
      expect(owned.every((o) => o.length > 0)).toBe(true);
      for (const s of SCENES) {
        const split = mergeAttribution(view.totals(owned[0]!)[s], view.totals(owned[1]!)[s]);
        expect(split.sent).toBe(totals[s].sent);
        expect(split.holdoutConverted).toBe(totals[s].holdoutConverted);
      }
    } finally {
      for (const j of jobs) await j.stop();
      await feed.stop();
    }
  });
});
