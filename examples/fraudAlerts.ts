/**
 * A pipeline a user writes outside `pipelines/`, with only the public vocabulary: card payments
 * in, alerts out. It is here to show (and test) that the engine is a general one.
 *
 * - `bursts`: more than 3 payments of one card in any 60 s tumbling window (emitted on close).
 * - `impossible_travel`: two payments of one card in different countries less than 10 min apart.
 * - `unconfirmed`: a payment over 1,000 not followed by a confirmation within 5 min.
 * Payments are deduplicated by id first (a gateway may resend within 1 h).
 */
import { pipeline, tumblingWindow, type Pipeline } from 'scenestream';

export interface Payment {
  readonly kind: 'payment';
  readonly id: string;
  readonly card: string;
  readonly amount: number;
  readonly country: string;
  readonly ts: number;
}

export interface Confirmation {
  readonly kind: 'confirmation';
  readonly paymentId: string;
  readonly card: string;
  readonly ts: number;
}

export type CardEvent = Payment | Confirmation;

export interface Alert {
  readonly rule: 'burst' | 'impossible_travel' | 'unconfirmed';
  readonly card: string;
  readonly ts: number;
  readonly detail: string;
}

const isPayment = (e: CardEvent): e is Payment => e.kind === 'payment';

export function buildFraudAlerts(): Pipeline {
  const p = pipeline('fraud-alerts');
  const events = p.source<CardEvent>('card-events', { timestamp: (e) => e.ts, outOfOrdernessMs: 2_000 });
  const payments = events.filter(isPayment).dedupe('payments.dedupe', { id: (e) => e.id, ttlMs: 3_600_000 }).keyBy((e) => e.card);

  const bursts = payments
    .window(tumblingWindow({ sizeMs: 60_000, graceMs: 0 }))
    .count('payments.per-minute')
    .filter((w) => w.value > 3)
    .map((w): Alert => ({ rule: 'burst', card: w.key, ts: w.end - 1, detail: `${w.value} payments in [${w.start}, ${w.end})` }));

  const travel = payments.process<Alert>('impossible-travel', (state) => {
    const last = state.value<{ country: string; ts: number }>('last', { ttlMs: 600_000 });
    return {
      onElement(e, ctx) {
        const prev = last.get(ctx.key);
        if (prev !== undefined && prev.country !== e.country && e.ts - prev.ts < 600_000) {
          ctx.emit({ rule: 'impossible_travel', card: ctx.key, ts: e.ts, detail: `${prev.country} -> ${e.country}` });
        }
        last.set(ctx.key, { country: e.country, ts: e.ts });
      },
    };
  });

  const unconfirmed = events
    .keyBy((e) => e.card)
    .notFollowedBy('unconfirmed', {
      start: (e): e is Payment => e.kind === 'payment' && e.amount > 1_000,
      absent: (e) => e.kind === 'confirmation',
      withinMs: 300_000,
    })
    .map((a): Alert => ({ rule: 'unconfirmed', card: a.start.card, ts: a.deadline, detail: `payment ${a.start.id} of ${a.start.amount}` }));

  bursts.merge(travel, unconfirmed).to('alerts');
  return p;
}
