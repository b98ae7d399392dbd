import { createRequire } from 'node:module';

/**
 * kafkajs keeps a request queue per broker connection. After every response, and every time its
 * timer fires, it arms that timer again, even when no request waits: the delay, `throttledUntil -
 * Date.now()`, is negative unless the broker throttles (`throttledUntil` starts at -1), and Node
 * runs a negative delay after 1 ms. So each connection of an idle client wakes the process about
 * 1,000 times a second for nothing: an idle producer and consumer, 2,300 timers a second and 3 % of
 * a core against 0.5 % without (measured 2026-12-07 on the project's broker); on Node 24 every
 * client also prints a `TimeoutNegativeWarning` at connect. Upstream: tulios/kafkajs issue 1751,
 * PRs 1755 and 1768 open; kafkajs has had no release since 2.2.4.
 *
 * This module changes one method of kafkajs' `RequestQueue` class, `scheduleCheckPendingRequests`:
 * with no request pending it arms nothing. Nothing is lost by that: a request that has to wait is
 * queued by `push`, which schedules the check itself, and a response or a timed-out request runs the
 * check directly. With requests pending it is kafkajs' own method, unchanged (its delay is then the
 * throttle's end or 10 ms, never negative). A method of the class's prototype, so it reaches every
 * queue, made before or after this module loads. If kafkajs' file is not where 2.2.4 has it, or
 * the method is not there, nothing changes: {@link quietRequestQueueInstalled} says which.
 */

interface RequestQueueLike {
  readonly pending: readonly unknown[];
}
type Schedule = (this: RequestQueueLike) => void;
const MARK = Symbol.for('scenestream.quietRequestQueue');

const require = createRequire(import.meta.url);

function install(): boolean {
  let proto: Record<string, unknown> | undefined;
  try {
    proto = (require('kafkajs/src/network/requestQueue/index.js') as { prototype?: Record<string, unknown> }).prototype;
  } catch {
    return false;
  }
  const original = proto?.['scheduleCheckPendingRequests'];
  if (proto === undefined || typeof original !== 'function') return false;
  if ((original as unknown as Record<symbol, unknown>)[MARK] === true) return true; // installed by another copy of this module
  const quiet: Schedule = function (this: RequestQueueLike) {
    if (this.pending.length === 0) return;
    (original as Schedule).call(this);
  };
  Object.defineProperty(quiet, MARK, { value: true });
  proto['scheduleCheckPendingRequests'] = quiet;
  return true;
}

/** Whether kafkajs' request queues in this process arm their timer only with requests pending. */
export const quietRequestQueueInstalled: boolean = install();
