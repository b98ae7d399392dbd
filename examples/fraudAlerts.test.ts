import { describe, expect, expectTypeOf, it } from 'vitest';
import { TestDriver } from 'scenestream/testkit';
import { buildFraudAlerts, type Alert, type CardEvent } from './fraudAlerts.js';

const pay = (id: string, card: string, ts: number, country = 'FR', amount = 10): CardEvent => ({ kind: 'payment', id, card, amount, country, ts });
const confirm = (paymentId: string, card: string, ts: number): CardEvent => ({ kind: 'confirmation', paymentId, card, ts });

describe('a user pipeline outside pipelines/ (examples/fraudAlerts.ts)', () => {
  it('builds, describes itself and runs in the test kit on a virtual clock', () => {
    const p = buildFraudAlerts();
    const graph = p.build();
    expect(graph.describe().steps.map((s) => s.id)).toContain('payments.per-minute');
    const d = TestDriver.of(graph);
    d.pushAll('card-events', [
      pay('p1', 'c1', 1_000),
      pay('p1', 'c1', 1_500), // resent by the gateway: deduplicated
      pay('p2', 'c1', 2_000),
      pay('p3', 'c1', 3_000, 'US'), // FR -> US in 1 s
      pay('p4', 'c1', 4_000, 'US'),
      pay('p5', 'c1', 5_000, 'US'),
      pay('big', 'c2', 10_000, 'FR', 5_000),
      pay('big2', 'c3', 10_000, 'FR', 5_000),
      confirm('big2', 'c3', 20_000),
    ]);
    d.advanceTime(60_000); // the input goes quiet: event time follows the clock, deadlines come due
    d.advanceTime(300_000);
    const alerts = d.values<Alert>('alerts');
    expectTypeOf(alerts).toEqualTypeOf<Alert[]>();
    expect(alerts.map((a) => `${a.rule}:${a.card}:${a.ts}`).sort()).toEqual(['burst:c1:59999', 'impossible_travel:c1:3000', 'unconfirmed:c2:310000']);
    expect(d.side('payments.dedupe', 'duplicates')).toHaveLength(1);
  });
});
