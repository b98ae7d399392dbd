import { isScenestreamError, ssError, type ScenestreamError } from '../schemas/errors.js';
import { systemClock, type Clock } from './clock.js';
import type { Emit, GraphNode, OperatorInstance, OperatorRuntime, PipelineGraph, PortName, StepMetrics } from './graph.js';
import { fromPlain, toPlain, type Json } from './plain.js';
import { InMemoryStateBackend, type StateBackend, type StateSnapshot } from './state.js';
import { risingOrder, upstreamSources, type PlanNode } from './watermarkPlan.js';
import { SourceWatermarks, type PartitionTime } from './watermarks.js';

/**
 * Runs a {@link PipelineGraph} in process: the engine's single execution model, used by the test
 * kit, the embedded default and the Kafka runtime alike.
 *
 * Records are pushed into sources and travel synchronously through the operators. After a record
 * (or a batch) the source watermark is recomputed and, where it advanced, flows down the graph:
 * each step's watermark is the minimum over its inputs, and a step fires its event-time timers
 * before passing the watermark on, so outputs of a timer precede the watermark that caused them.
 *
 * How the watermark flows (see `watermarkPlan.ts`): a source's advance visits, in a plan fixed when
 * the executor starts, only the steps that use event time, in the order the depth-first walk over
 * the whole graph would raise them, each taking the minimum over the sources upstream of it; a step
 * whose next event-time work ({@link OperatorInstance.nextEventTime}) is beyond its new watermark
 * is not called at all. Stateless steps and sinks learn their watermark when someone asks
 * (`watermarkOf`, snapshots). The outputs, and their order, are those of the full walk
 * (`propagation: 'graph'`, kept as the reference the tests compare with).
 *
 * A record that makes any step throw is not lost and does not stop the stream: it goes to the
 * dead-letter output with the error (code `SS_ERR_USER_FUNCTION` for a user function's exception,
 * naming the step), and the next record is processed.
 */

/** A record that could not be processed. */
export interface DeadLetter {
  readonly source: string;
  readonly value: unknown;
  readonly ts: number;
  readonly partition: number;
  /** Position of the record in the batch it came in (`pushBatch`), else -1. */
  readonly index: number;
  readonly error: ScenestreamError;
}

export interface ExecutorOptions {
  readonly state?: StateBackend;
  readonly clock?: Clock;
  /** Receives every record reaching a sink. Unhandled sinks are dropped (count still kept). */
  readonly sinks?: Readonly<Record<string, Emit<unknown>>>;
  /** Receives every side-output record (late data, rejections) with the step and tag. */
  readonly onSideOutput?: (stepId: string, tag: string, value: unknown, ts: number, key: string) => void;
  readonly onDeadLetter?: (letter: DeadLetter) => void;
  /**
   * How a watermark advance reaches the steps: `plan` (default) visits only the steps that use
   * event time, in the order `graph` would raise them; `graph` walks every node depth first (the
   * reference: same outputs in the same order, more calls).
   */
  readonly propagation?: 'plan' | 'graph';
  /**
   * Event-time sanity: a record stamped more than this far ahead of the clock's now is
   * dead-lettered (`SS_ERR_EVENT_TIME`) and never moves event time, so that one record from the
   * year 3000 cannot push the watermark past every record still to come. Meant for a wall clock
   * (the Kafka job: a few minutes covers producers' clock skew); absent, no bound.
   */
  readonly maxAheadMs?: number;
}

interface Target {
  readonly rt: NodeRt;
  readonly input: number;
}

class NodeRt implements PlanNode {
  op: OperatorInstance<unknown> | undefined;
  readonly inputWms: number[];
  wm = -Infinity;
  readonly ports = new Map<PortName, Target[]>();
  /** PlanNode: the node of each input edge, and each output edge's target in visiting order. */
  readonly inputs: NodeRt[] = [];
  readonly targets: NodeRt[] = [];
  /** The sources upstream of this node: its watermark is the minimum of theirs. */
  upstream: SourceWatermarks[] = [];
  constructor(readonly node: GraphNode) {
    this.inputWms = node.inputs.map(() => -Infinity);
  }
  get id(): string {
    return this.node.id;
  }
  /** Whether the node's watermark matters while records flow: it has event-time work or is stateful. */
  get usesEventTime(): boolean {
    return this.op !== undefined && (this.op.onWatermark !== undefined || this.node.def?.stateful === true);
  }
  portTargets(port: PortName): Target[] {
    let t = this.ports.get(port);
    if (t === undefined) {
      t = [];
      this.ports.set(port, t);
    }
    return t;
  }
}

interface SourceRt {
  readonly rt: NodeRt;
  readonly wms: SourceWatermarks;
  readonly timestamp: (v: unknown) => number;
  readonly key: ((v: unknown) => string) | undefined;
  emit: Emit<unknown>;
  /** The steps an advance of this source may raise, in the order they rise (`watermarkPlan.ts`). */
  plan: NodeRt[];
}

interface SnapshotBody {
  readonly version: 1;
  readonly pipeline: string;
  readonly state: StateSnapshot;
  readonly sources: Record<string, { wm: number; parts: Array<[number, number]> }>;
  readonly steps: Record<string, { wm: number; inputs: number[] }>;
}

/** A JSON-safe snapshot of a running pipeline: state, timers and watermarks. */
export interface ExecutorSnapshot {
  readonly version: 1;
  readonly pipeline: string;
  readonly body: Json;
}

export class Executor {
  readonly state: StateBackend;
  readonly clock: Clock;
  private readonly rts = new Map<string, NodeRt>();
  private readonly sources = new Map<string, SourceRt>();
  private readonly counters = new Map<string, Map<string, number>>();
  private readonly processingTimeOps: Array<OperatorInstance<unknown>> = [];
  private globalWm = -Infinity;
  private readonly byPlan: boolean;
  /** Whether stateless steps' watermarks (not kept current under a plan) may be behind. */
  private unsettled = false;

  constructor(
    readonly graph: PipelineGraph,
    private readonly opts: ExecutorOptions = {},
  ) {
    this.state = opts.state ?? new InMemoryStateBackend();
    this.clock = opts.clock ?? systemClock;
    for (const n of graph.nodes) this.rts.set(n.id, new NodeRt(n));
    for (const n of graph.nodes) {
      n.inputs.forEach((e, i) => this.rts.get(e.from.id)!.portTargets(e.port).push({ rt: this.rts.get(n.id)!, input: i }));
    }
    // Instantiate in graph order (inputs are always added before the nodes that read them).
    for (const n of graph.nodes) this.instantiate(this.rts.get(n.id)!);
    for (const rt of this.rts.values()) {
      for (const e of rt.node.inputs) rt.inputs.push(this.rts.get(e.from.id)!);
      for (const targets of rt.ports.values()) for (const t of targets) rt.targets.push(t.rt);
    }
    const sourceRts = [...this.sources.values()].map((s) => s.rt);
    const wmsOf = new Map([...this.sources.values()].map((s) => [s.rt, s.wms]));
    for (const [rt, ups] of upstreamSources([...this.rts.values()], sourceRts)) rt.upstream = ups.map((u) => wmsOf.get(u)!);
    for (const s of this.sources.values()) s.plan = risingOrder(s.rt, (n) => n.usesEventTime);
    this.byPlan = opts.propagation !== 'graph';
  }

  private metricsOf(stepId: string): StepMetrics {
    let m = this.counters.get(stepId);
    if (m === undefined) {
      m = new Map();
      this.counters.set(stepId, m);
    }
    const map = m;
    return { inc: (c, by = 1) => map.set(c, (map.get(c) ?? 0) + by) };
  }

  private emitterFor(rt: NodeRt, port: PortName): Emit<unknown> {
    const targets = rt.portTargets(port);
    const fns = targets.map((t) => this.inputOf(t));
    if (fns.length === 0) return () => {};
    if (fns.length === 1) return fns[0]!;
    return (v, ts, k) => {
      for (let i = 0; i < fns.length; i++) fns[i]!(v, ts, k);
    };
  }

  /** The function that delivers a record into a target's input. */
  private inputOf(t: Target): Emit<unknown> {
    const node = t.rt.node;
    if (node.role === 'sink') {
      const handler = this.opts.sinks?.[node.id];
      const m = this.metricsOf(node.id);
      return handler === undefined
        ? () => m.inc('records')
        : (v, ts, k) => {
            m.inc('records');
            handler(v, ts, k);
          };
    }
    const input = t.input;
    const target = t.rt;
    return (v, ts, k) => target.op!.process(v, ts, k, input);
  }

  private instantiate(rt: NodeRt): void {
    const n = rt.node;
    if (n.role === 'sink') return;
    if (n.role === 'source') {
      const so = n.source!;
      this.sources.set(n.id, {
        rt,
        wms: new SourceWatermarks(
          { outOfOrdernessMs: so.outOfOrdernessMs ?? 0, idleTimeoutMs: so.idleTimeoutMs ?? 60_000, partitions: so.partitions ?? 1 },
          this.clock.now(),
        ),
        timestamp: so.timestamp,
        key: so.key,
        emit: this.emitterFor(rt, 'main'),
        plan: [],
      });
      return;
    }
    const def = n.def!;
    const sideEmitters = new Map<string, Emit<unknown>>();
    const metrics = this.metricsOf(n.id);
    const runtime: OperatorRuntime<unknown> = {
      stepId: n.id,
      state: this.state,
      clock: this.clock,
      emit: this.emitterFor(rt, 'main'),
      side: (tag) => {
        let e = sideEmitters.get(tag);
        if (e === undefined) {
          const downstream = this.emitterFor(rt, tag.startsWith('out:') ? (tag as PortName) : `side:${tag}`);
          if (tag.startsWith('out:')) e = downstream;
          else {
            const collect = this.opts.onSideOutput;
            e = (v, ts, k) => {
              metrics.inc(tag);
              collect?.(n.id, tag, v, ts, k);
              downstream(v, ts, k);
            };
          }
          sideEmitters.set(tag, e);
        }
        return e;
      },
      watermark: () => {
        // A step that uses event time is kept current; any other asks the graph (rarely).
        if (this.unsettled && !rt.usesEventTime) this.settle();
        return rt.wm;
      },
      metrics,
      deadLetter: (value, ts, error) => {
        metrics.inc('dead_letters');
        this.opts.onDeadLetter?.({ source: n.id, value, ts, partition: -1, index: -1, error });
      },
    };
    rt.op = def.create(runtime);
    if (rt.op.onProcessingTime !== undefined) this.processingTimeOps.push(rt.op);
  }

  private source(name: string): SourceRt {
    const s = this.sources.get(name);
    if (s === undefined) {
      throw ssError('SS_ERR_GRAPH_INVALID', `pipeline "${this.graph.name}" has no source "${name}" (it has: ${[...this.sources.keys()].join(', ')})`);
    }
    return s;
  }

  /**
   * Pushes one record into a source. Event time comes from the source's `timestamp` unless `ts` is
   * given. Returns false if the record was dead-lettered.
   */
  push(sourceName: string, value: unknown, partition = 0, ts?: number): boolean {
    const s = this.source(sourceName);
    const ok = this.deliver(s, sourceName, value, s.wms.arrival(partition, this.clock.now()), partition, ts, -1);
    this.updateSource(s);
    return ok;
  }

  /** Pushes a batch from one partition; the watermark is recomputed once, after the batch. */
  pushBatch(sourceName: string, values: readonly unknown[], partition = 0): number {
    const s = this.source(sourceName);
    const pt = s.wms.arrival(partition, this.clock.now());
    let failed = 0;
    for (let i = 0; i < values.length; i++) if (!this.deliver(s, sourceName, values[i], pt, partition, undefined, i)) failed++;
    this.updateSource(s);
    return failed;
  }

  private deliver(s: SourceRt, sourceName: string, value: unknown, pt: PartitionTime, partition: number, tsGiven: number | undefined, index: number): boolean {
    let ts = 0;
    try {
      ts = tsGiven ?? s.timestamp(value);
      if (!Number.isFinite(ts)) throw ssError('SS_ERR_VALIDATION', `event time is ${ts}, not a finite number`, { stepId: sourceName, field: 'ts' });
      const ahead = this.opts.maxAheadMs;
      if (ahead !== undefined && ts > this.clock.now() + ahead) throw eventTimeAhead(sourceName, ts, this.clock.now(), ahead);
      const key = s.key !== undefined ? s.key(value) : '';
      if (ts > pt.maxTs) pt.maxTs = ts;
      this.state.time.currentTime = ts;
      s.emit(value, ts, key);
      return true;
    } catch (e) {
      const error = isScenestreamError(e)
        ? e
        : ssError('SS_ERR_USER_FUNCTION', `a step threw on a record of "${sourceName}": ${e instanceof Error ? e.message : String(e)}`, { stepId: sourceName, cause: e });
      this.metricsOf(sourceName).inc('dead_letters');
      this.opts.onDeadLetter?.({ source: sourceName, value, ts, partition, index, error });
      return false;
    }
  }

  /** Moves processing time to the clock's now: fires processing-time timers and idleness. */
  advanceProcessingTime(): void {
    const now = this.clock.now();
    for (const op of this.processingTimeOps) op.onProcessingTime!(now);
    for (const s of this.sources.values()) {
      const before = s.wms.current;
      const w = s.wms.update(now);
      if (w > before) this.advanced(s);
    }
    this.releaseIdle(now);
  }

  /**
   * Tells the source that a partition still has records waiting upstream (a consumer's backlog),
   * though none has arrived lately: it is not idle. A host whose processing stalls (a slow sink)
   * calls this so that a backlogged input never looks quiet, and results do not depend on speed.
   */
  keepActive(sourceName: string, partition = 0): void {
    this.source(sourceName).wms.arrival(partition, this.clock.now());
  }

  /** Forces a source's watermark forward (an explicit watermark, as Flink's test harness). */
  advanceWatermark(sourceName: string, w: number): void {
    const s = this.source(sourceName);
    s.wms.advanceTo(w);
    this.advanced(s);
  }

  /** A partition of a source was assigned to / revoked from this instance. */
  assignPartition(sourceName: string, partition: number): void {
    this.source(sourceName).wms.assign(partition, this.clock.now());
  }
  revokePartition(sourceName: string, partition: number): void {
    const s = this.source(sourceName);
    s.wms.revoke(partition);
    this.updateSource(s);
  }

  /** End of all input: watermarks go to +Infinity and every pending event-time timer fires. */
  end(): void {
    for (const s of this.sources.values()) {
      s.wms.end();
      this.advanced(s);
    }
  }

  /** The watermark of a step (or source). */
  /** The latest event time a source has read (-Infinity before its first record). */
  maxEventTimeOf(source: string): number {
    const s = this.sources.get(source);
    if (s === undefined) throw ssError('SS_ERR_GRAPH_INVALID', `no source "${source}"`);
    return s.wms.maxEventTime;
  }

  watermarkOf(stepId: string): number {
    const rt = this.rts.get(stepId);
    if (rt === undefined) throw ssError('SS_ERR_GRAPH_INVALID', `no step "${stepId}"`);
    this.settle();
    return rt.node.role === 'source' ? this.sources.get(stepId)!.wms.current : rt.wm;
  }

  /** Counters per step (`records` at sinks, `dead_letters` at sources, side-output tags, operators' own). */
  stats(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [step, m] of this.counters) out[step] = Object.fromEntries(m);
    return out;
  }

  private updateSource(s: SourceRt): void {
    const now = this.clock.now();
    const before = s.wms.current;
    const w = s.wms.update(now);
    if (w > before) this.advanced(s);
    if (this.sources.size > 1) this.releaseIdle(now);
  }

  /** Wholly idle sources follow the furthest source, so they stop holding back merges and joins. */
  private releaseIdle(now: number): void {
    let max = -Infinity;
    for (const o of this.sources.values()) if (o.wms.current > max) max = o.wms.current;
    for (const o of this.sources.values()) {
      if (o.wms.current < max && o.wms.isIdle(now)) {
        o.wms.advanceTo(max);
        this.advanced(o);
      }
    }
  }

  /** A source's watermark may have advanced: takes it to every step downstream. */
  private advanced(s: SourceRt): void {
    const before = this.globalWm;
    this.updateGlobal();
    if (this.byPlan) {
      const plan = s.plan;
      for (let i = 0; i < plan.length; i++) this.raise(plan[i]!);
      this.unsettled = true;
    } else {
      this.forward(s.rt, s.wms.current);
    }
    // Expire state only once the new watermark has reached every step.
    if (this.globalWm > before) this.state.expire();
  }

  /** Plan propagation: a step's watermark is the minimum over its upstream sources. */
  private raise(rt: NodeRt): void {
    const ups = rt.upstream;
    let min = Infinity;
    for (let i = 0; i < ups.length; i++) {
      const w = ups[i]!.current;
      if (w < min) min = w;
    }
    if (min <= rt.wm) return;
    rt.wm = min;
    const op = rt.op!;
    if (op.onWatermark === undefined || (op.nextEventTime !== undefined && op.nextEventTime() > min)) return;
    this.fire(rt, op, min);
  }

  private fire(rt: NodeRt, op: OperatorInstance<unknown>, w: number): void {
    try {
      op.onWatermark!(w);
    } catch (e) {
      const error = isScenestreamError(e)
        ? e
        : ssError('SS_ERR_USER_FUNCTION', `step threw while firing timers: ${e instanceof Error ? e.message : String(e)}`, { stepId: rt.node.id, cause: e });
      this.metricsOf(rt.node.id).inc('dead_letters');
      this.opts.onDeadLetter?.({ source: rt.node.id, value: { watermark: w }, ts: w, partition: -1, index: -1, error });
    }
  }

  /** Graph propagation (the reference): sends a node's new watermark to everything downstream. */
  private forward(rt: NodeRt, w: number): void {
    for (const targets of rt.ports.values()) {
      for (const t of targets) this.onInputWatermark(t.rt, t.input, w);
    }
  }

  private onInputWatermark(rt: NodeRt, input: number, w: number): void {
    if (w <= rt.inputWms[input]!) return;
    rt.inputWms[input] = w;
    let min = Infinity;
    for (const x of rt.inputWms) if (x < min) min = x;
    if (min <= rt.wm) return;
    rt.wm = min;
    if (rt.op?.onWatermark !== undefined) this.fire(rt, rt.op, min);
    this.forward(rt, min);
  }

  /**
   * Brings every node's input watermarks, and the watermark of the steps a plan does not visit,
   * up to date (graph order: inputs come before the nodes that read them). Steps a plan visits are
   * current already; this never fires anything.
   */
  private settle(): void {
    if (!this.unsettled) return;
    this.unsettled = false;
    for (const n of this.graph.nodes) {
      const rt = this.rts.get(n.id)!;
      if (n.role === 'source') continue;
      let min = Infinity;
      for (let i = 0; i < rt.inputs.length; i++) {
        const from = rt.inputs[i]!;
        const w = from.node.role === 'source' ? this.sources.get(from.node.id)!.wms.current : from.wm;
        if (w > rt.inputWms[i]!) rt.inputWms[i] = w;
        if (rt.inputWms[i]! < min) min = rt.inputWms[i]!;
      }
      if (!rt.usesEventTime && min > rt.wm) rt.wm = min;
    }
  }

  private updateGlobal(): void {
    let min = Infinity;
    for (const s of this.sources.values()) if (s.wms.current < min) min = s.wms.current;
    if (min > this.globalWm) {
      this.globalWm = min;
      this.state.time.watermark = min;
    }
  }

  snapshot(): ExecutorSnapshot {
    this.settle();
    const sources: SnapshotBody['sources'] = {};
    for (const [name, s] of this.sources) sources[name] = s.wms.snapshot();
    const steps: SnapshotBody['steps'] = {};
    for (const [id, rt] of this.rts) if (rt.node.role !== 'source') steps[id] = { wm: rt.wm, inputs: [...rt.inputWms] };
    const body: SnapshotBody = { version: 1, pipeline: this.graph.name, state: this.state.snapshot(), sources, steps };
    return { version: 1, pipeline: this.graph.name, body: toPlain(body) };
  }

  /** Watermarks of sources and steps, JSON-safe: what a checkpoint keeps besides the state. */
  metaSnapshot(): Json {
    this.settle();
    const sources: SnapshotBody['sources'] = {};
    for (const [name, s] of this.sources) sources[name] = s.wms.snapshot();
    const steps: SnapshotBody['steps'] = {};
    for (const [id, rt] of this.rts) if (rt.node.role !== 'source') steps[id] = { wm: rt.wm, inputs: [...rt.inputWms] };
    return toPlain({ pipeline: this.graph.name, sources, steps });
  }

  /** Restores from a checkpoint's two parts: the state (from the backend's store) and {@link metaSnapshot}. */
  restoreParts(state: StateSnapshot, meta: Json): void {
    this.state.restore(state);
    if (meta === null) return;
    const m = fromPlain(meta) as Pick<SnapshotBody, 'pipeline' | 'sources' | 'steps'>;
    if (m.pipeline !== this.graph.name) {
      throw ssError('SS_ERR_STATE_RESTORE', `checkpoint of pipeline "${m.pipeline}" cannot restore "${this.graph.name}"`);
    }
    this.restoreWatermarks(m);
  }

  private restoreWatermarks(snap: Pick<SnapshotBody, 'sources' | 'steps'>): void {
    const now = this.clock.now();
    for (const [name, s] of Object.entries(snap.sources)) this.sources.get(name)?.wms.restore(s, now);
    for (const [id, st] of Object.entries(snap.steps)) {
      const rt = this.rts.get(id);
      if (rt === undefined) continue;
      rt.wm = st.wm;
      st.inputs.forEach((w, i) => {
        if (i < rt.inputWms.length) rt.inputWms[i] = w;
      });
    }
    this.updateGlobal();
  }

  restore(json: ExecutorSnapshot): void {
    if (json.version !== 1 || json.pipeline !== this.graph.name) {
      throw ssError('SS_ERR_STATE_RESTORE', `snapshot of pipeline "${json.pipeline}" (v${String(json.version)}) cannot restore "${this.graph.name}"`);
    }
    const snap = fromPlain(json.body) as SnapshotBody;
    // The backend encoded its table values itself; decoding the body gave them back in that form.
    this.state.restore(snap.state);
    this.restoreWatermarks(snap);
  }
}

/** `SS_ERR_EVENT_TIME` for a record of `sourceName` stamped `ts`, more than `bound` ms after `now`. */
export function eventTimeAhead(sourceName: string, ts: number, now: number, bound: number): ScenestreamError {
  return ssError('SS_ERR_EVENT_TIME', `event time ${instant(ts)} is ${formatAhead(ts - now)} ahead of the clock (${instant(now)}); the bound is ${formatAhead(bound)}`, { stepId: sourceName, field: 'ts' });
}

/** An instant for an error message: ISO 8601, or the bare number past the year 275760. */
function instant(ts: number): string {
  return Math.abs(ts) <= 8.64e15 ? new Date(ts).toISOString() : `${ts} ms`;
}

/** A duration for an error message: `90 s`, `3.5 h`, `12000 d`. */
function formatAhead(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 2 * 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}
