import { ssError } from '../schemas/errors.js';

/**
 * The services a production instance depends on (Kafka, Redis, a delivery endpoint), as one
 * operator-facing view: whether each is reachable, since when, and the last error.
 *
 * - **Logs once per interval, not per attempt.** The first failure of an outage is logged at once,
 *   naming the service and where it is; while it lasts, one reminder per `logIntervalMs` with the
 *   number of failed attempts; its end once, with its duration.
 * - **Readiness.** {@link Dependencies.ready} is false while any service is down: `/readyz` answers
 *   503 naming them, so a load balancer or an orchestrator stops routing to the instance (liveness,
 *   `/healthz`, stays 200: restarting does not bring a service back, and nothing consumed is lost
 *   while the job retries).
 * - **Metrics** through the {@link DependencyObserver}: a 0/1 gauge per service and a failure counter.
 */

export interface DependencyState {
  /** Where the service is (`127.0.0.1:9092`, a Redis URL without its password). */
  readonly target: string;
  readonly up: boolean;
  /** When the current state began (clock ms). */
  readonly since: number;
  /** Failed attempts in the current outage. */
  readonly failures: number;
  readonly lastError?: string;
}

export interface DependencyObserver {
  up?(service: string, up: boolean): void;
  failure?(service: string): void;
}

export interface DependenciesOptions {
  readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  readonly observer?: DependencyObserver;
  /** Least time between two log lines about one outage (default 30 s). */
  readonly logIntervalMs?: number;
  /** Wall clock in ms (tests inject one). */
  readonly now?: () => number;
}

interface Entry {
  target: string;
  up: boolean;
  since: number;
  failures: number;
  lastError: string | undefined;
  lastLog: number;
}

export function errorText(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return errorText(e.errors[0]);
  if (e instanceof Error) return e.message !== '' ? e.message : e.name;
  return String(e);
}

/** A Redis URL fit for logs: the password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export class Dependencies {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly intervalMs: number;

  constructor(private readonly opts: DependenciesOptions) {
    this.now = opts.now ?? Date.now;
    this.intervalMs = opts.logIntervalMs ?? 30_000;
  }

  /** Declares a service; it counts as up until a failure says otherwise. */
  register(service: string, target: string): void {
    this.entries.set(service, { target, up: true, since: this.now(), failures: 0, lastError: undefined, lastLog: -Infinity });
    this.opts.observer?.up?.(service, true);
  }

  /** A failed attempt to reach `service`. */
  down(service: string, error: unknown): void {
    const e = this.entry(service);
    const now = this.now();
    e.failures++;
    e.lastError = errorText(error);
    this.opts.observer?.failure?.(service);
    if (e.up) {
      e.up = false;
      e.since = now;
      e.lastLog = now;
      this.opts.observer?.up?.(service, false);
      this.opts.log('error', `${service} at ${e.target} unreachable: ${e.lastError}; retrying`);
    } else if (now - e.lastLog >= this.intervalMs) {
      e.lastLog = now;
      this.opts.log('error', `${service} at ${e.target} still unreachable after ${seconds(now - e.since)} (${e.failures} failed attempts): ${e.lastError}`);
    }
  }

  /** `service` answered. */
  up(service: string): void {
    const e = this.entry(service);
    if (e.up) return;
    const now = this.now();
    this.opts.log('info', `${service} at ${e.target} reachable again after ${seconds(now - e.since)} (${e.failures} failed attempts)`);
    e.up = true;
    e.since = now;
    e.failures = 0;
    this.opts.observer?.up?.(service, true);
  }

  ready(): boolean {
    for (const e of this.entries.values()) if (!e.up) return false;
    return true;
  }

  /** The services that are down, by name. */
  downNow(): string[] {
    return [...this.entries].filter(([, e]) => !e.up).map(([s]) => s);
  }

  state(): Record<string, DependencyState> {
    return Object.fromEntries(
      [...this.entries].map(([s, e]) => [s, { target: e.target, up: e.up, since: e.since, failures: e.failures, ...(e.lastError !== undefined ? { lastError: e.lastError } : {}) }]),
    );
  }

  /**
   * Runs `attempt` until it succeeds, with exponential backoff, for at most `timeoutMs`: the
   * start-up of an instance whose services may still be coming up. Each failure goes through
   * {@link down}; past the deadline it throws `SS_ERR_SERVICE_UNAVAILABLE` naming the service,
   * where it is and the last error.
   */
  async reach<T>(
    service: string,
    attempt: () => Promise<T>,
    o: {
      readonly timeoutMs: number;
      /** When to give up (clock ms), if earlier than now + timeoutMs: a start-up budget shared with other services. */
      readonly deadline?: number;
      readonly initialMs?: number;
      readonly maxMs?: number;
      readonly sleep?: (ms: number) => Promise<void>;
    },
  ): Promise<T> {
    const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const deadline = Math.min(o.deadline ?? Infinity, this.now() + o.timeoutMs);
    let delay = o.initialMs ?? 250;
    for (;;) {
      try {
        const result = await attempt();
        this.up(service);
        return result;
      } catch (error) {
        this.down(service, error);
        const left = deadline - this.now();
        if (left <= 0) {
          const e = this.entry(service);
          throw ssError('SS_ERR_SERVICE_UNAVAILABLE', `${service} at ${e.target} unreachable for ${seconds(o.timeoutMs)} (${e.failures} attempts): ${e.lastError ?? ''}`, { cause: error });
        }
        await sleep(Math.min(delay, left));
        delay = Math.min(o.maxMs ?? 5_000, delay * 2);
      }
    }
  }

  private entry(service: string): Entry {
    const e = this.entries.get(service);
    if (e === undefined) throw new Error(`dependency ${service} was not registered`);
    return e;
  }
}

function seconds(ms: number): string {
  return ms < 10_000 && ms % 1000 !== 0 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
