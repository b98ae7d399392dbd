import { describe, expect, it } from 'vitest';
import { tumblingWindow } from '../operators/tumblingWindow.js';
import { TestDriver } from '../testkit/driver.js';
import { pipeline, type KeyedStream } from '../stream/stream.js';

interface Ev {
  k: string;
  ts: number;
  v?: number;
}
const ev = (k: string, ts: number, v = 1): Ev => ({ k, ts, v });

/** A keyed step that arms a deadline `delay` after each record and emits the key when it passes. */
function deadlines(s: KeyedStream<Ev>, delay: number) {
  return s.process<string>('deadline', (state) => {
    const armed = state.value<number>('armed');
    return {
      onElement(e, ctx) {
        const prev = armed.get(ctx.key);
        if (prev !== undefined) ctx.deleteEventTimer(prev);
        armed.set(ctx.key, e.ts + delay);
        ctx.registerEventTimer(e.ts + delay);
      },
      onEventTimer(ts, _tag, ctx) {
        armed.delete(ctx.key);
        ctx.emit(`${ctx.key}@${ts}`);
      },
    };
  });
}

describe('Executor', () => {
  it('holds a merged stream at the minimum watermark of its inputs', () => {
    const p = pipeline('merge');
    const a = p.source<Ev>('a', { timestamp: (e) => e.ts });
    const b = p.source<Ev>('b', { timestamp: (e) => e.ts });
    deadlines(a.merge(b).keyBy((e) => e.k), 10).to('out');
    const d = TestDriver.of(p);
    d.push('a', ev('x', 0));
    d.push('a', ev('y', 100)); // a's watermark 99, but b has nothing: held at -Infinity
    expect(d.values('out')).toEqual([]);
    d.push('b', ev('z', 50)); // min(99, 49) = 49 >= 10
    expect(d.values('out')).toEqual(['x@10']);
    expect(d.watermarkOf('deadline')).toBe(49);
  });

  it('fires a deadline on an idle input once processing time passes the idle timeout', () => {
    const p = pipeline('idle');
    deadlines(p.source<Ev>('in', { timestamp: (e) => e.ts, idleTimeoutMs: 60_000 }).keyBy((e) => e.k), 30 * 60_000).to('out');
    const d = TestDriver.of(p, { startTime: 1_000_000 });
    d.push('in', ev('cart', 5_000_000));
    d.advanceTime(59_999);
    expect(d.values('out')).toEqual([]);
    d.advanceTime(30 * 60_000 - 59_999); // quiet for exactly 30 min of processing time
    expect(d.values('out')).toEqual([]); // W = maxTs - 1 + quiet = deadline - 1
    d.advanceTime(1);
    expect(d.values('out')).toEqual([`cart@${5_000_000 + 30 * 60_000}`]);
  });

  it('restores from a snapshot and produces what an uninterrupted run produces', () => {
    const build = () => {
      const p = pipeline('restore');
      const k = p.source<Ev>('in', { timestamp: (e) => e.ts }).keyBy((e) => e.k);
      deadlines(k, 10).to('deadlines');
      k.window(tumblingWindow({ sizeMs: 20, graceMs: 5 })).count('per-key').to('counts');
      return p;
    };
    const input = [ev('a', 1), ev('b', 3), ev('a', 7), ev('c', 15), ev('a', 22), ev('b', 26), ev('c', 41), ev('a', 47), ev('b', 70)];
    const whole = TestDriver.of(build());
    whole.pushAll('in', input).end();

    const first = TestDriver.of(build());
    first.pushAll('in', input.slice(0, 5));
    const snap = JSON.parse(JSON.stringify(first.snapshot())) as ReturnType<typeof first.snapshot>;
    const second = TestDriver.of(build()).restore(snap);
    second.pushAll('in', input.slice(5)).end();
    for (const sink of ['deadlines', 'counts']) {
      expect([...first.records(sink), ...second.records(sink)]).toEqual(whole.records(sink));
    }
    expect(whole.values('counts').length).toBeGreaterThan(3);
  });

  it('dead-letters a record with a non-finite event time and goes on', () => {
    const p = pipeline('bad-ts');
    p.source<Ev>('in', { timestamp: (e) => e.ts }).map((e) => e.k).to('out');
    const d = TestDriver.of(p);
    d.push('in', { k: 'a', ts: Number.NaN });
    d.push('in', ev('b', 1));
    expect(d.values('out')).toEqual(['b']);
    expect(d.deadLetters.map((l) => [l.error.code, l.error.field])).toEqual([['SS_ERR_VALIDATION', 'ts']]);
    expect(d.executor.stats()['in']).toEqual({ dead_letters: 1 });
  });

  it('fires processing-time timers on the virtual clock', () => {
    const p = pipeline('proc');
    p.source<Ev>('in', { timestamp: (e) => e.ts })
      .keyBy((e) => e.k)
      .process<string>('ptimer', () => ({
        onElement(_e, ctx) {
          ctx.registerProcessingTimer(ctx.now + 500, 'ping');
        },
        onProcessingTimer(ts, tag, ctx) {
          ctx.emit(`${ctx.key}:${tag}:${ts}`);
        },
      }))
      .to('out');
    const d = TestDriver.of(p, { startTime: 1000 });
    d.push('in', ev('a', 1));
    d.advanceTime(499);
    expect(d.values('out')).toEqual([]);
    d.advanceTime(1);
    expect(d.values('out')).toEqual(['a:ping:1500']);
  });

  it('holds the watermark until every declared partition has data or goes idle', () => {
    const p = pipeline('parts');
    deadlines(p.source<Ev>('in', { timestamp: (e) => e.ts, partitions: 2, idleTimeoutMs: 1000 }).keyBy((e) => e.k), 5).to('out');
    const d = TestDriver.of(p);
    d.push('in', ev('a', 0), undefined, 0);
    d.push('in', ev('b', 100), undefined, 0);
    expect(d.values('out')).toEqual([]);
    d.push('in', ev('c', 20), undefined, 1);
    expect(d.values('out')).toEqual(['a@5']);
    d.advanceTime(1000); // both idle now: the watermark moves with the clock from the max
    expect(d.values('out')).toEqual(['a@5', 'c@25', 'b@105']);
  });
});

describe('Executor idleness across sources', () => {
  it('lets a source that never had data stop holding back a merge once it is idle', () => {
    const p = pipeline('idle-merge');
    const a = p.source<Ev>('a', { timestamp: (e) => e.ts, idleTimeoutMs: 1000 });
    const b = p.source<Ev>('b', { timestamp: (e) => e.ts, idleTimeoutMs: 1000 });
    deadlines(a.merge(b).keyBy((e) => e.k), 10).to('out');
    const d = TestDriver.of(p);
    d.push('a', ev('x', 0));
    d.push('a', ev('y', 50));
    expect(d.values('out')).toEqual([]);
    d.advanceTime(999);
    expect(d.values('out')).toEqual([]);
    d.advanceTime(1); // b idle: it follows a (49), and a is idle too: a moves with the clock
    expect(d.values('out')).toEqual(['x@10', 'y@60']);
  });

  it('keeps an idle source in step with an active one', () => {
    const p = pipeline('idle-follow');
    const a = p.source<Ev>('a', { timestamp: (e) => e.ts, idleTimeoutMs: 1000 });
    const b = p.source<Ev>('b', { timestamp: (e) => e.ts, idleTimeoutMs: 1000 });
    deadlines(a.merge(b).keyBy((e) => e.k), 10).to('out');
    const d = TestDriver.of(p);
    d.advanceTime(1000); // both idle, no data anywhere: nothing moves
    d.push('a', ev('x', 0));
    d.push('a', ev('y', 30)); // a active, b idle: b follows a to 29
    expect(d.values('out')).toEqual(['x@10']);
    expect(d.watermarkOf('b')).toBe(29);
  });
});

describe('Executor timer failures', () => {
  it('dead-letters a failing timer and still fires the others due at the same watermark', () => {
    const p = pipeline('timer-fail');
    p.source<Ev>('in', { timestamp: (e) => e.ts })
      .keyBy((e) => e.k)
      .process<string>('t', () => ({
        onElement(e, ctx) {
          ctx.registerEventTimer(e.ts + 10);
        },
        onEventTimer(ts, _tag, ctx) {
          if (ctx.key === 'bad') throw new Error('boom');
          ctx.emit(`${ctx.key}@${ts}`);
        },
      }))
      .to('out');
    const d = TestDriver.of(p);
    d.push('in', ev('a', 0)).push('in', ev('bad', 0)).push('in', ev('c', 0)).push('in', ev('z', 100));
    expect(d.values('out')).toEqual(['a@10', 'c@10']);
    expect(d.deadLetters.map((l) => [l.source, l.error.code, l.value])).toEqual([['t', 'SS_ERR_USER_FUNCTION', { timer: { key: 'bad', ts: 10, tag: '' } }]]);
  });
});

describe('Executor and TTL state', () => {
  it('lets a step applying held-back records read TTL state as of their event time, even at end of input', () => {
    const p = pipeline('ttl-held');
    p.source<Ev>('in', { timestamp: (e) => e.ts, outOfOrdernessMs: 1000 })
      .keyBy((e) => e.k)
      .process<string>('held', (state) => {
        const seen = state.value<number>('seen', { ttlMs: 50 });
        const held = state.list<Ev>('held');
        return {
          onElement(e, ctx) {
            held.add(ctx.key, e);
            ctx.registerEventTimer(e.ts);
          },
          onEventTimer(ts, _tag, ctx) {
            for (const e of held.get(ctx.key).filter((x) => x.ts === ts)) {
              ctx.emit(`${e.ts}:${seen.get(ctx.key) === undefined ? 'new' : 'seen'}`);
              seen.set(ctx.key, e.ts);
            }
            held.set(ctx.key, held.get(ctx.key).filter((x) => x.ts !== ts));
          },
        };
      })
      .to('out');
    const d = TestDriver.of(p);
    d.pushAll('in', [ev('a', 0), ev('a', 40), ev('a', 100), ev('a', 149)]).end();
    // 40 is within 50 of 0; 100 is 60 after 40; 149 is 49 after 100. All applied at end(), W = +Infinity.
    expect(d.values('out')).toEqual(['0:new', '40:seen', '100:new', '149:seen']);
  });
});

describe('event-time sanity (maxAheadMs)', () => {
  it('dead-letters a record stamped beyond the bound ahead of the clock; it never moves the watermark, and the stream goes on', async () => {
    const { Executor } = await import('./executor.js');
    const { VirtualClock } = await import('./clock.js');
    const p = pipeline('sanity');
    p.source<{ ts: number; id: string }>('in', { timestamp: (e) => e.ts, outOfOrdernessMs: 0 }).to('out');
    const now = Date.UTC(2026, 11, 6, 12, 0);
    const clock = new VirtualClock(now);
    const out: string[] = [];
    const letters: Array<{ code: string; message: string; field: string | undefined }> = [];
    const ex = new Executor(p.build(), {
      clock,
      maxAheadMs: 300_000,
      sinks: { out: (v) => void out.push((v as { id: string }).id) },
      onDeadLetter: (d) => void letters.push({ code: d.error.code, message: d.error.message, field: d.error.field }),
    });
    expect(ex.push('in', { ts: now - 1_000, id: 'a' })).toBe(true);
    expect(ex.push('in', { ts: Date.UTC(3000, 0, 1), id: 'year-3000' })).toBe(false);
    expect(ex.push('in', { ts: 1e300, id: 'beyond-dates' })).toBe(false);
    // Within the bound (a producer's clock a little ahead): accepted.
    expect(ex.push('in', { ts: now + 299_000, id: 'b' })).toBe(true);
    expect(out).toEqual(['a', 'b']);
    expect(ex.watermarkOf('out')).toBe(now + 299_000 - 1); // from b, the latest accepted record, not from the year 3000
    expect(letters.map((l) => [l.code, l.field])).toEqual([
      ['SS_ERR_EVENT_TIME', 'ts'],
      ['SS_ERR_EVENT_TIME', 'ts'],
    ]);
    expect(letters[0]!.message).toContain('event time 3000-01-01T00:00:00.000Z is 355407 d');
    expect(letters[0]!.message).toContain('ahead of the clock (2026-12-06T12:00:00.000Z); the bound is 5 min');
    expect(letters[1]!.message).toContain('event time 1e+300 ms');
  });

  it('without a bound, a record from the future is accepted (replays, virtual clocks)', async () => {
    const { Executor } = await import('./executor.js');
    const p = pipeline('no-bound');
    p.source<{ ts: number }>('in', { timestamp: (e) => e.ts, outOfOrdernessMs: 0 }).to('out');
    const ex = new Executor(p.build(), {});
    expect(ex.push('in', { ts: Date.UTC(3000, 0, 1) })).toBe(true);
  });
});
