/**
 * Vitest globalSetup of the `real` project: builds dist/ (the real tests run the compiled worker and
 * CLI), makes sure Kafka and Redis answer before any `*.real.test.ts` file runs, and afterwards stops only what it started itself.
 *
 * Services on loopback addresses are started with `scripts/services.sh <service> start`, which is
 * idempotent and reuses whatever already answers (a broker from `npm run services -- kafka start`,
 * `.ci/run`, or docker compose). Services configured on another host are only checked for
 * reachability. Anything that cannot be started fails the whole run: the real tests never skip
 * silently.
 */
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadServiceConfig, type HostPort } from '../runtime/config.js';

type Service = 'kafka' | 'redis';

const SCRIPT = fileURLToPath(new URL('../scripts/services.sh', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function services(service: Service, action: 'start' | 'stop' | 'status'): number {
  const result = spawnSync('bash', [SCRIPT, service, action], { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  if (result.error !== undefined) throw result.error;
  return result.status ?? 1;
}

function reachable({ host, port }: HostPort, timeoutMs = 5_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function hostPort(entry: string): HostPort {
  const colon = entry.lastIndexOf(':');
  return { host: entry.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(entry.slice(colon + 1)) };
}

function unavailable(service: Service, detail: string): Error {
  const ci = process.env['CI'] === 'true';
  const hint = ci
    ? 'CI=true: the real-service tests cannot run, so the run fails.'
    : `Start it by hand to see why (npm run services -- ${service} start), or point the configuration at a running one.`;
  return new Error(`${service} is not available for the real-service tests: ${detail}\n${hint}`);
}

/** Returns true when this call started the service (and so must stop it). */
async function ensure(service: Service, endpoints: HostPort[]): Promise<boolean> {
  if (!endpoints.every((e) => LOOPBACK.has(e.host))) {
    const answers = await Promise.all(endpoints.map((e) => reachable(e)));
    if (answers.some(Boolean)) return false;
    throw unavailable(service, `none of ${endpoints.map((e) => `${e.host}:${e.port}`).join(', ')} accepts connections`);
  }
  const wasUp = services(service, 'status') === 0;
  // Even when something answers, `start` checks that it really is the service and not a stranger.
  if (services(service, 'start') !== 0) throw unavailable(service, `scripts/services.sh ${service} start failed (output above)`);
  return !wasUp;
}

/** The real tests run the compiled worker and CLI, as production does: bring dist/ up to date first. */
function build(): void {
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status ?? result.signal}); the real tests run the compiled code`);
}

export default async function setup(): Promise<() => Promise<void>> {
  build();
  const config = loadServiceConfig();
  const redisUrl = new URL(config.redisUrl);
  const started: Service[] = [];
  try {
    if (await ensure('kafka', config.kafkaBrokers.map(hostPort))) started.push('kafka');
    const redis = { host: redisUrl.hostname.replace(/^\[|\]$/g, ''), port: Number(redisUrl.port || '6379') };
    if (await ensure('redis', [redis])) started.push('redis');
  } catch (e) {
    for (const s of started.reverse()) services(s, 'stop');
    throw e;
  }
  return async () => {
    for (const s of started.reverse()) services(s, 'stop');
  };
}
