import type { logCreator } from 'kafkajs';
import { logLevel } from './kafkajs.js';

/**
 * kafkajs' logs through the job's log, warnings and errors only, each distinct message at most once
 * per `intervalMs` (with the number of repeats held back): a broker that is down makes kafkajs log
 * the same connection error on every attempt, several times a second. Messages that differ only in
 * a duration ("Restarting the consumer in 7142ms", "... in 8612ms") count as one. Error
 * responses to single requests are left out: kafkajs retries them (a fresh topic's metadata, a
 * loading coordinator).
 */
export function kafkaLogCreator(log: (level: 'info' | 'warn' | 'error', msg: string) => void, intervalMs: number, now: () => number = Date.now): logCreator {
  const seen = new Map<string, { at: number; repeats: number }>();
  return () => ({ namespace, level, log: entry }) => {
    if (level > logLevel.WARN) return;
    // An error response to one request (a topic being created, a coordinator loading): kafkajs
    // retries it, and a final failure surfaces as the operation's own error.
    if (namespace === 'Connection' && entry.message.startsWith('Response ')) return;
    const text = `kafka ${namespace}: ${entry.message}${typeof entry['error'] === 'string' ? `: ${entry['error']}` : ''}`;
    const shape = text.replace(/\b\d+(?:\.\d+)?\s?(?:ms|s)\b/g, '#ms');
    const last = seen.get(shape);
    const t = now();
    if (last !== undefined && t - last.at < intervalMs) {
      last.repeats++;
      return;
    }
    const repeats = last?.repeats ?? 0;
    seen.set(shape, { at: t, repeats: 0 });
    if (seen.size > 1_000) seen.delete(seen.keys().next().value as string);
    log(level === logLevel.ERROR ? 'error' : 'warn', repeats > 0 ? `${text} (and ${repeats} times more since it was last logged)` : text);
  };
}

/**
 * Whether a process warning is kafkajs' harmless negative timer: its request queue schedules a
 * check at `throttledUntil - Date.now()` with `throttledUntil` starting at -1, a large negative
 * delay that Node (22 and later) clamps to 1 ms and reports as a `TimeoutNegativeWarning` at
 * every start.
 */
export function isKafkajsTimerWarning(w: Error): boolean {
  return w.name === 'TimeoutNegativeWarning' && /^-\d{12,} is a negative number/.test(w.message);
}

let quiet = false;

/**
 * Keeps kafkajs' negative-timer warning ({@link isKafkajsTimerWarning}) off stderr; every other
 * process warning is printed as Node prints it. Node prints warnings from its own `warning`
 * listener, so this replaces that listener once per process.
 */
export function quietKafkajsTimerWarning(): void {
  if (quiet) return;
  quiet = true;
  const defaults = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (isKafkajsTimerWarning(w)) return;
    for (const l of defaults) l(w);
  });
}
