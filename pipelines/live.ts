/**
 * Parameters that may change while a pipeline runs (a reloaded campaign), and how a step reads them.
 *
 * A scene takes its parameters as a plain value (tests, one-off builds) or as a getter
 * (`() => campaign.current().params.scenes.storeProximity`). The step resolves them **once per
 * record or timer** it handles and uses that one object for the whole of that work, so a reload
 * never changes a decision half-way. What a step computed from earlier parameters and keeps in its
 * state (a cart's deadline, a cooldown's start) stays as computed: changes apply to what is decided
 * next, and nothing in flight is lost.
 */

/** Parameters as a value, or as a getter read once per record or timer. */
export type Live<P> = P | (() => P);

/**
 * A reader of live parameters that also derives the pieces a step builds from them (an accuracy
 * filter, a weekday set), memoized by the identity of the parameters object: a campaign's frozen
 * parameters change identity only on reload, so the derivation runs once per reload, not per
 * record. `check` (the step's own validation, with its step id) runs on each new object; it runs
 * at build on the first one, so bad parameters still fail fast at build time. A getter that later
 * returns parameters failing `check` makes the step throw with its step id on that record, which
 * the executor dead-letters (a campaign never does: it validates with the same rules).
 */
export function liveParams<P extends object, D>(params: Live<P>, derive: (p: P) => D, check: (p: P) => void = () => {}): () => D {
  const get: () => P = typeof params === 'function' ? (params as () => P) : () => params;
  let last: P = get();
  check(last);
  let derived: D = derive(last);
  return () => {
    const p = get();
    if (p !== last) {
      check(p);
      derived = derive(p);
      last = p;
    }
    return derived;
  };
}

/** A getter that reads a plain value or calls a getter (no derivation). */
export function readLive<P>(v: Live<P>): () => P {
  return typeof v === 'function' ? (v as () => P) : () => v;
}
