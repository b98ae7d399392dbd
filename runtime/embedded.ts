import { summarise, type AttributionEvent, type Summary } from '../pipelines/attribution.js';
import { staticCampaign, type CampaignSource } from '../pipelines/campaign.js';
import { profilesFrom } from '../pipelines/deps.js';
import { buildRetail, RETAIL_SINKS } from '../pipelines/retail.js';
import type { Decision } from '../schemas/index.js';
import { generateEvents } from '../simulator/life.js';
import { generateWorld, type World, type WorldOptions } from '../simulator/world.js';
import { VirtualClock } from './core/clock.js';
import { Executor, type DeadLetter } from './core/executor.js';
import { InMemoryStateBackend } from './core/state.js';
import { pipeline } from './core/stream.js';

export interface EmbeddedRunOptions extends WorldOptions {
  /** A world made beforehand (else one is generated from the world options). */
  readonly world?: World;
  readonly days?: number;
  /** Simulated milliseconds per real millisecond; 0 runs as fast as possible. */
  readonly speed?: number;
  readonly campaign?: CampaignSource;
  /** Every output, by sink, as it happens. */
  readonly onOutput?: (sink: string, value: unknown) => void;
  readonly onDeadLetter?: (d: DeadLetter) => void;
  /** Called once the world exists (e.g. to set up store screens). */
  readonly onWorld?: (world: World, executor: Executor) => void;
  readonly signal?: AbortSignal;
}

export interface EmbeddedRunSummary {
  readonly events: Record<string, number>;
  readonly outputs: Record<string, number>;
  readonly deadLetters: number;
  readonly seconds: number;
  readonly summary: Summary;
}

/**
 * The main job on the embedded default: the simulator's life of a city, in event-time order,
 * through the retail pipelines with in-memory state. Processing time follows event time (a
 * virtual clock), so days of life run in seconds and an idle input behaves as it would live.
 */
export async function runEmbedded(opts: EmbeddedRunOptions = {}): Promise<EmbeddedRunSummary> {
  const t0 = performance.now();
  const world = opts.world ?? generateWorld(opts);
  const p = pipeline('retail');
  buildRetail(p, { deps: { stores: world.stores, profiles: profilesFrom(world.profiles) }, campaign: opts.campaign ?? staticCampaign() });
  const graph = p.build();
  const clock = new VirtualClock(0);
  const outputs: Record<string, number> = {};
  const decisions: Decision[] = [];
  const attributed: AttributionEvent[] = [];
  let deadLetters = 0;
  const exec = new Executor(graph, {
    clock,
    state: new InMemoryStateBackend(),
    sinks: Object.fromEntries(
      graph.sinks.map((s) => [
        s.id,
        (v: unknown) => {
          outputs[s.id] = (outputs[s.id] ?? 0) + 1;
          if (s.id === RETAIL_SINKS.decisions) decisions.push(v as Decision);
          else if (s.id === RETAIL_SINKS.attribution) attributed.push(v as AttributionEvent);
          opts.onOutput?.(s.id, v);
        },
      ]),
    ),
    onDeadLetter: (d) => {
      deadLetters++;
      opts.onDeadLetter?.(d);
    },
  });
  opts.onWorld?.(world, exec);
  const events: Record<string, number> = {};
  const speed = opts.speed ?? 0;
  let simStart: number | undefined;
  const realStart = performance.now();
  for (const r of generateEvents(world, opts.days !== undefined ? { days: opts.days } : {})) {
    if (opts.signal?.aborted === true) break;
    const ts = r.value.ts;
    if (speed > 0) {
      simStart ??= ts;
      const ahead = (ts - simStart) / speed - (performance.now() - realStart);
      if (ahead > 20) await new Promise((res) => setTimeout(res, ahead));
    }
    if (ts > clock.now()) clock.set(ts);
    exec.push(r.topic, r.value);
    events[r.topic] = (events[r.topic] ?? 0) + 1;
  }
  exec.end();
  return { events, outputs, deadLetters, seconds: (performance.now() - t0) / 1000, summary: summarise(decisions, attributed) };
}
