import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isKafkajsTimerWarning, kafkaLogCreator, quietKafkajsTimerWarning } from './logging.js';

describe('kafkaLogCreator', () => {
  it('passes warnings and errors, each distinct message at most once per interval with the repeats held back', () => {
    let now = 0;
    const lines: string[] = [];
    const logger = kafkaLogCreator((level, msg) => lines.push(`${level}: ${msg}`), 30_000, () => now)(logLevel.INFO);
    const entry = (level: logLevel, message: string, error?: string) =>
      logger({ namespace: 'Connection', level, label: 'ERROR', log: { timestamp: '', logger: 'kafkajs', message, ...(error !== undefined ? { error } : {}) } });
    for (let i = 0; i < 50; i++) {
      entry(logLevel.ERROR, 'Connection error', 'connect ECONNREFUSED 127.0.0.1:9092');
      entry(logLevel.INFO, 'Starting');
      now += 1_000;
    }
    entry(logLevel.ERROR, 'Response Metadata(key: 3, version: 6)', 'This server does not host this topic-partition');
    entry(logLevel.WARN, 'Consumer group is rebalancing');
    // Backoff delays vary from one attempt to the next: the same message all the same.
    for (const ms of [7142, 8612, 9884]) entry(logLevel.ERROR, `Restarting the consumer in ${ms}ms`);
    // Other numbers tell messages apart (two brokers down are two messages).
    entry(logLevel.ERROR, 'Connection error', 'connect ECONNREFUSED 127.0.0.1:9093');
    expect(lines).toEqual([
      'error: kafka Connection: Connection error: connect ECONNREFUSED 127.0.0.1:9092',
      'error: kafka Connection: Connection error: connect ECONNREFUSED 127.0.0.1:9092 (and 29 times more since it was last logged)',
      'warn: kafka Connection: Consumer group is rebalancing',
      'error: kafka Connection: Restarting the consumer in 7142ms',
      'error: kafka Connection: Connection error: connect ECONNREFUSED 127.0.0.1:9093',
    ]);
  });
});

describe("kafkajs' negative-timer warning", () => {
  const warning = (name: string, message: string) => Object.assign(new Error(message), { name });

  it("is recognised by its name and kafkajs' shape (now - (-1) ms), and nothing else is", () => {
    expect(isKafkajsTimerWarning(warning('TimeoutNegativeWarning', '-1796605719805 is a negative number.\nTimeout duration was set to 1.'))).toBe(true);
    expect(isKafkajsTimerWarning(warning('TimeoutNegativeWarning', '-5 is a negative number.'))).toBe(false);
    expect(isKafkajsTimerWarning(warning('DeprecationWarning', '-1796605719805 is a negative number.'))).toBe(false);
  });

  it('is kept off stderr once quieted; other warnings still reach the listeners that were there', () => {
    const heard: string[] = [];
    const listener = (w: Error) => void heard.push(w.name);
    const before = process.listeners('warning');
    process.removeAllListeners('warning');
    process.on('warning', listener);
    try {
      quietKafkajsTimerWarning();
      process.emit('warning', warning('TimeoutNegativeWarning', '-1796605719805 is a negative number.'));
      process.emit('warning', warning('DeprecationWarning', 'old'));
      expect(heard).toEqual(['DeprecationWarning']);
    } finally {
      process.removeAllListeners('warning');
      for (const l of before) process.on('warning', l);
    }
  });
});
