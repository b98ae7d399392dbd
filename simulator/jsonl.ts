/**
 * JSON-lines output of simulated records and the reference data, with stable key order: every
 * record goes through the schemas codec (`toJson`), which validates it and writes its keys in
 * schema field order, so the same records are always the same bytes.
 */

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { toJson, type CustomerProfile, type Product, type Store } from '../schemas/index.js';
import type { SimRecord, SimTopic } from './life.js';

/** The contract schema of each simulated topic. */
export const TOPIC_SCHEMAS = {
  clickstream: 'ClickEvent',
  pos: 'PosEvent',
  location: 'LocationEvent',
} as const satisfies Record<SimTopic, string>;

/** `{"topic":"pos","value":{...}}` without a newline; throws SS_ERR_VALIDATION on an invalid value. */
export function recordToJsonLine(record: SimRecord): string {
  let value: string;
  switch (record.topic) {
    case 'clickstream':
      value = toJson('ClickEvent', record.value);
      break;
    case 'pos':
      value = toJson('PosEvent', record.value);
      break;
    case 'location':
      value = toJson('LocationEvent', record.value);
      break;
  }
  return `{"topic":${JSON.stringify(record.topic)},"value":${value}}`;
}

/** `stores.json`: a JSON array of Store, one store per line. */
export function storesToJson(stores: readonly Store[]): string {
  return stores.length === 0 ? '[]\n' : `[\n${stores.map((s) => `  ${toJson('Store', s)}`).join(',\n')}\n]\n`;
}

/** `products.json`: a JSON array of Product, one product per line. */
export function productsToJson(products: readonly Product[]): string {
  return products.length === 0 ? '[]\n' : `[\n${products.map((p) => `  ${toJson('Product', p)}`).join(',\n')}\n]\n`;
}

/** `profiles.jsonl`: one CustomerProfile per line. */
export function profilesToJsonl(profiles: readonly CustomerProfile[]): string {
  return profiles.map((p) => `${toJson('CustomerProfile', p)}\n`).join('');
}

/** Write a chunk, waiting for the stream to drain when its buffer is full. */
export async function writeChunk(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/**
 * Write records as JSON lines, in chunks of about 64 KiB, honouring backpressure. Returns the number
 * of records written. Does not end the stream (it may be stdout).
 */
export async function writeJsonl(records: Iterable<SimRecord>, out: Writable): Promise<number> {
  let n = 0;
  let chunk = '';
  for (const r of records) {
    chunk += recordToJsonLine(r) + '\n';
    n++;
    if (chunk.length >= 65_536) {
      await writeChunk(out, chunk);
      chunk = '';
    }
  }
  if (chunk.length > 0) await writeChunk(out, chunk);
  return n;
}
