/**
 * Processing time is injected: every component that needs "now" takes a {@link Clock}. Production
 * uses {@link systemClock}; tests use a {@link VirtualClock} that only moves when told to, so no test
 * waits on the wall clock.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when {@link VirtualClock.advance} or {@link VirtualClock.set} is called. */
export class VirtualClock implements Clock {
  private t: number;
  constructor(start = 0) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): number {
    if (ms < 0) throw new RangeError(`VirtualClock cannot go back (advance ${ms})`);
    this.t += ms;
    return this.t;
  }
  set(t: number): number {
    if (t < this.t) throw new RangeError(`VirtualClock cannot go back (${this.t} -> ${t})`);
    this.t = t;
    return this.t;
  }
}
