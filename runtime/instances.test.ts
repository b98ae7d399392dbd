import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import { main } from './cli.js';
import { instanceEnv, startInstances, type Instances } from './instances.js';

/**
 * The supervisor with stand-in children: small scripts that report their environment, wait for a
 * signal, and exit 3 on SIGUSR2 (a crash) or 4 on SIGTERM when FAIL_ON_STOP names them.
 */
const dir = mkdtempSync(join(tmpdir(), 'ss-instances-'));
const CHILD = join(dir, 'child.mjs');
writeFileSync(
  CHILD,
  `const i = process.env.SCENESTREAM_INSTANCE;
const keepAlive = setInterval(() => {}, 1000);
process.on('SIGTERM', () => {
  console.log('stopping');
  clearInterval(keepAlive);
  process.exit(process.env.FAIL_ON_STOP === i ? 4 : 0);
});
process.on('SIGUSR2', () => process.exit(3));
console.log('port=' + process.env.HTTP_PORT + ' instance=' + i + ' args=' + process.argv.slice(2).join(','));
console.error('ready');
`,
);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  readonly instances: Instances;
  readonly out: string[];
  readonly err: string[];
}

const runs: Instances[] = [];
afterEach(() => {
  for (const r of runs.splice(0)) r.signal('SIGKILL');
});

function run(n: number, env: Record<string, string>): Run {
  const out: string[] = [];
  const err: string[] = [];
  const instances = startInstances({ instances: n, entry: CHILD, args: ['run', '--config', 'c.json'], env: { PATH: process.env['PATH'], ...env }, execArgv: [], stdout: (l) => out.push(l), stderr: (l) => err.push(l), stopTimeoutMs: 20_000 });
  runs.push(instances);
  return { instances, out, err };
}

/** Waits until every child has said it is ready (its own output, no timer). */
async function ready(r: Run, n: number): Promise<void> {
  await vi.waitFor(() => expect(r.err.filter((l) => l.endsWith('] ready'))).toHaveLength(n), { timeout: 15_000, interval: 20 });
}

describe('startInstances', () => {
  it('gives each child its own HTTP port (base + i) and index, tags its lines, and forwards SIGTERM: exit 0 when all stop cleanly', async () => {
    const r = run(2, { HTTP_PORT: '7100' });
    await ready(r, 2);
    expect(r.instances.pids).toHaveLength(2);
    r.instances.signal('SIGTERM');
    expect(await r.instances.exited).toBe(0);
    expect(r.out).toContain('[instance 0] port=7100 instance=0 args=run,--config,c.json');
    expect(r.out).toContain('[instance 1] port=7101 instance=1 args=run,--config,c.json');
    expect(r.out.filter((l) => l.endsWith('] stopping')).sort()).toEqual(['[instance 0] stopping', '[instance 1] stopping']);
    expect(r.err.filter((l) => !l.endsWith('] ready'))).toEqual([]);
  });

  it('a child that exits on its own stops the others with SIGTERM and fails the run with one clear line', async () => {
    const r = run(3, {});
    await ready(r, 3);
    process.kill(r.instances.pids[1]!, 'SIGUSR2');
    expect(await r.instances.exited).toBe(1);
    expect(r.err).toContain('scenestream: instance 1 exited with code 3 while running; stopping the other 2 instance(s)');
    expect(r.out.filter((l) => l.endsWith('] stopping')).sort()).toEqual(['[instance 0] stopping', '[instance 2] stopping']);
  });

  it('a child that fails while stopping fails the run', async () => {
    const r = run(2, { FAIL_ON_STOP: '0' });
    await ready(r, 2);
    r.instances.signal('SIGTERM');
    expect(await r.instances.exited).toBe(1);
    expect(r.err).toContain('scenestream: instance 0 exited with code 4 while stopping');
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects %s instances with SS_ERR_CONFIG', (n) => {
    expect(() => startInstances({ instances: n, entry: CHILD, args: [] })).toThrow(/--instances must be a positive integer/);
  });
});

describe('instanceEnv', () => {
  it('counts ports up from HTTP_PORT (default 9464); 0 stays 0, every instance picking a free one', () => {
    expect(instanceEnv({}, 2, 3)).toMatchObject({ HTTP_PORT: '9466', SCENESTREAM_INSTANCE: '2' });
    expect(instanceEnv({ HTTP_PORT: '0' }, 1, 2)).toMatchObject({ HTTP_PORT: '0', SCENESTREAM_INSTANCE: '1' });
  });

  it('refuses a base port that leaves no room for every instance', () => {
    try {
      instanceEnv({ HTTP_PORT: '65535' }, 0, 2);
      expect.unreachable();
    } catch (e) {
      expect(isScenestreamError(e, 'SS_ERR_CONFIG') && e.field).toBe('HTTP_PORT');
    }
  });
});

describe('scenestream run --instances', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  async function stderrOf(argv: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    const code = await main(argv);
    return { code, stderr };
  }

  /** The CLI's answer to a bad flag: one line naming it, the usage line, the pointer to --help. */
  const usageAfter = (line: string) => new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\nusage: scenestream run .*\n\\(scenestream run --help for more\\)\n$`);

  it.each(['0', '-2', '1.5', 'two', ''])('rejects --instances=%j in one line and the usage, exit 2', async (v) => {
    vi.stubEnv('SCENESTREAM_MODE', 'kafka');
    const { code, stderr } = await stderrOf(['run', `--instances=${v}`]);
    expect(code).toBe(2);
    expect(stderr).toMatch(usageAfter(`scenestream run: --instances must be an integer >= 1, got ${JSON.stringify(v)}`));
  });

  it('rejects a missing or dash-led --instances value in one line and the usage, exit 2', async () => {
    for (const argv of [['run', '--instances'], ['run', '--instances', '-2']]) {
      const { code, stderr } = await stderrOf(argv);
      expect(code).toBe(2);
      expect(stderr).toMatch(/^scenestream run: Option '--instances\b.*\nusage: scenestream run /);
      expect(stderr.trimEnd().split('\n')).toHaveLength(3);
    }
  });

  it('refuses more than one instance of the embedded main job, in one line, exit 2', async () => {
    vi.stubEnv('SCENESTREAM_MODE', 'embedded');
    const { code, stderr } = await stderrOf(['run', '--instances', '2']);
    expect(code).toBe(2);
    expect(stderr).toBe('scenestream run: SS_ERR_CONFIG: --instances above 1 needs SCENESTREAM_MODE=kafka (the embedded main job runs in one process)\n');
  });
});
