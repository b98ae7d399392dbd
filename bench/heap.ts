/**
 * `npx tsx --expose-gc bench/heap.ts [--customers N] [--days D]`: heap per active customer of the
 * retail graph. The simulated input (seed `bench`) is pushed through one executor, as a Kafka task
 * would, and not ended: every customer's state and timers are live. The heap after a full GC, minus
 * the heap before the executor was built (the input already in memory), divided by the customers
 * who sent anything, is the figure (target 2 KiB, issue 10).
 */
import { parseArgs } from 'node:util';
import { VirtualClock } from '../engine/clock.js';
import { Executor } from '../engine/executor.js';
import { InMemoryStateBackend } from '../engine/state.js';
import { profilesFrom } from '../pipelines/deps.js';
import { buildRetail } from '../pipelines/retail.js';
import { generateEvents } from '../simulator/life.js';
import { generateWorld } from '../simulator/world.js';
import { pipeline } from '../stream/stream.js';
import { machine } from './machine.js';

const { values } = parseArgs({ options: { customers: { type: 'string', default: '2000' }, days: { type: 'string', default: '3' } } });
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc (npx tsx --expose-gc bench/heap.ts)');

const world = generateWorld({ seed: 'bench', customers: Number(values.customers) });
const records = [...generateEvents(world, { days: Number(values.days) })];
const customers = new Set(records.map((r) => (r.value as { customerId: string | null }).customerId).filter((c) => c !== null)).size;
const deps = { stores: world.stores, profiles: profilesFrom(world.profiles) };

const settle = (): number => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
};
const before = settle();
const p = pipeline('retail');
buildRetail(p, { deps });
const graph = p.build();
const state = new InMemoryStateBackend();
const executor = new Executor(graph, { clock: new VirtualClock(0), state, sinks: Object.fromEntries(graph.sinks.map((s) => [s.id, () => {}])) });
for (const r of records) executor.push(r.topic, r.value);
const after = settle();
const perCustomer = (after - before) / customers;
process.stdout.write(`${machine()}\n`);
process.stdout.write(`${records.length} events, ${customers} active customers: heap ${((after - before) / 1024 / 1024).toFixed(1)} MiB, ${(perCustomer / 1024).toFixed(2)} KiB per active customer (target 2 KiB)\n`);
// Keep the executor and its state reachable until after the reading.
if (executor.stats() === undefined || state.snapshot() === undefined) process.exitCode = 1;
