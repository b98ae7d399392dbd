import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCampaignFile } from '../pipelines/campaign.js';
import type { MeasuredSummary } from '../pipelines/measurement.js';
import { SCENES, SUPPRESSION_REASONS, type Scene, type SuppressionReason } from '../schemas/index.js';
import { replayFiles, type ReplayFilesOptions, type ReplayFilesResult } from './replay.js';

/**
 * Backtest of a campaign change (issue 14): the same recorded input replayed under a baseline
 * campaign (`--config`, default SCENES.md's) and a candidate (`--compare`), side by side per scene:
 * triggers, sends, suppressions by reason, and projected incremental conversions.
 *
 * **Projection.** A replay cannot know how customers would have answered offers they never got, so
 * the candidate's incremental conversions are projected from the baseline's measured effect: per
 * scene, `sends x (sent rate - holdout rate)` of the baseline run, with the ends of its 95 %
 * interval (`docs/measurement.md`). For the baseline itself that is its measured incremental
 * conversions. Null where the baseline has not enough data (`measurement.minPerArm`) for the scene.
 * Each side's own `incrementalConversions`, measured on its own decisions against the same
 * purchases, is given too: it shows how the decisions moved, not how customers would answer.
 */

/** One campaign's figures for a scene (or all scenes). */
export interface BacktestSide {
  readonly triggers: number;
  readonly sent: number;
  readonly suppressed: Readonly<Record<SuppressionReason, number>>;
  /** Measured on this run's own decisions (`measurement.scenes.<scene>.incrementalConversions`). */
  readonly incrementalConversions: number | null;
  /** `sent` x the baseline's uplift per send, with its 95 % interval; null without enough baseline data. */
  readonly projectedIncrementalConversions: number | null;
  readonly projectedLow: number | null;
  readonly projectedHigh: number | null;
}

/** A scene (or the total) in both runs, and candidate minus baseline. */
export interface BacktestRow {
  readonly baseline: BacktestSide;
  readonly candidate: BacktestSide;
  readonly difference: {
    readonly triggers: number;
    readonly sent: number;
    readonly suppressed: Readonly<Record<SuppressionReason, number>>;
    readonly projectedIncrementalConversions: number | null;
  };
}

/** Which campaign a side is. */
export interface BacktestCampaign {
  /** The file (or `<defaults>`). */
  readonly source: string;
  readonly name: string;
}

/** `compare.json`: the two campaigns, the projection's rule, and a row per scene and for all scenes. */
export interface Backtest {
  readonly baseline: BacktestCampaign;
  readonly candidate: BacktestCampaign;
  readonly projection: string;
  readonly scenes: Readonly<Record<Scene, BacktestRow>>;
  /** All scenes: counts summed; the projection summed too, null if a scene with sends has none. */
  readonly total: BacktestRow;
}

export const PROJECTION_RULE = "sends x the baseline's uplift per send (sent rate - holdout rate) of the scene, with its 95% interval (Newcombe); null where the baseline has fewer than measurement.minPerArm decisions in a group";

const zeroReasons = (): Record<SuppressionReason, number> => Object.fromEntries(SUPPRESSION_REASONS.map((r) => [r, 0])) as Record<SuppressionReason, number>;

function side(summary: MeasuredSummary, baseline: MeasuredSummary, scene: Scene): BacktestSide {
  const s = summary.scenes[scene];
  const effect = baseline.measurement.scenes[scene];
  const per = (pp: number | null): number | null => (pp === null ? null : (s.sent * pp) / 100);
  return {
    triggers: s.triggers,
    sent: s.sent,
    suppressed: { ...zeroReasons(), ...s.suppressed },
    incrementalConversions: summary.measurement.scenes[scene].incrementalConversions,
    projectedIncrementalConversions: per(effect.upliftPp),
    projectedLow: per(effect.upliftPpLow),
    projectedHigh: per(effect.upliftPpHigh),
  };
}

const addNullable = (a: number | null, b: number | null, sent: number): number | null => (a === null ? null : b === null ? (sent === 0 ? a : null) : a + b);

function total(sides: readonly BacktestSide[], incremental: number | null): BacktestSide {
  let out: BacktestSide = { triggers: 0, sent: 0, suppressed: zeroReasons(), incrementalConversions: incremental, projectedIncrementalConversions: 0, projectedLow: 0, projectedHigh: 0 };
  for (const x of sides) {
    out = {
      triggers: out.triggers + x.triggers,
      sent: out.sent + x.sent,
      suppressed: Object.fromEntries(SUPPRESSION_REASONS.map((r) => [r, out.suppressed[r] + x.suppressed[r]])) as Record<SuppressionReason, number>,
      incrementalConversions: incremental,
      // A scene without sends adds nothing, projected or not.
      projectedIncrementalConversions: addNullable(out.projectedIncrementalConversions, x.projectedIncrementalConversions, x.sent),
      projectedLow: addNullable(out.projectedLow, x.projectedLow, x.sent),
      projectedHigh: addNullable(out.projectedHigh, x.projectedHigh, x.sent),
    };
  }
  return out;
}

function row(baseline: BacktestSide, candidate: BacktestSide): BacktestRow {
  const b = baseline.projectedIncrementalConversions;
  const c = candidate.projectedIncrementalConversions;
  return {
    baseline,
    candidate,
    difference: {
      triggers: candidate.triggers - baseline.triggers,
      sent: candidate.sent - baseline.sent,
      suppressed: Object.fromEntries(SUPPRESSION_REASONS.map((r) => [r, candidate.suppressed[r] - baseline.suppressed[r]])) as Record<SuppressionReason, number>,
      projectedIncrementalConversions: b === null || c === null ? null : c - b,
    },
  };
}

/** The side-by-side of two summaries of the same input (pure). */
export function compareSummaries(baseline: MeasuredSummary, candidate: MeasuredSummary, campaigns: { readonly baseline: BacktestCampaign; readonly candidate: BacktestCampaign }): Backtest {
  const scenes = Object.fromEntries(SCENES.map((s) => [s, row(side(baseline, baseline, s), side(candidate, baseline, s))])) as Record<Scene, BacktestRow>;
  const all = (k: 'baseline' | 'candidate', m: MeasuredSummary) => total(SCENES.map((s) => scenes[s][k]), m.measurement.campaign.incrementalConversions);
  return { ...campaigns, projection: PROJECTION_RULE, scenes, total: row(all('baseline', baseline), all('candidate', candidate)) };
}

const num = (x: number | null): string => (x === null ? '-' : Number.isInteger(x) ? String(x) : x.toFixed(1));
const signed = (x: number | null): string => (x === null ? '' : ` (${x > 0 ? '+' : ''}${num(x)})`);

/** The console table: per scene and in total, each figure as `baseline -> candidate (difference)`. */
export function formatBacktest(b: Backtest): string {
  const columns: ReadonlyArray<readonly [string, (s: BacktestSide) => number | null, (r: BacktestRow) => number | null]> = [
    ['triggers', (s) => s.triggers, (r) => r.difference.triggers],
    ['sent', (s) => s.sent, (r) => r.difference.sent],
    ...SUPPRESSION_REASONS.map((reason) => [reason, (s: BacktestSide) => s.suppressed[reason], (r: BacktestRow) => r.difference.suppressed[reason]] as const),
    ['projected incr. conv.', (s) => s.projectedIncrementalConversions, (r) => r.difference.projectedIncrementalConversions],
  ];
  const cell = (r: BacktestRow, [, get, diff]: (typeof columns)[number]) => `${num(get(r.baseline))} -> ${num(get(r.candidate))}${signed(diff(r))}`;
  const rows: Array<[string, BacktestRow]> = [...SCENES.map((s): [string, BacktestRow] => [s, b.scenes[s]]), ['all scenes', b.total]];
  const widths = columns.map((c) => Math.max(c[0].length, ...rows.map(([, r]) => cell(r, c).length)) + 2);
  const line = (name: string, cells: readonly string[]) => `${name.padEnd(21)}${cells.map((c, i) => c.padStart(widths[i]!)).join('')}`;
  return [
    `backtest: baseline ${b.baseline.source} (${b.baseline.name}) -> candidate ${b.candidate.source} (${b.candidate.name})`,
    line('scene', columns.map((c) => c[0])),
    ...rows.map(([name, r]) => line(name, columns.map((c) => cell(r, c)))),
    `projected incremental conversions: ${b.projection}`,
  ].join('\n');
}

export interface BacktestFilesResult {
  readonly baseline: ReplayFilesResult;
  readonly candidate: ReplayFilesResult;
  readonly backtest: Backtest;
  /** `<out>/compare.json`. */
  readonly file: string;
}

/**
 * `scenestream replay --config a.json --compare b.json --out DIR`: the replay of the baseline into
 * DIR as without `--compare`, the candidate's into `DIR/compare/`, and the side-by-side into
 * `DIR/compare.json`.
 */
export async function backtestFiles(o: ReplayFilesOptions & { readonly compare: string }): Promise<BacktestFilesResult> {
  const { compare, ...replay } = o;
  // Both campaigns are checked before either replay runs: a typo in the candidate fails at once.
  for (const path of [o.config, compare]) {
    const c = path === undefined ? undefined : readCampaignFile(path);
    if (c !== undefined && !c.ok) throw c.error;
  }
  const baseline = await replayFiles(replay);
  const candidate = await replayFiles({ ...replay, config: compare, out: join(o.out, 'compare') });
  const backtest = compareSummaries(baseline.summary, candidate.summary, {
    baseline: { source: o.config ?? '<defaults>', name: baseline.campaign.name },
    candidate: { source: compare, name: candidate.campaign.name },
  });
  const file = join(o.out, 'compare.json');
  await writeFile(file, `${JSON.stringify(backtest, null, 2)}\n`);
  return { baseline, candidate, backtest, file };
}
