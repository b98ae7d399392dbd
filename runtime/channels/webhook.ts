/**
 * The push webhook channel: each offer is POSTed as JSON to one URL.
 *
 * - **Once per offer id.** The offer id is claimed in a {@link DeliveryLedger} before the first
 *   attempt; an id already claimed (delivered, or being delivered) is not sent again and the call
 *   returns `duplicate`. Receivers get the id in an `Idempotency-Key` header too.
 * - **Timeout** per attempt (`timeoutMs`, covering the response body).
 * - **Retries**, at most `maxAttempts` attempts in all, on network errors, timeouts, 408, 429 and
 *   5xx; any other status (4xx, 3xx) is final at once, since sending the same body again cannot help.
 * - **Backoff**: before attempt n+1, `cap = min(maxDelayMs, baseDelayMs * 2^(n-1))` and the delay is
 *   uniform in `[cap/2, cap)` ("equal jitter"), drawn from a generator seeded by `seed`, so a test
 *   or a replay sees the same delays; a `Retry-After` in seconds on 429/503 raises the delay to it
 *   (still at most `maxDelayMs`).
 * - **Final failure** releases the claim (so a later attempt may deliver the offer), counts it, and
 *   rejects with `SS_ERR_SINK_FAILED` naming the offer id, the attempts and the last cause.
 */
import type { Offer } from '../../schemas/index.js';
import { createRng } from '../../simulator/prng.js';
import { isScenestreamError, ssError } from '../../schemas/errors.js';
import type { DeliveryLedger } from './ledger.js';

/** The counters a channel bumps (a `Metrics` fits). */
export interface ChannelMetrics {
  readonly offersDelivered: { inc(labels: { channel: string }): void };
  readonly offersDuplicate: { inc(labels: { channel: string }): void };
  readonly offerDeliveryFailures: { inc(labels: { channel: string }): void };
}

export interface WebhookOptions {
  /** `http://` or `https://` URL that receives the POSTs. */
  readonly url: string;
  readonly ledger: DeliveryLedger;
  /** Per attempt, default 5,000 ms. */
  readonly timeoutMs?: number;
  /** Attempts in all, first included; default 5. */
  readonly maxAttempts?: number;
  /** Default 250 ms. */
  readonly baseDelayMs?: number;
  /** Default 10,000 ms. */
  readonly maxDelayMs?: number;
  /** Seed of the jitter; default `webhook`. */
  readonly seed?: string;
  /** Waits between attempts; default a real timer (tests pass one that records and returns). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Extra request headers (authorisation). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly metrics?: ChannelMetrics;
  /** The `channel` label of the metrics; default `webhook`. */
  readonly channel?: string;
}

export type DeliveryResult = { readonly outcome: 'delivered'; readonly attempts: number; readonly status: number } | { readonly outcome: 'duplicate' };

/** Statuses worth retrying: the server may answer differently later. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The delay before attempt `attempt + 1` (attempt >= 1): equal jitter over an exponential cap. */
export function backoffDelayMs(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(cap / 2 + random() * (cap / 2));
}

/** `Retry-After` in seconds (the HTTP-date form is ignored: clocks disagree). */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function positiveInt(field: string, v: number, min: number): number {
  if (!(Number.isSafeInteger(v) && v >= min)) throw ssError('SS_ERR_CONFIG', `webhook ${field} must be an integer >= ${min}, got ${v}`, { field: `webhook.${field}` });
  return v;
}

/** One attempt's result: final (delivered or hopeless) or worth another try. */
type Attempt = { kind: 'ok'; status: number } | { kind: 'final'; why: string } | { kind: 'retry'; why: string; retryAfterMs?: number };

export class WebhookChannel {
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly channel: string;

  constructor(private readonly opts: WebhookOptions) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch (cause) {
      throw ssError('SS_ERR_CONFIG', `webhook url '${opts.url}' is not a URL`, { field: 'webhook.url', cause });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw ssError('SS_ERR_CONFIG', `webhook url must be http(s), got '${url.protocol}'`, { field: 'webhook.url' });
    this.url = url.href;
    this.timeoutMs = positiveInt('timeoutMs', opts.timeoutMs ?? 5_000, 1);
    this.maxAttempts = positiveInt('maxAttempts', opts.maxAttempts ?? 5, 1);
    this.baseDelayMs = positiveInt('baseDelayMs', opts.baseDelayMs ?? 250, 0);
    this.maxDelayMs = positiveInt('maxDelayMs', opts.maxDelayMs ?? 10_000, this.baseDelayMs);
    const rng = createRng(opts.seed ?? 'webhook');
    this.random = () => rng.next();
    this.sleep = opts.sleep ?? realSleep;
    this.channel = opts.channel ?? 'webhook';
  }

  /**
   * Delivers a batch of offers, at most `concurrency` POSTs at a time: different customers' offers
   * in parallel, one customer's in their order. A slow endpoint then holds a batch up for about
   * (its latency x the longest run of one customer's offers), not x the batch size. Rejects with
   * the first failure once every started delivery has settled (what was delivered stays claimed).
   * The ledger checks its memory first ({@link DeliveryLedger.beforeBatch}).
   */
  async deliverAll(offers: readonly Offer[], concurrency = 8): Promise<void> {
    if (offers.length === 0) return;
    await this.opts.ledger.beforeBatch?.();
    const byCustomer = new Map<string, Offer[]>();
    for (const o of offers) {
      const l = byCustomer.get(o.customerId);
      if (l === undefined) byCustomer.set(o.customerId, [o]);
      else l.push(o);
    }
    const queues = [...byCustomer.values()];
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      while (failure === undefined && next < queues.length) {
        const queue = queues[next++]!;
        for (const o of queue) {
          try {
            await this.deliver(o);
          } catch (error) {
            failure ??= { error };
            return;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, queues.length)) }, worker));
    if (failure !== undefined) throw failure.error;
  }

  /**
   * Delivers `offer` once per offer id. Resolves `delivered` or `duplicate`; rejects with
   * `SS_ERR_SINK_FAILED` after the last attempt (or a final status), or with the ledger's
   * `SS_ERR_SERVICE_UNAVAILABLE` if the ledger cannot be reached (nothing was sent then).
   */
  async deliver(offer: Offer): Promise<DeliveryResult> {
    const labels = { channel: this.channel };
    if (!(await this.opts.ledger.claim(offer.offerId))) {
      this.opts.metrics?.offersDuplicate.inc(labels);
      return { outcome: 'duplicate' };
    }
    const body = JSON.stringify(offer);
    let last = '';
    let attempt = 0;
    while (attempt < this.maxAttempts) {
      attempt += 1;
      const r = await this.attempt(offer.offerId, body);
      if (r.kind === 'ok') {
        this.opts.metrics?.offersDelivered.inc(labels);
        return { outcome: 'delivered', attempts: attempt, status: r.status };
      }
      last = r.why;
      if (r.kind === 'final' || attempt >= this.maxAttempts) break;
      const backoff = backoffDelayMs(attempt, this.baseDelayMs, this.maxDelayMs, this.random);
      await this.sleep(Math.min(this.maxDelayMs, Math.max(backoff, r.retryAfterMs ?? 0)));
    }
    this.opts.metrics?.offerDeliveryFailures.inc(labels);
    let releaseNote = '';
    try {
      await this.opts.ledger.release(offer.offerId);
    } catch (e) {
      // The claim stays until its TTL: the offer will not be retried before then. Say so.
      releaseNote = `; its ledger claim could not be released (${isScenestreamError(e) ? e.code : 'error'}: ${e instanceof Error ? e.message : String(e)})`;
    }
    throw ssError('SS_ERR_SINK_FAILED', `offer ${offer.offerId}: not delivered to ${this.url} after ${attempt} attempt(s): ${last}${releaseNote}`, { stepId: this.channel });
  }

  private async attempt(offerId: string, body: string): Promise<Attempt> {
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { ...this.opts.headers, 'content-type': 'application/json', 'idempotency-key': offerId },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // Read the body inside the timeout, so the connection is reusable and a stalled body counts.
      const text = await res.text();
      if (res.status >= 200 && res.status < 300) return { kind: 'ok', status: res.status };
      const why = `HTTP ${res.status}${text === '' ? '' : ` ${JSON.stringify(text.slice(0, 200))}`}`;
      if (!isRetryableStatus(res.status)) return { kind: 'final', why: `${why} (not retried)` };
      const after = res.status === 429 || res.status === 503 ? retryAfterMs(res.headers.get('retry-after')) : undefined;
      return after === undefined ? { kind: 'retry', why } : { kind: 'retry', why, retryAfterMs: after };
    } catch (e) {
      const name = e instanceof Error ? e.name : '';
      if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'retry', why: `timed out after ${this.timeoutMs} ms` };
      const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
      return { kind: 'retry', why: `${e instanceof Error ? e.message : String(e)}${cause}` };
    }
  }
}
