/**
 * Token-bucket pacing for batched sends, as a pure function of time: the caller owns the clock.
 *
 * Tokens accrue at `rate` per second up to `capacity`; a batch of up to `batchSize` events goes when
 * a whole batch (or everything still pending) is covered. The batch is about 50 ms of traffic, so a
 * producer makes ~20 sends a second instead of one per event. The capacity of two batches absorbs
 * timer overshoot (a sleep that wakes late loses no tokens), yet a stalled producer cannot later
 * burst more than two batches above the target rate.
 */

export interface PacerConfig {
  /** Target events per second; `Infinity` means unpaced. */
  readonly rate: number;
  /** Largest batch per send. */
  readonly batchSize: number;
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
  if (!Number.isFinite(rate) || rate <= 0) return { rate: Infinity, batchSize: maxBatch, capacity: Infinity };
  const batchSize = Math.max(1, Math.min(maxBatch, Math.round(rate / 20)));
  return { rate, batchSize, capacity: 2 * batchSize };
}

/** A full first batch goes at once. */
export function startPacer(config: PacerConfig, now: number): PacerState {
  return { tokens: Number.isFinite(config.capacity) ? config.batchSize : Infinity, at: now };
}

/** Decide what to do at `now` with `pending` events waiting (pending may be 0: then take is 0). */
export function nextBatch(config: PacerConfig, state: PacerState, now: number, pending: number): PacerStep {
  if (!Number.isFinite(config.rate)) {
    return { state: { tokens: Infinity, at: now }, take: Math.min(pending, config.batchSize), waitMs: 0 };
  }
  const elapsed = Math.max(0, now - state.at);
  const tokens = Math.min(config.capacity, state.tokens + (elapsed * config.rate) / 1000);
  const want = Math.min(pending, config.batchSize);
  if (want === 0) return { state: { tokens, at: now }, take: 0, waitMs: 0 };
  if (tokens >= want) return { state: { tokens: tokens - want, at: now }, take: want, waitMs: 0 };
  return { state: { tokens, at: now }, take: 0, waitMs: Math.max(1, Math.ceil(((want - tokens) * 1000) / config.rate)) };
}
