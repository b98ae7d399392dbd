/**
 * Smoke test against a real 3-master Redis Cluster, started here through
 * `scripts/services.sh redis-cluster start` (and stopped afterwards if this file started it):
 * keys sharing a hash tag land in one slot, so a MULTI over them works; keys without one do not.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createCluster, type RedisClusterType } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../config.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));

function clusterScript(action: 'start' | 'stop' | 'status'): { status: number; output: string } {
  const result = spawnSync('bash', [SCRIPT, 'redis-cluster', action], { encoding: 'utf8', timeout: 90_000 });
  if (result.error !== undefined) throw result.error;
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

describe('Redis Cluster (real, 3 masters)', () => {
  let startedHere = false;
  let cluster: RedisClusterType;

  beforeAll(async () => {
    startedHere = clusterScript('status').status !== 0;
    const start = clusterScript('start');
    if (start.status !== 0) throw new Error(`scripts/services.sh redis-cluster start failed:\n${start.output}`);
    cluster = createCluster({
      rootNodes: loadServiceConfig().redisClusterNodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
    });
    cluster.on('error', () => undefined); // surfaced through the failing command instead
    await cluster.connect();
  });

  afterAll(async () => {
    if (cluster?.isOpen) {
      await cluster.del(['{cust:42}:a', '{cust:42}:b']);
      await cluster.quit();
    }
    if (startedHere) {
      const stop = clusterScript('stop');
      if (stop.status !== 0) throw new Error(`scripts/services.sh redis-cluster stop failed:\n${stop.output}`);
    }
  });

  const keySlot = (key: string): Promise<number> => cluster.sendCommand<number>(key, true, ['CLUSTER', 'KEYSLOT', key]);

  it('spreads its slots over three masters', () => {
    expect(cluster.masters).toHaveLength(3);
  });

  it('puts {cust:42}:a and {cust:42}:b in one slot and runs a MULTI over both', async () => {
    const [slotA, slotB] = await Promise.all([keySlot('{cust:42}:a'), keySlot('{cust:42}:b')]);
    expect(slotA).toBe(slotB);
    expect(slotA).toBe(await keySlot('cust:42')); // only the tag is hashed

    const replies = await cluster
      .multi('{cust:42}:a')
      .set('{cust:42}:a', 'seen')
      .incrBy('{cust:42}:b', 7)
      .expire('{cust:42}:a', 60)
      .exec();
    expect(replies).toEqual(['OK', 7, true]);
    expect(await cluster.get('{cust:42}:a')).toBe('seen');
    expect(await cluster.get('{cust:42}:b')).toBe('7');
  });

  it('refuses a MULTI over keys in different slots', async () => {
    const [slotA, slotB] = await Promise.all([keySlot('cust:42:a'), keySlot('cust:42:b')]);
    expect(slotA).not.toBe(slotB);
    await expect(cluster.multi('cust:42:a').set('cust:42:a', 'x').set('cust:42:b', 'y').exec()).rejects.toThrow();
    expect(await cluster.exists('cust:42:a')).toBe(0);
  });
});
