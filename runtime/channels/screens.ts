/**
 * In-store screens: the latest suggestions per store, pushed live to every screen of the store.
 *
 * - {@link ScreenHub} keeps, per store, the latest suggestion of each customer recently seen there
 *   (a RecommendationUpdate with that storeId; newest first, at most `maxPerStore`), drops
 *   repeats by a deterministic update id, ignores an update older than the one it would replace,
 *   and tells subscribers of the store.
 * - {@link screensPlugin} serves it over HTTP (fastify):
 *   - `GET /stores/:storeId/events`: server-sent events (`text/event-stream`). On connect a
 *     `snapshot` event with every current suggestion and the offer of the moment; then one
 *     `offer` event per in-store offer sent there, and one `suggestion` event per new one
 *     (SSE `id:` = the update id); a comment line every `heartbeatMs` so proxies keep the stream
 *     open; the stream is ended cleanly when the client goes away or the server closes.
 *   - `GET /stores/:storeId`: a self-contained HTML page (inline CSS and JS, `EventSource`) for a
 *     big screen: the store's name and the live suggestions (product ids, scores, reasons).
 *   Unknown stores answer 404, and so does a store removed from the catalogue while the engine
 *   runs ({@link ScreenHub.removeStores}), whose open event streams are ended.
 *
 * Privacy: a screen hangs in a public place, so nothing sent to it carries the customer id. Each
 * suggestion has instead a `slot`, an HMAC of (store, customer) under a key random per process:
 * stable while the engine runs, so a customer's newer suggestion replaces their older one on the
 * screen, and meaningless outside it.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { ProductLookup } from '../../pipelines/products.js';
import type { Offer, RecommendationItem, RecommendationUpdate, Store } from '../../schemas/index.js';
import { ssError } from '../../schemas/errors.js';

/**
 * One suggested product on a screen: the update's item, with its name, category, price and image
 * from the product catalogue when the catalogue has it (as it was when the update arrived).
 */
export interface ScreenItem extends RecommendationItem {
  readonly name?: string;
  readonly category?: string | null;
  readonly price?: number;
  readonly imageUrl?: string | null;
}

/** What a screen shows of one update. */
export interface ScreenSuggestion {
  /** Deterministic: the same update (store, customer, ts, items) always has the same id. */
  readonly id: string;
  /** The customer's place on this store's screen; opaque (see the module comment). */
  readonly slot: string;
  readonly ts: number;
  readonly items: readonly ScreenItem[];
}

/**
 * The offer of the moment in a store: an in-store offer (store_proximity) just sent there, as a
 * screen may show it to everyone: its title, discount, validity and products, never the customer.
 */
export interface ScreenOffer {
  readonly offerId: string;
  readonly scene: string;
  readonly title: string;
  readonly discountPct: number;
  readonly ts: number;
  readonly expiresAt: number;
  /** The offer's products, named from the catalogue where it has them. */
  readonly items: readonly ScreenItem[];
}

export interface ScreenSnapshot {
  readonly storeId: string;
  readonly name: string;
  /** How many suggestions a screen shows at most. */
  readonly max: number;
  /** Newest first; none with no items (a customer whose suggestions became empty has no card). */
  readonly suggestions: readonly ScreenSuggestion[];
  /** The latest offer sent in the store, if any ({@link ScreenHub.publishOffer}). */
  readonly offer: ScreenOffer | null;
}

export type PublishOutcome = 'published' | 'duplicate' | 'stale' | 'no_store' | 'unknown_store';

/** A store as its screens show it; times are shown in `timezone` (IANA) when given, else the screen's own. */
export type ScreenStore = Pick<Store, 'storeId' | 'name'> & { readonly timezone?: string };

export interface ScreenHubOptions {
  readonly stores: Iterable<ScreenStore>;
  /** Suggestions kept and shown per store; default 6. */
  readonly maxPerStore?: number;
  /** Update ids remembered per store for deduplication; default 1,024. */
  readonly rememberIds?: number;
  /** The product catalogue: screens show names and prices (else product ids). */
  readonly products?: ProductLookup;
}

/** The deterministic id of an update on a store's screen. */
export function screenUpdateId(u: RecommendationUpdate): string {
  const h = createHash('sha256').update(JSON.stringify([u.storeId, u.customerId, u.ts, u.items.map((i) => [i.productId, i.score, i.reason])]), 'utf8');
  return `scr_${h.digest('hex').slice(0, 20)}`;
}

interface StoreState {
  readonly store: ScreenStore;
  /** slot -> suggestion; at most maxPerStore, the oldest by ts evicted. */
  readonly bySlot: Map<string, ScreenSuggestion>;
  /** Recently seen update ids, oldest first. */
  readonly seen: Set<string>;
  readonly listeners: Set<(s: ScreenSuggestion) => void>;
  /** What to call on a subscriber when the store is removed. */
  readonly gone: Set<() => void>;
  readonly offerListeners: Set<(o: ScreenOffer) => void>;
  offer: ScreenOffer | null;
}

export class ScreenHub {
  private readonly stores = new Map<string, StoreState>();
  private readonly slotKey = randomBytes(32);
  readonly maxPerStore: number;
  private readonly rememberIds: number;
  private readonly products: ProductLookup | undefined;

  constructor(opts: ScreenHubOptions) {
    this.maxPerStore = opts.maxPerStore ?? 6;
    this.rememberIds = opts.rememberIds ?? 1_024;
    this.products = opts.products;
    if (!(Number.isSafeInteger(this.maxPerStore) && this.maxPerStore >= 1)) throw ssError('SS_ERR_CONFIG', `screens maxPerStore must be an integer >= 1, got ${this.maxPerStore}`, { field: 'screens.maxPerStore' });
    if (!(Number.isSafeInteger(this.rememberIds) && this.rememberIds >= 1)) throw ssError('SS_ERR_CONFIG', `screens rememberIds must be an integer >= 1, got ${this.rememberIds}`, { field: 'screens.rememberIds' });
    this.addStores(opts.stores);
  }

  /** Serves these stores too (a store already served keeps its suggestions and screens). */
  addStores(stores: Iterable<ScreenStore>): void {
    for (const s of stores) {
      if (this.stores.has(s.storeId)) continue;
      this.stores.set(s.storeId, { store: s.timezone === undefined ? { storeId: s.storeId, name: s.name } : { storeId: s.storeId, name: s.name, timezone: s.timezone }, bySlot: new Map(), seen: new Set(), listeners: new Set(), gone: new Set(), offerListeners: new Set(), offer: null });
    }
  }

  /**
   * Changes the name or timezone shown for stores the hub serves (a store of the catalogue that
   * was updated); their suggestions and open screens stay. Stores it does not serve are added.
   */
  updateStores(stores: Iterable<ScreenStore>): void {
    for (const s of stores) {
      const st = this.stores.get(s.storeId);
      if (st === undefined) this.addStores([s]);
      else this.stores.set(s.storeId, { ...st, store: s.timezone === undefined ? { storeId: s.storeId, name: s.name } : { storeId: s.storeId, name: s.name, timezone: s.timezone } });
    }
  }

  /**
   * Stops serving these stores (removed from the catalogue): their suggestions are dropped, their
   * pages answer 404, updates for them are `unknown_store`, and each open screen's `onGone` is
   * called (the HTTP plugin ends the event stream). Unknown ids are ignored.
   */
  removeStores(storeIds: Iterable<string>): void {
    for (const id of storeIds) {
      const st = this.stores.get(id);
      if (st === undefined) continue;
      this.stores.delete(id);
      for (const gone of [...st.gone]) gone();
      st.gone.clear();
      st.listeners.clear();
    }
  }

  /** The store, if the hub serves it. */
  store(storeId: string): ScreenStore | undefined {
    return this.stores.get(storeId)?.store;
  }

  private item(i: RecommendationItem): ScreenItem {
    const p = this.products?.get(i.productId);
    const base = { productId: i.productId, score: i.score, reason: i.reason };
    return Object.freeze(p === undefined ? base : { ...base, name: p.name, category: p.category, price: p.price, imageUrl: p.imageUrl });
  }

  private slotOf(storeId: string, customerId: string): string {
    return createHmac('sha256', this.slotKey).update(JSON.stringify([storeId, customerId]), 'utf8').digest('hex').slice(0, 16);
  }

  /**
   * Takes an update for a store's screens. `no_store`: the update has no storeId (a customer's
   * own suggestions, not for screens); `unknown_store`: not a store of this hub; `duplicate`: this
   * exact update was seen; `stale`: the customer already has a newer suggestion here.
   */
  publish(u: RecommendationUpdate): PublishOutcome {
    if (u.storeId === null) return 'no_store';
    const st = this.stores.get(u.storeId);
    if (st === undefined) return 'unknown_store';
    const id = screenUpdateId(u);
    if (st.seen.has(id)) return 'duplicate';
    st.seen.add(id);
    if (st.seen.size > this.rememberIds) st.seen.delete(st.seen.values().next().value as string);
    const slot = this.slotOf(u.storeId, u.customerId);
    const prev = st.bySlot.get(slot);
    if (prev !== undefined && prev.ts > u.ts) return 'stale';
    const s: ScreenSuggestion = Object.freeze({ id, slot, ts: u.ts, items: Object.freeze(u.items.map((i) => this.item(i))) });
    st.bySlot.delete(slot);
    if (s.items.length === 0) {
      // Nothing to suggest any more: the customer's card goes (screens drop it on this empty one).
      if (prev !== undefined) for (const l of [...st.listeners]) l(s);
      return 'published';
    }
    st.bySlot.set(slot, s);
    while (st.bySlot.size > this.maxPerStore) {
      let oldest: ScreenSuggestion | undefined;
      for (const x of st.bySlot.values()) if (oldest === undefined || x.ts < oldest.ts) oldest = x;
      if (oldest === undefined) break;
      st.bySlot.delete(oldest.slot);
    }
    // The new suggestion may itself be the oldest and already evicted; screens need not hear of it.
    if (!st.bySlot.has(slot)) return 'published';
    for (const l of [...st.listeners]) l(s);
    return 'published';
  }

  /** The store's current suggestions, newest first; undefined for an unknown store. */
  snapshot(storeId: string): ScreenSnapshot | undefined {
    const st = this.stores.get(storeId);
    if (st === undefined) return undefined;
    const suggestions = [...st.bySlot.values()].sort((a, b) => b.ts - a.ts || (a.id < b.id ? -1 : 1));
    return { storeId, name: st.store.name, max: this.maxPerStore, suggestions, offer: st.offer };
  }

  /**
   * Takes an offer: one sent in a store this hub serves (an in-store scene: store_proximity)
   * becomes that store's offer of the moment, unless an offer with a later ts is there already.
   * The screens hear it; nothing of the customer goes with it.
   */
  publishOffer(o: Offer): 'published' | 'no_store' | 'unknown_store' | 'stale' {
    if (o.storeId === null || o.scene !== 'store_proximity') return 'no_store';
    const st = this.stores.get(o.storeId);
    if (st === undefined) return 'unknown_store';
    if (st.offer !== null && st.offer.ts > o.ts) return 'stale';
    const offer: ScreenOffer = Object.freeze({
      offerId: o.offerId,
      scene: o.scene,
      title: o.title,
      discountPct: o.discountPct,
      ts: o.ts,
      expiresAt: o.expiresAt,
      items: Object.freeze(o.productIds.map((productId) => this.item({ productId, score: 0, reason: 'offer' }))),
    });
    st.offer = offer;
    for (const l of [...st.offerListeners]) l(offer);
    return 'published';
  }

  /**
   * Calls `listener` for each new suggestion of the store, and `onGone` once if the store is
   * removed ({@link removeStores}); returns the unsubscribe function.
   */
  subscribe(storeId: string, listener: (s: ScreenSuggestion) => void, onGone?: () => void, onOffer?: (o: ScreenOffer) => void): () => void {
    const st = this.stores.get(storeId);
    if (st === undefined) throw ssError('SS_ERR_CONFIG', `screens: no store '${storeId}'`, { field: 'storeId' });
    st.listeners.add(listener);
    if (onGone !== undefined) st.gone.add(onGone);
    if (onOffer !== undefined) st.offerListeners.add(onOffer);
    return () => {
      st.listeners.delete(listener);
      if (onGone !== undefined) st.gone.delete(onGone);
      if (onOffer !== undefined) st.offerListeners.delete(onOffer);
    };
  }

  /** Subscribers of a store (open screens, through the plugin). */
  subscribers(storeId: string): number {
    return this.stores.get(storeId)?.listeners.size ?? 0;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface ScreensPluginOptions {
  readonly hub: ScreenHub;
  /** Between heartbeat comments; default 15,000 ms. */
  readonly heartbeatMs?: number;
  /** What the EventSource waits before reconnecting (SSE `retry:`); default 2,000 ms. */
  readonly retryMs?: number;
  /** Open-connection gauge (`Metrics.screenConnections`). */
  readonly connections?: { inc(): void; dec(): void };
  /** A client this far behind (bytes buffered) is dropped; it reconnects and gets a fresh snapshot. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
}

const sseEvent = (event: string, data: unknown, id?: string): string => `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;

/**
 * The screens' routes. Register with `app.register(screensPlugin, { hub })`; open event streams
 * are ended when the app closes (`preClose`), so `app.close()` does not wait on screens.
 */
export const screensPlugin: FastifyPluginCallback<ScreensPluginOptions> = (app: FastifyInstance, opts, done) => {
  const { hub } = opts;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const retryMs = opts.retryMs ?? 2_000;
  const maxBuffered = opts.maxBufferedBytes ?? 1 << 20;
  const open = new Set<() => void>();

  app.get<{ Params: { storeId: string } }>('/stores/:storeId', (req, reply) => {
    const store = hub.store(req.params.storeId);
    if (store === undefined) return reply.code(404).send({ error: 'unknown store', storeId: req.params.storeId });
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(storePageHtml(store));
  });

  app.get<{ Params: { storeId: string } }>('/stores/:storeId/events', (req, reply) => {
    const storeId = req.params.storeId;
    const snap = hub.snapshot(storeId);
    if (snap === undefined) return reply.code(404).send({ error: 'unknown store', storeId });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let closed = false;
    const write = (chunk: string): void => {
      if (closed) return;
      res.write(chunk);
      if (res.writableLength > maxBuffered) end();
    };
    // A store removed from the catalogue ends its screens' streams; they reconnect to a 404.
    const unsubscribe = hub.subscribe(
      storeId,
      (s) => write(sseEvent('suggestion', s, s.id)),
      () => end(),
      (o) => write(sseEvent('offer', o, o.offerId)),
    );
    const beat = setInterval(() => write(`: heartbeat ${Date.now()}\n\n`), heartbeatMs);
    beat.unref();
    opts.connections?.inc();
    const end = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(beat);
      unsubscribe();
      open.delete(end);
      opts.connections?.dec();
      if (!res.writableEnded) res.end();
    };
    open.add(end);
    req.raw.on('close', end);
    res.on('close', end);
    write(`retry: ${retryMs}\n\n`);
    write(sseEvent('snapshot', snap));
    return reply;
  });

  app.addHook('preClose', (hookDone) => {
    for (const end of [...open]) end();
    hookDone();
  });
  done();
};

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The page of one store's screens, made for a big screen across a room: no external resource,
 * large type and high contrast, laid out to fill 1920x1080 (three columns of two rows) or
 * 1080x1920 portrait (two columns of three rows) without scrolling; long names are clamped, never
 * overflowing. Each card is one customer's suggestions (no empty card: a customer whose
 * suggestions became empty has none), products by name, category, price and image from the
 * catalogue, times with their day in the store's timezone ("today 17:58", "Mon 3 Mar 09:12").
 * The offer of the moment (an in-store offer just sent here) runs across the top until it
 * expires. Offline, the page says so and dims what it shows until the stream is back. All data
 * goes into the DOM as text, never as HTML.
 */
export function storePageHtml(store: ScreenStore): string {
  const name = escapeHtml(store.name);
  // JSON in a script: escape "<" so no value can close the script element.
  const timeZone = JSON.stringify(store.timezone ?? null).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${name} · suggestions</title>
<style>
  :root { color-scheme: dark; --bg: #0b1220; --card: #16213a; --line: #26324f; --fg: #f4f6fb; --muted: #a9b8d6; --accent: #ffb547; --ok: #3ddc97; --bad: #ff5d5d; --gap: 1.6vmin; }
  * { box-sizing: border-box; }
  html, body { height: 100%; overflow: hidden; }
  body { margin: 0; background: var(--bg); color: var(--fg); font-family: system-ui, "Segoe UI", Roboto, "Noto Sans", sans-serif; padding: 2.4vmin 2.6vmin; display: flex; flex-direction: column; gap: var(--gap); }
  header { display: flex; align-items: center; gap: 2vmin; min-height: 0; flex: none; }
  h1 { font-size: 5.2vmin; margin: 0; letter-spacing: -0.01em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; min-width: 0; }
  .sub { font-size: 2.6vmin; color: var(--muted); white-space: nowrap; }
  #clock { margin-left: auto; font-size: 2.8vmin; color: var(--muted); white-space: nowrap; font-variant-numeric: tabular-nums; }
  #status { font-size: 2.2vmin; color: var(--muted); display: flex; align-items: center; gap: .5em; white-space: nowrap; }
  #status::before { content: ""; width: .8em; height: .8em; border-radius: 50%; background: var(--bad); }
  body[data-state="live"] #status::before { background: var(--ok); }
  #offline { display: none; flex: none; background: var(--bad); color: #fff; font-size: 3vmin; font-weight: 650; padding: 1.2vmin 2vmin; border-radius: 1.4vmin; }
  body[data-state="reconnecting"] #offline { display: block; }
  body[data-state="reconnecting"] main { opacity: .45; filter: grayscale(.6); }
  #offer { display: none; flex: none; background: var(--accent); color: #1b1300; border-radius: 1.6vmin; padding: 1.4vmin 2.4vmin; align-items: center; gap: 2.4vmin; overflow: hidden; }
  #offer.on { display: flex; }
  #offer .pct { font-size: 6vmin; font-weight: 800; white-space: nowrap; }
  #offer .title { font-size: 3.4vmin; font-weight: 700; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; flex: 1; }
  #offer .until { font-size: 2.4vmin; white-space: nowrap; }
  main { flex: 1; min-height: 0; position: relative; }
  #cards { height: 100%; display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); grid-template-rows: repeat(2, minmax(0, 1fr)); gap: var(--gap); }
  @media (orientation: portrait) {
    #cards { grid-template-columns: repeat(2, minmax(0, 1fr)); grid-template-rows: repeat(3, minmax(0, 1fr)); }
    header { flex-wrap: wrap; row-gap: .6vmin; }
    h1 { flex: 1 0 100%; white-space: normal; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; }
    .sub { margin-right: auto; }
    #clock { margin-left: 0; }
    #offer { flex-wrap: wrap; }
    #offer .title { flex: 1 0 100%; white-space: normal; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; }
  }
  .card { background: var(--card); border-radius: 1.8vmin; padding: 1.6vmin 1.8vmin; border-top: .7vmin solid var(--accent); display: flex; flex-direction: column; gap: 1vmin; min-height: 0; overflow: hidden; }
  .card.fresh { animation: glow 1.2s ease-out; }
  @keyframes glow { from { box-shadow: 0 0 0 .8vmin var(--accent); } to { box-shadow: 0 0 0 0 transparent; } }
  .when { color: var(--muted); font-size: 2vmin; flex: none; }
  .item { display: grid; grid-template-columns: auto minmax(0, 1fr) auto; grid-template-rows: auto auto; align-items: center; column-gap: 1.4vmin; padding-bottom: 1vmin; border-bottom: 1px solid var(--line); min-height: 0; flex: 0 1 auto; overflow: hidden; }
  .item:last-child { border-bottom: 0; }
  .pic { grid-row: 1 / span 2; width: 7vmin; height: 7vmin; border-radius: 1.2vmin; object-fit: cover; background: var(--line); display: flex; align-items: center; justify-content: center; font-size: 3.6vmin; font-weight: 800; color: var(--accent); overflow: hidden; }
  .product { font-size: 2.9vmin; font-weight: 650; line-height: 1.15; overflow: hidden; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow-wrap: anywhere; }
  .score, .price { font-size: 2.9vmin; font-weight: 700; color: var(--accent); font-variant-numeric: tabular-nums; white-space: nowrap; }
  .reason { grid-column: 2 / -1; font-size: 1.9vmin; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  #empty[hidden] { display: none; }
  #empty { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; font-size: 4vmin; color: var(--muted); }
</style>
</head>
<body data-state="connecting">
<header><h1 id="store">${name}</h1><span class="sub">Picked for you</span><span id="clock"></span><span id="status">connecting</span></header>
<div id="offline" role="status">Offline: reconnecting…</div>
<section id="offer" aria-live="polite"><span class="pct"></span><span class="title"></span><span class="until"></span></section>
<main><div id="empty">Suggestions appear here as customers shop</div><div id="cards"></div></main>
<script>
(() => {
  "use strict";
  const cards = document.getElementById("cards");
  const empty = document.getElementById("empty");
  const status = document.getElementById("status");
  const clockEl = document.getElementById("clock");
  const offerEl = document.getElementById("offer");
  const slots = new Map();
  let max = 6;
  let fresh = null;
  let offer = null;
  /** The page's now: the latest event time it has seen (a replay runs in its own time). */
  let now = 0;
  const ITEMS = 3;
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
  const reason = (r) => String(r).replace(/_/g, " ");
  const score = (s) => (Number.isInteger(s) ? String(s) : Number(s).toFixed(2));
  const price = (p) => Number(p).toFixed(2);
  const zone = ${timeZone};
  const fmt = (o) => { try { return new Intl.DateTimeFormat("en-GB", { ...o, ...(zone ? { timeZone: zone } : {}) }); } catch { return new Intl.DateTimeFormat("en-GB", o); } };
  const hm = fmt({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const dayKey = fmt({ year: "numeric", month: "2-digit", day: "2-digit" });
  const dayName = fmt({ weekday: "short", day: "numeric", month: "short" });
  const full = fmt({ weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  /** A time with its day, in the store's zone: "today 17:58", "yesterday 23:10", "Mon 3 Mar 09:12". */
  function when(ts) {
    const d = dayKey.format(ts);
    if (d === dayKey.format(now)) return "today " + hm.format(ts);
    if (d === dayKey.format(now - 864e5)) return "yesterday " + hm.format(ts);
    return dayName.format(ts) + " " + hm.format(ts);
  }
  function pic(i) {
    if (typeof i.imageUrl === "string" && i.imageUrl !== "") { const img = el("img", "pic"); img.alt = ""; img.src = i.imageUrl; return img; }
    return el("span", "pic", String(i.name ?? i.productId).trim().charAt(0).toUpperCase());
  }
  function render() {
    const live = [...slots.values()].filter((s) => s.items.length > 0).sort((a, b) => b.ts - a.ts);
    const list = live.slice(0, max);
    for (const k of [...slots.keys()]) if (!live.slice(0, max).some((s) => s.slot === k)) slots.delete(k);
    cards.replaceChildren(...list.map((s) => {
      const card = el("section", s.id === fresh ? "card fresh" : "card");
      card.dataset.updateId = s.id;
      card.append(el("div", "when", when(s.ts)));
      for (const i of s.items.slice(0, ITEMS)) {
        const row = el("div", "item");
        const name = el("span", "product", i.name ?? i.productId);
        if (i.name) name.title = i.productId;
        const detail = [i.category, reason(i.reason)].filter((x) => x).join(" · ");
        row.append(pic(i), name, typeof i.price === "number" ? el("span", "price", price(i.price)) : el("span", "score", score(i.score)), el("span", "reason", detail));
        card.append(row);
      }
      return card;
    }));
    empty.hidden = list.length > 0;
    clockEl.textContent = now > 0 ? full.format(now) : "";
    const showOffer = offer !== null && now <= offer.expiresAt;
    offerEl.classList.toggle("on", showOffer);
    if (showOffer) {
      offerEl.querySelector(".pct").textContent = offer.discountPct + "% off";
      const names = offer.items.map((i) => i.name).filter((x) => x);
      offerEl.querySelector(".title").textContent = offer.title + (names.length > 0 ? " · " + names.join(", ") : "");
      offerEl.querySelector(".until").textContent = "until " + when(offer.expiresAt);
    }
  }
  const seen = (ts) => { if (ts > now) now = ts; };
  const source = new EventSource(location.pathname.replace(/\\/+$/, "") + "/events");
  source.addEventListener("open", () => { document.body.dataset.state = "live"; status.textContent = "live"; });
  source.addEventListener("error", () => { document.body.dataset.state = "reconnecting"; status.textContent = "offline"; });
  source.addEventListener("snapshot", (e) => {
    const snap = JSON.parse(e.data);
    max = snap.max; slots.clear(); fresh = null; offer = snap.offer ?? null;
    for (const s of snap.suggestions) { slots.set(s.slot, s); seen(s.ts); }
    if (offer !== null) seen(offer.ts);
    render();
  });
  source.addEventListener("suggestion", (e) => {
    const s = JSON.parse(e.data);
    slots.set(s.slot, s); fresh = s.id; seen(s.ts);
    render();
  });
  source.addEventListener("offer", (e) => {
    offer = JSON.parse(e.data); seen(offer.ts);
    render();
  });
})();
</script>
</body>
</html>
`;
}
