/**
 * Chaos: the Kafka broker killed with -9 and started again while the retail job runs (a broker of
 * the test's own, started by the project's script from the jars it already fetched, its data kept),
 * with input produced before, during the job's first half and after the restart. The job retries its
 * produces and its consumer comes back to its group; its triggers, decisions and offers, deduplicated
 * by id, equal the in-process reference, and a replayed output carries the same content.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { generateEvents } from '../../simulator/life.js';
import { generateWorld } from '../../simulator/world.js';
import { freePort, killAll, listening, ROOT, start, until } from '../../testkit/cli.js';
import { createTopics, produceRecords, runPartitioned, uniqueId, waitFor } from '../../testkit/kafka.js';
import { allCheckpointed, readOutputsById, referenceOutputsById } from '../../testkit/workers.js';
import { loadServiceConfig } from '../config.js';
import { CheckpointStore } from '../redis/checkpoints.js';
import { retailJobOptions, retailTopics } from '../retailJob.js';
import { KafkaJob } from './job.js';

const PARTITIONS = 3;
const COMPARED = ['triggers', 'decisions', 'offers'];

afterEach(killAll);

describe('the broker killed and restarted under a running job (real Kafka and Redis)', () => {
  it('triggers, decisions and offers equal the reference: nothing lost, nothing extra', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-broker-restart-'));
    const [kafkaPort, controllerPort] = [await freePort(), await freePort()];
    const brokerEnv = { SERVICES_DIR: dir, KAFKA_LIBS_DIR: join(ROOT, '.services/kafka/libs'), KAFKA_PORT: String(kafkaPort), KAFKA_CONTROLLER_PORT: String(controllerPort), KAFKA_BROKERS: `127.0.0.1:${kafkaPort}` };
    const broker = async (action: 'start' | 'stop') => {
      const run = start('bash', ['scripts/services.sh', 'kafka', action], brokerEnv);
      expect(await run.exit, run.stderr()).toBe(0);
    };
    await broker('start');
    const redis = createClient({ url: loadServiceConfig().redisUrl });
    await redis.connect();
    const kafka = new Kafka({ clientId: uniqueId('broker-restart'), brokers: [brokerEnv.KAFKA_BROKERS], logLevel: logLevel.NOTHING, retry: { retries: 10 } });
    const admin = kafka.admin();
    const name = uniqueId('restart-job');
    const store = new CheckpointStore(redis, name);
    try {
      await admin.connect();
      const prefix = `${uniqueId('restart')}.`;
      const { inputs, outputs } = retailTopics(prefix);
      await createTopics(admin, [...inputs, ...outputs], PARTITIONS);
      const records = [...generateEvents(generateWorld({ seed: 'broker-restart', customers: 150 }), { days: 2 })];
      const half = Math.floor(records.length / 2);
      // Processing-time idleness never fires: the result cannot depend on how long the broker is away.
      const options = () => retailJobOptions({ kafka, redis, name, topicsPrefix: prefix, tickMs: 200, idleTimeoutMs: 3_600_000 });
      await produceRecords(kafka, records.slice(0, half), prefix);
      const job = new KafkaJob({ ...options(), backoff: { initialMs: 100, maxMs: 1_000 } });
      await job.start();
      await waitFor(() => job.stats.eventsIn >= half / 2, 60_000, 'a quarter of the input consumed');

      process.kill(Number(readFileSync(join(dir, 'kafka', 'kafka.pid'), 'utf8')), 'SIGKILL');
      await until('the broker gone', () => listening(kafkaPort).then((up) => (up === undefined ? true : undefined)), 30_000);
      await new Promise((r) => setTimeout(r, 3_000));
      await broker('start');
      await produceRecords(kafka, records.slice(half), prefix);
      await waitFor(() => allCheckpointed(admin, store, redis, inputs, PARTITIONS), 180_000, 'every input checkpointed after the restart');
      await job.stop();

      const expected = referenceOutputsById(runPartitioned(options().graph, records, PARTITIONS), options().sinks, COMPARED);
      for (const sink of COMPARED) {
        const want = expected.get(sink)!;
        const got = await readOutputsById(kafka, options().sinks[sink]!, want.size);
        expect(got.conflicts, `${sink}: an id replayed with other content`).toEqual([]);
        expect(got.byId.size, `${sink}: distinct ids`).toBe(want.size);
        expect(got.byId, sink).toEqual(want);
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
      for (let p = 0; p < PARTITIONS; p++) await redis.del(store.keys(p)).catch(() => undefined);
      await redis.quit();
      await broker('stop');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 420_000);
});
