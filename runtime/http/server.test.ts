import { afterEach, describe, expect, it } from 'vitest';
import { ScreenHub } from '../channels/screens.js';
import { Metrics } from '../metrics.js';
import { buildServer, DEFAULT_HTTP_PORT, loadHttpConfig, startServer, type RunningServer } from './server.js';

describe('loadHttpConfig', () => {
  it('defaults to 127.0.0.1:9464, the port dashboards/prometheus.yml scrapes', async () => {
    expect(loadHttpConfig({})).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(DEFAULT_HTTP_PORT).toBe(9464);
    const { readFile } = await import('node:fs/promises');
    const prom = await readFile(new URL('../../dashboards/prometheus.yml', import.meta.url), 'utf8');
    expect(prom).toContain(`engine:${DEFAULT_HTTP_PORT}`);
  });

  it('reads HTTP_PORT and HTTP_HOST; empty is unset; a bad port names HTTP_PORT', () => {
    expect(loadHttpConfig({ HTTP_PORT: '8080', HTTP_HOST: '0.0.0.0' })).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(loadHttpConfig({ HTTP_PORT: ' ', HTTP_HOST: '' })).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadHttpConfig({ HTTP_PORT: '0' }).port).toBe(0);
    for (const bad of ['http', '65536', '-1', '80.5']) {
      expect(() => loadHttpConfig({ HTTP_PORT: bad })).toThrow(expect.objectContaining({ code: 'SS_ERR_CONFIG', field: 'HTTP_PORT' }));
    }
  });
});

describe('HTTP server', () => {
  const running: RunningServer[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) await r.close();
  });

  it('starts without a process warning (no deprecated fastify option: FSTDEP022 printed at every start)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      running.push(await startServer({ metrics: new Metrics({ processMetrics: false }), listen: { host: '127.0.0.1', port: 0 } }));
      await new Promise((r) => setImmediate(r)); // process warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('/metrics serves the registry in Prometheus text format, brought up to date before each scrape', async () => {
    const metrics = new Metrics({ processMetrics: false });
    let scrapes = 0;
    const app = await buildServer({
      metrics,
      beforeScrape: () => {
        scrapes++;
        metrics.triggers.inc({ scene: 'commute' });
      },
    });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(metrics.registry.contentType);
    expect(res.body).toContain('scenestream_triggers_total{scene="commute"} 1');
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toContain('scenestream_triggers_total{scene="commute"} 2');
    expect(scrapes).toBe(2);
    await app.close();
  });

  it('/healthz answers 200 when healthy, 503 when not or when the check throws', async () => {
    let state: 'ok' | 'bad' | 'throw' = 'ok';
    const app = await buildServer({
      metrics: new Metrics({ processMetrics: false }),
      health: () => {
        if (state === 'throw') throw new Error('executor gone');
        return { ok: state === 'ok', details: { campaign: 'abc123' } };
      },
    });
    const ok = await app.inject({ method: 'GET', url: '/healthz' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'ok', campaign: 'abc123' });
    state = 'bad';
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(503);
    state = 'throw';
    const thrown = await app.inject({ method: 'GET', url: '/healthz' });
    expect(thrown.statusCode).toBe(503);
    expect(thrown.json()).toMatchObject({ status: 'unhealthy', error: 'executor gone' });
    await app.close();
  });

  it('/readyz answers from its own check, separately from /healthz, and falls back to health', async () => {
    let down: string[] = [];
    const app = await buildServer({
      metrics: new Metrics({ processMetrics: false }),
      health: () => ({ ok: true }),
      ready: () => ({ ok: down.length === 0, details: { down } }),
    });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ready', down: [] });
    down = ['redis'];
    const notReady = await app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toMatchObject({ status: 'not ready', down: ['redis'] });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.close();
    const plain = await buildServer({ metrics: new Metrics({ processMetrics: false }), health: () => ({ ok: false }) });
    expect((await plain.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    await plain.close();
  });

  it('serves the screens only when given a hub', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const without = await buildServer({ metrics });
    expect((await without.inject({ method: 'GET', url: '/stores/s1' })).statusCode).toBe(404);
    await without.close();
    const hub = new ScreenHub({ stores: [{ storeId: 's1', name: 'One' }] });
    const withHub = await buildServer({ metrics, screens: hub });
    const page = await withHub.inject({ method: 'GET', url: '/stores/s1' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1 id="store">One</h1>');
    await withHub.close();
  });

  it('listens on 127.0.0.1 and counts open screen connections in /metrics', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const hub = new ScreenHub({ stores: [{ storeId: 's1', name: 'One' }] });
    const r = await startServer({ metrics, screens: hub, listen: { host: '127.0.0.1', port: 0 } });
    running.push(r);
    expect(r.url).toBe(`http://127.0.0.1:${r.port}`);
    expect(r.port).toBeGreaterThan(0);
    const ac = new AbortController();
    const stream = await fetch(`${r.url}/stores/s1/events`, { signal: ac.signal });
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(await (await fetch(`${r.url}/metrics`)).text()).toContain('scenestream_screen_connections 1');
    ac.abort();
    const deadline = Date.now() + 3_000;
    while (hub.subscribers('s1') > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
    expect(await (await fetch(`${r.url}/metrics`)).text()).toContain('scenestream_screen_connections 0');
  });

  it('a port in use is SS_ERR_CONFIG naming HTTP_PORT', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const first = await startServer({ metrics, listen: { host: '127.0.0.1', port: 0 } });
    running.push(first);
    await expect(startServer({ metrics, listen: { host: '127.0.0.1', port: first.port } })).rejects.toMatchObject({ code: 'SS_ERR_CONFIG', field: 'HTTP_PORT' });
  });
});
