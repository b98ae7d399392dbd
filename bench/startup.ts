/**
 * `npm run bench -- --startup [--base DIR]... [--customers N] [--days D] [--repeat R]`: start-up time of
 * `scenestream replay` on a 7-line input, the retail graph's in-process events/s and the replay CLI's
 * wall time on a simulated input, for each form of the code side by side in one run, interleaved
 * round by round so that the machine's load falls on all alike:
 *
 * - `<commit> (tsx)`: other checkouts (`--base DIR`, repeatable, e.g. `git worktree`s of older commits)
 *   run as their `scenestream` command ran them, through tsx, which compiles at start-up;
 * - `<commit>+ (tsx)`: this tree's sources through tsx (what tests and development use);
 * - `<commit>+ (compiled)`: this tree's `dist/` on plain Node (what `npm start` and the bin run).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, machine } from './machine.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Variant {
  readonly label: string;
  /** node arguments before the script. */
  readonly node: readonly string[];
  readonly cli: string;
  readonly replayModule: string;
  readonly depsModule: string;
}

export interface StartupOptions {
  /** Older checkouts to compare with, each run through tsx as its `scenestream` command ran it. */
  bases: readonly string[];
  customers: number;
  days: number;
  repeat: number;
}

function run(args: readonly string[], cwd: string): { seconds: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2_000)}`);
  return { seconds, stdout: r.stdout };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function commitOf(dir: string): string {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : dir;
}

/** Where an older checkout keeps the replay module (unchanged by the move of the engine core to engine/ and stream/). */
function replayOf(base: string): string {
  return join(base, 'runtime/replay.ts');
}

function variants(bases: readonly string[]): Variant[] {
  const out: Variant[] = [];
  for (const base of bases) {
    out.push({ label: `${commitOf(base)} (tsx)`, node: ['--import', 'tsx'], cli: join(base, 'runtime/cli.ts'), replayModule: replayOf(base), depsModule: join(base, 'pipelines/deps.ts') });
  }
  out.push({ label: `${commitOf(ROOT)}+ (tsx)`, node: ['--import', 'tsx'], cli: join(ROOT, 'runtime/cli.ts'), replayModule: join(ROOT, 'runtime/replay.ts'), depsModule: join(ROOT, 'pipelines/deps.ts') });
  out.push({ label: `${commitOf(ROOT)}+ (compiled)`, node: [], cli: join(ROOT, 'dist/runtime/cli.js'), replayModule: join(ROOT, 'dist/runtime/replay.js'), depsModule: join(ROOT, 'dist/pipelines/deps.js') });
  return out;
}

export async function runStartup(o: StartupOptions): Promise<void> {
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const bases = o.bases.map((b) => resolve(b));
  for (const base of bases) if (!existsSync(join(base, 'runtime/cli.ts'))) throw new Error(`--base ${base} has no runtime/cli.ts`);
  const tmp = mkdtempSync(join(tmpdir(), 'scenestream-startup-'));
  try {
    const sim = join(tmp, 'sim');
    run([join(ROOT, 'dist/runtime/cli.js'), 'simulate', '--dir', sim, '--customers', String(o.customers), '--days', String(o.days), '--seed', 'bench'], ROOT);
    const lines = readFileSync(join(sim, 'events.jsonl'), 'utf8').split('\n').filter((l) => l !== '');
    const seven = join(tmp, 'seven.jsonl');
    writeFileSync(seven, `${lines.slice(0, 7).join('\n')}\n`);
    const vs = variants(bases);
    const startup = new Map<string, number[]>();
    const graph = new Map<string, number[]>();
    const wall = new Map<string, number[]>();
    const push = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
    for (let round = 0; round < o.repeat; round++) {
      for (const v of vs) {
        for (let i = 0; i < 3; i++) {
          push(startup, v.label, run([...v.node, v.cli, 'replay', '--input', seven, '--out', join(tmp, 'out7')], ROOT).seconds);
        }
        const g = JSON.parse(run(['--expose-gc', ...v.node, join(ROOT, 'bench/graphRunner.mjs'), v.replayModule, v.depsModule, sim], ROOT).stdout) as { events: number; seconds: number };
        push(graph, v.label, g.events / g.seconds);
        const args = ['replay', '--input', join(sim, 'events.jsonl'), '--stores', join(sim, 'stores.json'), '--profiles', join(sim, 'profiles.jsonl'), '--out', join(tmp, 'out')];
        push(wall, v.label, run([...v.node, v.cli, ...args], ROOT).seconds);
      }
    }
    const { loadavg } = await import('node:os');
    console.log(`\n${machine()}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end`);
    console.log(`input: ${lines.length} simulated events (${o.customers} customers, ${o.days} days, seed bench); ${o.repeat} rounds, variants interleaved\n`);
    console.log('| form | replay start-up, 7-line input (median) | retail graph in process (median) | replay CLI wall, whole input (median) |');
    console.log('|---|---:|---:|---:|');
    for (const v of vs) {
      console.log(`| ${v.label} | ${median(startup.get(v.label)!).toFixed(2)} s | ${fmt(median(graph.get(v.label)!))} events/s | ${median(wall.get(v.label)!).toFixed(2)} s |`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
