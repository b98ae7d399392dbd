/**
 * The simulator end to end: build a world, generate its events, write them where asked (a JSONL
 * file or stdout, a directory with the reference data, Kafka). Each sink gets its own pass over the
 * generator, which is deterministic, so every sink receives the same records and memory stays
 * bounded.
 */

import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { ssError } from '../schemas/errors.js';
import { productsToJson, profilesToJsonl, storesToJson, writeJsonl } from './jsonl.js';
import { catalogueProducts } from './catalogue.js';
import { produceToKafka, type KafkaOptions, type SendSummary } from './kafka.js';
import { generateEvents, type EventOptions } from './life.js';
import { generateWorld, type World, type WorldOptions } from './world.js';

export interface SimulateOptions extends WorldOptions, EventOptions {
  /** Events as JSON lines to this file, `-` for stdout, or a stream (not ended). */
  out?: string | Writable;
  /** A directory to write `events.jsonl`, `stores.json`, `profiles.jsonl` and `products.json` into (created if missing). */
  dir?: string;
  /** Produce the events to Kafka (brokers, pacing, topics). */
  kafka?: KafkaOptions;
}

export interface SimulateResult {
  world: World;
  /** Events written to each file sink, by path (`-` for stdout). */
  written: Record<string, number>;
  /** Files written, in order. */
  files: string[];
  kafka: SendSummary | null;
}

async function writeEventsFile(path: string, world: World, opts: EventOptions): Promise<number> {
  const out = createWriteStream(path);
  const n = await writeJsonl(generateEvents(world, opts), out);
  out.end();
  await finished(out);
  return n;
}

/** Generate and write; throws SS_ERR_CONFIG when no sink is given or an option is bad. */
export async function simulate(opts: SimulateOptions): Promise<SimulateResult> {
  if (opts.out === undefined && opts.dir === undefined && opts.kafka === undefined) {
    throw ssError('SS_ERR_CONFIG', 'nothing to write to: give out, dir or kafka', { field: 'out' });
  }
  const world = generateWorld(opts);
  const eventOpts: EventOptions = opts.days === undefined ? {} : { days: opts.days };
  // Fail on bad event options before anything is written.
  generateEvents(world, eventOpts).next();
  const result: SimulateResult = { world, written: {}, files: [], kafka: null };

  if (opts.dir !== undefined) {
    await mkdir(opts.dir, { recursive: true });
    const stores = join(opts.dir, 'stores.json');
    const profiles = join(opts.dir, 'profiles.jsonl');
    const products = join(opts.dir, 'products.json');
    const events = join(opts.dir, 'events.jsonl');
    await writeFile(stores, storesToJson(world.stores));
    await writeFile(products, productsToJson(catalogueProducts(world.catalogue)));
    await writeFile(profiles, profilesToJsonl(world.profiles));
    result.written[events] = await writeEventsFile(events, world, eventOpts);
    result.files.push(stores, profiles, products, events);
  }
  if (opts.out !== undefined) {
    if (typeof opts.out !== 'string') {
      result.written['stream'] = await writeJsonl(generateEvents(world, eventOpts), opts.out);
    } else if (opts.out === '-') {
      result.written['-'] = await writeJsonl(generateEvents(world, eventOpts), process.stdout);
    } else {
      result.written[opts.out] = await writeEventsFile(opts.out, world, eventOpts);
      result.files.push(opts.out);
    }
  }
  if (opts.kafka !== undefined) {
    result.kafka = await produceToKafka(generateEvents(world, eventOpts), opts.kafka);
  }
  return result;
}
