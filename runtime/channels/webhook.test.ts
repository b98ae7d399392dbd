/**
 * The webhook against a real local HTTP server (node:http on 127.0.0.1, port 0) scripted per
 * request: answer a status, hang (for the timeout), or reset the connection. Backoff waits are
 * recorded, not slept; the only real waiting is the per-attempt timeout of the hanging case.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Offer } from '../../schemas/index.js';
import { Metrics } from '../metrics.js';
import { MemoryLedger } from './ledger.js';
import { backoffDelayMs, WebhookChannel, type WebhookOptions } from './webhook.js';

type Behaviour = number | 'hang' | 'reset' | { status: number; headers: Record<string, string> };

interface Received {
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
}

class ScriptedServer {
  readonly received: Received[] = [];
  private readonly script: Behaviour[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  /** What to answer once the script is used up. */
  fallback: Behaviour = 200;

  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        this.received.push({ method: req.method ?? '', headers: req.headers, body });
        this.answer(this.script.shift() ?? this.fallback, res);
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  private answer(b: Behaviour, res: ServerResponse): void {
    if (b === 'hang') return; // never answers; the client times out
    if (b === 'reset') {
      res.socket?.destroy();
      return;
    }
    const { status, headers } = typeof b === 'number' ? { status: b, headers: {} } : b;
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(status >= 400 ? `failure ${status}` : '');
  }

  then(...bs: Behaviour[]): this {
    this.script.push(...bs);
    return this;
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/offers`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const offer = (id = 'off_abc'): Offer => ({
  offerId: id,
  customerId: 'c1',
  scene: 'cart_abandonment',
  campaignId: 'cmp',
  channel: 'push',
  storeId: null,
  productIds: ['p1', 'p2'],
  discountPct: 10,
  title: 'Your cart is waiting',
  ts: 1_700_000_000_000,
  expiresAt: 1_700_086_400_000,
  triggerEventId: 'e1',
});

describe('WebhookChannel', () => {
  let server: ScriptedServer;
  let url: string;
  let delays: number[];
  let ledger: MemoryLedger;
  let metrics: Metrics;

  const channel = (o: Partial<WebhookOptions> = {}): WebhookChannel =>
    new WebhookChannel({
      url,
      ledger,
      metrics,
      timeoutMs: 2_000,
      maxAttempts: 4,
      baseDelayMs: 100,
      maxDelayMs: 1_000,
      sleep: (ms) => {
        delays.push(ms);
        return Promise.resolve();
      },
      ...o,
    });

  const count = async (name: string): Promise<number> => {
    const m = metrics.registry.getSingleMetric(name);
    const data = m === undefined ? undefined : await m.get();
    return data?.values.find((v) => v.labels.channel === 'webhook')?.value ?? 0;
  };

  beforeEach(async () => {
    server = new ScriptedServer();
    url = await server.start();
    delays = [];
    ledger = new MemoryLedger();
    metrics = new Metrics({ processMetrics: false });
  });
  afterEach(async () => {
    await server.stop();
  });

  it('deliverAll: at most `concurrency` deliveries at once, different customers in parallel, one customer in order; the first failure rejects after the rest settle', async () => {
    const ch = channel();
    let inFlight = 0;
    let most = 0;
    const order: string[] = [];
    vi.spyOn(ch, 'deliver').mockImplementation(async (o: Offer) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 20));
      order.push(o.offerId);
      inFlight--;
      if (o.offerId === 'fail') throw new Error('endpoint down');
      return { outcome: 'delivered', attempts: 1, status: 200 };
    });
    const offers = ['a', 'b', 'c', 'd', 'e', 'f'].flatMap((c) => [1, 2].map((n) => ({ ...offer(`${c}${n}`), customerId: c })));
    await ch.deliverAll(offers, 3);
    expect(most).toBe(3);
    expect(order).toHaveLength(12);
    for (const c of ['a', 'b', 'c', 'd', 'e', 'f']) expect(order.indexOf(`${c}1`)).toBeLessThan(order.indexOf(`${c}2`));
    // A failure: no new customer is started after it, and the batch rejects with it.
    order.length = 0;
    const failing = [{ ...offer('fail'), customerId: 'x' }, ...offers];
    await expect(ch.deliverAll(failing, 2)).rejects.toThrow('endpoint down');
    expect(order.length).toBeLessThan(failing.length);
  });

  it('POSTs the offer as JSON with its id as idempotency key, and counts the delivery', async () => {
    const r = await channel({ headers: { authorization: 'Bearer t' } }).deliver(offer());
    expect(r).toEqual({ outcome: 'delivered', attempts: 1, status: 200 });
    expect(server.received).toHaveLength(1);
    const [req] = server.received;
    expect(req!.method).toBe('POST');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['idempotency-key']).toBe('off_abc');
    expect(req!.headers.authorization).toBe('Bearer t');
    expect(JSON.parse(req!.body)).toEqual(offer());
    expect(delays).toEqual([]);
    expect(await count('scenestream_offers_delivered_total')).toBe(1);
  });

  it('retries a server that fails the first N requests (503, 500, reset), with growing backoff', async () => {
    server.then(503, 500, 'reset');
    const r = await channel().deliver(offer());
    expect(r).toEqual({ outcome: 'delivered', attempts: 4, status: 200 });
    expect(server.received).toHaveLength(4);
    expect(delays).toHaveLength(3);
    // Attempt n waits within [cap/2, cap), cap = 100 * 2^(n-1).
    delays.forEach((d, i) => {
      const cap = 100 * 2 ** i;
      expect(d).toBeGreaterThanOrEqual(cap / 2);
      expect(d).toBeLessThan(cap);
    });
  });

  it('times out a request that gets no answer and retries it', async () => {
    server.then('hang');
    const t0 = Date.now();
    const r = await channel({ timeoutMs: 150 }).deliver(offer());
    expect(r).toEqual({ outcome: 'delivered', attempts: 2, status: 200 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(server.received).toHaveLength(2);
  });

  it('retries 408 and 429, honouring Retry-After (bounded by maxDelayMs)', async () => {
    server.then(408, { status: 429, headers: { 'retry-after': '0' } }, { status: 429, headers: { 'retry-after': '30' } });
    const r = await channel().deliver(offer());
    expect(r).toMatchObject({ outcome: 'delivered', attempts: 4 });
    expect(delays[2]).toBe(1_000); // Retry-After 30 s, capped at maxDelayMs
  });

  it('gives up after maxAttempts on a server that keeps answering 500: SS_ERR_SINK_FAILED with the offer id, counted, claim released', async () => {
    server.fallback = 500;
    const ch = channel();
    const err = await ch.deliver(offer('off_500')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'SS_ERR_SINK_FAILED', retryable: true });
    expect((err as Error).message).toContain('offer off_500: not delivered');
    expect((err as Error).message).toContain('after 4 attempt(s): HTTP 500 "failure 500"');
    expect(server.received).toHaveLength(4);
    expect(delays).toHaveLength(3);
    expect(await count('scenestream_offer_delivery_failures_total')).toBe(1);
    expect(await count('scenestream_offers_delivered_total')).toBe(0);
    // Released: once the server recovers, the same offer is delivered.
    server.fallback = 200;
    expect(await ch.deliver(offer('off_500'))).toMatchObject({ outcome: 'delivered' });
  });

  it('does not retry a 400 (or any 4xx other than 408/429)', async () => {
    server.then(400);
    await expect(channel().deliver(offer())).rejects.toThrow(/SS_ERR_SINK_FAILED: .*offer off_abc: .*after 1 attempt\(s\): HTTP 400 "failure 400" \(not retried\)/);
    server.then(404);
    await expect(channel().deliver(offer('off_404'))).rejects.toThrow(/HTTP 404/);
    expect(server.received).toHaveLength(2);
    expect(delays).toEqual([]);
  });

  it('fails over a refused connection after its attempts', async () => {
    await server.stop();
    const dead = new ScriptedServer();
    url = await dead.start();
    await dead.stop(); // the port is now closed
    await expect(channel({ maxAttempts: 2 }).deliver(offer())).rejects.toThrow(/SS_ERR_SINK_FAILED: .*after 2 attempt\(s\): fetch failed: .*ECONNREFUSED/);
    server = new ScriptedServer();
    url = await server.start();
  });

  it('delivers an offer id once: a repeat, or a concurrent delivery, is a duplicate and sends nothing', async () => {
    const ch = channel();
    expect(await ch.deliver(offer('off_1'))).toMatchObject({ outcome: 'delivered' });
    expect(await ch.deliver(offer('off_1'))).toEqual({ outcome: 'duplicate' });
    const both = await Promise.all([ch.deliver(offer('off_2')), ch.deliver(offer('off_2'))]);
    expect(both.map((r) => r.outcome).sort()).toEqual(['delivered', 'duplicate']);
    // A second channel instance sharing the ledger (another engine on one Redis) also skips it.
    expect(await channel().deliver(offer('off_2'))).toEqual({ outcome: 'duplicate' });
    expect(server.received.map((r) => (JSON.parse(r.body) as Offer).offerId)).toEqual(['off_1', 'off_2']);
    expect(await count('scenestream_offers_duplicate_total')).toBe(3);
  });

  it('draws the same jitter from the same seed, another from another seed', async () => {
    const run = async (seed: string): Promise<number[]> => {
      delays = [];
      ledger = new MemoryLedger();
      server.then(503, 503, 503);
      await channel({ seed }).deliver(offer());
      return delays;
    };
    const a = await run('s1');
    const b = await run('s1');
    const c = await run('s2');
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it('rejects bad options at construction with SS_ERR_CONFIG naming the field', () => {
    expect(() => new WebhookChannel({ url: 'not a url', ledger })).toThrow(expect.objectContaining({ code: 'SS_ERR_CONFIG', field: 'webhook.url' }));
    expect(() => new WebhookChannel({ url: 'ftp://x/', ledger })).toThrow(/must be http\(s\)/);
    expect(() => new WebhookChannel({ url, ledger, maxAttempts: 0 })).toThrow(expect.objectContaining({ field: 'webhook.maxAttempts' }));
    expect(() => new WebhookChannel({ url, ledger, baseDelayMs: 500, maxDelayMs: 100 })).toThrow(expect.objectContaining({ field: 'webhook.maxDelayMs' }));
  });
});

describe('backoffDelayMs', () => {
  it('doubles its cap per attempt up to the maximum, and stays in [cap/2, cap)', () => {
    expect(backoffDelayMs(1, 100, 1_000, () => 0)).toBe(50);
    expect(backoffDelayMs(2, 100, 1_000, () => 0)).toBe(100);
    expect(backoffDelayMs(3, 100, 1_000, () => 0.999)).toBe(399);
    expect(backoffDelayMs(10, 100, 1_000, () => 0)).toBe(500);
    expect(backoffDelayMs(10, 100, 1_000, () => 0.999)).toBe(999);
  });
});
