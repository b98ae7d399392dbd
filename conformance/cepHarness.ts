import { expect } from 'vitest';
import type { Match, Pattern } from '../engine/pattern.js';
import { pipeline } from '../stream/stream.js';
import { TestDriver, type Out } from '../testkit/driver.js';
import { pattern } from '../operators/pattern.js';

/**
 * Test helpers for the Flink CEP conformance ports: Flink's `Event(id, name, price)` and
 * `SubEvent(id, name, price, volume)`, and a runner that feeds `(event, ts)` pairs to our
 * `pattern` operator on one key (Flink's `NFATestHarness.feedRecords`), then ends the input.
 */
export interface Event {
  readonly id: number;
  readonly name: string;
  readonly price: number;
}
export interface SubEvent extends Event {
  readonly volume: number;
}

export const event = (id: number, name: string, price: number): Event => ({ id, name, price });
export const subEvent = (id: number, name: string, price: number, volume: number): SubEvent => ({ id, name, price, volume });
export const isSubEvent = (e: Event): e is SubEvent => 'volume' in e;
export const named =
  (n: string) =>
  (e: Event): boolean =>
    e.name === n;

const show = (e: Event): string => `${e.name}#${e.id}/${e.price}`;

export interface Fed<M extends object> {
  readonly matches: Array<Out<Match<M>>>;
  readonly timeouts: Array<Out<Match<M>>>;
  /** Each match flattened in stage order. */
  readonly lists: Event[][];
}

/**
 * Feeds the records in arrival order, then ends the input (every pending deadline fires). Inputs
 * whose timestamps go backwards need a source bound `outOfOrdernessMs` so that none is late; a
 * late record fails the test.
 */
export function feed<M extends object>(p: Pattern<Event, M, string>, records: ReadonlyArray<readonly [Event, number]>, outOfOrdernessMs = 0): Fed<M> {
  const pl = pipeline('cep');
  const out = pl.keyedSource<Event>('in', { timestamp: () => 0, key: () => 'k', outOfOrdernessMs }).pipeKeyed(pattern('cep', p, { timeouts: true }));
  out.to('out');
  const d = TestDriver.of(pl);
  for (const [e, ts] of records) d.push('in', e, ts);
  d.end();
  expect(d.side('cep', 'late')).toEqual([]);
  const matches = d.records<Match<M>>('out');
  const lists = matches.map((m) => Object.values(m.value as Record<string, Event[]>).flat());
  return { matches, timeouts: d.side<Match<M>>('cep', 'timeout'), lists };
}

/** Flink's `comparePatterns`: the same matches, as a multiset (order of matches does not matter). */
export function expectMatches(actual: Event[][], expected: Event[][]): void {
  const norm = (ls: Event[][]) => ls.map((l) => l.map(show).join(' ')).sort();
  expect(norm(actual)).toEqual(norm(expected));
}
