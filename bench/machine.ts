import { cpus, totalmem } from 'node:os';

/** Describes the machine and the run, printed with every benchmark. */
export function machine(): string {
  const c = cpus();
  return [
    `cpu: ${c[0]?.model ?? 'unknown'} x${c.length}`,
    `memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `node: ${process.version}`,
    `date: ${new Date().toISOString()}`,
  ].join(', ');
}

/** Runs `fn` and returns seconds elapsed (wall clock, high resolution). */
export function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) {
    g();
    g();
  }
}

export function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)}k` : n.toFixed(0);
}
