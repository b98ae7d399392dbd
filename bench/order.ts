import { Executor } from '../engine/executor.js';
import { eventTimeOrder } from '../operators/eventTimeOrder.js';
import type { KeyedProcessor, ProcessContext, StateFactory } from '../operators/keyedProcess.js';
import { pipeline } from '../stream/stream.js';
import { fmt, gc } from './machine.js';

/**
 * `npm run bench -- --order`: a keyed step that applies each customer's records in event-time order,
 * written two ways over the same input in one process, interleaved round by round: with the engine's
 * `eventTimeOrder` (operators/eventTimeOrder.ts), and with the per-scene buffer it replaced (below, as
 * it was in pipelines/eventTimeOrder.ts: a keyed list state and an event-time timer per record,
 * tagged `apply`). Both must hand the step the same records in the same order (checked). CPU time
 * (user + system) is reported beside wall time: on a loaded 2-core machine it moves less.
 */

interface Ev {
  readonly customerId: string;
  readonly ts: number;
  readonly n: number;
}

/** The scenes' buffer before `eventTimeOrder`, as it was (rank omitted: all 0). */
function sceneBuffer(state: StateFactory) {
  const pending = state.list<Ev>('pending');
  return {
    hold(e: Ev, ctx: ProcessContext<number>): boolean {
      if (e.ts <= ctx.watermark) return false;
      pending.add(ctx.key, e);
      ctx.registerEventTimer(e.ts, 'apply');
      return true;
    },
    release(key: string, upTo: number): readonly Ev[] {
      const list = pending.get(key);
      if (list.length === 0) return [];
      let sorted = true;
      for (let i = 0; i < list.length; i++) if (list[i]!.ts > upTo || (i > 0 && list[i]!.ts < list[i - 1]!.ts)) sorted = false;
      if (sorted) {
        pending.clear(key);
        return list;
      }
      const due = list.map((e, i) => ({ e, i })).filter((d) => d.e.ts <= upTo);
      const rest = list.filter((e) => e.ts > upTo);
      if (rest.length === 0) pending.clear(key);
      else pending.set(key, rest);
      due.sort((a, b) => a.e.ts - b.e.ts || a.i - b.i);
      return due.map((d) => d.e);
    },
  };
}

/** 2,000 customers, one record every 5 s each on average, up to 4 s of disorder; the watermark trails by 5 s. */
function input(records: number): Ev[] {
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const out: Ev[] = [];
  for (let i = 0; i < records; i++) out.push({ customerId: `c${Math.floor(rnd() * 2000)}`, ts: 1_700_000_000_000 + i * 2.5 - Math.floor(rnd() * 4000), n: i });
  return out;
}

function build(kind: 'engine' | 'scene', seen: number[]): Executor {
  const p = pipeline(`bench-order-${kind}`);
  const keyed = p.source<Ev>('in', { timestamp: (e) => e.ts, outOfOrdernessMs: 5_000 }).keyBy((e) => e.customerId);
  const apply = (e: Ev) => seen.push(e.n);
  if (kind === 'engine') {
    keyed.process<number>('step', (): KeyedProcessor<Ev, number> => ({ onElement: (e) => apply(e) }), { order: eventTimeOrder<Ev>() });
  } else {
    keyed.process<number>('step', (state): KeyedProcessor<Ev, number> => {
      const buffer = sceneBuffer(state);
      return {
        onElement(e, ctx) {
          if (!buffer.hold(e, ctx)) apply(e);
        },
        onEventTimer(ts, _tag, ctx) {
          for (const e of buffer.release(ctx.key, ts)) apply(e);
        },
      };
    });
  }
  return new Executor(p.build());
}

function run(kind: 'engine' | 'scene', events: readonly Ev[]): { wall: number; cpu: number; seen: number[] } {
  const seen: number[] = [];
  const ex = build(kind, seen);
  gc();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const e of events) ex.push('in', e);
  ex.end();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(cpu0);
  return { wall, cpu: (c.user + c.system) / 1e6, seen };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function runOrder(scale: number, rounds = 5): string[] {
  const events = input(Math.round(1_000_000 * scale));
  const results = { scene: { wall: [] as number[], cpu: [] as number[] }, engine: { wall: [] as number[], cpu: [] as number[] } };
  let reference: number[] | undefined;
  for (let r = 0; r < rounds; r++) {
    for (const kind of ['scene', 'engine'] as const) {
      const { wall, cpu, seen } = run(kind, events);
      reference ??= seen;
      if (seen.length !== reference.length || seen.some((n, i) => n !== reference![i])) throw new Error(`${kind}: records handed over in another order than the scene buffer's`);
      results[kind].wall.push(wall);
      results[kind].cpu.push(cpu);
    }
  }
  const n = events.length;
  const row = (label: string, k: 'scene' | 'engine') =>
    `| ${label} | ${fmt(n / median(results[k].wall))} events/s | ${((median(results[k].cpu) / n) * 1e9).toFixed(0)} ns |`;
  return [
    `${fmt(n)} records, 2,000 keys, ${rounds} rounds interleaved, medians`,
    '',
    '| ordering | throughput (wall) | CPU per record |',
    '|---|---:|---:|',
    row('per-scene buffer (list state + a timer per record)', 'scene'),
    row('`eventTimeOrder` (engine)', 'engine'),
  ];
}
