/**
 * The README's production section, run as written against the real broker and Redis: every command
 * of its block in order (the job in the background, as "in another shell" says), with only the
 * environment a user may set (`TOPICS_PREFIX` for fresh topics, `HTTP_PORT=0` for a free port,
 * `TOPICS_PARTITIONS`). Then the job has consumed every simulated event, and serves metrics, a store
 * screen and job-wide attribution.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createClient } from '@redis/client';
import { loadServiceConfig } from './runtime/config.js';
import { PRODUCTS_HASH, PRODUCTS_VERSION, PROFILE_PREFIX, STORES_GEO, STORES_HASH, STORES_VERSION } from './runtime/redis/reference.js';
import { until } from './testkit/cli.js';
import { uniqueId } from './testkit/kafka.js';

const ROOT = fileURLToPath(new URL('.', import.meta.url));

/** The commands of the first `sh` block under the heading, comments removed. */
function commandsUnder(heading: string): string[] {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const at = readme.indexOf(`\n## ${heading}\n`);
  expect(at, `README has a section "${heading}"`).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '');
}

/** Whether any process of the group `pgid` is still alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("README's production section (real Kafka and Redis)", () => {
  it('runs as written: topics, reference data, the job, the feed; the job consumes it all and serves screens, metrics and attribution', { timeout: 300_000 }, async () => {
    const commands = commandsUnder('Production mode: Kafka and Redis');
    expect(commands.some((c) => c.includes('npm start'))).toBe(true);
    const env = { ...process.env, TOPICS_PREFIX: `${uniqueId('readme')}.`, TOPICS_PARTITIONS: '3', HTTP_PORT: '0' };
    let job: ReturnType<typeof spawn> | undefined;
    let jobErr = '';
    try {
      for (const command of commands) {
        if (command.includes('npm start')) {
          // Its own process group: the stop below reaches npm, its shell and the job alike.
          job = spawn('bash', ['-c', command], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
          job.stderr!.on('data', (d: Buffer) => void (jobErr += d.toString()));
          await until('the job running', async () => (/kafka mode\) running/.test(jobErr) ? true : undefined), 120_000);
          continue;
        }
        const r = spawnSync('bash', ['-c', command], { cwd: ROOT, env, encoding: 'utf8', timeout: 180_000 });
        expect(r.status, `${command}\n${r.stderr}`).toBe(0);
      }
      const base = /metrics (http:\/\/\S+)\/metrics/.exec(jobErr)![1]!;
      const events = readFileSync(`${ROOT}out/sim/events.jsonl`, 'utf8').split('\n').filter((l) => l !== '').length;
      const consumed = async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return [...text.matchAll(/^scenestream_events_in_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
      };
      await until('every event consumed', async () => ((await consumed()) >= events ? true : undefined), 120_000);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^scenestream_decisions_total\{[^}]*outcome="sent"[^}]*\} [1-9]/m);
      const stores = JSON.parse(readFileSync(`${ROOT}out/sim/stores.json`, 'utf8')) as Array<{ storeId: string }>;
      expect((await fetch(`${base}/stores/${stores[0]!.storeId}`)).status).toBe(200);
      const products = JSON.parse(readFileSync(`${ROOT}out/sim/products.json`, 'utf8')) as unknown[];
      expect(((await (await fetch(`${base}/healthz`)).json()) as { products: { count: number } }).products.count).toBe(products.length);
      const attribution = (await (await fetch(`${base}/attribution`)).json()) as { scenes: Record<string, { sent: number }> };
      expect(Object.keys(attribution.scenes)).toHaveLength(5);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      // SIGTERM to the group, as a terminal's Ctrl-C or an orchestrator would: a clean stop, no stack.
      const exited = new Promise((res) => job!.once('exit', (code, signal) => res(String(code ?? signal))));
      process.kill(-job!.pid!, 'SIGTERM');
      expect(await exited).toMatch(/^(0|SIGTERM)$/);
      // Every process of the group ends: npm's shell does not pass the signal on, the group does.
      await until('the job itself stopped', () => (groupAlive(job!.pid!) ? undefined : true), 30_000);
      expect(jobErr).not.toMatch(/^\s+at /m);
    } finally {
      if (job?.pid !== undefined && groupAlive(job.pid)) process.kill(-job.pid, 'SIGKILL');
      // The commands load reference data into the shared Redis; other suites assume none.
      const redis = createClient({ url: loadServiceConfig().redisUrl });
      await redis.connect();
      const keys = [STORES_GEO, STORES_HASH, STORES_VERSION, PRODUCTS_HASH, PRODUCTS_VERSION];
      for await (const key of redis.scanIterator({ MATCH: `${PROFILE_PREFIX}:*`, COUNT: 1000 })) keys.push(key);
      await redis.del(keys);
      await redis.quit();
    }
  });
});
