import { describe, expect, it } from 'vitest';
import { isScenestreamError } from '../../schemas/errors.js';
import { CheckpointStore, type RedisCommands } from './checkpoints.js';

/** A Redis that answers the first `redirects` evals with a cluster redirect, then a claim reply. */
function redirecting(redirects: number, answer = 'MOVED 605 127.0.0.1:7001'): RedisCommands & { evals: number } {
  const r = {
    evals: 0,
    eval: async () => {
      r.evals++;
      if (r.evals <= redirects) throw new Error(answer);
      return [1, null, null];
    },
    hScan: async () => ({ cursor: 0, tuples: [] }),
  };
  return r as unknown as RedisCommands & { evals: number };
}

describe('CheckpointStore against a Redis Cluster whose slot map the client has not caught up with', () => {
  it('tries a MOVED or ASK answer again while the client rediscovers, then succeeds', async () => {
    const moved = redirecting(2);
    expect((await new CheckpointStore(moved, 'job').claim(0, 'me')).epoch).toBe(1);
    expect(moved.evals).toBe(3);
    const ask = redirecting(1, 'ASK 605 127.0.0.1:7002');
    await new CheckpointStore(ask, 'job').claim(0, 'me');
    expect(ask.evals).toBe(2);
  });

  it('gives up after a few redirects, and never retries other errors', async () => {
    const stuck = redirecting(100);
    const e1 = await new CheckpointStore(stuck, 'job').claim(0, 'me').catch((e: unknown) => e);
    expect(isScenestreamError(e1) && e1.code === 'SS_ERR_SERVICE_UNAVAILABLE' && e1.message).toMatch(/Redis: MOVED 605/);
    expect(stuck.evals).toBe(6);
    const down = redirecting(100, 'connect ECONNREFUSED 127.0.0.1:6379');
    await new CheckpointStore(down, 'job').claim(0, 'me').catch(() => undefined);
    expect(down.evals).toBe(1);
  });
});
