// Child process of bench/startup.ts: times the retail graph in process (replayRecords) over a
// simulated input, in whichever tree and form (TypeScript under tsx, or compiled) it is given.
// usage: node [--import tsx] graphRunner.mjs <replay module> <deps module> <input dir>
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [replayModule, depsModule, dir] = process.argv.slice(2);
const { readEvents, readStores, readProfiles, replayRecords } = await import(pathToFileURL(replayModule).href);
const { profilesFrom } = await import(pathToFileURL(depsModule).href);
const stores = await readStores(join(dir, 'stores.json'));
const profiles = profilesFrom(await readProfiles(join(dir, 'profiles.jsonl')));
const { records } = await readEvents(join(dir, 'events.jsonl'));
globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const started = performance.now();
const result = replayRecords(records, { stores, profiles });
const seconds = (performance.now() - started) / 1000;
const outputs = Object.values(result.outputs).reduce((n, list) => n + list.length, 0);
process.stdout.write(`${JSON.stringify({ events: records.length, seconds, outputs, heapGrowth: process.memoryUsage().heapUsed - heapBefore })}\n`);
