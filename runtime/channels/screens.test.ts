import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Offer, RecommendationUpdate } from '../../schemas/index.js';
import { LiveProducts } from '../../pipelines/products.js';
import { ScreenHub, screensPlugin, screenUpdateId, storePageHtml, type ScreenSnapshot, type ScreenSuggestion } from './screens.js';

const STORES = [
  { storeId: 's1', name: 'Jing’an Flagship' },
  { storeId: 's2', name: 'Pudong <Mall> & Co' },
];

const update = (customerId: string, ts: number, storeId: string | null = 's1', products = ['p1', 'p2']): RecommendationUpdate => ({
  customerId,
  storeId,
  ts,
  items: products.map((productId, i) => ({ productId, score: 10 - i, reason: 'bought_together' })),
});

describe('ScreenHub', () => {
  it('keeps the latest suggestion per customer per store, newest first, and tells subscribers', () => {
    const hub = new ScreenHub({ stores: STORES });
    const heard: ScreenSuggestion[] = [];
    hub.subscribe('s1', (s) => heard.push(s));
    expect(hub.publish(update('alice', 100))).toBe('published');
    expect(hub.publish(update('bob', 200))).toBe('published');
    expect(hub.publish(update('alice', 300, 's1', ['p9']))).toBe('published');
    const snap = hub.snapshot('s1')!;
    expect(snap.suggestions.map((s) => [s.ts, s.items.map((i) => i.productId)])).toEqual([
      [300, ['p9']],
      [200, ['p1', 'p2']],
    ]);
    expect(heard.map((s) => s.ts)).toEqual([100, 200, 300]);
    expect(hub.snapshot('s2')!.suggestions).toEqual([]);
  });

  it('shows products by their catalogue name, category, price and image; a product not in it by its id alone', () => {
    const products = new LiveProducts([{ productId: 'p1', name: 'Trail runner', category: 'shoes', price: 59.9, imageUrl: '/images/p1.png' }]);
    const hub = new ScreenHub({ stores: STORES, products });
    hub.publish(update('alice', 100));
    expect(hub.snapshot('s1')!.suggestions[0]!.items).toEqual([
      { productId: 'p1', score: 10, reason: 'bought_together', name: 'Trail runner', category: 'shoes', price: 59.9, imageUrl: '/images/p1.png' },
      { productId: 'p2', score: 9, reason: 'bought_together' },
    ]);
  });

  it("an update with no items removes the customer's card (screens hear the empty one); none is ever in a snapshot", () => {
    const hub = new ScreenHub({ stores: STORES });
    const heard: ScreenSuggestion[] = [];
    hub.subscribe('s1', (s) => heard.push(s));
    hub.publish(update('alice', 100));
    hub.publish(update('bob', 150));
    expect(hub.publish(update('alice', 200, 's1', []))).toBe('published');
    expect(hub.snapshot('s1')!.suggestions.map((s) => s.ts)).toEqual([150]);
    expect(heard.map((s) => s.items.length)).toEqual([2, 2, 0]);
    expect(hub.publish(update('carol', 300, 's1', []))).toBe('published'); // nothing to remove: nobody told
    expect(heard).toHaveLength(3);
  });

  it('keeps the offer of the moment per store: in-store offers only, newest wins, no customer id', () => {
    const hub = new ScreenHub({ stores: STORES, products: new LiveProducts([{ productId: 'p1', name: 'Mug', category: null, price: 3, imageUrl: null }]) });
    const heard: unknown[] = [];
    hub.subscribe('s1', () => {}, undefined, (o) => heard.push(o));
    const offer = (ts: number, scene: 'store_proximity' | 'commute' = 'store_proximity', storeId: string | null = 's1'): Offer => ({ offerId: `off-${ts}`, customerId: 'alice', scene, campaignId: 'c', channel: 'in_store', storeId, productIds: ['p1'], discountPct: 15, title: 'Near you', ts, expiresAt: ts + 10, triggerEventId: 'e' });
    expect(hub.publishOffer(offer(100, 'commute'))).toBe('no_store');
    expect(hub.publishOffer(offer(100, 'store_proximity', null))).toBe('no_store');
    expect(hub.publishOffer(offer(100, 'store_proximity', 'nowhere'))).toBe('unknown_store');
    expect(hub.publishOffer(offer(200))).toBe('published');
    expect(hub.publishOffer(offer(150))).toBe('stale');
    const shown = hub.snapshot('s1')!.offer!;
    expect(shown).toEqual({ offerId: 'off-200', scene: 'store_proximity', title: 'Near you', discountPct: 15, ts: 200, expiresAt: 210, items: [{ productId: 'p1', score: 0, reason: 'offer', name: 'Mug', category: null, price: 3, imageUrl: null }] });
    expect(JSON.stringify(shown)).not.toContain('alice');
    expect(heard).toHaveLength(1);
    expect(hub.snapshot('s2')!.offer).toBeNull();
  });

  it('drops repeats by update id, stale updates, updates without or with an unknown store', () => {
    const hub = new ScreenHub({ stores: STORES });
    let heard = 0;
    hub.subscribe('s1', () => heard++);
    expect(hub.publish(update('alice', 100))).toBe('published');
    expect(hub.publish(update('alice', 100))).toBe('duplicate');
    expect(hub.publish(update('alice', 50, 's1', ['p7']))).toBe('stale');
    expect(hub.publish(update('alice', 100, null))).toBe('no_store');
    expect(hub.publish(update('alice', 100, 's404'))).toBe('unknown_store');
    expect(heard).toBe(1);
    expect(hub.snapshot('s1')!.suggestions.map((s) => s.ts)).toEqual([100]);
  });

  it('serves stores added later, and adding a served store again keeps its suggestions', () => {
    const hub = new ScreenHub({ stores: [] });
    expect(hub.publish(update('c1', 1_000))).toBe('unknown_store');
    hub.addStores([{ storeId: 's1', name: 'One' }]);
    expect(hub.publish(update('c1', 1_000))).toBe('published');
    hub.addStores([{ storeId: 's1', name: 'Renamed' }]);
    expect(hub.store('s1')?.name).toBe('One');
    expect(hub.snapshot('s1')?.suggestions).toHaveLength(1);
  });

  it('a store of the catalogue updated keeps its suggestions under its new name; one removed is no longer served', () => {
    const hub = new ScreenHub({ stores: STORES });
    expect(hub.publish(update('c1', 1_000))).toBe('published');
    let gone = 0;
    const heard: number[] = [];
    hub.subscribe('s1', (s) => heard.push(s.ts), () => gone++);
    hub.updateStores([{ storeId: 's1', name: 'Renamed', timezone: 'Asia/Shanghai' }, { storeId: 's3', name: 'New' }]);
    expect(hub.store('s1')).toEqual({ storeId: 's1', name: 'Renamed', timezone: 'Asia/Shanghai' });
    expect(hub.snapshot('s1')?.suggestions).toHaveLength(1);
    expect(hub.publish(update('c2', 2_000))).toBe('published');
    expect(heard).toEqual([2_000]); // the subscriber survives the update
    expect(hub.store('s3')?.name).toBe('New');

    hub.removeStores(['s1', 'nope']);
    expect(gone).toBe(1);
    expect(hub.store('s1')).toBeUndefined();
    expect(hub.snapshot('s1')).toBeUndefined();
    expect(hub.publish(update('c1', 3_000))).toBe('unknown_store');
    expect(hub.subscribers('s1')).toBe(0);
    // Added again: served afresh, with no suggestions.
    hub.addStores([{ storeId: 's1', name: 'Back' }]);
    expect(hub.snapshot('s1')?.suggestions).toEqual([]);
  });

  it('shows at most maxPerStore suggestions, evicting the oldest', () => {
    const hub = new ScreenHub({ stores: STORES, maxPerStore: 2 });
    hub.publish(update('a', 300));
    hub.publish(update('b', 100));
    hub.publish(update('c', 200));
    expect(hub.snapshot('s1')!.suggestions.map((s) => s.ts)).toEqual([300, 200]);
    // Older than everything shown: kept out, and screens are not told.
    let heard = 0;
    hub.subscribe('s1', () => heard++);
    expect(hub.publish(update('d', 50))).toBe('published');
    expect(heard).toBe(0);
    expect(hub.snapshot('s1')!.max).toBe(2);
  });

  it('update ids are deterministic, and nothing sent to screens carries the customer id', () => {
    expect(screenUpdateId(update('alice', 1))).toBe(screenUpdateId(update('alice', 1)));
    expect(screenUpdateId(update('alice', 1))).not.toBe(screenUpdateId(update('alice', 2)));
    expect(screenUpdateId(update('alice', 1))).not.toBe(screenUpdateId(update('alice', 1, 's1', ['p1', 'p3'])));
    const hub = new ScreenHub({ stores: STORES });
    hub.publish(update('cust-secret-42', 1));
    expect(JSON.stringify(hub.snapshot('s1'))).not.toContain('cust-secret-42');
    // Two hubs (two processes) give the same update the same id but unrelated slots.
    const other = new ScreenHub({ stores: STORES });
    other.publish(update('cust-secret-42', 1));
    expect(other.snapshot('s1')!.suggestions[0]!.id).toBe(hub.snapshot('s1')!.suggestions[0]!.id);
    expect(other.snapshot('s1')!.suggestions[0]!.slot).not.toBe(hub.snapshot('s1')!.suggestions[0]!.slot);
  });

  it('rejects nonsense options and subscriptions to unknown stores', () => {
    expect(() => new ScreenHub({ stores: STORES, maxPerStore: 0 })).toThrow(/SS_ERR_CONFIG/);
    expect(() => new ScreenHub({ stores: STORES }).subscribe('nope', () => {})).toThrow(/no store 'nope'/);
  });
});

describe('store page', () => {
  it('is self-contained HTML with the escaped store name and an EventSource on its own events path', () => {
    const html = storePageHtml(STORES[1]!);
    expect(html).toContain('<h1 id="store">Pudong &#60;Mall&#62; &#38; Co</h1>');
    expect(html).not.toContain('<Mall>');
    expect(html).toContain('new EventSource(location.pathname.replace(/\\/+$/, "") + "/events")');
    expect(html).not.toMatch(/<(link|img)\b|<script [^>]*src=/); // nothing fetched but the events
  });

  it("embeds the store's timezone as JSON that cannot close the script", () => {
    expect(storePageHtml({ storeId: 's', name: 'S', timezone: 'Asia/Shanghai' })).toContain('const zone = "Asia/Shanghai";');
    expect(storePageHtml({ storeId: 's', name: 'S' })).toContain('const zone = null;');
    const evil = storePageHtml({ storeId: 's', name: 'S', timezone: '</script><script>alert(1)</script>' });
    expect(evil.match(/<\/script>/g)).toHaveLength(1);
    expect(evil).toContain('const zone = "\\u003c/script>\\u003cscript>alert(1)\\u003c/script>";');
  });
});

/** A minimal SSE client over node:http that records raw text and parsed events. */
class SseClient {
  text = '';
  ended = false;
  status = 0;
  contentType = '';
  private req: ClientRequest | undefined;

  static open(url: string): Promise<SseClient> {
    const c = new SseClient();
    return new Promise((resolve, reject) => {
      c.req = request(url, { headers: { accept: 'text/event-stream' } }, (res: IncomingMessage) => {
        c.status = res.statusCode ?? 0;
        c.contentType = String(res.headers['content-type']);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (c.text += chunk));
        res.on('end', () => (c.ended = true));
        res.on('close', () => (c.ended = true));
        resolve(c);
      });
      c.req.on('error', reject);
      c.req.end();
    });
  }

  events(): Array<{ event: string; id: string | undefined; data: unknown }> {
    return this.text
      .split('\n\n')
      .filter((block) => block.includes('data: '))
      .map((block) => {
        const line = (k: string) => block.split('\n').find((l) => l.startsWith(`${k}: `))?.slice(k.length + 2);
        return { event: line('event') ?? 'message', id: line('id'), data: JSON.parse(line('data') ?? 'null') as unknown };
      });
  }

  close(): void {
    this.req?.destroy();
  }
}

/** Bounded polling on real sockets: at most 3 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('screens over HTTP (server-sent events)', () => {
  let app: FastifyInstance;
  let hub: ScreenHub;
  let base: string;
  let open = 0;

  beforeEach(async () => {
    hub = new ScreenHub({ stores: STORES });
    app = Fastify();
    open = 0;
    await app.register(screensPlugin, { hub, heartbeatMs: 25, connections: { inc: () => open++, dec: () => open-- } });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterEach(async () => {
    await app.close();
  });

  it('serves the page and answers 404 for unknown stores', async () => {
    const page = await fetch(`${base}/stores/s1`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('Jing’an Flagship');
    expect((await fetch(`${base}/stores/nope`)).status).toBe(404);
    expect((await fetch(`${base}/stores/nope/events`)).status).toBe(404);
  });

  it('sends the current suggestions on connect, then each new one with its id, only for that store', async () => {
    hub.publish(update('alice', 100));
    const c = await SseClient.open(`${base}/stores/s1/events`);
    expect(c.status).toBe(200);
    expect(c.contentType).toBe('text/event-stream; charset=utf-8');
    await until(() => c.events().length >= 1, 'the snapshot');
    const [first] = c.events();
    expect(first!.event).toBe('snapshot');
    const snap = first!.data as ScreenSnapshot;
    expect(snap).toMatchObject({ storeId: 's1', name: 'Jing’an Flagship', max: 6 });
    expect(snap.suggestions.map((s) => s.ts)).toEqual([100]);
    expect(c.text).toContain('retry: 2000');

    hub.publish(update('bob', 200, 's2'));
    hub.publish(update('bob', 300, 's1', ['p5']));
    await until(() => c.events().length >= 2, 'the suggestion');
    const next = c.events()[1]!;
    expect(next.event).toBe('suggestion');
    expect(next.id).toBe(screenUpdateId(update('bob', 300, 's1', ['p5'])));
    expect((next.data as ScreenSuggestion).items).toEqual([{ productId: 'p5', score: 10, reason: 'bought_together' }]);
    expect(c.events()).toHaveLength(2); // s2's update did not come here
    c.close();
  });

  it('sends heartbeats, and a client that goes away is unsubscribed', async () => {
    const c = await SseClient.open(`${base}/stores/s2/events`);
    await until(() => (c.text.match(/^: heartbeat \d+$/gm) ?? []).length >= 2, 'two heartbeats');
    expect(hub.subscribers('s2')).toBe(1);
    expect(open).toBe(1);
    c.close();
    await until(() => hub.subscribers('s2') === 0, 'the unsubscribe');
    expect(open).toBe(0);
  });

  it('a store removed from the catalogue ends its open streams and then answers 404', async () => {
    const c = await SseClient.open(`${base}/stores/s1/events`);
    const other = await SseClient.open(`${base}/stores/s2/events`);
    await until(() => hub.subscribers('s1') === 1 && hub.subscribers('s2') === 1, 'the subscribers');
    hub.removeStores(['s1']);
    await until(() => c.ended, 'the stream to end');
    expect(open).toBe(1);
    expect(other.ended).toBe(false);
    expect((await fetch(`${base}/stores/s1`)).status).toBe(404);
    expect((await fetch(`${base}/stores/s1/events`)).status).toBe(404);
    other.close();
  });

  it('closing the server ends open streams cleanly', async () => {
    const a = await SseClient.open(`${base}/stores/s1/events`);
    const b = await SseClient.open(`${base}/stores/s1/events`);
    await until(() => hub.subscribers('s1') === 2, 'two subscribers');
    await app.close();
    await until(() => a.ended && b.ended, 'both streams to end');
    expect(hub.subscribers('s1')).toBe(0);
    expect(open).toBe(0);
  });
});
