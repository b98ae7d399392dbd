/**
 * The profile API in production mode: two instances of the compiled CLI (`scenestream run`, Kafka
 * mode) in one consumer group, a Redis of the test's own, the simulator's events. Either instance
 * answers `GET /customers/:id` for any customer, including those whose partition the other
 * instance owns (profiles are read from Redis), with the same body; every route's statuses
 * (200, 400, 401, 403, 404) hold against the real Redis.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { profilesToJsonl, storesToJson } from '../simulator/jsonl.js';
import { generateEvents } from '../simulator/life.js';
import { generateWorld } from '../simulator/world.js';
import { get, healthUrl, killAll, metricSum, start, startRedis, until, type Running } from '../testkit/cli.js';
import { partitionOf, produceRecords, testKafka, uniqueId } from '../testkit/kafka.js';
import { loadServiceConfig } from './config.js';

const PARTITIONS = 4;
const READER = 'reader-token-real-0123456789';
const ADMIN = 'admin-token-real-0123456789';

afterEach(killAll);

async function call(url: string, token?: string, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('profile API, embedded mode (compiled CLI)', () => {
  it('serves the in-memory profiles of the simulated city once the run ends', async () => {
    const run = start(process.execPath, ['dist/runtime/cli.js', 'run', '--customers', '30', '--days', '2', '--speed', '0', '--quiet'], { HTTP_PORT: '0', API_TOKENS: `reader:${READER}` });
    const base = await until('the metrics URL', () => /metrics {2}(http:\/\/\S+)\/metrics/.exec(run.stdout())?.[1]);
    await until('the simulation to end', () => (run.stdout().includes('still serving') ? true : undefined), 120_000);
    const segments = await call(`${base}/segments`, READER);
    expect(segments.status).toBe(200);
    const named = (segments.body.segments as Array<{ name: string; customers: number }>).filter((s) => s.customers > 0);
    expect(named.length).toBeGreaterThan(0);
    const members = await call(`${base}/segments/${named[0]!.name}/customers`, READER);
    const id = (members.body.customerIds as string[])[0]!;
    const customer = await call(`${base}/customers/${id}`, READER);
    expect(customer.status).toBe(200);
    expect(customer.body).toMatchObject({ customerId: id, segment: named[0]!.name });
    expect((await call(`${base}/customers/${id}`)).status).toBe(401);
    expect((await call(`${base}/campaign/reload`, READER, 'POST')).status).toBe(403);
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
  }, 180_000);
});

describe('profile API, two production instances (compiled CLI, real Kafka and Redis)', () => {
  it('either instance answers for a customer whose partition the other owns; every status of every route', async () => {
    const world = generateWorld({ seed: 'profile-api', customers: 40, stores: 3 });
    const records = [...generateEvents(world, { days: 2 })];
    const redis = await startRedis();
    const tmp = mkdtempSync(join(tmpdir(), 'ss-profile-api-'));
    const prefix = `${uniqueId('papi')}.`;
    writeFileSync(join(tmp, 'campaign.json'), JSON.stringify({ name: 'api-test' }));
    const env = {
      REDIS_URL: redis.url,
      KAFKA_BROKERS: loadServiceConfig().kafkaBrokers.join(','),
      TOPICS_PREFIX: prefix,
      TOPICS_PARTITIONS: String(PARTITIONS),
      SESSION_TIMEOUT_MS: '6000',
      JOB_NAME: uniqueId('papi-job'),
      API_TOKENS: `reader:${READER},admin:${ADMIN}`,
    };
    const cli = async (...args: string[]) => {
      const run = start(process.execPath, ['dist/runtime/cli.js', ...args], env);
      expect(await run.exit, run.stderr()).toBe(0);
    };
    try {
      writeFileSync(join(tmp, 'stores.json'), storesToJson(world.stores));
      writeFileSync(join(tmp, 'profiles.jsonl'), profilesToJsonl(world.profiles));
      await cli('topics', 'create');
      await cli('load-reference', '--stores', join(tmp, 'stores.json'), '--profiles', join(tmp, 'profiles.jsonl'));
      // As testkit's startJob, with a campaign file (for POST /campaign/reload).
      const jobs: Running[] = [0, 1].map(() => start(process.execPath, ['dist/runtime/cli.js', 'run', '--config', join(tmp, 'campaign.json')], { SCENESTREAM_MODE: 'kafka', HTTP_PORT: '0', OUTAGE_LOG_INTERVAL_MS: '60000', ...env }));
      const bases = await Promise.all(jobs.map((j, i) => until(`instance ${i}'s health URL`, () => healthUrl(j))));
      for (const b of bases) await until('ready', async () => ((await get(`${b}/readyz`)).status === 200 ? true : undefined), 120_000);
      const owned = await until('the partitions spread over both instances', async () => {
        const o = await Promise.all(bases.map(async (b) => ((await get(`${b}/healthz`)).body as { assigned?: number[] }).assigned ?? []));
        return o.every((a) => a.length > 0) && o.flat().length === PARTITIONS ? o : undefined;
      });

      const kafka = testKafka(uniqueId('papi-test'));
      await produceRecords(kafka, records, prefix);
      await until(
        'every event read',
        async () => {
          const texts = await Promise.all(bases.map(async (b) => (await fetch(`${b}/metrics`)).text()));
          return texts.reduce((n, t) => n + metricSum(t, 'scenestream_events_in_total'), 0) >= records.length ? true : undefined;
        },
        180_000,
      );

      // A purchaser of each instance's partitions, read on the other instance.
      const isPurchase = (r: (typeof records)[number]) => (r.topic === 'clickstream' && (r.value as { type?: string }).type === 'checkout') || (r.topic === 'pos' && (r.value as { customerId: string | null }).customerId !== null);
      const buyers = [...new Set(records.filter(isPurchase).map((r) => (r.value as { customerId: string }).customerId))];
      for (const [owner, other] of [
        [0, 1],
        [1, 0],
      ] as const) {
        const id = buyers.find((c) => owned[owner]!.includes(partitionOf(c, PARTITIONS)));
        expect(id, `a purchaser on instance ${owner}'s partitions`).toBeDefined();
        const there = await until(`${id}'s profile with a segment on instance ${other}`, async () => {
          const r = await call(`${bases[other]}/customers/${id}`, READER);
          return r.status === 200 && r.body.segment !== null ? r : undefined;
        });
        expect(there.body).toMatchObject({ customerId: id, cart: expect.any(Object), cooldowns: expect.any(Array), timers: expect.any(Array) });
        // Both instances read the same Redis entity (once the owner's checkpoints settle, the same body).
        await until(`instance ${owner} and ${other} to agree on ${id}`, async () => {
          const [a, b] = await Promise.all([call(`${bases[owner]}/customers/${id}`, READER), call(`${bases[other]}/customers/${id}`, READER)]);
          return a.status === 200 && JSON.stringify(a.body) === JSON.stringify(b.body) ? true : undefined;
        });
      }

      const base = bases[1]!;
      const segments = await call(`${base}/segments`, READER);
      expect(segments.status).toBe(200);
      const sizes = (segments.body.segments as Array<{ name: string; customers: number }>).filter((s) => s.customers > 0);
      expect(sizes.length).toBeGreaterThan(0);
      const page = await call(`${base}/segments/${sizes[0]!.name}/customers?limit=1`, READER);
      expect(page.status).toBe(200);
      expect((page.body.customerIds as string[]).length).toBe(1);
      expect(page.body.next === null).toBe(sizes[0]!.customers === 1);

      const statuses: Array<[string, string, string | undefined, number]> = [
        ['GET', '/customers/nobody-at-all', READER, 404],
        ['GET', `/customers/${'x'.repeat(300)}`, READER, 400],
        ['GET', '/customers/cust-0001', undefined, 401],
        ['GET', '/segments', undefined, 401],
        ['GET', '/segments/lost/customers', 'wrong-token-0123456789', 401],
        ['GET', '/segments/lost/customers?limit=0', READER, 400],
        ['GET', '/segments/vip/customers', READER, 400],
        ['POST', '/campaign/reload', undefined, 401],
        ['POST', '/campaign/reload', READER, 403],
        ['POST', '/campaign/reload', ADMIN, 200],
      ];
      for (const [method, path, token, status] of statuses) {
        const r = await call(`${base}${path}`, token, method);
        expect(r.status, `${method} ${path}`).toBe(status);
        if (status >= 400) expect(r.body.code, `${method} ${path}`).toMatch(/^SS_ERR_/);
      }
      for (const j of jobs) j.child.kill('SIGTERM');
      for (const j of jobs) expect(await j.exit).toBe(0);
      for (const j of jobs) expect(j.stderr()).not.toContain(READER);
    } finally {
      redis.process.child.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 400_000);
});
