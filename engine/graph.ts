import { ssError, type ScenestreamError } from '../schemas/errors.js';
import type { Clock } from './clock.js';
import type { StateBackend } from './state.js';

/**
 * The operator graph: what an operator is to the runtime, and how a pipeline's nodes connect.
 *
 * Records travel as three arguments `(value, ts, key)`, never wrapped, so a stateless chain
 * allocates nothing per record. `key` is `''` on a stream that has not been keyed.
 */

/** Passes a record downstream. */
export type Emit<T> = (value: T, ts: number, key: string) => void;

/** Named counters every step can bump; the runtime maps them to Prometheus metrics. */
export interface StepMetrics {
  inc(counter: string, by?: number): void;
}

/** What the runtime hands an operator instance when the pipeline starts. */
export interface OperatorRuntime<O> {
  readonly stepId: string;
  readonly state: StateBackend;
  readonly clock: Clock;
  /** Main output. */
  readonly emit: Emit<O>;
  /** A side output by tag (`late`, `rejected`, ...). Side outputs are always collected and counted. */
  side(tag: string): Emit<unknown>;
  /** The watermark of this step: the minimum over its inputs. */
  watermark(): number;
  readonly metrics: StepMetrics;
  /**
   * Dead-letters what failed without throwing, so the step goes on with the rest of its work (a
   * timer that fails must not stop the other timers of the same watermark from firing).
   */
  deadLetter(value: unknown, ts: number, error: ScenestreamError): void;
}

/** A running operator. */
export interface OperatorInstance<I> {
  /** One record from input number `input` (0 for single-input operators). */
  process(value: I, ts: number, key: string, input: number): void;
  /** The step's watermark advanced: fire event-time timers up to it. Outputs emitted here precede the watermark downstream. */
  onWatermark?(watermark: number): void;
  /**
   * The earliest event time at which `onWatermark` has work (its next timer), `Infinity` when none.
   * Optional: an operator that has it promises that `onWatermark(w)` does nothing for `w` below
   * it, and the executor then skips the call; without it, every advance calls `onWatermark`.
   */
  nextEventTime?(): number;
  /** Processing time advanced: fire processing-time timers up to `now`. */
  onProcessingTime?(now: number): void;
}

/**
 * An operator definition: a value produced by a factory in `operators/`, added to a graph by
 * `Stream.pipe` or a fluent method. `I` is its input type, `O` its output type.
 */
export interface OperatorDef<I, O> {
  readonly kind: string;
  /** Required for stateful steps: state keys, metric labels and log bindings derive from it. */
  readonly stepId?: string;
  readonly stateful: boolean;
  /** Whether the input must be keyed (a `KeyedStream`). */
  readonly keyed: boolean;
  /** Parameters shown by `describe()`. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Side outputs this operator may emit. */
  readonly sideOutputs?: readonly string[];
  /** Number of inputs (default 1). */
  readonly arity?: number;
  /** Throws `SS_ERR_GRAPH_INVALID` naming the step when parameters are invalid. */
  validate?(stepId: string): void;
  create(rt: OperatorRuntime<O>): OperatorInstance<I>;
  /** Phantom fields so that `OperatorDef<A, B>` is not assignable to `OperatorDef<C, D>`. */
  readonly __in?: (i: I) => void;
  readonly __out?: O;
}

/** Options of a source: how to read event time and how patient to be with disorder. */
export interface SourceOptions<T> {
  /** Event time of a record (epoch ms). */
  readonly timestamp: (value: T) => number;
  /** Key of a record as it arrives (the Kafka message key); `''` if absent. */
  readonly key?: (value: T) => string;
  /** Bounded out-of-orderness: the watermark trails the largest ts seen by this much (default 0). */
  readonly outOfOrdernessMs?: number;
  /**
   * After this long without a record (processing time), a partition stops holding the watermark
   * back; if every partition is idle, event time is taken to advance with processing time, so
   * deadlines fire on a quiet input (default 60 s).
   */
  readonly idleTimeoutMs?: number;
  /** Partitions known up front; each holds the watermark back until it has data or goes idle (default 1). */
  readonly partitions?: number;
}

/** `main`, a named output (`out:name`, e.g. a branch) or a side output (`side:tag`, e.g. late data). */
export type PortName = 'main' | `out:${string}` | `side:${string}`;

export interface Edge {
  readonly from: GraphNode;
  readonly port: PortName;
  readonly input: number;
}

export type NodeRole = 'source' | 'operator' | 'sink';

/** A node of the graph, as built. */
export interface GraphNode {
  /** The step id (stateful steps, sources, sinks) or a generated `kind#n` id. */
  readonly id: string;
  readonly role: NodeRole;
  readonly kind: string;
  readonly def: OperatorDef<unknown, unknown> | undefined;
  readonly source: SourceOptions<unknown> | undefined;
  readonly inputs: Edge[];
  /** Whether records leaving this node carry a meaningful key. */
  readonly keyed: boolean;
}

const STEP_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/** Builds the graph of one pipeline. Use `pipeline(name)` from `stream/stream.ts`. */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  private readonly ids = new Set<string>();
  private auto = 0;
  private built = false;

  constructor(readonly name: string) {
    if (!STEP_ID.test(name)) throw ssError('SS_ERR_GRAPH_INVALID', `pipeline name "${name}" must match ${STEP_ID}`);
  }

  private claim(id: string, what: string, generated = false): void {
    if (this.built) throw ssError('SS_ERR_GRAPH_INVALID', `pipeline "${this.name}" is already built; ${what} "${id}" cannot be added`);
    if (!generated && !STEP_ID.test(id)) {
      throw ssError('SS_ERR_GRAPH_INVALID', `${what} id "${id}" must match ${STEP_ID}`, { stepId: id });
    }
    if (this.ids.has(id)) {
      throw ssError('SS_ERR_GRAPH_DUPLICATE_STEP', `step id "${id}" is used twice in pipeline "${this.name}"`, { stepId: id });
    }
    this.ids.add(id);
  }

  addSource<T>(name: string, opts: SourceOptions<T>): GraphNode {
    this.claim(name, 'source');
    const bound = opts.outOfOrdernessMs ?? 0;
    const idle = opts.idleTimeoutMs ?? 60_000;
    const parts = opts.partitions ?? 1;
    if (!(bound >= 0) || !Number.isFinite(bound)) {
      throw ssError('SS_ERR_GRAPH_INVALID', `outOfOrdernessMs must be a finite number >= 0, got ${bound}`, { stepId: name });
    }
    if (!(idle > 0)) throw ssError('SS_ERR_GRAPH_INVALID', `idleTimeoutMs must be > 0, got ${idle}`, { stepId: name });
    if (!Number.isInteger(parts) || parts < 1) {
      throw ssError('SS_ERR_GRAPH_INVALID', `partitions must be an integer >= 1, got ${parts}`, { stepId: name });
    }
    const node: GraphNode = {
      id: name,
      role: 'source',
      kind: 'source',
      def: undefined,
      source: opts as SourceOptions<unknown>,
      inputs: [],
      keyed: opts.key !== undefined,
    };
    this.nodes.push(node);
    return node;
  }

  addOperator(def: OperatorDef<unknown, unknown>, inputs: Edge[], keyedOut: boolean): GraphNode {
    let id: string;
    if (def.stepId !== undefined) id = def.stepId;
    else if (def.stateful) {
      throw ssError('SS_ERR_GRAPH_INVALID', `stateful operator "${def.kind}" needs a step id`, { stepId: `${def.kind}#?` });
    } else id = `${def.kind}#${++this.auto}`;
    this.claim(id, 'step', def.stepId === undefined);
    const arity = def.arity ?? 1;
    if (inputs.length !== arity) {
      throw ssError('SS_ERR_GRAPH_INVALID', `"${def.kind}" takes ${arity} input(s), got ${inputs.length}`, { stepId: id });
    }
    if (def.keyed) {
      const unkeyed = inputs.find((e) => !e.from.keyed);
      if (unkeyed !== undefined) {
        throw ssError('SS_ERR_GRAPH_INVALID', `"${def.kind}" needs a keyed input; "${unkeyed.from.id}" is not keyed (use keyBy)`, { stepId: id });
      }
    }
    def.validate?.(id);
    const node: GraphNode = { id, role: 'operator', kind: def.kind, def, source: undefined, inputs, keyed: keyedOut };
    this.nodes.push(node);
    return node;
  }

  addSink(name: string, input: Edge): GraphNode {
    this.claim(name, 'sink');
    const node: GraphNode = { id: name, role: 'sink', kind: 'sink', def: undefined, source: undefined, inputs: [input], keyed: input.from.keyed };
    this.nodes.push(node);
    return node;
  }

  /** Validates and freezes the graph. */
  build(): PipelineGraph {
    if (this.built) return new PipelineGraph(this.name, this.nodes);
    const sources = this.nodes.filter((n) => n.role === 'source');
    if (sources.length === 0) throw ssError('SS_ERR_GRAPH_INVALID', `pipeline "${this.name}" has no source`);
    for (const n of this.nodes) {
      for (const e of n.inputs) {
        if (e.port === 'main' || e.port.startsWith('out:')) continue;
        const tag = e.port.slice('side:'.length);
        const declared = e.from.def?.sideOutputs ?? [];
        if (!declared.includes(tag)) {
          throw ssError('SS_ERR_GRAPH_INVALID', `step "${e.from.id}" has no side output "${tag}" (it has: ${declared.join(', ') || 'none'})`, { stepId: e.from.id });
        }
      }
    }
    this.built = true;
    return new PipelineGraph(this.name, this.nodes);
  }
}

/** A validated, immutable graph, ready for an executor. */
export class PipelineGraph {
  constructor(
    readonly name: string,
    readonly nodes: readonly GraphNode[],
  ) {}

  get sources(): GraphNode[] {
    return this.nodes.filter((n) => n.role === 'source');
  }
  get sinks(): GraphNode[] {
    return this.nodes.filter((n) => n.role === 'sink');
  }

  /** A plain description of the graph: steps, kinds, parameters and edges. */
  describe(): PipelineDescription {
    return {
      pipeline: this.name,
      steps: this.nodes.map((n) => ({
        id: n.id,
        role: n.role,
        kind: n.kind,
        keyed: n.keyed,
        stateful: n.def?.stateful ?? false,
        inputs: n.inputs.map((e) => (e.port === 'main' ? e.from.id : `${e.from.id}[${e.port}]`)),
        ...(n.def?.params !== undefined ? { params: describeParams(n.def.params) } : {}),
        ...(n.def?.sideOutputs !== undefined ? { sideOutputs: [...n.def.sideOutputs] } : {}),
      })),
    };
  }

  /** The description as indented text, one step a line. */
  toString(): string {
    return this.describe()
      .steps.map((s) => {
        const params = s.params !== undefined ? ` ${JSON.stringify(s.params)}` : '';
        const from = s.inputs.length > 0 ? ` <- ${s.inputs.join(', ')}` : '';
        return `${s.role.padEnd(8)} ${s.id} (${s.kind}${s.keyed ? ', keyed' : ''})${params}${from}`;
      })
      .join('\n');
  }
}

export interface PipelineDescription {
  readonly pipeline: string;
  readonly steps: ReadonlyArray<{
    readonly id: string;
    readonly role: NodeRole;
    readonly kind: string;
    readonly keyed: boolean;
    readonly stateful: boolean;
    readonly inputs: readonly string[];
    readonly params?: Readonly<Record<string, string | number | boolean | null>>;
    readonly sideOutputs?: readonly string[];
  }>;
}

function describeParams(p: Readonly<Record<string, unknown>>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'function') out[k] = v.name !== '' ? `fn ${v.name}` : 'fn';
    else if (v !== undefined) out[k] = JSON.stringify(v);
  }
  return out;
}
