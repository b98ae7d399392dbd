/**
 * The engine's Prometheus metrics, on one prom-client `Registry` that `/metrics` serves.
 *
 * One instance per process (or per test): every metric is registered on the instance's own
 * registry, never on prom-client's global one, so two instances never collide. Names follow
 * Prometheus conventions (`_total` counters, `_seconds` durations); labels are small closed sets
 * (source, sink, step, scene, outcome, reason, channel), never customer ids.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SegmentSize } from './segmentSizes.js';
import type { ErrorCode } from '../schemas/errors.js';

/** How long a scrape waits for the segment sizes (read from Redis in production mode) before answering with the last ones. */
export const SEGMENT_SIZES_TIMEOUT_MS = 1_000;

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, GC) as prom-client's defaults; default true. */
  readonly processMetrics?: boolean;
  /** Labels on every metric (`{instance: 'engine-1'}`). */
  readonly defaultLabels?: Readonly<Record<string, string>>;
}

/** What {@link Metrics.recordExecutorStats} reads of an executor (`engine/executor.ts`). */
export interface ExecutorStatsSource {
  stats(): Record<string, Record<string, number>>;
  readonly graph: { readonly nodes: ReadonlyArray<{ readonly id: string; readonly role: string }> };
}

/** Latency buckets of event-to-output: sub-millisecond in process to tens of seconds through Kafka. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const CHECKPOINT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry: Registry;

  /** Records read from each source (Kafka topic, file, simulator). */
  readonly eventsIn: Counter<'source'>;
  /** Records sent to the dead-letter output, by the source or step that rejected them and the error code. */
  readonly deadLetters: Counter<'source' | 'code'>;
  /** Records written to each sink. */
  readonly outputs: Counter<'sink'>;
  /** Records too late for every window or timer of a step (side output `late`). */
  readonly lateRecords: Counter<'step'>;
  readonly triggers: Counter<'scene'>;
  /** `reason` is `none` for sent decisions. */
  readonly decisions: Counter<'scene' | 'outcome' | 'reason'>;
  /** Offers made (sent decisions), by scene and the channel they go out on. */
  readonly offers: Counter<'scene' | 'channel'>;
  /** Offers a delivery channel (the webhook) actually handed over, by that channel. */
  readonly offersDelivered: Counter<'channel'>;
  /** Offers a channel did not deliver again because its ledger had them (deduplicated by offer id). */
  readonly offersDuplicate: Counter<'channel'>;
  /** Offers a channel gave up on after its retries (`SS_ERR_SINK_FAILED`). */
  readonly offerDeliveryFailures: Counter<'channel'>;
  /** Processing time minus the watermark of each source, in seconds. */
  readonly watermarkLag: Gauge<'source'>;
  readonly checkpointDuration: Histogram<never>;
  /** From an input event's ts (or its arrival) to the output it caused. */
  readonly eventToOutput: Histogram<never>;
  readonly redisRoundTrips: Counter<never>;
  readonly campaignReloads: Counter<'result'>;
  /** Decisions whose attribution window closed, per scene, RFM segment at decision time (`none`: no purchase known) and group (sent, holdout). */
  readonly attributionDecisions: Gauge<'scene' | 'segment' | 'group'>;
  /** Of those, the decisions that converted. */
  readonly attributionConversions: Gauge<'scene' | 'segment' | 'group'>;
  /** Revenue of their converting purchases, in the campaign's `measurement.currency`. */
  readonly attributionRevenue: Gauge<'scene' | 'segment' | 'group'>;
  /** Discount redeemed on converting sent offers (revenue times the offer's discount), by scene and segment, in the campaign's currency. */
  readonly attributionDiscountCost: Gauge<'scene' | 'segment'>;
  /** Holdout decisions left out of the control arm (consent, quiet hours or a cap would have stopped them), by scene and segment. */
  readonly attributionHoldoutExcluded: Gauge<'scene' | 'segment'>;
  /** The campaign's `measurement.minPerArm`: below it in either group, the dashboard shows no uplift ("not enough data"). */
  readonly attributionMinPerArm: Gauge<never>;
  /** 1, labelled with the campaign's `measurement.currency`: the unit of every amount. */
  readonly attributionCurrency: Gauge<'currency'>;
  /** Open server-sent-event connections of in-store screens. */
  readonly screenConnections: Gauge<never>;
  /** Every counter of every step of an executor, as the executor names them. */
  readonly stepCounters: Counter<'pipeline' | 'step' | 'counter'>;
  /** 1 while a service the instance depends on (kafka, redis) answers, 0 during an outage. */
  readonly dependencyUp: Gauge<'dependency'>;
  /** Failed attempts to reach a service. */
  readonly dependencyFailures: Counter<'dependency'>;
  /** Records of an input partition not yet consumed (the log end minus the next offset), after each batch. */
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly inputGapRecords: Counter<'topic' | 'partition'>;
  /** Wall time minus a source's watermark, production mode. */
  readonly eventTimeBehind: Gauge<'source'>;
  /** Failed attempts of the Kafka job's operations (retried), by operation and service. */
  readonly operationFailures: Counter<'operation' | 'service'>;
  /** Customers per segment (`kind` rfm or campaign), read at each scrape from {@link Metrics.readSegmentSizes}. */
  readonly segmentCustomers: Gauge<'segment' | 'kind'>;
  private segmentSizes: (() => Promise<readonly SegmentSize[]>) | undefined;

  /** What {@link recordExecutorStats} last copied, per executor, to turn totals into increments. */
  private readonly copied = new WeakMap<ExecutorStatsSource, Map<string, number>>();

  constructor(opts: MetricsOptions = {}) {
    const registry = new Registry();
    this.registry = registry;
    if (opts.defaultLabels !== undefined) registry.setDefaultLabels({ ...opts.defaultLabels });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
    const registers = [registry];

    this.eventsIn = new Counter({ name: 'scenestream_events_in_total', help: 'Records read from each source.', labelNames: ['source'], registers });
    this.deadLetters = new Counter({ name: 'scenestream_dead_letters_total', help: 'Records sent to the dead-letter output, by source or step and error code.', labelNames: ['source', 'code'], registers });
    this.outputs = new Counter({ name: 'scenestream_outputs_total', help: 'Records written to each sink.', labelNames: ['sink'], registers });
    this.lateRecords = new Counter({ name: 'scenestream_late_records_total', help: 'Records too late for a step, sent to its side output late.', labelNames: ['step'], registers });
    this.triggers = new Counter({ name: 'scenestream_triggers_total', help: 'Scene triggers detected.', labelNames: ['scene'], registers });
    this.decisions = new Counter({ name: 'scenestream_decisions_total', help: 'Decisions by scene, outcome and suppression reason (none when sent).', labelNames: ['scene', 'outcome', 'reason'], registers });
    this.offers = new Counter({ name: 'scenestream_offers_total', help: 'Offers made (decisions sent), by scene and the channel they go out on.', labelNames: ['scene', 'channel'], registers });
    this.offersDelivered = new Counter({ name: 'scenestream_offers_delivered_total', help: 'Offers a delivery channel handed over (the webhook of production mode: 2xx), by that channel.', labelNames: ['channel'], registers });
    this.offersDuplicate = new Counter({ name: 'scenestream_offers_duplicate_total', help: 'Offers not delivered again: already delivered (same offer id).', labelNames: ['channel'], registers });
    this.offerDeliveryFailures = new Counter({ name: 'scenestream_offer_delivery_failures_total', help: 'Offers given up on after retries (SS_ERR_SINK_FAILED).', labelNames: ['channel'], registers });
    this.watermarkLag = new Gauge({
      name: 'scenestream_watermark_lag_seconds',
      help: "How far a source's watermark trails the input's own progress: the latest event time read minus the watermark (the out-of-orderness bound plus what holds it back). In the embedded job, the simulated clock minus the watermark.",
      labelNames: ['source'],
      registers,
    });
    this.eventTimeBehind = new Gauge({ name: 'scenestream_event_time_behind_seconds', help: "Wall time minus a source's watermark (production mode): how old the event time being completed is; large for historical input by design.", labelNames: ['source'], registers });
    this.checkpointDuration = new Histogram({ name: 'scenestream_checkpoint_duration_seconds', help: 'Time to write a checkpoint.', buckets: CHECKPOINT_BUCKETS, registers });
    this.eventToOutput = new Histogram({ name: 'scenestream_event_to_output_seconds', help: 'From an input event to the output it caused.', buckets: LATENCY_BUCKETS, registers });
    this.redisRoundTrips = new Counter({ name: 'scenestream_redis_round_trips_total', help: 'Round trips to Redis (a pipeline of commands counts once).', registers });
    this.campaignReloads = new Counter({ name: 'scenestream_campaign_reloads_total', help: 'Campaign file reloads by result (applied, unchanged, error).', labelNames: ['result'], registers });
    // Counts and revenue under their own names; rates and uplift are computed in PromQL (the dashboards).
    this.attributionDecisions = new Gauge({ name: 'scenestream_attribution_decisions', help: 'Decisions whose attribution window closed, by scene, RFM segment at decision time (none: no purchase known) and group (sent, holdout).', labelNames: ['scene', 'segment', 'group'], registers });
    this.attributionConversions = new Gauge({ name: 'scenestream_attribution_conversions', help: 'Decisions that converted within the attribution window, by scene, segment and group.', labelNames: ['scene', 'segment', 'group'], registers });
    this.attributionRevenue = new Gauge({ name: 'scenestream_attribution_revenue', help: "Revenue of converting purchases, in the campaign's measurement.currency (scenestream_attribution_currency_info), by scene, segment and group.", labelNames: ['scene', 'segment', 'group'], registers });
    this.attributionDiscountCost = new Gauge({
      name: 'scenestream_attribution_discount_cost',
      help: "Discount redeemed on the converting purchases of sent offers (their revenue times the offer's discountPct / 100), in the campaign's measurement.currency, by scene and segment; closed attribution windows only.",
      labelNames: ['scene', 'segment'],
      registers,
    });
    this.attributionHoldoutExcluded = new Gauge({
      name: 'scenestream_attribution_holdout_excluded',
      help: 'Holdout decisions left out of the control arm (group="holdout") because consent, quiet hours or a frequency cap would have stopped them had they not been held out, by scene and segment; closed attribution windows only.',
      labelNames: ['scene', 'segment'],
      registers,
    });
    this.attributionMinPerArm = new Gauge({ name: 'scenestream_attribution_min_decisions_per_arm', help: "The campaign's measurement.minPerArm: decisions each group (sent, holdout) needs before an uplift is shown.", registers });
    this.attributionCurrency = new Gauge({ name: 'scenestream_attribution_currency_info', help: "1, labelled with the campaign's measurement.currency (ISO 4217), the currency of every amount.", labelNames: ['currency'], registers });
    this.screenConnections = new Gauge({ name: 'scenestream_screen_connections', help: 'Open server-sent-event connections of in-store screens.', registers });
    this.stepCounters = new Counter({ name: 'scenestream_step_counter_total', help: "Executors' per-step counters, as named by the executor.", labelNames: ['pipeline', 'step', 'counter'], registers });
    this.dependencyUp = new Gauge({ name: 'scenestream_dependency_up', help: 'Whether a service the instance depends on answers (1) or not (0).', labelNames: ['dependency'], registers });
    this.dependencyFailures = new Counter({ name: 'scenestream_dependency_failures_total', help: 'Failed attempts to reach a service the instance depends on.', labelNames: ['dependency'], registers });
    this.consumerLag = new Gauge({ name: 'scenestream_consumer_lag_records', help: 'Records of an input partition not yet consumed by this instance (log end offset minus next offset).', labelNames: ['topic', 'partition'], registers });
    this.operationFailures = new Counter({ name: 'scenestream_operation_failures_total', help: "Failed (and retried) attempts of the Kafka job's operations: claim, prefetch, produce, deliver, checkpoint, rewrite.", labelNames: ['operation', 'service'], registers });
    this.inputGapRecords = new Counter({ name: 'scenestream_input_gap_records_total', help: 'Input records deleted (retention, truncation) before the job read them.', labelNames: ['topic', 'partition'], registers });
    const sizes = (): (() => Promise<readonly SegmentSize[]>) | undefined => this.segmentSizes;
    this.segmentCustomers = new Gauge({
      name: 'scenestream_segment_customers',
      help: "Customers per segment: kind rfm, the RFM segments (production mode: the whole job's, from Redis); kind campaign, the live campaign's named segments (production mode: of this instance's partitions).",
      labelNames: ['segment', 'kind'],
      registers,
      async collect() {
        const read = sizes();
        if (read === undefined) return;
        let series: readonly SegmentSize[];
        let timer: NodeJS.Timeout | undefined;
        try {
          // Bounded: with Redis away a command may wait in the client's queue until it is back, and
          // a scrape must answer (Prometheus, /metrics during an outage) rather than hang with it.
          const late = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('segment sizes: no answer in time')), SEGMENT_SIZES_TIMEOUT_MS);
          });
          series = await Promise.race([read(), late]);
        } catch {
          return; // Redis away or slow: the scrape still answers, with the last sizes (the outage has its own metrics)
        } finally {
          clearTimeout(timer);
        }
        // Reset first: a segment the reloaded campaign no longer names leaves no stale series.
        this.reset();
        for (const s of series) this.set({ segment: s.segment, kind: s.kind }, s.customers);
      },
    });
  }

  /**
   * Where `scenestream_segment_customers` reads its series at each scrape (a failed read, or one
   * that takes longer than {@link SEGMENT_SIZES_TIMEOUT_MS}, leaves the last values).
   */
  readSegmentSizes(read: () => Promise<readonly SegmentSize[]>): void {
    this.segmentSizes = read;
  }

  /** Counts one dead-lettered record (from the executor's `onDeadLetter`, where the code is known). */
  countDeadLetter(source: string, code: ErrorCode): void {
    this.deadLetters.inc({ source, code });
  }

  /**
   * Copies an executor's `stats()` into the metrics; call it on each scrape or on a timer. The
   * executor's counters are totals; this adds what grew since the last call for the same executor
   * (a total that went down, after a restore, counts from zero again):
   *
   * - every counter goes to `scenestream_step_counter_total{pipeline, step, counter}`;
   * - `records` of a sink to `scenestream_outputs_total{sink}` (unless `sinkOutputs: false`, for a
   *   host that counts its outputs itself as it delivers them);
   * - `late_records` of any step to `scenestream_late_records_total{step}`.
   *
   * Dead letters are not copied: the executor's totals have no error code, so count them with
   * {@link countDeadLetter} from `onDeadLetter` instead.
   */
  recordExecutorStats(executor: ExecutorStatsSource, pipeline = 'retail', o: { readonly sinkOutputs?: boolean } = {}): void {
    const sinkOutputs = o.sinkOutputs ?? true;
    let last = this.copied.get(executor);
    if (last === undefined) {
      last = new Map();
      this.copied.set(executor, last);
    }
    const roles = new Map(executor.graph.nodes.map((n) => [n.id, n.role]));
    for (const [step, counters] of Object.entries(executor.stats())) {
      for (const [counter, total] of Object.entries(counters)) {
        const id = `${step}\u0000${counter}`;
        const before = last.get(id) ?? 0;
        const delta = total >= before ? total - before : total;
        last.set(id, total);
        if (delta <= 0) continue;
        this.stepCounters.inc({ pipeline, step, counter }, delta);
        if (sinkOutputs && counter === 'records' && roles.get(step) === 'sink') this.outputs.inc({ sink: step }, delta);
        if (counter === 'late_records') this.lateRecords.inc({ step }, delta);
      }
    }
  }

  /** The text exposition of every metric (what `/metrics` serves). */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Sets the measurement settings' gauges from the campaign's `measurement` section (at each scrape: a reload may change them). */
export function setMeasurementSettings(m: Metrics, s: { readonly minPerArm: number; readonly currency: string }): void {
  m.attributionMinPerArm.set(s.minPerArm);
  m.attributionCurrency.reset();
  m.attributionCurrency.set({ currency: s.currency }, 1);
}
