import { describe, expect, it } from 'vitest';
import { nextBatch, pacerConfig, startPacer, type PacerConfig } from './pacing.js';

/**
 * Drive the pacer on a virtual clock: each send takes `sendMs`, each sleep wakes `overshootMs` late.
 * Returns the send times and batch sizes.
 */
function drive(config: PacerConfig, total: number, sendMs = 2, overshootMs = 0): { at: number; size: number }[] {
  let now = 1_000_000;
  let state = startPacer(config, now);
  let left = total;
  const sends: { at: number; size: number }[] = [];
  for (let guard = 0; left > 0 && guard < 1_000_000; guard++) {
    const step = nextBatch(config, state, now, left);
    state = step.state;
    if (step.take === 0) {
      expect(step.waitMs).toBeGreaterThan(0);
      now += step.waitMs + overshootMs;
      continue;
    }
    sends.push({ at: now - 1_000_000, size: step.take });
    left -= step.take;
    now += sendMs;
  }
  return sends;
}

describe('token-bucket pacing', () => {
  it('batches about 50 ms of traffic per send', () => {
    expect(pacerConfig(1000)).toEqual({ rate: 1000, batchSize: 50, maxBatch: 500, capacity: 500 });
    expect(pacerConfig(100)).toEqual({ rate: 100, batchSize: 5, maxBatch: 500, capacity: 50 });
    expect(pacerConfig(5).batchSize).toBe(1);
    expect(pacerConfig(1_000_000, 500).batchSize).toBe(500);
  });

  it('holds the target rate over time, in batches, not one send per event', () => {
    const sends = drive(pacerConfig(1000), 10_000);
    const last = sends[sends.length - 1]!;
    // 10,000 events at 1,000/s: the first batch goes at once, the rest follow at the rate.
    expect(last.at).toBeGreaterThanOrEqual(9_900);
    expect(last.at).toBeLessThanOrEqual(10_000);
    expect(sends.every((s) => s.size <= 52)).toBe(true);
    expect(sends.length).toBeGreaterThanOrEqual(195);
    expect(sends.length).toBeLessThanOrEqual(200);
    // In any one second, no more than the rate plus the burst.
    for (let t = 0; t < 9000; t += 500) {
      const inSecond = sends.filter((s) => s.at >= t && s.at < t + 1000).reduce((n, s) => n + s.size, 0);
      expect(inSecond).toBeLessThanOrEqual(1000 + 100);
      expect(inSecond).toBeGreaterThanOrEqual(1000 - 100);
    }
  });

  it('loses no tokens when sleeps wake late', () => {
    const sends = drive(pacerConfig(2000), 20_000, 0, 3);
    const last = sends[sends.length - 1]!;
    expect(last.at).toBeLessThanOrEqual(10_000);
    expect(last.at).toBeGreaterThanOrEqual(9_800);
  });

  it('lets a producer slower than 50 ms per send catch up with bigger batches', () => {
    // Each send takes 200 ms: about 200 events accrue meanwhile and go in the next batch.
    const sends = drive(pacerConfig(1000), 5_000, 200);
    const last = sends[sends.length - 1]!;
    expect(last.at).toBeGreaterThanOrEqual(4_800);
    expect(last.at).toBeLessThanOrEqual(5_200);
    expect(Math.max(...sends.map((s) => s.size))).toBeLessThanOrEqual(210);
  });

  it('bounds the burst after a stall by the capacity', () => {
    const config = pacerConfig(1000);
    let state = startPacer(config, 0);
    state = nextBatch(config, state, 0, 10_000).state;
    // Ten seconds with nothing sent: at most capacity (500, half a second) goes at once.
    const step = nextBatch(config, state, 10_000, 10_000);
    expect(step.take).toBe(500);
    expect(nextBatch(config, step.state, 10_000, 10_000).take).toBe(0);
  });

  it('sends the remainder as a final short batch', () => {
    const sends = drive(pacerConfig(1000), 120, 0);
    expect(sends.map((s) => s.size)).toEqual([50, 50, 20]);
  });

  it('is unpaced for rate 0: full batches, no waiting', () => {
    const config = pacerConfig(0, 100);
    const sends = drive(config, 1050, 0);
    expect(sends.map((s) => s.size)).toEqual([...new Array<number>(10).fill(100), 50]);
    expect(sends[sends.length - 1]!.at).toBe(0);
  });

  it('asks to wait exactly until a batch is covered', () => {
    const config = pacerConfig(100); // batches of 5
    let state = startPacer(config, 0);
    let step = nextBatch(config, state, 0, 100);
    expect(step.take).toBe(5);
    state = step.state;
    step = nextBatch(config, state, 10, 100);
    expect(step).toMatchObject({ take: 0, waitMs: 40 });
    step = nextBatch(config, step.state, 50, 100);
    expect(step.take).toBe(5);
  });
});
