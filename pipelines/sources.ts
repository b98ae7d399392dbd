import type { Pipeline, Stream } from '../stream/stream.js';
import type { ClickEvent, LocationEvent, PosEvent } from '../schemas/index.js';

/** Source names: the topics the retail pipelines read. */
export const TOPICS = { clickstream: 'clickstream', pos: 'pos', location: 'location' } as const;

export interface RetailSourceOptions {
  /** Bounded out-of-orderness of every input (default 5 s). */
  readonly outOfOrdernessMs?: number;
  /** After this long without records an input stops holding event time back (default 60 s). */
  readonly idleTimeoutMs?: number;
}

export interface RetailSources {
  readonly clicks: Stream<ClickEvent>;
  readonly pos: Stream<PosEvent>;
  readonly location: Stream<LocationEvent>;
}

/** The inputs' watermark settings, defaults filled in (5 s out of order, idle after 60 s). */
export function retailSourceTiming(opts: RetailSourceOptions = {}): { readonly outOfOrdernessMs: number; readonly idleTimeoutMs: number } {
  return { outOfOrdernessMs: opts.outOfOrdernessMs ?? 5_000, idleTimeoutMs: opts.idleTimeoutMs ?? 60_000 };
}

/** The three retail inputs, event time from `ts`. */
export function retailSources(p: Pipeline, opts: RetailSourceOptions = {}): RetailSources {
  const o = retailSourceTiming(opts);
  return {
    clicks: p.source<ClickEvent>(TOPICS.clickstream, { timestamp: (e) => e.ts, ...o }),
    pos: p.source<PosEvent>(TOPICS.pos, { timestamp: (e) => e.ts, ...o }),
    location: p.source<LocationEvent>(TOPICS.location, { timestamp: (e) => e.ts, ...o }),
  };
}

/** A till transaction of a known customer. */
export type KnownPosEvent = PosEvent & { customerId: string };

export const isKnownCustomer = (e: PosEvent): e is KnownPosEvent => e.customerId !== null;

/** SCENES.md §1: a purchase is a `checkout` click, or a till transaction with an item of quantity > 0. */
export function isPurchase(e: ClickEvent | PosEvent): boolean {
  return 'items' in e ? e.customerId !== null && e.items.some((i) => i.quantity > 0) : e.type === 'checkout';
}
