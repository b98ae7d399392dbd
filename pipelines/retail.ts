import type { Pipeline } from '../runtime/core/stream.js';
import { buildCartAbandonment, CART_ABANDONMENT_DEFAULTS, type CartAbandonmentParams } from './cartAbandonment.js';
import type { RetailSourceOptions } from './sources.js';

export interface RetailParams {
  readonly sources?: RetailSourceOptions;
  readonly cartAbandonment?: CartAbandonmentParams;
}

/** Sink names of the retail pipelines. */
export const RETAIL_SINKS = { triggers: 'triggers' } as const;

/**
 * The retail pipelines on one graph: the scenes of SCENES.md, their triggers to the sink
 * `triggers`. (Decisions, offers, recommendations and attribution come with the retail issue.)
 */
export function buildRetail(p: Pipeline, params: RetailParams = {}): void {
  buildCartAbandonment(p, params.cartAbandonment ?? CART_ABANDONMENT_DEFAULTS, params.sources).to(RETAIL_SINKS.triggers);
}
