/**
 * Token-bucket pacing for batched sends, as a pure function of time: the caller owns the clock.
 *
 * Tokens accrue at `rate` per second up to `capacity`. A send waits until a whole batch
 * (`batchSize`, about 50 ms of traffic, or everything still pending) is covered, then takes every
 * whole token there is, up to `maxBatch`. So a fast producer makes ~20 sends a second instead of one
 * per event; a producer whose sends take longer than 50 ms catches up with bigger batches and still
 * holds the rate; and after a stall the burst is bounded by the capacity (half a second of traffic,
 * at least two batches, at most `maxBatch`). Timer overshoot loses no tokens.
 */

export interface PacerConfig {
  /** Target events per second; `Infinity` means unpaced. */
  readonly rate: number;
  /** Smallest batch worth a send (unless less is pending). */
  readonly batchSize: number;
  /** Largest batch per send. */
  readonly maxBatch: number;
  /** Most tokens the bucket holds. */
  readonly capacity: number;
}

export interface PacerState {
  readonly tokens: number;
  /** The time the tokens were counted at, ms. */
  readonly at: number;
}

export interface PacerStep {
  readonly state: PacerState;
  /** Events to send now (0: wait). */
  readonly take: number;
  /** When take is 0: how long to wait before asking again, ms. */
  readonly waitMs: number;
}

/** `rate <= 0` or non-finite means as fast as possible, in batches of `maxBatch`. */
export function pacerConfig(rate: number, maxBatch = 500): PacerConfig {
  if (!(maxBatch >= 1)) throw new RangeError(`maxBatch must be >= 1, got ${maxBatch}`);
  if (!Number.isFinite(rate) || rate <= 0) return { rate: Infinity, batchSize: maxBatch, maxBatch, capacity: Infinity };
  const batchSize = Math.max(1, Math.min(maxBatch, Math.round(rate / 20)));
  return { rate, batchSize, maxBatch, capacity: Math.max(2 * batchSize, Math.min(maxBatch, Math.round(rate / 2))) };
}

/** A full first batch goes at once. */
export function startPacer(config: PacerConfig, now: number): PacerState {
  return { tokens: Number.isFinite(config.capacity) ? config.batchSize : Infinity, at: now };
}

/**
 * Decide what to do at `now` with `pending` events waiting (pending may be 0: then take is 0). The
 * caller should have up to `maxBatch` events pending so that a late batch can catch up.
 */
export function nextBatch(config: PacerConfig, state: PacerState, now: number, pending: number): PacerStep {
  if (!Number.isFinite(config.rate)) {
    return { state: { tokens: Infinity, at: now }, take: Math.min(pending, config.batchSize), waitMs: 0 };
  }
  const elapsed = Math.max(0, now - state.at);
  const tokens = Math.min(config.capacity, state.tokens + (elapsed * config.rate) / 1000);
  const want = Math.min(pending, config.batchSize);
  if (want === 0) return { state: { tokens, at: now }, take: 0, waitMs: 0 };
  if (tokens >= want) {
    const take = Math.min(pending, config.maxBatch, Math.floor(tokens));
    return { state: { tokens: tokens - take, at: now }, take, waitMs: 0 };
  }
  return { state: { tokens, at: now }, take: 0, waitMs: Math.max(1, Math.ceil(((want - tokens) * 1000) / config.rate)) };
}
