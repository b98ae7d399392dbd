/**
 * Progress of a long send: on a terminal, one line redrawn in place with `\r` (events sent, rate,
 * elapsed) at most every 200 ms; elsewhere (pipes, CI logs) nothing until a one-line final summary.
 */

import type { Clock } from '../engine/clock.js';

export interface ProgressTarget {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

const fmt = new Intl.NumberFormat('en-US');

export function formatProgress(sent: number, elapsedMs: number): string {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(sent / seconds) : 0;
  return `sent ${fmt.format(sent)} events  ${fmt.format(rate)} ev/s  elapsed ${seconds.toFixed(1)} s`;
}

export class Progress {
  private readonly startedAt: number;
  private lastDraw = -Infinity;
  private drawn = false;

  constructor(
    private readonly target: ProgressTarget,
    private readonly clock: Clock,
    private readonly label = 'simulator',
  ) {
    this.startedAt = clock.now();
  }

  update(sent: number): void {
    if (this.target.isTTY !== true) return;
    const now = this.clock.now();
    if (now - this.lastDraw < 200) return;
    this.lastDraw = now;
    // \x1b[K clears what a longer previous line left behind.
    this.target.write(`\r${this.label}: ${formatProgress(sent, now - this.startedAt)}\x1b[K`);
    this.drawn = true;
  }

  /** The final summary line; also ends the redrawn line on a terminal. */
  finish(sent: number, detail = ''): void {
    const line = `${this.label}: ${formatProgress(sent, this.clock.now() - this.startedAt)}${detail === '' ? '' : `  ${detail}`}`;
    this.target.write(this.drawn ? `\r${line}\x1b[K\n` : `${line}\n`);
  }
}
