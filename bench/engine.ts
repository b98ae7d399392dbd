import { tumblingWindow } from '../operators/tumblingWindow.js';
import { Executor } from '../engine/executor.js';
import { pipeline } from '../stream/stream.js';
import { fmt, gc, time } from './machine.js';

/**
 * In-process engine benchmarks (no Kafka): records are generated up front, then pushed through
 * the executor in batches of 1,000 as the Kafka source does. Each case reports events/s against
 * its target; the absence case also reports heap bytes per key.
 */

interface Ev {
  readonly id: number;
  readonly customerId: string;
  readonly type: 'view' | 'add' | 'buy';
  readonly price: number;
  readonly ts: number;
}

export interface BenchResult {
  readonly name: string;
  readonly events: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly target: number;
  readonly extra?: string;
}

const BATCH = 1000;

function drive(exec: Executor, source: string, events: readonly Ev[]): number {
  return time(() => {
    for (let i = 0; i < events.length; i += BATCH) exec.pushBatch(source, events.slice(i, i + BATCH));
    exec.end();
  });
}

function result(name: string, events: number, seconds: number, target: number, extra?: string): BenchResult {
  return { name, events, seconds, perSecond: events / seconds, target, ...(extra !== undefined ? { extra } : {}) };
}

export function statelessChain(n: number): BenchResult {
  const events: Ev[] = [];
  for (let i = 0; i < n; i++) events.push({ id: i, customerId: `c${i % 1000}`, type: i % 3 === 0 ? 'add' : 'view', price: i % 100, ts: i });
  let out = 0;
  const p = pipeline('bench-stateless');
  p.source<Ev>('in', { timestamp: (e) => e.ts })
    .filter((e) => e.price > 5)
    .map((e) => ({ c: e.customerId, p: e.price * 1.1, ts: e.ts }))
    .filter((e) => e.p < 100)
    .map((e) => e.p)
    .to('out');
  const exec = new Executor(p.build(), { sinks: { out: () => void out++ } });
  drive(exec, 'in', events.slice(0, Math.min(n, 200_000))); // warm-up
  const exec2 = new Executor(p.build(), { sinks: { out: () => void out++ } });
  const s = drive(exec2, 'in', events);
  return result('stateless chain (filter, map, filter, map)', n, s, 2_000_000);
}

export function keyedTumblingCount(n: number, keys: number): BenchResult {
  const events: Ev[] = [];
  // 1 event per ms, 60 s windows: windows close as the stream advances.
  for (let i = 0; i < n; i++) events.push({ id: i, customerId: `c${(i * 7919) % keys}`, type: 'view', price: 1, ts: i });
  let out = 0;
  const build = () => {
    const p = pipeline('bench-count');
    p.source<Ev>('in', { timestamp: (e) => e.ts })
      .keyBy((e) => e.customerId)
      .window(tumblingWindow({ sizeMs: 60_000, graceMs: 1_000 }))
      .count('count')
      .to('out');
    return new Executor(p.build(), { sinks: { out: () => void out++ } });
  };
  drive(build(), 'in', events.slice(0, Math.min(n, 200_000)));
  out = 0;
  const s = drive(build(), 'in', events);
  return result(`keyed tumbling count (${fmt(keys)} keys, 60 s windows)`, n, s, 500_000, `${fmt(out)} window results`);
}

export interface AbsenceCase {
  /** Builds a pipeline on source `in` with keyed Ev records; emits abandoned keys to `out`. */
  readonly build: () => Executor;
  readonly label: string;
}

/**
 * 1M distinct customers each add to cart; 30 % buy within the window; the rest are abandoned
 * when the 30-minute deadline passes. Heap per key is measured with all keys armed.
 */
export function absence(keys: number, make: (onOut: () => void) => AbsenceCase): BenchResult {
  const events: Ev[] = [];
  const step = 1; // 1 ms apart: 1M keys span ~17 minutes of event time
  for (let i = 0; i < keys; i++) {
    events.push({ id: i, customerId: `c${i}`, type: 'add', price: 10, ts: i * step });
    if (i % 10 < 3) events.push({ id: keys + i, customerId: `c${i}`, type: 'buy', price: 10, ts: i * step + 1 });
  }
  events.sort((a, b) => a.ts - b.ts);
  let out = 0;
  const warm = make(() => void out++);
  drive(warm.build(), 'in', events.slice(0, 200_000));
  out = 0;
  gc();
  const before = process.memoryUsage().heapUsed;
  const c = make(() => void out++);
  const exec = c.build();
  // Push everything but do not end: every key's state and timer is live for the heap reading.
  const s = time(() => {
    for (let i = 0; i < events.length; i += BATCH) exec.pushBatch('in', events.slice(i, i + BATCH));
  });
  gc();
  const perKey = (process.memoryUsage().heapUsed - before) / keys;
  const s2 = time(() => exec.end());
  const abandoned = keys - Math.ceil((keys * 3) / 10);
  return result(
    `absence pattern, ${c.label} (${fmt(keys)} distinct keys)`,
    events.length,
    s + s2,
    300_000,
    `${fmt(out)} abandoned (expected ${fmt(abandoned)}), heap ${perKey.toFixed(0)} B/key`,
  );
}
