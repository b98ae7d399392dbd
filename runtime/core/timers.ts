/**
 * A timer queue of (timestamp, key) pairs, deduplicated: registering the same key at the same time
 * twice keeps one timer (as Flink's InternalTimerService). Many keys sharing one timestamp (tumbling
 * windows, common deadlines) cost one heap entry, so a million keyed timers stay cheap.
 *
 * Firing order is by timestamp, then by registration order of the keys at that timestamp, which
 * keeps replays deterministic.
 */
export class TimerQueue {
  /** Min-heap of distinct timestamps. */
  private heap: number[] = [];
  /** Keys per timestamp, in registration order (a Set keeps insertion order). */
  private byTs = new Map<number, Set<string>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Registers a timer; returns false if it already existed. */
  register(ts: number, key: string): boolean {
    let keys = this.byTs.get(ts);
    if (keys === undefined) {
      keys = new Set();
      this.byTs.set(ts, keys);
      this.push(ts);
    }
    if (keys.has(key)) return false;
    keys.add(key);
    this.count++;
    return true;
  }

  /** Deletes a timer; the heap entry is dropped lazily when its timestamp comes up. */
  delete(ts: number, key: string): boolean {
    const keys = this.byTs.get(ts);
    if (keys === undefined || !keys.delete(key)) return false;
    this.count--;
    return true;
  }

  has(ts: number, key: string): boolean {
    return this.byTs.get(ts)?.has(key) ?? false;
  }

  /** The earliest pending timestamp, or undefined. */
  peek(): number | undefined {
    while (this.heap.length > 0) {
      const ts = this.heap[0]!;
      const keys = this.byTs.get(ts);
      if (keys !== undefined && keys.size > 0) return ts;
      this.byTs.delete(ts);
      this.pop();
    }
    return undefined;
  }

  /**
   * Fires, in order, every timer with timestamp <= `upTo`. A callback may register new timers;
   * those that are also <= `upTo` fire in the same call (a timer set for "now" fires now).
   */
  fire(upTo: number, onTimer: (ts: number, key: string) => void): number {
    let fired = 0;
    for (let ts = this.peek(); ts !== undefined && ts <= upTo; ts = this.peek()) {
      const keys = this.byTs.get(ts)!;
      // Take keys one at a time: a callback may delete or add keys at this very timestamp.
      for (const key of keys) {
        keys.delete(key);
        this.count--;
        fired++;
        onTimer(ts, key);
      }
      if (keys.size === 0) {
        this.byTs.delete(ts);
        if (this.heap[0] === ts) this.pop();
      }
    }
    return fired;
  }

  /** All timers, in firing order, for snapshots. */
  entries(): Array<[number, string]> {
    const out: Array<[number, string]> = [];
    for (const ts of [...this.byTs.keys()].sort((a, b) => a - b)) {
      for (const key of this.byTs.get(ts)!) out.push([ts, key]);
    }
    return out;
  }

  clear(): void {
    this.heap = [];
    this.byTs.clear();
    this.count = 0;
  }

  private push(ts: number): void {
    const h = this.heap;
    let i = h.length;
    h.push(ts);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= ts) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = ts;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]! < h[l]! ? r : l;
      if (h[c]! >= last) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
