/**
 * `scenestream run --instances N` in production mode: N instances of the Kafka job on one machine,
 * one child process each (the same CLI, forked), in one consumer group. They share the partitions as
 * instances on separate machines would (runtime/kafka/assigner.ts), so N processes use N cores.
 *
 * - **Ports.** Child `i` (0-based) gets `HTTP_PORT` = base + i, the base being `HTTP_PORT` (default
 *   9464), so every instance serves its own `/metrics` and `/healthz`; `HTTP_PORT=0` gives each a free
 *   port. It also gets `SCENESTREAM_INSTANCE=i`.
 * - **Logs.** Every line a child writes is written again on the same stream, tagged `[instance i] `.
 * - **Signals.** SIGINT and SIGTERM are forwarded to every child, which stops gracefully (checkpoints
 *   and releases its tasks); the supervisor exits 0 when all have exited 0.
 * - **Failures.** A child that exits on its own, or exits non-zero when asked to stop, fails the run:
 *   the supervisor says which one and how in one line, stops the others with SIGTERM, and exits 1.
 *   A child still running `stopTimeoutMs` after SIGTERM is killed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ssError } from '../schemas/errors.js';
import { loadHttpConfig } from './http/server.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface InstancesOptions {
  /** How many children (a positive integer). */
  readonly instances: number;
  /** The module each child runs (the CLI) and its arguments. */
  readonly entry: string;
  readonly args: readonly string[];
  /** The children's environment before {@link instanceEnv} (default `process.env`). */
  readonly env?: Env;
  /** Node options of the children (default `process.execArgv`, as `fork` does). */
  readonly execArgv?: readonly string[];
  /** Where the children's tagged lines and the supervisor's own go (default: this process's stdout and stderr). */
  readonly stdout?: (line: string) => void;
  readonly stderr?: (line: string) => void;
  /** How long a child may take to stop after SIGTERM before it gets SIGKILL (default 30 s). */
  readonly stopTimeoutMs?: number;
}

export interface Instances {
  /** The children's process ids, by instance. */
  readonly pids: readonly number[];
  /** Forwards `signal` to every child still running: a requested stop. */
  signal(signal: NodeJS.Signals): void;
  /** The supervisor's exit code once every child has exited: 0 if all stopped cleanly when asked, else 1. */
  readonly exited: Promise<number>;
}

/** The environment of child `i`: its own HTTP port (base + i; 0 stays 0) and its index. */
export function instanceEnv(env: Env, i: number, instances: number): Record<string, string | undefined> {
  const base = loadHttpConfig(env).port;
  if (base !== 0 && base + instances - 1 > 65535) {
    throw ssError('SS_ERR_CONFIG', `HTTP_PORT ${base} leaves no room for ${instances} instances (ports ${base}-${base + instances - 1})`, { field: 'HTTP_PORT' });
  }
  return { ...env, HTTP_PORT: String(base === 0 ? 0 : base + i), SCENESTREAM_INSTANCE: String(i) };
}

function forwardLines(from: Readable | null, tag: string, to: (line: string) => void): void {
  if (from === null) return;
  createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => to(`${tag}${line}`));
}

const how = (code: number | null, signal: NodeJS.Signals | null): string => (signal !== null ? `by ${signal}` : `with code ${code}`);

/** Forks the children and supervises them; see the module comment. */
export function startInstances(opts: InstancesOptions): Instances {
  if (!Number.isInteger(opts.instances) || opts.instances < 1) throw ssError('SS_ERR_CONFIG', `--instances must be a positive integer, got ${opts.instances}`, { field: 'instances' });
  const env = opts.env ?? process.env;
  const stdout = opts.stdout ?? ((l: string) => void process.stdout.write(`${l}\n`));
  const stderr = opts.stderr ?? ((l: string) => void process.stderr.write(`${l}\n`));
  const stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
  const envs = Array.from({ length: opts.instances }, (_, i) => instanceEnv(env, i, opts.instances));

  let stopping = false;
  let failed = false;
  const running = new Set<ChildProcess>();
  const stopAll = (signal: NodeJS.Signals): void => {
    stopping = true;
    for (const c of running) c.kill(signal);
    // Not unref'd on purpose: the supervisor must outlive a child that ignores SIGTERM, to kill it.
    const killer = setTimeout(() => {
      for (const c of running) {
        stderr(`scenestream: instance ${children.indexOf(c)} did not stop within ${stopTimeoutMs} ms; killing it`);
        c.kill('SIGKILL');
      }
    }, stopTimeoutMs);
    void exited.then(() => clearTimeout(killer));
  };

  const children = envs.map((childEnv, i) => {
    const child = fork(opts.entry, [...opts.args], { env: childEnv, execArgv: [...(opts.execArgv ?? process.execArgv)], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    running.add(child);
    forwardLines(child.stdout, `[instance ${i}] `, stdout);
    forwardLines(child.stderr, `[instance ${i}] `, stderr);
    return child;
  });

  const exited = Promise.all(
    children.map(
      (child, i) =>
        new Promise<void>((resolve) => {
          child.once('error', (e) => stderr(`scenestream: instance ${i}: ${e.message}`));
          child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
            running.delete(child);
            if (!stopping) {
              failed = true;
              stderr(`scenestream: instance ${i} exited ${how(code, signal)} while running; stopping the other ${running.size} instance(s)`);
              stopAll('SIGTERM');
            } else if (code !== 0) {
              failed = true;
              stderr(`scenestream: instance ${i} exited ${how(code, signal)} while stopping`);
            }
            resolve();
          });
        }),
    ),
  ).then(() => (failed ? 1 : 0));

  return {
    pids: children.map((c) => c.pid ?? -1),
    signal: (signal) => stopAll(signal),
    exited,
  };
}
