import { describe, expect, it } from 'vitest';
import { validateCampaign } from '../pipelines/campaign.js';
import type { LiveProfile } from '../pipelines/profile.js';
import { liveProfile } from '../testkit/liveProfile.js';
import { emptySegmentSizes } from './profileStore.js';
import { Metrics, SEGMENT_SIZES_TIMEOUT_MS } from './metrics.js';
import { segmentSeries, SegmentTally } from './segmentSizes.js';

const profile = (customerId: string, tier: string, frequency: number, asOf = 1_000): LiveProfile => liveProfile(customerId, { tier, frequency, asOf });

function segmentsOf(rules: Record<string, string>) {
  const r = validateCampaign({ segments: rules });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.campaign.segments;
}

/** The samples of scenestream_segment_customers as `kind/segment value` lines. */
async function samples(m: Metrics): Promise<string[]> {
  await m.text(); // a scrape runs the gauge's collect
  const data = await m.registry.getSingleMetric('scenestream_segment_customers')!.get();
  return data.values.map((v) => `${String(v.labels.kind)}/${String(v.labels.segment)} ${v.value}`).sort();
}

describe('segment sizes', () => {
  it('counts each customer once, with their latest profile, under the rules given when asked', () => {
    const tally = new SegmentTally();
    tally.observe(profile('a', 'gold', 0));
    tally.observe(profile('b', 'silver', 2));
    tally.observe(profile('c', 'platinum', 1));
    tally.observe(profile('a', 'gold', 3, 2_000)); // a's latest
    expect(tally.size).toBe(3);
    expect(tally.sizes(segmentsOf({ vip: 'tier >= gold', buyers: 'frequency >= 1', nobody: 'frequency > 100' }))).toEqual({ vip: 2, buyers: 3, nobody: 0 });
    // Other rules (a reload): the same customers, sized again.
    expect(tally.sizes(segmentsOf({ vip: 'tier = platinum' }))).toEqual({ vip: 1 });
  });

  it('per task: a claimed task counts its whole state at once, a release forgets it, a stale release leaves a newer claim', () => {
    const tally = new SegmentTally();
    const vip = segmentsOf({ vip: 'tier >= gold' });
    tally.claimed(0, [profile('a', 'gold', 1), profile('b', 'silver', 1)], 'x:1');
    tally.claimed(1, [profile('c', 'platinum', 1)], 'x:2');
    expect([tally.size, tally.sizes(vip).vip]).toEqual([3, 2]);
    tally.observe(profile('b', 'gold', 2, 2_000), 0); // b's latest, written with a checkpoint of task 0
    expect(tally.sizes(vip).vip).toBe(3);
    tally.released(1, 'x:2'); // partition 1 moved to another instance
    expect([tally.size, tally.sizes(vip).vip]).toEqual([2, 2]);
    // Partition 0 claimed again (a newer task of this process) before the old task's release ran.
    tally.claimed(0, [profile('a', 'gold', 1)], 'x:3');
    tally.released(0, 'x:1');
    expect([tally.size, tally.sizes(vip).vip]).toEqual([1, 1]);
  });

  it('scenestream_segment_customers{segment,kind}: read at each scrape; a segment dropped by a reload leaves no series; a failed read keeps the last', async () => {
    const m = new Metrics({ processMetrics: false });
    const tally = new SegmentTally();
    tally.observe(profile('a', 'gold', 1));
    let rules = segmentsOf({ vip: 'tier >= gold', buyers: 'frequency >= 1' });
    let fail = false;
    m.readSegmentSizes(async () => {
      if (fail) throw new Error('redis away');
      return segmentSeries({ ...emptySegmentSizes(), champions: 4 }, tally.sizes(rules));
    });
    const first = await samples(m);
    expect(first).toContain('campaign/vip 1');
    expect(first).toContain('campaign/buyers 1');
    expect(first).toContain('rfm/champions 4');
    expect(first).toContain('rfm/lost 0');

    rules = segmentsOf({ buyers: 'frequency >= 2' });
    const second = await samples(m);
    expect(second.filter((s) => s.startsWith('campaign/'))).toEqual(['campaign/buyers 0']);

    fail = true;
    expect(await samples(m)).toEqual(second);
  });

  it('a read that never answers (Redis away, the command queued) does not hang the scrape: the last sizes stand', async () => {
    const m = new Metrics({ processMetrics: false });
    let hang = false;
    m.readSegmentSizes(() => (hang ? new Promise<never>(() => undefined) : Promise.resolve(segmentSeries(emptySegmentSizes(), { vip: 2 }))));
    const first = await samples(m);
    expect(first).toContain('campaign/vip 2');
    hang = true;
    const t0 = Date.now();
    expect(await samples(m)).toEqual(first);
    expect(Date.now() - t0).toBeLessThan(SEGMENT_SIZES_TIMEOUT_MS + 2_000);
  });
});
