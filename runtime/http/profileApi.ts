/**
 * The profile API (issue 13, item 5) on the engine's HTTP server: the live customer profiles
 * (`pipelines/profile.ts`) for marketing tools, behind bearer tokens.
 *
 * | route | role | answers |
 * |---|---|---|
 * | `GET /customers/:id` | reader | the profile, its RFM segment and campaign segments, open cart, pending scene timers, cooldowns |
 * | `GET /segments` | reader | the segments and their sizes (the RFM segments for now) |
 * | `GET /segments/:name/customers?cursor=&limit=` | reader | the customers of a segment, by customerId, paged |
 * | `POST /campaign/reload` | admin | reloads the campaign file (as its watcher does), answers the live campaign |
 *
 * An `admin` token may use the reader routes too. Errors answer the status of their code in the
 * one catalogue (`schemas/errors.ts`) with the JSON body `{code, message, field?}`: no or an unknown
 * token 401 (`SS_ERR_HTTP_UNAUTHORIZED`), a reader on an admin route 403 (`SS_ERR_HTTP_FORBIDDEN`),
 * a bad parameter 400 (`SS_ERR_HTTP_BAD_REQUEST`), an unknown customer or no campaign file 404
 * (`SS_ERR_HTTP_NOT_FOUND`), a rejected campaign 422 (`SS_ERR_CONFIG`), the store unreachable 503
 * (`SS_ERR_SERVICE_UNAVAILABLE`).
 *
 * Tokens are compared in constant time (sha256 digests, `timingSafeEqual`, every configured token
 * tried). Nothing here logs; the server's request logging is off (no token or customer id in logs).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { Campaign } from '../../pipelines/campaign.js';
import { LAST_TRIGGER_FIELD, type LiveProfile } from '../../pipelines/profile.js';
import { isRfmSegment, RFM_SEGMENTS } from '../../pipelines/rfm.js';
import { segmentFacts, segmentsOf } from '../../pipelines/segments.js';
import { ERRORS, isScenestreamError, ssError, type ErrorCode, type ScenestreamError } from '../../schemas/errors.js';
import { SCENES, type Result, type Scene } from '../../schemas/index.js';
import type { ProfileStore } from '../profileStore.js';

export type ApiRole = 'reader' | 'admin';
const ROLES: readonly ApiRole[] = ['reader', 'admin'];

/** Configured tokens: the sha256 of each, with its role. */
export interface ApiTokens {
  readonly tokens: ReadonlyArray<{ readonly digest: Buffer; readonly role: ApiRole }>;
}

/** The shortest token accepted in configuration. */
export const MIN_TOKEN_LENGTH = 16;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

function parseToken(role: string, token: string, field: string): { digest: Buffer; role: ApiRole } {
  if (!(ROLES as readonly string[]).includes(role)) throw ssError('SS_ERR_CONFIG', `${field}: role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}`, { field });
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) throw ssError('SS_ERR_CONFIG', `${field}: a token must be at least ${MIN_TOKEN_LENGTH} characters with no spaces`, { field });
  return { digest: sha256(token), role: role as ApiRole };
}

/**
 * The API's tokens from the environment: `API_TOKENS` (`role:token` pairs separated by commas,
 * e.g. `reader:r3ad-0nly-t0ken-123,admin:...`) and `API_TOKENS_FILE` (a JSON array of
 * `{"role", "token"}`), both optional and merged. None configured: every API request is 401.
 * A bad entry is `SS_ERR_CONFIG` naming it (never its token).
 */
export function loadApiTokens(env: Readonly<Record<string, string | undefined>> = process.env): ApiTokens {
  const tokens: Array<{ digest: Buffer; role: ApiRole }> = [];
  const inline = env['API_TOKENS']?.trim() ?? '';
  if (inline !== '') {
    inline.split(',').forEach((pair, i) => {
      const at = pair.indexOf(':');
      if (at < 0) throw ssError('SS_ERR_CONFIG', `API_TOKENS entry ${i} must be role:token`, { field: 'API_TOKENS' });
      tokens.push(parseToken(pair.slice(0, at).trim(), pair.slice(at + 1).trim(), 'API_TOKENS'));
    });
  }
  const file = env['API_TOKENS_FILE']?.trim() ?? '';
  if (file !== '') {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw ssError('SS_ERR_CONFIG', `API_TOKENS_FILE ${file}: ${e instanceof Error ? e.message : String(e)}`, { field: 'API_TOKENS_FILE' });
    }
    if (!Array.isArray(raw)) throw ssError('SS_ERR_CONFIG', `API_TOKENS_FILE ${file} must hold a JSON array of {"role", "token"}`, { field: 'API_TOKENS_FILE' });
    raw.forEach((e: unknown, i) => {
      const o = (typeof e === 'object' && e !== null ? e : {}) as { role?: unknown; token?: unknown };
      tokens.push(parseToken(String(o.role), typeof o.token === 'string' ? o.token : '', `API_TOKENS_FILE.${i}`));
    });
  }
  return { tokens };
}

/** The role of a presented token, or undefined; every configured token is compared, in constant time each. */
export function roleOf(tokens: ApiTokens, presented: string): ApiRole | undefined {
  const d = sha256(presented);
  let role: ApiRole | undefined;
  for (const t of tokens.tokens) if (timingSafeEqual(d, t.digest) && role !== 'admin') role = t.role;
  return role;
}

export interface ProfileApiOptions {
  readonly store: ProfileStore;
  readonly tokens: ApiTokens;
  /** The live campaign (the cooldowns of `GET /customers/:id`). */
  readonly campaign: () => Campaign;
  /** Reloads the campaign file; absent when the engine runs without one (`POST /campaign/reload` is then 404). */
  readonly reload?: () => Result<Campaign>;
}

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;
const MAX_ID_LENGTH = 256;

function send(reply: FastifyReply, e: ScenestreamError): FastifyReply {
  const status = (ERRORS[e.code] as { status?: number }).status ?? 500;
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .send({ code: e.code, message: e.message, ...(e.field !== undefined ? { field: e.field } : {}) });
}

const fail = (code: ErrorCode, message: string, field?: string): ScenestreamError => ssError(code, message, field === undefined ? {} : { field });

/** Whether a request may go on; answers 401 or 403 itself when not. */
function authorised(req: FastifyRequest, reply: FastifyReply, tokens: ApiTokens, needs: ApiRole): boolean {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (m === null) {
    void send(reply.header('www-authenticate', 'Bearer'), fail('SS_ERR_HTTP_UNAUTHORIZED', 'this route needs an Authorization: Bearer <token> header'));
    return false;
  }
  const role = roleOf(tokens, m[1]!);
  if (role === undefined) {
    void send(reply.header('www-authenticate', 'Bearer error="invalid_token"'), fail('SS_ERR_HTTP_UNAUTHORIZED', 'the bearer token is not valid'));
    return false;
  }
  if (needs === 'admin' && role !== 'admin') {
    void send(reply, fail('SS_ERR_HTTP_FORBIDDEN', `this route needs the admin role; the token has ${role}`));
    return false;
  }
  return true;
}

/** Pending scene timers and cooldowns of a profile, with the campaign's current parameters. */
function timersAndCooldowns(p: LiveProfile, c: Campaign) {
  const s = c.params.scenes;
  const cooldownMs: Partial<Record<Scene, number>> = {
    browse_abandonment: s.browseAbandonment.cooldownMs,
    store_proximity: s.storeProximity.cooldownMs,
    dormant_reactivation: s.dormantReactivation.cooldownMs,
  };
  const timers = p.cartDeadline !== undefined ? [{ scene: 'cart_abandonment' as Scene, at: p.cartDeadline }] : [];
  const cooldowns = SCENES.flatMap((scene) => {
    const last = p[LAST_TRIGGER_FIELD[scene]] as number | undefined;
    const ms = cooldownMs[scene];
    if (last === undefined) return [];
    const until = ms === undefined ? null : last + ms;
    return [{ scene, lastTriggerTs: last, until, active: until !== null && until > p.asOf }];
  });
  return { timers, cooldowns };
}

/** The routes above, as a fastify plugin (encapsulated: its auth applies to its routes only). */
export const profileApiPlugin: FastifyPluginCallback<ProfileApiOptions> = (app, opts, done) => {
  const guarded =
    <P>(role: ApiRole, handler: (req: FastifyRequest<{ Params: P; Querystring: Record<string, string | undefined> }>) => Promise<unknown>) =>
    async (req: FastifyRequest<{ Params: P; Querystring: Record<string, string | undefined> }>, reply: FastifyReply) => {
      if (!authorised(req, reply, opts.tokens, role)) return reply;
      try {
        const body = await handler(req);
        return reply.header('cache-control', 'no-store').send(body);
      } catch (e) {
        if (isScenestreamError(e)) return send(reply, e);
        return send(reply, ssError('SS_ERR_SERVICE_UNAVAILABLE', `the profile store failed: ${e instanceof Error ? e.message : String(e)}`));
      }
    };

  app.get<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>(
    '/customers/:id',
    guarded<{ id: string }>('reader', async (req) => {
      const id = req.params.id;
      if (id === '' || id.length > MAX_ID_LENGTH) throw fail('SS_ERR_HTTP_BAD_REQUEST', `a customer id has 1 to ${MAX_ID_LENGTH} characters`, 'id');
      const p = await opts.store.get(id);
      if (p === undefined) throw fail('SS_ERR_HTTP_NOT_FOUND', 'no profile for this customer (the engine has seen no event of it)', 'id');
      const campaign = opts.campaign();
      return {
        customerId: p.customerId,
        asOf: p.asOf,
        segment: p.segment ?? null,
        // The live campaign's named segments the customer is in, judged on this profile as of its asOf.
        segments: segmentsOf(campaign.segments, segmentFacts(p)),
        rfm: { recency: p.recencyScore, frequency: p.frequencyScore, monetary: p.monetaryScore },
        cart: { items: p.cartItems, quantity: p.cartQuantity, productIds: p.cartProductIds },
        ...timersAndCooldowns(p, campaign),
        profile: p,
      };
    }),
  );

  app.get(
    '/segments',
    guarded<Record<string, never>>('reader', async () => {
      const sizes = await opts.store.segmentSizes();
      // `kind` tells the RFM segments from the campaign's named segments, which will join this list.
      return { segments: RFM_SEGMENTS.map((name) => ({ name, kind: 'rfm', customers: sizes[name] })) };
    }),
  );

  app.get<{ Params: { name: string }; Querystring: Record<string, string | undefined> }>(
    '/segments/:name/customers',
    guarded<{ name: string }>('reader', async (req) => {
      const name = req.params.name;
      if (!isRfmSegment(name)) throw fail('SS_ERR_HTTP_BAD_REQUEST', `unknown segment ${JSON.stringify(name.slice(0, 64))}; the segments are ${RFM_SEGMENTS.join(', ')}`, 'name');
      const limitText = req.query.limit;
      const limit = limitText === undefined || limitText === '' ? DEFAULT_PAGE_LIMIT : /^\d{1,4}$/.test(limitText) ? Number(limitText) : NaN;
      if (!(limit >= 1 && limit <= MAX_PAGE_LIMIT)) throw fail('SS_ERR_HTTP_BAD_REQUEST', `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`, 'limit');
      const cursor = req.query.cursor === undefined || req.query.cursor === '' ? null : req.query.cursor;
      if (cursor !== null && cursor.length > MAX_ID_LENGTH) throw fail('SS_ERR_HTTP_BAD_REQUEST', `cursor must be at most ${MAX_ID_LENGTH} characters`, 'cursor');
      const page = await opts.store.segmentMembers(name, cursor, limit);
      return { segment: name, customerIds: page.customerIds, next: page.next };
    }),
  );

  app.post(
    '/campaign/reload',
    guarded<Record<string, never>>('admin', async () => {
      if (opts.reload === undefined) throw fail('SS_ERR_HTTP_NOT_FOUND', 'the engine runs without a campaign file (--config): nothing to reload');
      const r = opts.reload();
      if (!r.ok) throw r.error;
      return { name: r.value.name, digest: r.value.digest, source: r.value.source };
    }),
  );
  done();
};
