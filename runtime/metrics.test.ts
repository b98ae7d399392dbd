import { describe, expect, it } from 'vitest';
import { tumblingWindow } from '../operators/tumblingWindow.js';
import { TestDriver } from '../testkit/driver.js';
import { pipeline } from '../stream/stream.js';
import { Metrics } from './metrics.js';

interface Ev {
  k: string;
  ts: number;
}

/** The value of one sample of the registry, by metric name and labels (undefined if absent). */
async function sample(m: Metrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = m.registry.getSingleMetric(name);
  if (metric === undefined) return undefined;
  const data = await metric.get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x) && Object.keys(v.labels).length === Object.keys(labels).length);
  return hit?.value;
}

function counting() {
  const p = pipeline('metrics-test');
  p.source<Ev>('in', { timestamp: (e) => e.ts })
    .keyBy((e) => e.k)
    .window(tumblingWindow({ sizeMs: 10, graceMs: 0 }))
    .count('per-key')
    .to('counts');
  return p;
}

describe('Metrics', () => {
  it('exposes every metric the engine needs, with process metrics, on its own registry', async () => {
    const m = new Metrics();
    const text = await m.text();
    for (const name of [
      'scenestream_events_in_total',
      'scenestream_dead_letters_total',
      'scenestream_outputs_total',
      'scenestream_late_records_total',
      'scenestream_triggers_total',
      'scenestream_decisions_total',
      'scenestream_offers_total',
      'scenestream_offers_delivered_total',
      'scenestream_watermark_lag_seconds',
      'scenestream_checkpoint_duration_seconds',
      'scenestream_event_to_output_seconds',
      'scenestream_redis_round_trips_total',
      'scenestream_campaign_reloads_total',
      'scenestream_attribution_decisions',
      'scenestream_attribution_conversions',
      'scenestream_attribution_revenue',
      'scenestream_attribution_discount_cost',
      'scenestream_attribution_holdout_excluded',
      'scenestream_attribution_min_decisions_per_arm',
      'scenestream_attribution_currency_info',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain('# TYPE scenestream_event_to_output_seconds histogram');
    expect(text).toContain('# TYPE scenestream_attribution_revenue gauge');
    expect(text).toContain('process_cpu_user_seconds_total');
    // Two instances do not collide (each has its own registry).
    const other = new Metrics({ processMetrics: false });
    expect(await other.text()).not.toContain('process_cpu_user_seconds_total');
  });

  it('labels samples as given', async () => {
    const m = new Metrics({ processMetrics: false, defaultLabels: { instance: 'e1' } });
    m.decisions.inc({ scene: 'commute', outcome: 'suppressed', reason: 'quiet_hours' });
    m.countDeadLetter('pos', 'SS_ERR_DECODE');
    m.countDeadLetter('pos', 'SS_ERR_DECODE');
    m.campaignReloads.inc({ result: 'error' });
    const text = await m.text();
    expect(text).toContain('scenestream_decisions_total{scene="commute",outcome="suppressed",reason="quiet_hours",instance="e1"} 1');
    expect(text).toContain('scenestream_dead_letters_total{source="pos",code="SS_ERR_DECODE",instance="e1"} 2');
    expect(text).toContain('scenestream_campaign_reloads_total{result="error",instance="e1"} 1');
  });

  it("copies an executor's stats as increments: sink records to outputs, late records per step, all to step counters", async () => {
    const m = new Metrics({ processMetrics: false });
    const d = TestDriver.of(counting());
    d.push('in', { k: 'a', ts: 1 });
    d.push('in', { k: 'a', ts: 12 }); // closes [0, 10)
    d.push('in', { k: 'a', ts: 3 }); // late for [0, 10)
    m.recordExecutorStats(d.executor, 'test');
    expect(await sample(m, 'scenestream_outputs_total', { sink: 'counts' })).toBe(1);
    expect(await sample(m, 'scenestream_late_records_total', { step: 'per-key' })).toBe(1);
    expect(await sample(m, 'scenestream_step_counter_total', { pipeline: 'test', step: 'counts', counter: 'records' })).toBe(1);

    // Called again with nothing new: nothing is added twice.
    m.recordExecutorStats(d.executor, 'test');
    expect(await sample(m, 'scenestream_outputs_total', { sink: 'counts' })).toBe(1);

    d.push('in', { k: 'b', ts: 25 }); // closes [10, 20)
    d.end();
    m.recordExecutorStats(d.executor, 'test');
    expect(d.values('counts')).toHaveLength(3);
    expect(await sample(m, 'scenestream_outputs_total', { sink: 'counts' })).toBe(3);

    // A second executor (after a restart) counts from its own zero.
    const again = TestDriver.of(counting());
    again.push('in', { k: 'z', ts: 1 });
    again.end();
    m.recordExecutorStats(again.executor, 'test');
    expect(await sample(m, 'scenestream_outputs_total', { sink: 'counts' })).toBe(4);
  });
});
