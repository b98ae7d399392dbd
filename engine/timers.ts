/**
 * A timer queue of (timestamp, key) pairs, deduplicated: registering the same key at the same time
 * twice keeps one timer (as Flink's InternalTimerService). Many keys sharing one timestamp (tumbling
 * windows, common deadlines) cost one heap entry; a timestamp with a single key (the usual case for
 * per-customer deadlines) stores the bare key, with no Set, so a million timers stay cheap.
 *
 * Firing order is by timestamp, then by registration order of the keys at that timestamp, which
 * keeps replays deterministic.
 */
/** Told of every timer added or removed (fired timers are removed), for write-behind state. */
export interface TimerChanges {
  added(ts: number, key: string): void;
  removed(ts: number, key: string): void;
}

export class TimerQueue {
  /** Set by a backend that writes timers behind; null costs nothing. */
  changes: TimerChanges | null = null;
  /** Min-heap of distinct timestamps (may hold stale entries, dropped lazily). */
  private heap: number[] = [];
  /** Keys per timestamp: one key bare, more in a Set (insertion order = registration order). */
  private byTs = new Map<number, string | Set<string>>();
  private count = 0;
  /** The keys of the timestamp being fired, detached from `byTs` (deletes must still reach them). */
  private firing: Set<string> | null = null;
  private firingTs = NaN;

  get size(): number {
    return this.count;
  }

  /** Registers a timer; returns false if it already existed. */
  register(ts: number, key: string): boolean {
    const cur = this.byTs.get(ts);
    if (cur === undefined) {
      this.byTs.set(ts, key);
      this.push(ts);
    } else if (typeof cur === 'string') {
      if (cur === key) return false;
      this.byTs.set(ts, new Set([cur, key]));
    } else {
      if (cur.has(key)) return false;
      cur.add(key);
    }
    this.count++;
    this.changes?.added(ts, key);
    return true;
  }

  /** Deletes a timer; the heap entry is dropped lazily when its timestamp comes up. */
  delete(ts: number, key: string): boolean {
    const cur = this.byTs.get(ts);
    if (cur === undefined) {
      if (ts !== this.firingTs || this.firing === null || !this.firing.delete(key)) return false;
      this.count--;
      this.changes?.removed(ts, key);
      return true;
    }
    if (typeof cur === 'string') {
      if (cur !== key) return false;
      this.byTs.delete(ts);
    } else {
      if (!cur.delete(key)) return false;
      if (cur.size === 0) this.byTs.delete(ts);
    }
    this.count--;
    this.changes?.removed(ts, key);
    return true;
  }

  has(ts: number, key: string): boolean {
    const cur = this.byTs.get(ts);
    if (cur === undefined) return ts === this.firingTs && this.firing !== null && this.firing.has(key);
    return typeof cur === 'string' ? cur === key : cur.has(key);
  }

  /** The earliest pending timestamp, or undefined. */
  peek(): number | undefined {
    while (this.heap.length > 0) {
      const ts = this.heap[0]!;
      if (this.byTs.has(ts)) return ts;
      this.pop();
    }
    return undefined;
  }

  /**
   * Fires, in order, every timer with timestamp <= `upTo`. A callback may register or delete
   * timers; new ones that are also <= `upTo` fire in the same call (a timer set for "now" fires now).
   */
  fire(upTo: number, onTimer: (ts: number, key: string) => void): number {
    let fired = 0;
    for (let ts = this.peek(); ts !== undefined && ts <= upTo; ts = this.peek()) {
      const cur = this.byTs.get(ts)!;
      this.byTs.delete(ts);
      if (typeof cur === 'string') {
        this.count--;
        fired++;
        this.changes?.removed(ts, cur);
        onTimer(ts, cur);
        continue;
      }
      // Detach the keys and walk them once (taking the first key of a Set again and again rescans
      // the holes deletions leave: quadratic). A callback may delete keys not yet fired (delete()
      // looks here) or register new ones at this ts (a fresh entry, fired by the next round).
      const outer = this.firing;
      const outerTs = this.firingTs;
      this.firing = cur;
      this.firingTs = ts;
      try {
        for (const key of cur) {
          cur.delete(key);
          this.count--;
          fired++;
          this.changes?.removed(ts, key);
          onTimer(ts, key);
        }
      } finally {
        this.firing = outer;
        this.firingTs = outerTs;
      }
    }
    return fired;
  }

  /** All timers, in firing order, for snapshots. */
  entries(): Array<[number, string]> {
    const out: Array<[number, string]> = [];
    for (const ts of [...this.byTs.keys()].sort((a, b) => a - b)) {
      const cur = this.byTs.get(ts)!;
      if (typeof cur === 'string') out.push([ts, cur]);
      else for (const key of cur) out.push([ts, key]);
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
