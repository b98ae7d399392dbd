import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaLogCreator } from './logging.js';

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
