/**
 * The order in which a watermark advance of one source reaches the steps that use event time.
 *
 * The reference propagation (Flink's, and this engine's first one) pushes a source's new watermark
 * down the graph depth first: every node takes the minimum over its inputs, and a node whose
 * minimum rose fires its timers, then passes the watermark to its outputs (ports in the order they
 * were first connected, targets in graph order). A node reached by several paths from the source
 * rises on the last of them, once all its inputs carry the new value. Which nodes rise depends on
 * the other sources (a node that also reads a source still at or below the old value stays), but
 * the nodes that rise do so in a fixed order: the order of their last visit in a depth-first walk
 * over every path from the source. A node held back holds back everything downstream of it, so
 * dropping it and its descendants from the walk leaves the others in the same order.
 *
 * A plan is that order, computed once per source when the executor starts, for the nodes that
 * need to know (steps with event-time work or that read their watermark). Advancing a source then
 * visits only those, each taking the minimum over the sources upstream of it: the same values, in
 * the same order, as the full walk, without visiting stateless steps and sinks.
 */

/** A node as the plan sees it: its outputs in propagation order, and whether it is a source. */
export interface PlanNode {
  readonly id: string;
  /** Number of input edges. */
  readonly inputs: readonly PlanNode[];
  /** Output targets in the order the reference propagation visits them (one entry per edge). */
  readonly targets: readonly PlanNode[];
}

/**
 * The nodes reachable from `source` in the order they rise when its watermark advances (each
 * once, on its last visit), filtered by `keep`.
 */
export function risingOrder<N extends PlanNode>(source: N, keep: (n: N) => boolean): N[] {
  const reachable = new Set<PlanNode>();
  const mark = (n: PlanNode): void => {
    for (const t of n.targets) {
      if (reachable.has(t)) continue;
      reachable.add(t);
      mark(t);
    }
  };
  mark(source);
  // A node rises on its last visit: one visit per input edge from the source or a node it reaches.
  const needed = new Map<PlanNode, number>();
  for (const n of reachable) needed.set(n, n.inputs.filter((i) => i === source || reachable.has(i)).length);
  const seen = new Map<PlanNode, number>();
  const out: N[] = [];
  const walk = (n: PlanNode): void => {
    for (const t of n.targets) {
      const visits = (seen.get(t) ?? 0) + 1;
      seen.set(t, visits);
      if (visits < needed.get(t)!) continue;
      if (keep(t as N)) out.push(t as N);
      walk(t);
    }
  };
  walk(source);
  return out;
}

/** The sources upstream of every node (transitively), in the order `sources` lists them. */
export function upstreamSources<N extends PlanNode>(nodes: readonly N[], sources: readonly N[]): Map<N, N[]> {
  const out = new Map<N, N[]>();
  for (const s of sources) {
    for (const n of risingOrder(s, () => true)) {
      let list = out.get(n);
      if (list === undefined) out.set(n, (list = []));
      list.push(s);
    }
  }
  for (const n of nodes) if (!out.has(n)) out.set(n, []);
  return out;
}
