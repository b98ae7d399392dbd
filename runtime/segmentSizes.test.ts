import { describe, expect, it } from 'vitest';
import { validateCampaign } from '../pipelines/campaign.js';
import type { LiveProfile } from '../pipelines/profile.js';
import { liveProfile } from '../testkit/liveProfile.js';
import { emptySegmentSizes } from './profileStore.js';
import { Metrics } from './metrics.js';
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
});
