import { describe, expect, it } from 'vitest';
import { pipeline, type KeyedStream, type Pipeline } from '../stream/stream.js';
import { VirtualClock } from './clock.js';
import { Executor } from './executor.js';
import { risingOrder, upstreamSources, type PlanNode } from './watermarkPlan.js';

interface N extends PlanNode {
  readonly id: string;
  inputs: N[];
  targets: N[];
}
const node = (id: string): N => ({ id, inputs: [], targets: [] });
const edge = (from: N, to: N): void => {
  from.targets.push(to);
  to.inputs.push(from);
};

describe('risingOrder', () => {
  it('raises a node reached by several paths on the last of them, depth first', () => {
    // s -> a -> m, s -> b -> m, m -> x; s -> c. The walk visits a, m (held: b not yet), b, m (rises), x, c.
    const [s, a, b, m, x, c] = ['s', 'a', 'b', 'm', 'x', 'c'].map(node) as [N, N, N, N, N, N];
    edge(s, a);
    edge(s, b);
    edge(a, m);
    edge(b, m);
    edge(m, x);
    edge(s, c);
    expect(risingOrder(s, () => true).map((n) => n.id)).toEqual(['a', 'b', 'm', 'x', 'c']);
    expect(risingOrder(s, (n) => n.id !== 'b').map((n) => n.id)).toEqual(['a', 'm', 'x', 'c']);
  });

  it('counts only the inputs the source reaches: a node that also reads another source rises on the last of the first', () => {
    const [s, t, a, m] = ['s', 't', 'a', 'm'].map(node) as [N, N, N, N];
    edge(s, a);
    edge(t, m);
    edge(a, m);
    expect(risingOrder(s, () => true).map((n) => n.id)).toEqual(['a', 'm']);
    expect(risingOrder(t, () => true).map((n) => n.id)).toEqual(['m']);
    const ups = upstreamSources([s, t, a, m], [s, t]);
    expect(ups.get(m)!.map((n) => n.id)).toEqual(['s', 't']);
    expect(ups.get(a)!.map((n) => n.id)).toEqual(['s']);
  });
});

interface Ev {
  readonly k: string;
  readonly ts: number;
}

/**
 * Holds each record until its step's watermark passes it (a timer at its ts), then emits it; also
 * arms a second timer `delay` later that emits again. Late records (at or below the watermark on
 * arrival) are emitted at once, marked: that reads the watermark as records flow.
 */
function hold(s: KeyedStream<Ev | string>, id: string, delay: number): KeyedStream<string> {
  return s.process<string>(id, (state) => {
    const pending = state.list<string>('pending');
    return {
      onElement(e, ctx) {
        const label = typeof e === 'string' ? e : `${e.k}@${e.ts}`;
        if (ctx.ts <= ctx.watermark) {
          ctx.emit(`${id}:late:${label}`);
          return;
        }
        pending.add(ctx.key, label);
        ctx.registerEventTimer(ctx.ts, 'apply');
        ctx.registerEventTimer(ctx.ts + delay, 'later');
      },
      onEventTimer(ts, tag, ctx) {
        if (tag === 'later') {
          ctx.emit(`${id}:later:${ctx.key}@${ts}`);
          return;
        }
        for (const l of pending.get(ctx.key)) ctx.emit(`${id}:${l}`);
        pending.clear(ctx.key);
      },
    };
  });
}

/** Three sources, scenes on one and on two of them, a merge of the scenes, and a step behind it. */
function build(): Pipeline {
  const p = pipeline('plan');
  const opts = { timestamp: (e: Ev) => e.ts, outOfOrdernessMs: 3, idleTimeoutMs: 40 };
  const a = p.source<Ev>('a', { ...opts, partitions: 2 });
  const b = p.source<Ev>('b', opts);
  const c = p.source<Ev>('c', opts);
  const byK = (s: typeof a, name: string) => s.keyBy((e) => e.k, { name });
  const one = hold(byK(a.filter((e) => e.ts % 3 !== 0, { name: 'a.some' }), 'a.k1'), 'one', 7);
  const two = hold(byK(a, 'a.k2').mergeKeyed(byK(b, 'b.k')), 'two', 11);
  const three = hold(byK(c, 'c.k').mergeKeyed(byK(b.filter((e) => e.ts % 2 === 0, { name: 'b.even' }), 'b.k2')), 'three', 5);
  const all = one.mergeKeyed(two, three);
  all.to('scenes');
  hold(all, 'behind', 13).to('behind.out');
  const map = byK(c, 'c.k3').mapValues((e) => `${e.k}@${e.ts}`, { name: 'c.label' });
  hold(map.mergeKeyed(two), 'mixed', 2).to('mixed.out');
  return p;
}

type Step = { op: 'push'; source: string; e: Ev; partition: number } | { op: 'batch'; source: string; es: Ev[] } | { op: 'time'; ms: number } | { op: 'snap' };

/** A seeded random schedule: records mostly in order with disorder and late ones, quiet spells, a restore. */
function schedule(seed: number, n: number): Step[] {
  let x = seed >>> 0 || 1;
  const rnd = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const steps: Step[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    const r = rnd();
    t += Math.floor(rnd() * 4);
    const ev = (): Ev => ({ k: `k${Math.floor(rnd() * 4)}`, ts: Math.max(0, t - Math.floor(rnd() * (rnd() < 0.1 ? 30 : 5))) });
    const source = rnd() < 0.5 ? 'a' : rnd() < 0.6 ? 'b' : 'c';
    if (r < 0.75) steps.push({ op: 'push', source, e: ev(), partition: source === 'a' ? Math.floor(rnd() * 2) : 0 });
    else if (r < 0.85) steps.push({ op: 'batch', source, es: [ev(), ev(), ev()] });
    else if (r < 0.98) steps.push({ op: 'time', ms: Math.floor(rnd() * 60) });
    else steps.push({ op: 'snap' });
  }
  return steps;
}

/** Runs a schedule; returns every sink record in the order it was emitted, with its sink. */
function run(steps: readonly Step[], propagation: 'plan' | 'graph', coarse = false): string[] {
  const log: string[] = [];
  const clock = new VirtualClock(0);
  const graph = build().build();
  const make = () =>
    new Executor(graph, {
      clock,
      propagation,
      sinks: Object.fromEntries(graph.sinks.map((s) => [s.id, (v: unknown, ts: number) => void log.push(`${s.id} ${String(v)} ${ts}`)])),
      onDeadLetter: (d) => log.push(`dead ${d.source}`),
    });
  let exec = make();
  const batch: Array<{ source: string; e: Ev }> = [];
  for (const s of steps) {
    if (s.op === 'push' && coarse) batch.push({ source: s.source, e: s.e });
    else if (s.op === 'push') {
      clock.set(Math.max(clock.now(), s.e.ts));
      exec.push(s.source, s.e, s.partition);
    } else if (s.op === 'batch') exec.pushBatch(s.source, s.es);
    else if (s.op === 'time') {
      for (const b of batch.splice(0)) exec.pushBatch(b.source, [b.e]);
      clock.advance(s.ms);
      exec.advanceProcessingTime();
    } else {
      const snap = JSON.parse(JSON.stringify(exec.snapshot())) as ReturnType<Executor['snapshot']>;
      exec = make();
      exec.restore(snap);
      log.push(`restored ${JSON.stringify(exec.metaSnapshot())}`);
    }
  }
  exec.end();
  return log;
}

describe('watermark propagation by plan', () => {
  it('emits exactly what the depth-first walk of the whole graph emits, in the same order', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const steps = schedule(seed, 400);
      const reference = run(steps, 'graph');
      expect(reference.length).toBeGreaterThan(300);
      expect(run(steps, 'plan'), `seed ${seed}`).toEqual(reference);
    }
  });

  it('is checked against an order that matters: one advance per batch instead of per record interleaves differently', () => {
    // The comparison above would not notice a plan that merely emitted the same records: with
    // coarser advances (the same records, watermark moved less often) the order changes.
    const steps = schedule(7, 400);
    const coarse = run(steps, 'graph', true);
    const fine = run(steps, 'graph');
    expect([...coarse].sort()).not.toEqual(coarse);
    expect(coarse).not.toEqual(fine);
  });

  it('reports the watermark of a stateless step as the walk would have left it', () => {
    const graph = build().build();
    const clock = new VirtualClock(0);
    const planned = new Executor(graph, { clock });
    const walked = new Executor(graph, { clock, propagation: 'graph' });
    for (const exec of [planned, walked]) {
      exec.push('a', { k: 'x', ts: 100 }, 0);
      exec.push('a', { k: 'x', ts: 100 }, 1);
      exec.push('b', { k: 'x', ts: 50 });
    }
    for (const step of ['a.some', 'a.k2', 'b.even', 'c.label', 'one', 'two', 'three', 'behind', 'mixed']) {
      expect(planned.watermarkOf(step), step).toBe(walked.watermarkOf(step));
    }
    expect(planned.watermarkOf('a.some')).toBe(96);
    expect(planned.watermarkOf('two')).toBe(46);
    expect(planned.metaSnapshot()).toEqual(walked.metaSnapshot());
  });
});
