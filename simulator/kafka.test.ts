import { describe, expect, it } from 'vitest';
import type { ProducerBatch } from 'kafkajs';
import { VirtualClock } from '../engine/clock.js';
import { decodeConfluent, DEFAULT_SCHEMA_IDS } from '../schemas/index.js';
import { recordKey, sendPaced, toKafkaMessage } from './kafka.js';
import { generateEvents, type SimRecord } from './life.js';
import { generateWorld } from './world.js';

const records = [...generateEvents(generateWorld({ seed: 'kafka', customers: 20, stores: 3 }), { days: 1 })];

describe('toKafkaMessage', () => {
  it('frames Avro the Confluent way, keys by customer (store for anonymous tills), stamps event time', () => {
    const anonymous = records.find((r): r is Extract<SimRecord, { topic: 'pos' }> => r.topic === 'pos' && r.value.customerId === null);
    const ping = records.find((r) => r.topic === 'location');
    expect(anonymous).toBeDefined();
    expect(ping).toBeDefined();
    const m = toKafkaMessage(anonymous!);
    expect(m.key).toBe(anonymous!.value.storeId);
    expect(m.timestamp).toBe(String(anonymous!.value.ts));
    const value = m.value as Buffer;
    expect(value[0]).toBe(0);
    expect(value.readInt32BE(1)).toBe(DEFAULT_SCHEMA_IDS.PosEvent);
    const back = decodeConfluent(value, undefined, 'PosEvent');
    expect(back.ok && back.value).toMatchObject({ value: anonymous!.value });
    expect(recordKey(ping!)).toBe(ping!.value.customerId);
  });
});

describe('sendPaced', () => {
  it('sends every record once, in order per key, in paced batches, to prefixed topics', async () => {
    const clock = new VirtualClock(0);
    const sent: { at: number; batch: ProducerBatch }[] = [];
    const producer = {
      sendBatch: async (batch: ProducerBatch): Promise<void> => {
        sent.push({ at: clock.now(), batch });
        clock.advance(5);
      },
    };
    const summary = await sendPaced(records, producer, {
      rate: 400,
      topicsPrefix: 'sim.',
      clock,
      sleep: async (ms) => {
        clock.advance(ms);
      },
      progress: null,
    });
    expect(summary.sent).toBe(records.length);
    expect(summary.batches).toBe(sent.length);
    expect(Object.keys(summary.byTopic).sort()).toEqual(['sim.clickstream', 'sim.location', 'sim.pos']);
    // 400 ev/s in batches of 20: the whole run takes records/400 seconds of virtual time, give or take a batch.
    expect(summary.elapsedMs).toBeGreaterThanOrEqual(((records.length - 40) / 400) * 1000);
    expect(summary.elapsedMs).toBeLessThanOrEqual(((records.length + 40) / 400) * 1000);
    const sizes = sent.map((s) => (s.batch.topicMessages ?? []).reduce((n, tm) => n + tm.messages.length, 0));
    expect(Math.max(...sizes)).toBe(20);
    // Per key, the messages come out in the order of the records.
    const keysInOrder = sent.flatMap((s) => (s.batch.topicMessages ?? []).flatMap((tm) => tm.messages.map((m) => `${tm.topic}|${String(m.key)}|${m.timestamp}`)));
    const expected = records.map((r) => `sim.${r.topic}|${recordKey(r)}|${r.value.ts}`);
    const perKey = (list: string[]): Map<string, string[]> => {
      const m = new Map<string, string[]>();
      for (const x of list) {
        const [topic, key] = x.split('|');
        const k = `${topic}|${key}`;
        m.set(k, [...(m.get(k) ?? []), x]);
      }
      return m;
    };
    expect(perKey(keysInOrder)).toEqual(perKey(expected));
  });

  it('draws progress on a terminal with \\r and only a summary elsewhere', async () => {
    const clock = new VirtualClock(0);
    const tty: string[] = [];
    const pipe: string[] = [];
    const producer = { sendBatch: async (): Promise<void> => void clock.advance(100) };
    const opts = { rate: 0, maxBatch: 10, clock, sleep: async (): Promise<void> => undefined };
    await sendPaced(records.slice(0, 100), producer, { ...opts, progress: { isTTY: true, write: (s: string) => tty.push(s) } });
    await sendPaced(records.slice(0, 100), producer, { ...opts, progress: { isTTY: false, write: (s: string) => pipe.push(s) } });
    expect(tty.length).toBeGreaterThan(2);
    expect(tty.every((s) => s.startsWith('\r'))).toBe(true);
    expect(tty[tty.length - 1]).toMatch(/sent 100 events .* ev\/s .*elapsed .*\n$/);
    expect(pipe).toHaveLength(1);
    expect(pipe[0]).toMatch(/^kafka: sent 100 events  \d+ ev\/s  elapsed [\d.]+ s/);
  });
});
