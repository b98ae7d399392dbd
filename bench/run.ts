/**
 * `npm run bench`: the engine benchmarks, in process, with the machine and the run printed beside
 * the figures. Run with `--expose-gc` (the npm script does) for heap readings.
 *
 *   npm run bench                  # all cases at full size
 *   npm run bench -- --quick       # 1/10 of the sizes, for a smoke run
 *   npm run bench -- --e2e         # end to end on the real Kafka and Redis instead (bench/e2e.ts)
 *   npm run bench -- --startup [--base DIR]
 *                                  # replay start-up and retail graph throughput, compiled vs tsx, and
 *                                  # against an older checkout (bench/startup.ts)
 *   npm run bench -- --tz          # ns per call of pipelines/localTime.ts against the Intl path it replaced (bench/tz.ts)
 *   npm run bench -- --codec       # codec µs per record against avsc alone instead (bench/codec.ts)
 *   npm run bench -- --codec --baseline ../other-checkout   # and that checkout's codec beside it
 *   npm run bench -- --order       # eventTimeOrder against the per-scene buffer it replaced (bench/order.ts)
 */
import { parseArgs } from 'node:util';
import { Executor } from '../engine/executor.js';
import { pipeline } from '../stream/stream.js';
import { runCodecBench } from './codec.js';
import { runE2e } from './e2e.js';
import { runStartup } from './startup.js';
import { absence, keyedTumblingCount, statelessChain, type AbsenceCase, type BenchResult } from './engine.js';
import { fmt, machine } from './machine.js';
import { runOrder } from './order.js';
import { runTz } from './tz.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    e2e: { type: 'boolean', default: false },
    startup: { type: 'boolean', default: false },
    base: { type: 'string', multiple: true, default: [] },
    customers: { type: 'string', default: '2000' },
    days: { type: 'string', default: '3' },
    repeat: { type: 'string', default: '3' },
    tz: { type: 'boolean', default: false },
    codec: { type: 'boolean', default: false },
    order: { type: 'boolean', default: false },
    baseline: { type: 'string' },
  },
});
const scale = values.quick ? 0.1 : 1;
if (values.startup) {
  await runStartup({
    bases: values.base,
    customers: Number(values.customers),
    days: Number(values.days),
    repeat: Number(values.repeat),
  });
  process.exit(0);
}
if (values.e2e) {
  await runE2e({ scale: values.quick ? 0.2 : 1 });
  process.exit(0);
}
if (values.tz) {
  console.log(`\n## Local time (pipelines/localTime.ts)\n\n${machine()}${values.quick ? ' (quick run: 1/10 sizes)' : ''}\n`);
  console.log(runTz(scale).join('\n'));
  process.exit(0);
}
if (values.order) {
  console.log(`\n## Event-time order (operators/eventTimeOrder.ts)\n\n${machine()}${values.quick ? ' (quick run: 1/10 sizes)' : ''}\n`);
  console.log(runOrder(scale).join('\n'));
  process.exit(0);
}
if (values.codec) {
  console.log(`\n## Codec benchmark (in process, one core)\n\n${machine()}${values.quick ? ' (quick run)' : ''}`);
  await runCodecBench({ budgetMs: values.quick ? 15 : 60, ...(values.baseline !== undefined ? { baseline: values.baseline } : {}) });
  process.exit(0);
}

interface Ev {
  readonly customerId: string;
  readonly type: 'view' | 'add' | 'buy';
  readonly ts: number;
}

const THIRTY_MIN = 30 * 60_000;

/** The absence pattern written with the general keyed step: the baseline every pattern operator must beat. */
function withKeyedProcess(onOut: () => void): AbsenceCase {
  return {
    label: 'keyedProcess',
    build: () => {
      const p = pipeline('bench-absence');
      p.source<Ev>('in', { timestamp: (e) => e.ts })
        .keyBy((e) => e.customerId)
        .process<string>('abandon', (state) => {
          const armed = state.value<number>('deadline');
          return {
            onElement(e, ctx) {
              const prev = armed.get(ctx.key);
              if (e.type === 'add') {
                if (prev !== undefined) ctx.deleteEventTimer(prev);
                armed.set(ctx.key, e.ts + THIRTY_MIN);
                ctx.registerEventTimer(e.ts + THIRTY_MIN);
              } else if (e.type === 'buy' && prev !== undefined) {
                ctx.deleteEventTimer(prev);
                armed.delete(ctx.key);
              }
            },
            onEventTimer(_ts, _tag, ctx) {
              armed.delete(ctx.key);
              ctx.emit(ctx.key);
            },
          };
        })
        .to('out');
      return new Executor(p.build(), { sinks: { out: onOut } });
    },
  };
}

/** The same absence with the dedicated operator (`operators/notFollowedBy.ts`). */
function withNotFollowedBy(onOut: () => void): AbsenceCase {
  return {
    label: 'notFollowedBy',
    build: () => {
      const p = pipeline('bench-absence-op');
      p.source<Ev>('in', { timestamp: (e) => e.ts })
        .keyBy((e) => e.customerId)
        .notFollowedBy('abandon', { start: (e): e is Ev => e.type === 'add', absent: (e) => e.type === 'buy', withinMs: THIRTY_MIN })
        .to('out');
      return new Executor(p.build(), { sinks: { out: onOut } });
    },
  };
}

const results: BenchResult[] = [];
results.push(statelessChain(Math.round(5_000_000 * scale)));
results.push(keyedTumblingCount(Math.round(3_000_000 * scale), 10_000));
results.push(keyedTumblingCount(Math.round(3_000_000 * scale), 1_000_000));
results.push(absence(Math.round(1_000_000 * scale), withKeyedProcess));
results.push(absence(Math.round(1_000_000 * scale), withNotFollowedBy));

console.log(`\n## Engine benchmark (in process, one core)\n\n${machine()}${values.quick ? ' (quick run: 1/10 sizes)' : ''}\n`);
console.log('| case | events | seconds | events/s | target | vs target | notes |');
console.log('|---|---:|---:|---:|---:|---:|---|');
for (const r of results) {
  console.log(`| ${r.name} | ${fmt(r.events)} | ${r.seconds.toFixed(2)} | ${fmt(r.perSecond)} | ${fmt(r.target)} | ${(r.perSecond / r.target).toFixed(2)}x | ${r.extra ?? ''} |`);
}
