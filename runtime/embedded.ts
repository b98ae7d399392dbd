import type { AttributionEvent } from '../pipelines/attribution.js';
import { hasTargeting, measurementSettings, staticCampaign, type CampaignSource } from '../pipelines/campaign.js';
import { summariseMeasured, type MeasuredSummary } from '../pipelines/measurement.js';
import { profilesFrom } from '../pipelines/deps.js';
import { buildRetail, RETAIL_SINKS } from '../pipelines/retail.js';
import type { Decision } from '../schemas/index.js';
import { generateEvents, worldStartMs, type EventOptions } from '../simulator/life.js';
import { respondingEvents, type RespondOptions, type ResponsePlan } from '../simulator/respond.js';
import { generateWorld, type World, type WorldOptions } from '../simulator/world.js';
import { catalogueProducts } from '../simulator/catalogue.js';
import { LiveProducts, type ProductLookup } from '../pipelines/products.js';
import { VirtualClock } from '../engine/clock.js';
import { Executor, type DeadLetter } from '../engine/executor.js';
import { InMemoryStateBackend } from '../engine/state.js';
import { pipeline } from '../stream/stream.js';
import type { Metrics } from './metrics.js';

export interface EmbeddedRunOptions extends WorldOptions {
  /** A world made beforehand (else one is generated from the world options). */
  readonly world?: World;
  /** The product catalogue (else the simulated world's, named by `catalogueProducts`). */
  readonly products?: ProductLookup;
  readonly days?: number;
  /** Purchase histories before the start (`simulator/history.ts`); default false. Replayed flat out, before pacing starts. */
  readonly history?: boolean;
  /**
   * Customers respond to offers (`simulator/respond.ts`), decided under `respond.campaign` (give
   * the job's own); absent, nobody responds. Costs one in-process pass over the city first, caught up in pacing.
   */
  readonly respond?: RespondOptions;
  /** Simulated milliseconds per real millisecond; 0 runs as fast as possible. */
  readonly speed?: number;
  readonly campaign?: CampaignSource;
  /** Every output, by sink, as it happens. */
  /**
   * Each output; `atEnd` for those the end of input produced (timers beyond the last event, fired
   * because no more input can come: a profile's expiries a year ahead, not the city as it stands).
   */
  readonly onOutput?: (sink: string, value: unknown, atEnd: boolean) => void;
  readonly onDeadLetter?: (d: DeadLetter) => void;
  /** Called once the world exists (e.g. to set up store screens). */
  readonly onWorld?: (world: World, executor: Executor) => void;
  readonly signal?: AbortSignal;
  /**
   * Engine metrics to feed: `events_in{source}` per record pushed, `watermark_lag_seconds{source}`
   * (the virtual clock minus each source's watermark, after every record; 0 once the input ended),
   * `event_to_output_seconds` (wall time from pushing a record, or ending the input, to each output
   * it caused) and `late_records{step}` (each step declaring a `late` side output starts at 0).
   * Outputs, triggers and decisions are the caller's (`RetailMetrics` in `onOutput`).
   */
  readonly metrics?: Metrics;
}

export interface EmbeddedRunSummary {
  readonly events: Record<string, number>;
  readonly outputs: Record<string, number>;
  readonly deadLetters: number;
  readonly seconds: number;
  /** Per scene, and the measurement with the campaign current at the end. */
  readonly summary: MeasuredSummary;
  /** How customers responded to offers, when they did. */
  readonly responses: ResponsePlan | null;
}

/**
 * The main job on the embedded default: the simulator's life of a city, in event-time order,
 * through the retail pipelines with in-memory state. Processing time follows event time (a
 * virtual clock), so days of life run in seconds and an idle input behaves as it would live.
 */
export async function runEmbedded(opts: EmbeddedRunOptions = {}): Promise<EmbeddedRunSummary> {
  const t0 = performance.now();
  const world = opts.world ?? generateWorld(opts);
  const campaign = opts.campaign ?? staticCampaign();
  const p = pipeline('retail');
  // The window is read when the graph is built (a reload changes it at the next start).
  const attributionWindowMs = campaign.current().params.decisions.attributionMs;
  buildRetail(p, { deps: { stores: world.stores, profiles: profilesFrom(world.profiles), products: opts.products ?? new LiveProducts(catalogueProducts(world.catalogue)) }, campaign });
  const graph = p.build();
  const clock = new VirtualClock(0);
  const outputs: Record<string, number> = {};
  const decisions: Decision[] = [];
  const attributed: AttributionEvent[] = [];
  let deadLetters = 0;
  let ending = false;
  const m = opts.metrics;
  /** When the push (or end of input) being processed began: outputs are caused by it. */
  let causeAt = performance.now();
  if (m !== undefined) for (const n of graph.nodes) if (n.def?.sideOutputs?.includes('late') === true) m.lateRecords.inc({ step: n.id }, 0);
  const exec = new Executor(graph, {
    clock,
    state: new InMemoryStateBackend(),
    sinks: Object.fromEntries(
      graph.sinks.map((s) => [
        s.id,
        (v: unknown) => {
          outputs[s.id] = (outputs[s.id] ?? 0) + 1;
          m?.eventToOutput.observe((performance.now() - causeAt) / 1000);
          if (s.id === RETAIL_SINKS.decisions) decisions.push(v as Decision);
          else if (s.id === RETAIL_SINKS.attribution) attributed.push(v as AttributionEvent);
          opts.onOutput?.(s.id, v, ending);
        },
      ]),
    ),
    onDeadLetter: (d) => {
      deadLetters++;
      opts.onDeadLetter?.(d);
    },
    onSideOutput: (step, tag) => {
      if (tag === 'late') m?.lateRecords.inc({ step });
    },
  });
  const sourceIds = graph.sources.map((n) => n.id);
  opts.onWorld?.(world, exec);
  const events: Record<string, number> = {};
  const speed = opts.speed ?? 0;
  const eventOpts: EventOptions = { ...(opts.days !== undefined ? { days: opts.days } : {}), ...(opts.history !== undefined ? { history: opts.history } : {}) };
  const responding = opts.respond === undefined ? null : respondingEvents(world, eventOpts, opts.respond);
  // Pacing runs from the first event of the world's days, due when the run began: the history
  // before them goes through flat out, and the time the first pass of responses took is caught up
  // in the first simulated hours rather than added to the run.
  const startMs = worldStartMs(world);
  let simStart: number | undefined;
  for (const r of responding === null ? generateEvents(world, eventOpts) : responding.events()) {
    if (opts.signal?.aborted === true) break;
    const ts = r.value.ts;
    if (speed > 0 && ts >= startMs) {
      simStart ??= ts;
      const ahead = (ts - simStart) / speed - (performance.now() - t0);
      if (ahead > 20) await new Promise((res) => setTimeout(res, ahead));
    }
    if (ts > clock.now()) clock.set(ts);
    causeAt = performance.now();
    exec.push(r.topic, r.value);
    events[r.topic] = (events[r.topic] ?? 0) + 1;
    if (m !== undefined) {
      m.eventsIn.inc({ source: r.topic });
      for (const s of sourceIds) {
        const w = exec.watermarkOf(s);
        if (Number.isFinite(w)) m.watermarkLag.set({ source: s }, (clock.now() - w) / 1000);
      }
    }
  }
  causeAt = performance.now();
  ending = true;
  exec.end();
  if (m !== undefined) for (const s of sourceIds) m.watermarkLag.set({ source: s }, 0);
  return {
    events,
    outputs,
    deadLetters,
    seconds: (performance.now() - t0) / 1000,
    summary: summariseMeasured(decisions, attributed, { ...measurementSettings(campaign.current()), attributionWindowMs }, { segmentReason: hasTargeting(campaign.current()) }),
    responses: responding?.plan ?? null,
  };
}
