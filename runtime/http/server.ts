/**
 * The engine's HTTP server (fastify 5): `/metrics` for Prometheus, `/healthz`, the in-store
 * screens (`/stores/:storeId`, `/stores/:storeId/events`), and the profile API (`profileApi.ts`:
 * `/customers/:id`, `/segments`, `/segments/:name/customers`, `POST /campaign/reload`; tokens
 * from `API_TOKENS` / `API_TOKENS_FILE`). Each is a plugin; {@link buildServer}
 * registers those it is given, {@link startServer} also listens.
 *
 * Where it listens comes from the environment, like `runtime/config.ts`:
 *
 * | variable    | default     | meaning |
 * |-------------|-------------|---------|
 * | `HTTP_PORT` | `9464`      | the port Prometheus scrapes (`dashboards/prometheus.yml`: `engine:9464`) |
 * | `HTTP_HOST` | `127.0.0.1` | the address; in a container set `0.0.0.0` so other containers reach it |
 */
import { redactingLogger, type ServerLogOptions } from './logRedaction.js';
import Fastify, { type FastifyInstance, type FastifyPluginCallback } from 'fastify';
import { ssError } from '../../schemas/errors.js';
import type { Metrics } from '../metrics.js';
import { ScreenHub, screensPlugin } from '../channels/screens.js';
import { profileApiPlugin, type ProfileApiOptions } from './profileApi.js';

export interface HttpConfig {
  readonly host: string;
  readonly port: number;
  /** `HTTP_LOG_LEVEL`: fastify's request logging from this level (redacted: `logRedaction.ts`); unset: off. */
  readonly logLevel?: string;
}

const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export const DEFAULT_HTTP_PORT = 9464;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads `HTTP_PORT`, `HTTP_HOST` and `HTTP_LOG_LEVEL`; an empty variable counts as unset; a bad port or level is `SS_ERR_CONFIG`. */
export function loadHttpConfig(env: Env = process.env): HttpConfig {
  const portText = env.HTTP_PORT?.trim() ?? '';
  const hostText = env.HTTP_HOST?.trim() ?? '';
  let port = DEFAULT_HTTP_PORT;
  if (portText !== '') {
    // 0 picks a free port (tests, several engines on one machine).
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw ssError('SS_ERR_CONFIG', `HTTP_PORT: '${portText}' is not a TCP port (0-65535)`, { field: 'HTTP_PORT' });
    port = Number(portText);
  }
  const level = env.HTTP_LOG_LEVEL?.trim() ?? '';
  if (level !== '' && !LOG_LEVELS.includes(level)) throw ssError('SS_ERR_CONFIG', `HTTP_LOG_LEVEL: '${level}' is not one of ${LOG_LEVELS.join(', ')}`, { field: 'HTTP_LOG_LEVEL' });
  return { host: hostText === '' ? '127.0.0.1' : hostText, port, ...(level !== '' ? { logLevel: level } : {}) };
}

/** The engine's health, as `/healthz` reports it. */
export interface HealthReport {
  readonly ok: boolean;
  /** Anything useful to an operator: the campaign digest, lags, the last error. JSON-safe. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface MetricsPluginOptions {
  readonly metrics: Metrics;
  /** Called before each scrape, to bring metrics up to date (`metrics.recordExecutorStats(executor)`). */
  readonly beforeScrape?: () => void;
}

/** `GET /metrics`: the registry in Prometheus text format. */
export const metricsPlugin: FastifyPluginCallback<MetricsPluginOptions> = (app, opts, done) => {
  app.get('/metrics', async (_req, reply) => {
    opts.beforeScrape?.();
    const body = await opts.metrics.registry.metrics();
    return reply.type(opts.metrics.registry.contentType).header('cache-control', 'no-store').send(body);
  });
  done();
};

export interface HealthPluginOptions {
  readonly health?: () => HealthReport;
  /** Readiness (`/readyz`): default the same as health. */
  readonly ready?: () => HealthReport;
}

/**
 * `GET /healthz` (liveness): 200 `{status: "ok"}` when healthy, 503 `{status: "unhealthy"}` otherwise.
 * `GET /readyz` (readiness): 200 `{status: "ready"}`, or 503 `{status: "not ready"}` with the reason
 * (for the production job: a service it depends on is down, or it has not joined its group yet).
 */
export const healthPlugin: FastifyPluginCallback<HealthPluginOptions> = (app, opts, done) => {
  const started = Date.now();
  const route = (path: string, check: (() => HealthReport) | undefined, ok: string, notOk: string) =>
    app.get(path, (_req, reply) => {
      let report: HealthReport;
      try {
        report = check?.() ?? { ok: true };
      } catch (e) {
        report = { ok: false, details: { error: e instanceof Error ? e.message : String(e) } };
      }
      return reply
        .code(report.ok ? 200 : 503)
        .header('cache-control', 'no-store')
        .send({ status: report.ok ? ok : notOk, uptimeSeconds: Math.round((Date.now() - started) / 1000), ...report.details });
    });
  route('/healthz', opts.health, 'ok', 'unhealthy');
  route('/readyz', opts.ready ?? opts.health, 'ready', 'not ready');
  done();
};

export interface ServerOptions {
  readonly metrics: Metrics;
  readonly beforeScrape?: () => void;
  readonly health?: () => HealthReport;
  /** Readiness for `/readyz` (default: `health`). */
  readonly ready?: () => HealthReport;
  /** More read-only JSON routes: path (fastify's, `:name` a parameter) -> the body of a GET, from the path's parameters (e.g. `/attribution`). */
  readonly json?: Readonly<Record<string, (params: Readonly<Record<string, string>>) => unknown>>;
  /** Serves the in-store screens when given. */
  readonly screens?: ScreenHub;
  /** Heartbeat of the screens' event streams; default 15,000 ms. */
  readonly screensHeartbeatMs?: number;
  /** Serves the profile API (`profileApi.ts`: customers, segments, campaign reload; bearer tokens) when given. */
  readonly profiles?: ProfileApiOptions;
  /**
   * fastify's request logging (pino); default off: the engine logs its own events. On (`true`, or
   * where to and from which level), it never logs a bearer token or a customer id
   * (`logRedaction.ts`).
   */
  readonly logger?: boolean | ServerLogOptions;
}

/** The app with its routes, not listening (`app.inject` in tests, or {@link startServer}). */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  // Path parameters up to 1,024 characters reach the routes, which bound their own (the profile API answers 400, not fastify's bare 414).
  const logger = opts.logger === undefined || opts.logger === false ? false : redactingLogger(opts.logger === true ? {} : opts.logger);
  // routerOptions: the top-level maxParamLength is deprecated (FSTDEP022, a warning at every start).
  const app = Fastify({ logger, routerOptions: { maxParamLength: 1024 } });
  await app.register(metricsPlugin, opts.beforeScrape === undefined ? { metrics: opts.metrics } : { metrics: opts.metrics, beforeScrape: opts.beforeScrape });
  await app.register(healthPlugin, { ...(opts.health !== undefined ? { health: opts.health } : {}), ...(opts.ready !== undefined ? { ready: opts.ready } : {}) });
  for (const [path, body] of Object.entries(opts.json ?? {})) {
    app.get<{ Params: Record<string, string> }>(path, (req, reply) => reply.header('cache-control', 'no-store').send(body(req.params)));
  }
  if (opts.screens !== undefined) {
    await app.register(screensPlugin, {
      hub: opts.screens,
      connections: opts.metrics.screenConnections,
      ...(opts.screensHeartbeatMs === undefined ? {} : { heartbeatMs: opts.screensHeartbeatMs }),
    });
  }
  if (opts.profiles !== undefined) await app.register(profileApiPlugin, opts.profiles);
  return app;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** Ends screen streams, stops listening. */
  close(): Promise<void>;
}

/**
 * Builds the server and listens on `listen` (default {@link loadHttpConfig} of `process.env`). A
 * port in use or not allowed is `SS_ERR_CONFIG` naming `HTTP_PORT`.
 */
export async function startServer(opts: ServerOptions & { readonly listen?: HttpConfig }): Promise<RunningServer> {
  const { host, port, logLevel } = opts.listen ?? loadHttpConfig();
  const app = await buildServer(opts.logger === undefined && logLevel !== undefined ? { ...opts, logger: { level: logLevel } } : opts);
  try {
    await app.listen({ host, port });
  } catch (cause) {
    await app.close();
    const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : '';
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw ssError('SS_ERR_CONFIG', `HTTP server cannot listen on ${host}:${port} (${code}); set HTTP_PORT / HTTP_HOST`, { field: code === 'EADDRNOTAVAIL' ? 'HTTP_HOST' : 'HTTP_PORT', cause });
    }
    throw cause;
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { app, port: bound, url: `http://${shownHost}:${bound}`, close: () => app.close() };
}
