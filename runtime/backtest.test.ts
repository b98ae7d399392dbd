import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inHoldout } from '../pipelines/holdout.js';
import type { ClickEvent, CustomerProfile } from '../schemas/index.js';
import type { Backtest } from './backtest.js';
import { runCliInProcess } from '../testkit/cli.js';
import { main } from './cli.js';

const MIN = 60_000;
/** Monday 2025-03-03 10:00 in Shanghai: daytime, so quiet hours never apply. */
const T = Date.UTC(2025, 2, 3, 2);

/**
 * A hand-checked backtest: five customers each put a product in their cart at T, under a baseline
 * campaign whose cart timeout is 30 min and a candidate whose is 60 min; holdout salt "backtest"
 * at ratio 0.5 puts ann and cat in the holdout group (asserted below), bob, fay and hal not.
 *
 * | customer | group   | purchase   | baseline (30 min): trigger at T+30 | candidate (60 min): trigger at T+60 |
 * |----------|---------|------------|------------------------------------|-------------------------------------|
 * | ann      | holdout | T+45       | yes, converts (T+45 in the window) | no: the purchase at T+45 cancels it |
 * | cat      | holdout | none       | yes, does not convert              | yes, does not convert               |
 * | bob      | sent    | T+45       | yes, converts                      | no: cancelled                       |
 * | fay      | sent    | T+90       | yes, converts                      | yes, converts (T+90 after T+60)     |
 * | hal      | sent    | none       | yes, does not convert              | yes, does not convert               |
 *
 * Baseline, cart_abandonment: 5 triggers, 3 sent, 2 suppressed as holdout; sent rate 2/3, holdout
 * rate 1/2, uplift 1/6 per send (16.7 pp); projected incremental conversions 3 x 1/6 = 0.5, which
 * is also its measured incremental conversions.
 * Candidate: 3 triggers (cat, fay, hal), 2 sent, 1 holdout; projected 2 x 1/6 = 1/3 (the
 * baseline's effect per send); measured on its own decisions: sent 1/2, holdout 0/1, so
 * (1/2 - 0) x 2 = 1. Difference: -2 triggers, -1 sent, -1 holdout, projected 1/3 - 1/2 = -1/6.
 * No other scene fires (no views, pings or app opens).
 */
describe('scenestream replay --compare (backtest)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ss-backtest-'));
    let n = 0;
    const click = (customerId: string, type: ClickEvent['type'], ts: number, price: number): string =>
      JSON.stringify({ topic: 'clickstream', value: { eventId: `e${++n}`, customerId, sessionId: null, ts, type, productId: 'p1', category: 'toys', price, quantity: 1, channel: 'app' } satisfies ClickEvent });
    const lines = [
      ...['ann', 'cat', 'bob', 'fay', 'hal'].map((c) => click(c, 'add_to_cart', T, 10)),
      click('ann', 'checkout', T + 45 * MIN, 20),
      click('bob', 'checkout', T + 45 * MIN, 20),
      click('fay', 'checkout', T + 90 * MIN, 20),
    ];
    await writeFile(join(dir, 'events.jsonl'), `${lines.join('\n')}\n`);
    const profile = (customerId: string): CustomerProfile => ({ customerId, tier: 'basic', timezone: 'Asia/Shanghai', consent: { push: true, sms: false, email: false, in_store: false }, lastPurchaseTs: null });
    await writeFile(join(dir, 'profiles.jsonl'), ['ann', 'cat', 'bob', 'fay', 'hal'].map((c) => `${JSON.stringify(profile(c))}\n`).join(''));
    const campaign = (name: string, timeoutMs: number) => ({ name, scenes: { cartAbandonment: { timeoutMs } }, decisions: { holdoutSalt: 'backtest', holdoutRatio: 0.5 }, measurement: { minPerArm: 1 } });
    await writeFile(join(dir, 'a.json'), JSON.stringify(campaign('cart-30min', 30 * MIN)));
    await writeFile(join(dir, 'b.json'), JSON.stringify(campaign('cart-60min', 60 * MIN)));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cli = (...argv: string[]) => runCliInProcess(main, argv);

  it('the holdout group of the example is as the table says', () => {
    expect(['ann', 'cat', 'bob', 'fay', 'hal'].map((c) => inHoldout(c, 'backtest', 0.5))).toEqual([true, true, false, false, false]);
  });

  it('reports triggers, sends, suppressions and projected incremental conversions of both campaigns side by side', async () => {
    const out = join(dir, 'out');
    const r = await cli('replay', '--input', join(dir, 'events.jsonl'), '--profiles', join(dir, 'profiles.jsonl'), '--config', join(dir, 'a.json'), '--compare', join(dir, 'b.json'), '--out', out);
    expect([r.code, r.err]).toEqual([0, '']);
    const b = JSON.parse(await readFile(join(out, 'compare.json'), 'utf8')) as Backtest;
    expect([b.baseline.name, b.candidate.name]).toEqual(['cart-30min', 'cart-60min']);
    const cart = b.scenes.cart_abandonment;
    expect(cart.baseline).toMatchObject({ triggers: 5, sent: 3, suppressed: { holdout: 2, no_consent: 0, quiet_hours: 0, frequency_cap: 0 } });
    expect(cart.candidate).toMatchObject({ triggers: 3, sent: 2, suppressed: { holdout: 1, no_consent: 0, quiet_hours: 0, frequency_cap: 0 } });
    expect(cart.baseline.projectedIncrementalConversions).toBeCloseTo(0.5, 12);
    expect(cart.baseline.incrementalConversions).toBeCloseTo(0.5, 12);
    expect(cart.candidate.projectedIncrementalConversions).toBeCloseTo(1 / 3, 12);
    expect(cart.candidate.incrementalConversions).toBeCloseTo(1, 12);
    expect(cart.difference).toMatchObject({ triggers: -2, sent: -1, suppressed: { holdout: -1, no_consent: 0, quiet_hours: 0, frequency_cap: 0 } });
    expect(cart.difference.projectedIncrementalConversions).toBeCloseTo(-1 / 6, 12);
    // The projection's interval: 3 and 2 sends times the ends of the baseline's 95% interval, around the estimate.
    expect(cart.baseline.projectedLow!).toBeLessThan(0.5);
    expect(cart.baseline.projectedHigh!).toBeGreaterThan(0.5);
    expect(cart.candidate.projectedLow! / cart.baseline.projectedLow!).toBeCloseTo(2 / 3, 12);
    // Other scenes: nothing, and a scene without sends adds nothing to the total.
    expect(b.scenes.commute.baseline).toMatchObject({ triggers: 0, sent: 0, projectedIncrementalConversions: null });
    expect(b.total.baseline).toMatchObject({ triggers: 5, sent: 3 });
    expect(b.total.candidate.projectedIncrementalConversions).toBeCloseTo(1 / 3, 12);
    // Each campaign's replay outputs: the baseline's in DIR, the candidate's in DIR/compare.
    expect((await readFile(join(out, 'decisions.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(5);
    expect((await readFile(join(out, 'compare/decisions.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(3);
    // The console table, each figure "baseline -> candidate (difference)".
    const row = r.out.split('\n').find((l) => l.startsWith('cart_abandonment'));
    // Columns: triggers, sent, then each suppression reason (holdout, no_consent, quiet_hours, frequency_cap, segment), then the projection.
    expect(row).toMatch(/^cart_abandonment +5 -> 3 \(-2\) +3 -> 2 \(-1\) +2 -> 1 \(-1\)( +0 -> 0 \(0\)){4} +0\.5 -> 0\.3 \(-0\.2\)$/);
    expect(r.out).toContain(`backtest: baseline ${join(dir, 'a.json')} (cart-30min) -> candidate ${join(dir, 'b.json')} (cart-60min)`);
    expect(r.out).toContain(join(out, 'compare.json'));
  });

  it('is null where the baseline has not enough data for a projection', async () => {
    await writeFile(join(dir, 'strict.json'), JSON.stringify({ name: 'strict', decisions: { holdoutSalt: 'backtest', holdoutRatio: 0.5 }, measurement: { minPerArm: 30 } }));
    const out = join(dir, 'out-strict');
    expect((await cli('replay', '--input', join(dir, 'events.jsonl'), '--profiles', join(dir, 'profiles.jsonl'), '--config', join(dir, 'strict.json'), '--compare', join(dir, 'b.json'), '--out', out)).code).toBe(0);
    const b = JSON.parse(await readFile(join(out, 'compare.json'), 'utf8')) as Backtest;
    expect(b.scenes.cart_abandonment.candidate.projectedIncrementalConversions).toBeNull();
    expect(b.scenes.cart_abandonment.difference.projectedIncrementalConversions).toBeNull();
    expect(b.total.candidate.projectedIncrementalConversions).toBeNull();
  });

  it('follows the CLI conventions: --help names --compare, a bad campaign is exit 2 naming the field, a missing file exit 1', async () => {
    expect((await cli('replay', '--help')).out).toMatch(/--compare FILE/);
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ measurement: { currency: 'euro' } }));
    const bad = await cli('replay', '--input', join(dir, 'events.jsonl'), '--compare', join(dir, 'bad.json'), '--out', join(dir, 'out-bad'));
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('measurement.currency must be an ISO 4217 currency code');
    await expect(readFile(join(dir, 'out-bad/summary.json'), 'utf8')).rejects.toThrow(); // checked before any replay ran
    const missing = await cli('replay', '--input', join(dir, 'events.jsonl'), '--compare', join(dir, 'nope.json'), '--out', join(dir, 'out-missing'));
    expect(missing.code).toBe(2); // an unreadable campaign file is SS_ERR_CONFIG, as for --config
    expect(missing.err).toContain('nope.json');
    const flag = await cli('replay', '--input', join(dir, 'events.jsonl'), '--compare');
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/--compare/);
  });
});
