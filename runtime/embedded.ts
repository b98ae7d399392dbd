import { buildRetail, RETAIL_SINKS } from '../pipelines/retail.js';
import type { Trigger } from '../schemas/index.js';
import { generateEvents } from '../simulator/life.js';
import { generateWorld, type WorldOptions } from '../simulator/world.js';
import { VirtualClock } from './core/clock.js';
import { Executor, type DeadLetter } from './core/executor.js';
import { InMemoryStateBackend } from './core/state.js';
import { pipeline } from './core/stream.js';

export interface EmbeddedRunOptions extends WorldOptions {
  readonly days?: number;
  readonly onTrigger?: (t: Trigger) => void;
  readonly onDeadLetter?: (d: DeadLetter) => void;
}

export interface EmbeddedRunSummary {
  readonly events: Record<string, number>;
  readonly triggers: Record<string, number>;
  readonly deadLetters: number;
  readonly seconds: number;
}

/**
 * The main job on the embedded default: the simulator's life of a city, in event-time order,
 * through the retail pipelines with in-memory state. Processing time follows event time (a
 * virtual clock), so days of life run in seconds and an idle input behaves as it would live.
 */
export function runEmbedded(opts: EmbeddedRunOptions = {}): EmbeddedRunSummary {
  const t0 = performance.now();
  const world = generateWorld(opts);
  const p = pipeline('retail');
  buildRetail(p);
  const clock = new VirtualClock(0);
  const triggers: Record<string, number> = {};
  let deadLetters = 0;
  const exec = new Executor(p.build(), {
    clock,
    state: new InMemoryStateBackend(),
    sinks: {
      [RETAIL_SINKS.triggers]: (v) => {
        const t = v as Trigger;
        triggers[t.scene] = (triggers[t.scene] ?? 0) + 1;
        opts.onTrigger?.(t);
      },
    },
    onDeadLetter: (d) => {
      deadLetters++;
      opts.onDeadLetter?.(d);
    },
  });
  const events: Record<string, number> = {};
  for (const r of generateEvents(world, opts.days !== undefined ? { days: opts.days } : {})) {
    if (r.value.ts > clock.now()) clock.set(r.value.ts);
    exec.push(r.topic, r.value);
    events[r.topic] = (events[r.topic] ?? 0) + 1;
  }
  exec.end();
  return { events, triggers, deadLetters, seconds: (performance.now() - t0) / 1000 };
}
