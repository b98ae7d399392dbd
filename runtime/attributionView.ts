import { addAttribution, EMPTY_ATTRIBUTION, mergeAttribution, type AttributionEvent, type SceneAttributionTotals } from '../pipelines/attribution.js';
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
 * - {@link exportTo} sets the metrics of the partitions this instance owns, so that summing
 *   `scenestream_attribution_*` over instances (as the marketing dashboard does) counts every
 *   partition once.
 *
 * Memory: the ids of the decisions seen (for deduplication), as many as the topic holds.
 */
export class AttributionView {
  private readonly byPartition = new Map<number, Map<Scene, SceneAttributionTotals>>();
  private readonly seen = new Set<string>();

  /** One closed window from `partition` of the topic; false for a decision already counted. */
  add(e: AttributionEvent, partition: number): boolean {
    if (this.seen.has(e.decisionId)) return false;
    this.seen.add(e.decisionId);
    let scenes = this.byPartition.get(partition);
    if (scenes === undefined) this.byPartition.set(partition, (scenes = new Map()));
    scenes.set(e.scene, addAttribution(scenes.get(e.scene) ?? EMPTY_ATTRIBUTION, e));
    return true;
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

  /** Sets the `scenestream_attribution_*` gauges to the totals of `partitions` (those this instance owns). */
  exportTo(metrics: Metrics, partitions: Iterable<number>): void {
    for (const [scene, t] of Object.entries(this.totals(partitions))) setAttribution(metrics, scene, t);
  }
}
