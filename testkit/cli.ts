/**
 * Test helpers for the compiled CLI run as child processes (production mode and its services):
 * free ports, processes with their stderr kept, polling, and the HTTP routes' JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The package root (where `dist/runtime/cli.js` is). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A TCP port nothing listens on (bound then released). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** A base port with `n` consecutive free ports from it (an instance per port). */
export async function freePorts(n: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ok = await Promise.all(Array.from({ length: n }, (_, i) => free(base + i)));
    if (ok.every(Boolean)) return base;
  }
}

/** A child process with its output kept and its exit code awaited. */
export interface Running {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly stdout: () => string;
  readonly exit: Promise<number | null>;
}

/** Children started by {@link start} and not yet killed by {@link killAll}. */
const children: ChildProcess[] = [];

/** Starts `cmd args` in the package root with `env` over this process's environment. */
export function start(cmd: string, args: readonly string[], env: Record<string, string>): Running {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => void (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => void (out += d.toString()));
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, stderr: () => err, stdout: () => out, exit };
}

/** SIGKILLs every child still running (an `afterEach`). */
export function killAll(): void {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** `scenestream run` in production mode (compiled), with an ephemeral HTTP port. */
export function startJob(env: Record<string, string>): Running {
  return start(process.execPath, ['dist/runtime/cli.js', 'run'], { SCENESTREAM_MODE: 'kafka', HTTP_PORT: '0', OUTAGE_LOG_INTERVAL_MS: '60000', ...env });
}

/**
 * Polls `f` every 200 ms until it gives a value; throws after `timeoutMs`. A throw of `f` (a
 * server not listening yet) counts as no value; the last one is named if time runs out.
 */
export async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const v = await Promise.resolve()
      .then(f)
      .catch((e: unknown) => void (last = e));
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : String(last)})`}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether something accepts connections on the port (undefined while not, for {@link until}). */
export function listening(port: number): Promise<true | undefined> {
  return new Promise((res) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), res(true)));
    socket.once('error', () => res(undefined));
  });
}

/** The base URL a running job logged (`... health http://host:port/healthz`), once it has. */
export const healthUrl = (r: Running): string | undefined => /health (http:\/\/\S+)\/healthz/.exec(r.stderr())?.[1];

/** GET `url`: the status and the body, parsed when it is JSON. */
export async function get(url: string): Promise<{ status: number; body: Record<string, unknown> | string }> {
  const res = await fetch(url);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: res.status, body: text };
  }
}

/** A private `redis-server` on a free port (no persistence), up when this resolves. */
export async function startRedis(): Promise<{ readonly url: string; readonly port: number; readonly process: Running }> {
  const port = await freePort();
  const process = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {});
  await until('redis up', () => listening(port), 20_000);
  return { url: `redis://127.0.0.1:${port}`, port, process };
}

/** The sum over labels of a counter or gauge in a Prometheus text exposition. */
export function metricSum(text: string, name: string): number {
  let n = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) n += Number(m[1]);
  return n;
}

/**
 * Runs a command-line entry (`runtime/cli.ts`'s `main`) in this process: its exit code and what it
 * wrote to stdout (`console.log` included) and stderr, which are restored afterwards.
 */
export async function runCliInProcess(main: (argv: string[]) => Promise<number>, argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const log = console.log;
  process.stdout.write = ((chunk: string | Uint8Array) => ((out += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((err += String(chunk)), true)) as typeof process.stderr.write;
  console.log = (...a: unknown[]) => void (out += `${a.join(' ')}\n`);
  try {
    const code = await main([...argv]);
    return { code, out, err };
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    console.log = log;
  }
}
