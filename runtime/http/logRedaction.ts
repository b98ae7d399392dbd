/**
 * The HTTP server's request logging (fastify's pino) without secrets or customer ids (issue 13,
 * item 5): no bearer token and no customer id reaches a log line.
 *
 * - `redact`: the credential headers wherever a line carries headers (`req.headers.authorization`,
 *   cookies) are replaced by `[redacted]`, should any serializer or route log them.
 * - The request serializer logs the URL with the customer id of `/customers/:id` and the `cursor`
 *   of a segment page (a customer id) replaced, and no headers.
 * - Messages (fastify's `Route GET:/customers/<id>/x not found`, an error's text) are scrubbed the
 *   same way, and of anything after `Bearer `, by a pino `logMethod` hook: a path that names a
 *   customer is masked whichever route matched, so a typo in a path leaks nothing either.
 */
import type { FastifyRequest, FastifyServerOptions } from 'fastify';

export const REDACTED = '[redacted]';

/** Credential headers, wherever a log line carries headers. */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'res.headers["set-cookie"]',
];

const CUSTOMER_PATH = /(\/customers\/)[^/?#\s"]+/g;
const CURSOR_PARAM = /([?&]cursor=)[^&#\s"]*/g;
const BEARER = /(Bearer\s+)[^\s",]+/gi;

/** A URL or any text with its customer ids and bearer tokens masked. */
export function scrubText(text: string): string {
  return text.replace(CUSTOMER_PATH, `$1${REDACTED}`).replace(CURSOR_PARAM, `$1${REDACTED}`).replace(BEARER, `$1${REDACTED}`);
}

/** The request as logged: method, scrubbed URL, host and peer; never headers. */
interface LoggedRequest {
  readonly [field: string]: unknown;
  readonly method?: string;
  readonly url?: string;
  readonly host?: string;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

/** Where the log lines go and from which level (tests capture them). */
export interface ServerLogOptions {
  readonly level?: string;
  /** pino's destination (default stdout). */
  readonly stream?: { write(line: string): void };
}

/** fastify's `logger` option: pino with the redaction above. */
export function redactingLogger(o: ServerLogOptions = {}): NonNullable<FastifyServerOptions['logger']> {
  return {
    level: o.level ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: {
      // Partial<>: a line may log any object as `req`; whatever it holds, only these fields pass.
      req: (req: Partial<FastifyRequest>): LoggedRequest => ({
        method: req.method,
        url: typeof req.url === 'string' ? scrubText(req.url) : undefined,
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
    hooks: {
      logMethod(args, method) {
        // Strings only (the message and its interpolation arguments); objects go through redact and the serializers.
        const scrubbed = args.map((a: unknown) => (typeof a === 'string' ? scrubText(a) : a)) as Parameters<typeof method>;
        return method.apply(this, scrubbed);
      },
    },
    ...(o.stream !== undefined ? { stream: o.stream } : {}),
  };
}
