import { describe, expect, it } from 'vitest';
import { InMemoryStateBackend } from '../engine/state.js';
import { pipeline } from '../stream/stream.js';
import { TestDriver } from '../testkit/driver.js';
import { eventTimeOrder, type EventTimeOrderOptions } from './eventTimeOrder.js';
import type { KeyedProcessor } from './keyedProcess.js';

interface Ev {
  readonly id: string;
  readonly key: string;
  readonly ts: number;
  /** Equal-ts order (the test's `rank`). */
  readonly r?: number;
  /** Makes the processor throw when it applies the record. */
  readonly bad?: true;
}
const ev = (id: string, ts: number, more: Partial<Ev> = {}): Ev => ({ id, key: 'u', ts, ...more });

/** What the processor saw: `id@ts`, groups as `[a,b]@ts`, its own timers as `timer:tag@ts`. */
type Seen = string;

/**
 * A keyed step over one source (watermark = largest ts - bound - 1) that records what it is handed.
 * `timers`: on a record with id `set:<tag>:<at>`, the processor registers its own timer `tag` at `at`.
 */
function build(opts: { order?: EventTimeOrderOptions<Ev>; groups?: boolean; bound?: number } = {}) {
  const p = pipeline('order-test');
  const src = p.keyedSource<Ev>('events', { timestamp: (e) => e.ts, key: (e) => e.key, outOfOrdernessMs: opts.bound ?? 100 });
  const processor = (): KeyedProcessor<Ev, Seen> => {
    const handle = (e: Ev, ctx: { emit(v: Seen): void; registerEventTimer(ts: number, tag?: string): void }) => {
      if (e.bad === true) throw new Error(`bad ${e.id}`);
      const m = /^set:(\w+):(\d+)$/.exec(e.id);
      if (m !== null) ctx.registerEventTimer(Number(m[2]), m[1]);
      ctx.emit(`${e.id}@${e.ts}`);
    };
    return {
      onElement: (e, ctx) => handle(e, ctx),
      ...(opts.groups === true
        ? {
            onElements: (es: readonly Ev[], ctx: { emit(v: Seen): void; ts: number }) => {
              if (es.some((e) => e.bad === true)) throw new Error('bad group');
              ctx.emit(`[${es.map((e) => e.id).join(',')}]@${ctx.ts}`);
            },
          }
        : {}),
      onEventTimer: (ts, tag, ctx) => ctx.emit(`timer:${tag}@${ts}`),
    };
  };
  src.process<Seen>('step', processor, { order: eventTimeOrder<Ev>(opts.order) }).to('out');
  return p;
}

const rank: EventTimeOrderOptions<Ev> = { rank: (e) => e.r ?? 0 };

describe('eventTimeOrder', () => {
  it('hands records over in event-time order as the watermark passes them: ts, then rank, then arrival (the TSDoc timeline)', () => {
    const d = TestDriver.of(build({ order: rank }));
    d.pushAll('events', [ev('b', 12, { r: 1 }), ev('a', 10), ev('c', 12, { r: 0 })]);
    d.watermark('events', 8);
    expect(d.values('out')).toEqual([]);
    d.push('events', ev('d', 5)); // at or below the watermark: late, handed over at once
    expect(d.values('out')).toEqual(['d@5']);
    d.watermark('events', 12);
    expect(d.values('out')).toEqual(['d@5', 'a@10', 'c@12', 'b@12']);
    expect(d.executor.state.snapshot().tables['step/pending']).toEqual([]);
  });

  it('releases by the watermark: nothing before it passes a record, a record at exactly the watermark with it', () => {
    const d = TestDriver.of(build({ bound: 9 }));
    d.pushAll('events', [ev('a', 100), ev('b', 105)]);
    d.push('events', ev('c', 110)); // watermark 100
    expect(d.values('out')).toEqual(['a@100']);
    d.push('events', ev('x', 100)); // ts 100 <= watermark 100: late, at once
    d.push('events', ev('y', 101)); // > watermark: held in its place
    expect(d.values('out')).toEqual(['a@100', 'x@100']);
    d.end();
    expect(d.values('out')).toEqual(['a@100', 'x@100', 'y@101', 'b@105', 'c@110']);
    expect(d.deadLetters).toEqual([]);
  });

  it('keeps one release timer per (key, ts) group, none per record, and no string per record', () => {
    const d = TestDriver.of(build());
    d.pushAll('events', [ev('a', 10), ev('b', 10), ev('c', 10), ev('d', 11), ev('e', 10, { key: 'v' })]);
    const s = d.executor.state.snapshot();
    expect(s.timers['step/event']).toEqual([
      [10, 'u'],
      [10, 'v'],
      [11, 'u'],
    ]);
    expect(s.tables['step/pending']!.map(([k, v]) => [k, (v as unknown as Ev[]).map((e) => e.id)])).toEqual([
      ['u', ['a', 'b', 'c', 'd']],
      ['v', ['e']],
    ]);
  });

  it('hands a group of one key and one ts to onElements in one call; late records still come one by one to onElement', () => {
    const d = TestDriver.of(build({ order: rank, groups: true, bound: 0 }));
    d.pushAll('events', [ev('a', 10, { r: 1 }), ev('b', 10, { r: 0 }), ev('c', 11), ev('d', 12)]);
    d.push('events', ev('late', 3));
    d.end();
    // d@12 moved the watermark to 11: the groups at 10 and 11 were released before `late` arrived.
    expect(d.values('out')).toEqual(['[b,a]@10', '[c]@11', 'late@3', '[d]@12']);
  });

  it("fires release groups and the processor's own timers of one ts in registration order; a key's own timer releases its records first", () => {
    const d = TestDriver.of(build());
    // u registers its own timer at 50 (on arrival of a record at 5, applied late), then v's record at 50
    // arrives (v's release group registers after u's timer), then u's record at 50 joins u's timer.
    d.watermark('events', 20);
    d.push('events', ev('set:cleanup:50', 5)); // late: applied at once, registers u's timer at 50
    d.push('events', ev('v50', 50, { key: 'v' }));
    d.push('events', ev('u50', 50));
    d.watermark('events', 50);
    expect(d.values('out')).toEqual(['set:cleanup:50@5', 'u50@50', 'timer:cleanup@50', 'v50@50']);
  });

  it('releases each step by its own watermark (the minimum over the sources it reads), not by another step', () => {
    const p = pipeline('two-sources');
    const a = p.keyedSource<Ev>('a', { timestamp: (e) => e.ts, key: (e) => e.key, outOfOrdernessMs: 0 });
    const b = p.keyedSource<Ev>('b', { timestamp: (e) => e.ts, key: (e) => e.key, outOfOrdernessMs: 0 });
    const seen = (): KeyedProcessor<Ev, Seen> => ({ onElement: (e, ctx) => ctx.emit(`${e.id}@${e.ts}`) });
    a.process<Seen>('only_a', seen, { order: eventTimeOrder<Ev>() }).to('outA');
    a.mergeKeyed(b).process<Seen>('both', seen, { order: eventTimeOrder<Ev>() }).to('outAB');
    const d = TestDriver.of(p);
    d.pushAll('a', [ev('a1', 10), ev('a2', 20)]);
    d.push('b', ev('b1', 5));
    expect(d.values('outA')).toEqual(['a1@10']);
    expect(d.values('outAB')).toEqual([]); // b's watermark (4) holds it back
    d.push('b', ev('b2', 30));
    expect(d.values('outAB')).toEqual(['b1@5', 'a1@10']);
  });

  it('hands over on arrival, with no state and no timer, the records `holds` rejects', () => {
    const d = TestDriver.of(build({ order: { holds: (e) => e.id !== 'skip' } }));
    d.pushAll('events', [ev('a', 10), ev('skip', 11)]);
    expect(d.values('out')).toEqual(['skip@11']);
    expect(d.executor.state.snapshot().timers['step/event']).toEqual([[10, 'u']]);
    d.end();
    expect(d.values('out')).toEqual(['skip@11', 'a@10']);
  });

  it('dead-letters a released record that throws, with the step id, and still applies the others', () => {
    const d = TestDriver.of(build());
    d.pushAll('events', [ev('a', 10), ev('boom', 10, { bad: true }), ev('c', 10)]);
    d.end();
    expect(d.values('out')).toEqual(['a@10', 'c@10']);
    expect(d.deadLetters.map((l) => [l.source, (l.value as Ev).id, l.ts, l.error.code, l.error.stepId])).toEqual([['step', 'boom', 10, 'SS_ERR_USER_FUNCTION', 'step']]);
  });

  it('keeps held records and their timers across a snapshot and restore (mid-hold), and goes on as without one', () => {
    const input = [ev('a', 10), ev('b', 30), ev('c', 20), ev('d', 50, { key: 'v' }), ev('e', 140), ev('f', 25), ev('g', 160)];
    const whole = TestDriver.of(build());
    whole.pushAll('events', input).end();

    const first = TestDriver.of(build());
    first.pushAll('events', input.slice(0, 5)); // watermark 39: a, c and b released; d and e held
    const snap = JSON.parse(JSON.stringify(first.snapshot()));
    const second = TestDriver.of(build()).restore(snap);
    expect(second.executor.state.snapshot().tables['step/pending']!.map(([k]) => k).sort()).toEqual(['u', 'v']);
    second.pushAll('events', input.slice(5)).end();
    expect([...first.values('out'), ...second.values('out')]).toEqual(whole.values('out'));
    // f@25 arrives behind the watermark (39): applied at once, after what was released.
    expect(whole.values('out')).toEqual(['a@10', 'c@20', 'b@30', 'f@25', 'd@50', 'e@140', 'g@160']);
  });

  it('releases the records of a checkpoint taken with the scenes\' own buffers (release timers tagged "apply", which the scenes then ignore)', () => {
    const first = TestDriver.of(build());
    first.pushAll('events', [ev('a', 10), ev('b', 20)]);
    const snap = JSON.parse(JSON.stringify(first.snapshot()).replace(/\[(\d+),"u"\]/g, '[$1,"u\\u0001apply"]')) as ReturnType<TestDriver['snapshot']>;
    const second = TestDriver.of(build()).restore(snap);
    expect(second.executor.state.snapshot().timers['step/event']).toEqual([
      [10, 'u\u0001apply'],
      [20, 'u\u0001apply'],
    ]);
    second.push('events', ev('c', 20)).end();
    // c joins b's group (same ts: no new timer); each old timer releases its records, then reaches the processor as its own.
    expect(second.values('out')).toEqual(['a@10', 'timer:apply@10', 'b@20', 'c@20', 'timer:apply@20']);
  });

  it('marks a held list changed for write-behind on every record added and on release', () => {
    const state = new InMemoryStateBackend({ trackChanges: true });
    const d = TestDriver.of(build(), { state });
    d.push('events', ev('a', 10));
    state.drainChanges();
    d.push('events', ev('b', 11));
    const pending = state.drainChanges().filter((c) => c.table === 'step/pending');
    expect(pending.map((c) => [c.key, (c.value as Ev[]).map((e) => e.id)])).toEqual([['u', ['a', 'b']]]);
    d.end();
    expect(state.drainChanges().filter((c) => c.table === 'step/pending')).toEqual([{ table: 'step/pending', key: 'u', value: undefined, expiresAt: undefined }]);
  });
});
