/**
 * Replay input from the shared datasets (`scenestream datasets`): each dataset's events as
 * `events.jsonl` (the lines `scenestream replay --input` reads), with the reference data that lets
 * every scene its events can cause fire and be sent:
 *
 * | dataset | events | stores | profiles | products |
 * |---|---|---|---|---|
 * | `geolife` | location | one per place of found stays ({@link placesOf}) | each user | none (the data has no products) |
 * | `rees46` | clickstream | none (no location) | each user | each product viewed, carted or bought |
 * | `online-retail` | pos | none (no location) | each identified customer | each StockCode sold |
 * | `instacart` | pos | none (no location) | each user | each product ordered, named from `products.csv` |
 *
 * Profiles consent to every channel, tier `basic`, no `lastPurchaseTs`: the data has no consent, and a
 * replay without it would only exercise the `no_consent` rule. Their zone is the dataset's (GeoLife
 * Beijing's; REES46 and Instacart UTC, the zone their times are written in; Online Retail the zone
 * of the customer's first invoice's country), or `timezone` for all.
 *
 * Everything is written in a fixed order (events as the loader gives them, reference data sorted by
 * id), so the same options give the same bytes.
 */

import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { CustomerProfile, Product, Store } from '../../schemas/index.js';
import { profilesToJsonl, productsToJson, recordToJsonLine, storesToJson, writeChunk } from '../jsonl.js';
import type { SimRecord } from '../life.js';
import { round } from '../geo.js';
import { readCsvRows } from './csv.js';
import { loadGeoLife } from './geolife.js';
import { loadInstacart } from './instacart.js';
import { loadOnlineRetail } from './online-retail.js';
import { datasetsDir } from './paths.js';
import { loadRees46 } from './rees46.js';
import type { DatasetLoad, LoadOptions, RejectionReport } from './report.js';
import { detectAllStays, placesOf, type StayOptions } from './stays.js';

export const DATASET_NAMES = ['geolife', 'instacart', 'online-retail', 'rees46'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface ConvertOptions {
  readonly dataset: DatasetName;
  /** The directory the files are written to (created if missing). */
  readonly out: string;
  /** The datasets folder (default {@link datasetsDir}: `$SCENESTREAM_DATASETS` or `../shared/datasets`). */
  readonly from?: string;
  /** Stop after this many events, the first in the loader's order (GeoLife: by user, then time). */
  readonly maxEvents?: number;
  /** The zone of every profile and store, instead of the dataset's. */
  readonly timezone?: string;
  /** GeoLife's stay detection (default 200 m for 20 minutes; places gather stays within the radius). */
  readonly stays?: StayOptions;
}

export interface ConvertResult {
  readonly dataset: DatasetName;
  /** The files written: events.jsonl, stores.json, profiles.jsonl, products.json, report.json. */
  readonly files: { readonly events: string; readonly stores: string; readonly profiles: string; readonly products: string; readonly report: string };
  readonly events: number;
  readonly stores: number;
  readonly profiles: number;
  readonly products: number;
  /** GeoLife: the stays found (each store gathers one or more). */
  readonly stays?: number;
  /** The loader's accounting of every row; `complete` is false when `maxEvents` stopped it. */
  readonly report: RejectionReport;
}

/** Store radius at a GeoLife place: SCENES.md's default. */
const STORE_RADIUS_M = 150;

/**
 * The zone of an Online Retail customer's country (its `storeId` is `uk-<country slug>`); countries
 * spanning zones get their most populous one. `unspecified`, `european-community` and any other:
 * the retailer's own, Europe/London.
 */
const COUNTRY_ZONES: Readonly<Record<string, string>> = {
  'united-kingdom': 'Europe/London', germany: 'Europe/Berlin', france: 'Europe/Paris', eire: 'Europe/Dublin', spain: 'Europe/Madrid',
  netherlands: 'Europe/Amsterdam', belgium: 'Europe/Brussels', switzerland: 'Europe/Zurich', portugal: 'Europe/Lisbon',
  australia: 'Australia/Sydney', norway: 'Europe/Oslo', italy: 'Europe/Rome', 'channel-islands': 'Europe/Jersey', finland: 'Europe/Helsinki',
  cyprus: 'Asia/Nicosia', sweden: 'Europe/Stockholm', austria: 'Europe/Vienna', denmark: 'Europe/Copenhagen', japan: 'Asia/Tokyo',
  poland: 'Europe/Warsaw', israel: 'Asia/Jerusalem', usa: 'America/New_York', 'hong-kong': 'Asia/Hong_Kong', singapore: 'Asia/Singapore',
  iceland: 'Atlantic/Reykjavik', canada: 'America/Toronto', greece: 'Europe/Athens', malta: 'Europe/Malta', 'united-arab-emirates': 'Asia/Dubai',
  rsa: 'Africa/Johannesburg', lebanon: 'Asia/Beirut', lithuania: 'Europe/Vilnius', brazil: 'America/Sao_Paulo', 'czech-republic': 'Europe/Prague',
  bahrain: 'Asia/Bahrain', 'saudi-arabia': 'Asia/Riyadh',
};

/** The product catalogue gathered from a dataset's rows and events. */
interface CatalogueBuilder {
  /** Sees each accepted row (the loader's `onRow`). */
  readonly onRow?: (columns: Readonly<Record<string, string>>) => void;
  /** The catalogue of the products `seen` in the events written, by productId. */
  products(seen: ReadonlySet<string>, from: string): Promise<Product[]>;
}

interface DatasetSpec {
  /** The file (or, for Instacart, folder) under the datasets folder. */
  readonly path: readonly string[];
  /** The customers' zone, given one of their records, when no `timezone` option is given. */
  readonly zone: (record: SimRecord) => string;
  readonly load: (opts: LoadOptions) => AsyncIterable<SimRecord> & { readonly report: RejectionReport };
  readonly catalogue: () => CatalogueBuilder;
}

/** A loader's events as records of one topic, keeping its report. */
function asRecords<T>(load: DatasetLoad<T>, wrap: (value: T) => SimRecord): AsyncIterable<SimRecord> & { readonly report: RejectionReport } {
  return {
    report: load.report,
    async *[Symbol.asyncIterator]() {
      for await (const value of load) yield wrap(value);
    },
  };
}

const byId = (a: { productId: string }, b: { productId: string }): number => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0);

/** "Samsung smartphone" from brand `samsung` and category code `electronics.smartphone`; `Product <id>` from neither. */
export function rees46ProductName(productId: string, brand: string, categoryCode: string): string {
  const leaf = categoryCode.split('.').pop()?.replace(/_/g, ' ') ?? '';
  const name = [brand.trim(), leaf.trim()].filter((x) => x !== '').join(' ');
  return name === '' ? `Product ${productId}` : name.charAt(0).toUpperCase() + name.slice(1);
}

/** REES46: name from brand and category code, category as the events have it, the latest price seen. */
function rees46Catalogue(): CatalogueBuilder {
  const rows = new Map<string, { name: string; category: string | null; price: number | null }>();
  return {
    onRow: (c) => {
      const productId = (c['product_id'] ?? '').trim();
      const price = (c['price'] ?? '').trim();
      const before = rows.get(productId);
      rows.set(productId, {
        name: rees46ProductName(productId, c['brand'] ?? '', c['category_code'] ?? ''),
        category: (c['category_code'] ?? '').trim() || (c['category_id'] ?? '').trim() || null,
        price: price === '' ? (before?.price ?? null) : Number(price),
      });
    },
    products: async (seen) =>
      [...rows]
        .filter(([id, r]) => seen.has(id) && r.price !== null)
        .map(([productId, r]) => ({ productId, name: r.name, category: r.category, price: r.price!, imageUrl: null }))
        .sort(byId),
  };
}

/** Online Retail: the first non-empty Description, the most frequent UnitPrice (ties: the lower), no category. */
function onlineRetailCatalogue(): CatalogueBuilder {
  const rows = new Map<string, { name: string; prices: Map<number, number> }>();
  return {
    onRow: (c) => {
      const productId = (c['StockCode'] ?? '').trim();
      const description = (c['Description'] ?? '').trim();
      const price = Number(c['UnitPrice']);
      let r = rows.get(productId);
      if (r === undefined) rows.set(productId, (r = { name: '', prices: new Map() }));
      if (r.name === '' && description !== '') r.name = description;
      r.prices.set(price, (r.prices.get(price) ?? 0) + 1);
    },
    products: async (seen) =>
      [...rows]
        .filter(([id]) => seen.has(id))
        .map(([productId, r]) => {
          const [price] = [...r.prices].reduce((best, p) => (p[1] > best[1] || (p[1] === best[1] && p[0] < best[0]) ? p : best));
          return { productId, name: r.name === '' ? productId : r.name, category: null, price, imageUrl: null };
        })
        .sort(byId),
  };
}

/** Instacart: names from `products.csv`; price 0, as Instacart publishes none (the loader's unitPrice too). */
function instacartCatalogue(): CatalogueBuilder {
  return {
    products: async (seen, from) => {
      const out: Product[] = [];
      let header: string[] | null = null;
      for await (const rows of readCsvRows(join(from, 'instacart', 'products.csv'))) {
        for (const { fields } of rows) {
          if (header === null) {
            header = (fields ?? []).map((h) => h.trim());
            continue;
          }
          const productId = (fields?.[header.indexOf('product_id')] ?? '').trim();
          const name = (fields?.[header.indexOf('product_name')] ?? '').trim();
          if (seen.has(productId)) out.push({ productId, name: name === '' ? `Product ${productId}` : name, category: null, price: 0, imageUrl: null });
        }
      }
      return out.sort(byId);
    },
  };
}

const noCatalogue = (): CatalogueBuilder => ({ products: async () => [] });

const DATASETS: Readonly<Record<DatasetName, DatasetSpec>> = {
  geolife: {
    path: ['geolife', 'geolife_sample.txt.gz'],
    zone: () => 'Asia/Shanghai',
    load: (o) => asRecords(loadGeoLife(o), (value) => ({ topic: 'location', value })),
    catalogue: noCatalogue,
  },
  instacart: {
    path: ['instacart'],
    zone: () => 'UTC',
    load: (o) => asRecords(loadInstacart(o), (value) => ({ topic: 'pos', value })),
    catalogue: instacartCatalogue,
  },
  'online-retail': {
    path: ['online-retail', 'online-retail.csv.gz'],
    zone: (r) => (r.topic === 'pos' ? COUNTRY_ZONES[r.value.storeId.replace(/^uk-/, '')] : undefined) ?? 'Europe/London',
    load: (o) => asRecords(loadOnlineRetail(o), (value) => ({ topic: 'pos', value })),
    catalogue: onlineRetailCatalogue,
  },
  rees46: {
    path: ['rees46', '2019-Oct-sample.csv'],
    zone: () => 'UTC',
    load: (o) => asRecords(loadRees46(o), (value) => ({ topic: 'clickstream', value })),
    catalogue: rees46Catalogue,
  },
};

/** Converts one dataset into replay input in `opts.out` (see the module's TSDoc). */
export async function convertDataset(opts: ConvertOptions): Promise<ConvertResult> {
  const spec = DATASETS[opts.dataset];
  const from = opts.from ?? datasetsDir();
  const limit = opts.maxEvents ?? Infinity;
  const catalogue = spec.catalogue();
  const load = spec.load({ path: join(from, ...spec.path), ...(catalogue.onRow !== undefined ? { onRow: catalogue.onRow } : {}) });
  await mkdir(opts.out, { recursive: true });
  const files = {
    events: join(opts.out, 'events.jsonl'),
    stores: join(opts.out, 'stores.json'),
    profiles: join(opts.out, 'profiles.jsonl'),
    products: join(opts.out, 'products.json'),
    report: join(opts.out, 'report.json'),
  };

  const zones = new Map<string, string>();
  const productIds = new Set<string>();
  const pings: Array<SimRecord & { topic: 'location' }> = [];
  let events = 0;
  const out = createWriteStream(files.events);
  let chunk = '';
  try {
    for await (const r of limit > 0 ? load : []) {
      chunk += `${recordToJsonLine(r)}\n`;
      if (chunk.length > 65_536) {
        await writeChunk(out, chunk);
        chunk = '';
      }
      const customer = r.value.customerId;
      if (customer !== null && !zones.has(customer)) zones.set(customer, opts.timezone ?? spec.zone(r));
      if (r.topic === 'location') pings.push(r);
      else if (r.topic === 'pos') for (const i of r.value.items) productIds.add(i.productId);
      else if (r.value.productId !== null) productIds.add(r.value.productId);
      if (++events >= limit) break;
    }
  } finally {
    out.end(chunk);
    await finished(out);
  }

  const stays = detectAllStays(pings.map((p) => p.value), opts.stays);
  const stores: Store[] = placesOf(stays, opts.stays?.radiusM).map((p, i) => ({
    storeId: `geolife-place-${i + 1}`,
    name: `GeoLife place ${i + 1}`,
    lat: round(p.lat, 6),
    lon: round(p.lon, 6),
    radiusM: STORE_RADIUS_M,
    timezone: opts.timezone ?? 'Asia/Shanghai',
  }));
  const profiles: CustomerProfile[] = [...zones]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([customerId, timezone]) => ({ customerId, tier: 'basic', timezone, consent: { push: true, sms: true, email: true, in_store: true }, lastPurchaseTs: null }));
  const products = await catalogue.products(productIds, from);

  await writeFile(files.stores, storesToJson(stores));
  await writeFile(files.profiles, profilesToJsonl(profiles));
  await writeFile(files.products, productsToJson(products));
  const report = load.report;
  const summary = {
    dataset: opts.dataset,
    maxEvents: opts.maxEvents ?? null,
    events,
    stores: stores.length,
    ...(opts.dataset === 'geolife' ? { stays: stays.length } : {}),
    profiles: profiles.length,
    products: products.length,
    // The loader's accounting, without the absolute paths of this machine.
    rows: { complete: report.complete, read: report.read, emitted: report.emitted, rejected: report.rejected, events: report.events, notes: report.notes },
  };
  await writeFile(files.report, `${JSON.stringify(summary, null, 2)}\n`);
  return {
    dataset: opts.dataset,
    files,
    events,
    stores: stores.length,
    profiles: profiles.length,
    products: products.length,
    ...(opts.dataset === 'geolife' ? { stays: stays.length } : {}),
    report,
  };
}
