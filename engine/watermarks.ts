/**
 * Per-partition watermarks of one source, with bounded out-of-orderness and idleness.
 *
 * Semantics (as Flink's): a watermark `W` promises that no more records with `ts <= W` will come.
 * A partition that has seen records up to `maxTs` has `W_p = maxTs - outOfOrderness - 1`, so a
 * record with `ts == maxTs` (a tie) is never late. The source's watermark is the minimum over its
 * partitions, leaving out those idle for `idleTimeoutMs` of processing time. When every partition
 * is idle, event time is assumed to advance with processing time from the last record: the
 * watermark becomes `max_p(W_p + (now - lastArrival_p))`. That is what lets an absence deadline
 * fire on a quiet input. The watermark never goes back. A wholly idle source also follows the
 * furthest watermark of the pipeline's other sources (the executor does that), so an input that
 * has no data at all does not hold back a merge or a join: Flink excludes idle inputs from the
 * minimum, which this equals for every minimum it takes part in.
 *
 * With `outOfOrderness = 0` this equals Kafka Streams' "stream time" minus one: a window
 * `[start, end)` with grace `g` closes when `W >= end - 1 + g`, i.e. when stream time reaches
 * `end + g`, exactly Kafka Streams' rule.
 */
export interface WatermarkOptions {
  readonly outOfOrdernessMs: number;
  readonly idleTimeoutMs: number;
  readonly partitions: number;
}

/** Event-time progress of one partition. Sources update `maxTs` directly in their hot loop. */
export interface PartitionTime {
  maxTs: number;
  lastArrival: number;
}

export class SourceWatermarks {
  private readonly parts = new Map<number, PartitionTime>();
  private wm = -Infinity;
  private ended = false;

  constructor(
    private readonly opts: WatermarkOptions,
    startedAt: number,
  ) {
    for (let p = 0; p < opts.partitions; p++) this.parts.set(p, { maxTs: -Infinity, lastArrival: startedAt });
  }

  /** Records a record's event time on a partition. */
  observe(partition: number, ts: number, now: number): void {
    const p = this.arrival(partition, now);
    if (ts > p.maxTs) p.maxTs = ts;
  }

  /** Marks data arriving on a partition at `now`; the caller raises `maxTs` per record of a batch. */
  arrival(partition: number, now: number): PartitionTime {
    let p = this.parts.get(partition);
    if (p === undefined) {
      p = { maxTs: -Infinity, lastArrival: now };
      this.parts.set(partition, p);
    }
    p.lastArrival = now;
    return p;
  }

  /** The latest event time seen on any partition (-Infinity before any record): the input's own progress. */
  get maxEventTime(): number {
    let m = -Infinity;
    for (const p of this.parts.values()) if (p.maxTs > m) m = p.maxTs;
    return m;
  }

  /** A partition assigned to this instance (it holds the watermark back until it has data or goes idle). */
  assign(partition: number, now: number): void {
    if (!this.parts.has(partition)) this.parts.set(partition, { maxTs: -Infinity, lastArrival: now });
  }

  /** A partition no longer ours: it stops holding the watermark back. */
  revoke(partition: number): void {
    this.parts.delete(partition);
  }

  /** End of input: everything is complete. */
  end(): void {
    this.ended = true;
    this.wm = Infinity;
  }

  /** Forces the watermark forward (tests, or a source that carries its own watermarks). */
  advanceTo(w: number): number {
    if (w > this.wm) this.wm = w;
    return this.wm;
  }

  get current(): number {
    return this.wm;
  }

  /** Whether every partition has been quiet for the idle timeout (a source with no partition is idle). */
  isIdle(now: number): boolean {
    if (this.ended) return false;
    for (const p of this.parts.values()) if (now - p.lastArrival < this.opts.idleTimeoutMs) return false;
    return true;
  }

  /** Recomputes the watermark at processing time `now`; returns it (monotonic). */
  update(now: number): number {
    if (this.ended) return this.wm;
    const bound = this.opts.outOfOrdernessMs + 1;
    let activeMin = Infinity;
    let idleMax = -Infinity;
    let anyActive = false;
    for (const p of this.parts.values()) {
      const w = p.maxTs - bound;
      const quiet = now - p.lastArrival;
      if (quiet >= this.opts.idleTimeoutMs) {
        if (p.maxTs > -Infinity) idleMax = Math.max(idleMax, w + quiet);
      } else {
        anyActive = true;
        if (w < activeMin) activeMin = w;
      }
    }
    const next = anyActive ? activeMin : idleMax;
    if (next > this.wm) this.wm = next;
    return this.wm;
  }

  snapshot(): { wm: number; parts: Array<[number, number]> } {
    return { wm: this.wm, parts: [...this.parts].map(([p, t]) => [p, t.maxTs]) };
  }

  restore(s: { wm: number; parts: Array<[number, number]> }, now: number): void {
    this.wm = s.wm;
    for (const [p, maxTs] of s.parts) this.parts.set(p, { maxTs, lastArrival: now });
  }
}
