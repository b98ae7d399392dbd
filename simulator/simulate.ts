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
import { generateEvents, type EventOptions, type SimRecord } from './life.js';
import { respondingEvents, type RespondOptions, type ResponsePlan } from './respond.js';
import { generateWorld, type World, type WorldOptions } from './world.js';

export interface SimulateOptions extends WorldOptions, EventOptions {
  /** Events as JSON lines to this file, `-` for stdout, or a stream (not ended). */
  out?: string | Writable;
  /** A directory to write `events.jsonl`, `stores.json`, `profiles.jsonl` and `products.json` into (created if missing). */
  dir?: string;
  /** Produce the events to Kafka (brokers, pacing, topics). */
  kafka?: KafkaOptions;
  /**
   * Customers respond to the offers the engine makes them (`respond.ts`): effects per scene and
   * the campaign the job will run. Absent: nobody responds (the library's default, which goldens
   * recorded; the command line turns it on).
   */
  respond?: RespondOptions;
}

export interface SimulateResult {
  world: World;
  /** Events written to each file sink, by path (`-` for stdout). */
  written: Record<string, number>;
  /** Files written, in order. */
  files: string[];
  kafka: SendSummary | null;
  /** How the responses came out, when customers respond. */
  responses: ResponsePlan | null;
}

async function writeEventsFile(path: string, events: () => Generator<SimRecord>): Promise<number> {
  const out = createWriteStream(path);
  const n = await writeJsonl(events(), out);
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
  const eventOpts: EventOptions = { ...(opts.days === undefined ? {} : { days: opts.days }), ...(opts.history === undefined ? {} : { history: opts.history }) };
  // Fail on bad event options before anything is written.
  generateEvents(world, eventOpts).next();
  const responding = opts.respond === undefined ? null : respondingEvents(world, eventOpts, opts.respond);
  const events = responding === null ? () => generateEvents(world, eventOpts) : () => responding.events();
  const result: SimulateResult = { world, written: {}, files: [], kafka: null, responses: responding?.plan ?? null };

  if (opts.dir !== undefined) {
    await mkdir(opts.dir, { recursive: true });
    const stores = join(opts.dir, 'stores.json');
    const profiles = join(opts.dir, 'profiles.jsonl');
    const products = join(opts.dir, 'products.json');
    const eventsFile = join(opts.dir, 'events.jsonl');
    await writeFile(stores, storesToJson(world.stores));
    await writeFile(products, productsToJson(catalogueProducts(world.catalogue)));
    await writeFile(profiles, profilesToJsonl(world.profiles));
    result.written[eventsFile] = await writeEventsFile(eventsFile, events);
    result.files.push(stores, profiles, products, eventsFile);
  }
  if (opts.out !== undefined) {
    if (typeof opts.out !== 'string') {
      result.written['stream'] = await writeJsonl(events(), opts.out);
    } else if (opts.out === '-') {
      result.written['-'] = await writeJsonl(events(), process.stdout);
    } else {
      result.written[opts.out] = await writeEventsFile(opts.out, events);
      result.files.push(opts.out);
    }
  }
  if (opts.kafka !== undefined) {
    result.kafka = await produceToKafka(events(), opts.kafka);
  }
  return result;
}
