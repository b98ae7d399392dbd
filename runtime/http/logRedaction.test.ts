import { describe, expect, it } from 'vitest';
import { MemoryProfileStore } from '../profileStore.js';
import { Metrics } from '../metrics.js';
import { scrubText } from './logRedaction.js';
import { loadApiTokens } from './profileApi.js';
import { buildServer, loadHttpConfig } from './server.js';
import { liveProfile } from '../../testkit/liveProfile.js';
import { DEFAULT_CAMPAIGN } from '../../pipelines/campaign.js';

const READER = 'reader-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';
const CUSTOMER = 'cust-4711-secret';

const profile = liveProfile(CUSTOMER, { segment: 'new_customers' });

describe('HTTP server logs: no bearer token, no customer id', () => {
  it('scrubs customer paths, cursors and bearer tokens from text', () => {
    expect(scrubText('/customers/c1?x=1')).toBe('/customers/[redacted]?x=1');
    expect(scrubText('Route GET:/customers/c1/extra not found')).toBe('Route GET:/customers/[redacted]/extra not found');
    expect(scrubText('/segments/lost/customers?limit=5&cursor=c9')).toBe('/segments/lost/customers?limit=5&cursor=[redacted]');
    expect(scrubText('authorization: Bearer abc.def')).toBe('authorization: Bearer [redacted]');
  });

  it('logs every request of the profile API, and no line carries a token or the customer id', async () => {
    const lines: string[] = [];
    const store = new MemoryProfileStore();
    store.put(profile);
    const app = await buildServer({
      metrics: new Metrics({ processMetrics: false }),
      logger: { level: 'trace', stream: { write: (line: string) => void lines.push(line) } },
      profiles: {
        store,
        tokens: loadApiTokens({ API_TOKENS: `reader:${READER},admin:${ADMIN}` }),
        campaign: () => DEFAULT_CAMPAIGN,
      },
    });
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    const answers = await Promise.all([
      app.inject({ url: `/customers/${CUSTOMER}`, headers: bearer(READER) }),
      app.inject({ url: `/customers/${CUSTOMER}`, headers: bearer(`${READER}x`) }),
      app.inject({ url: `/customers/${CUSTOMER}x`, headers: bearer(READER) }),
      app.inject({ url: `/customers/${CUSTOMER}/nothing-here`, headers: bearer(READER) }),
      app.inject({ url: `/segments/new_customers/customers?limit=1&cursor=${CUSTOMER}`, headers: bearer(READER) }),
      app.inject({ method: 'POST', url: '/campaign/reload', headers: bearer(READER) }),
      app.inject({ method: 'POST', url: '/campaign/reload', headers: bearer(ADMIN) }),
    ]);
    await app.close();
    expect(answers.map((a) => a.statusCode)).toEqual([200, 401, 404, 404, 200, 403, 404]);
    expect(lines.length).toBeGreaterThanOrEqual(14); // a line in and a line out per request, at least
    const text = lines.join('');
    expect(text).toContain('/customers/[redacted]');
    expect(text).toContain('cursor=[redacted]');
    for (const secret of [READER, ADMIN, CUSTOMER]) expect(text).not.toContain(secret);
  });

  it('redacts the authorization header should a line carry the headers', async () => {
    const lines: string[] = [];
    const app = await buildServer({ metrics: new Metrics({ processMetrics: false }), logger: { stream: { write: (line: string) => void lines.push(line) } } });
    app.get('/echo', (req, reply) => {
      req.log.info({ req: { url: req.url, headers: req.headers } }, 'a request with its headers');
      req.log.info({ headers: req.headers }, 'raw headers');
      return reply.send('ok');
    });
    await app.inject({ url: '/echo', headers: { authorization: `Bearer ${READER}`, cookie: 'sid=1' } });
    await app.close();
    const text = lines.join('');
    expect(text).toContain('"authorization":"[redacted]"');
    expect(text).toContain('"msg":"a request with its headers"');
    expect(text).not.toContain(READER);
    expect(text).not.toContain('sid=1');
  });

  it('HTTP_LOG_LEVEL turns the logging on from a pino level; anything else is SS_ERR_CONFIG naming it', () => {
    expect(loadHttpConfig({ HTTP_LOG_LEVEL: 'info' }).logLevel).toBe('info');
    expect(loadHttpConfig({ HTTP_LOG_LEVEL: ' ' }).logLevel).toBeUndefined();
    expect(() => loadHttpConfig({ HTTP_LOG_LEVEL: 'verbose' })).toThrow(expect.objectContaining({ code: 'SS_ERR_CONFIG', field: 'HTTP_LOG_LEVEL' }));
  });
});
