import { addAttribution, EMPTY_ATTRIBUTION, mergeAttribution, type AttributionEvent, type SceneAttributionTotals } from '../pipelines/attribution.js';
import { measure, MeasureGrid, type Measurement, type MeasurementSettings } from '../pipelines/measurement.js';
import { SCENES, type Scene } from '../schemas/index.js';
import type { Metrics } from './metrics.js';
import { setAttribution } from './retailMetrics.js';

/**
 * Attribution across all partitions and instances in production: the closed attribution windows of
 * the `attribution` topic (read whole by every instance), per scene and per source partition, each
 * decision counted once however often a replay after a crash produced it.
 *
 * - {@link totals} of all partitions is the job-wide figure (`GET /attribution`), what a replay of
 *   the same input reports for the windows closed so far.
 * - {@link measurement} is the job-wide measurement (per scene, per segment, the campaign), the
 *   same figures as a replay's `summary.json` for the same windows.
 * - {@link exportTo} sets the metrics of the partitions this instance owns, so that summing
 *   `scenestream_attribution_*` over instances (as the marketing dashboard does) counts every
 *   partition once.
 *
 * Memory: the ids of the decisions seen (for deduplication), as many as the topic holds.
 */
export class AttributionView {
  private readonly byPartition = new Map<number, Map<Scene, SceneAttributionTotals>>();
  private readonly grids = new Map<number, MeasureGrid>();
  private readonly seen = new Set<string>();

  /** One closed window from `partition` of the topic; false for a decision already counted. */
  add(e: AttributionEvent, partition: number): boolean {
    if (this.seen.has(e.decisionId)) return false;
    this.seen.add(e.decisionId);
    let scenes = this.byPartition.get(partition);
    if (scenes === undefined) this.byPartition.set(partition, (scenes = new Map()));
    scenes.set(e.scene, addAttribution(scenes.get(e.scene) ?? EMPTY_ATTRIBUTION, e));
    let grid = this.grids.get(partition);
    if (grid === undefined) this.grids.set(partition, (grid = new MeasureGrid()));
    grid.add(e);
    return true;
  }

  /** The measurement over all partitions (`GET /attribution`'s `measurement`). */
  measurement(settings: MeasurementSettings): Measurement {
    const all = new MeasureGrid();
    for (const g of this.grids.values()) all.merge(g);
    return measure(all, settings);
  }

  /** Per scene (all five), over the given partitions or all of them. */
  totals(partitions?: Iterable<number>): Record<Scene, SceneAttributionTotals> {
    const out = Object.fromEntries(SCENES.map((s) => [s, EMPTY_ATTRIBUTION])) as Record<Scene, SceneAttributionTotals>;
    const keys = partitions === undefined ? [...this.byPartition.keys()] : [...partitions];
    for (const p of keys) {
      for (const [scene, t] of this.byPartition.get(p) ?? []) out[scene] = mergeAttribution(out[scene], t);
    }
    return out;
  }

  /** Sets the `scenestream_attribution_*` gauges to the totals of `partitions` (those this instance owns); the other cells seen to 0. */
  exportTo(metrics: Metrics, partitions: Iterable<number>): void {
    const owned = new MeasureGrid();
    for (const p of partitions) {
      const g = this.grids.get(p);
      if (g !== undefined) owned.merge(g);
    }
    const zeros: Array<readonly [string, string]> = [];
    for (const g of this.grids.values()) for (const [scene, segment] of g.cells()) zeros.push([scene, segment]);
    setAttribution(metrics, owned, zeros);
  }
}
