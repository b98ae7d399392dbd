import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { groupMessagesPerPartition } from './linearGrouping.js';
import { quietRequestQueueInstalled } from './quietRequestQueue.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** kafkajs 2.2.4's own grouping, as its src/producer/groupMessagesPerPartition.js writes it: the reference. */
function kafkajsGrouping<M>({ topic, partitionMetadata, messages, partitioner }: Parameters<typeof groupMessagesPerPartition<M>>[0]): Record<number, M[]> {
  if (partitionMetadata.length === 0) return {};
  return messages.reduce<Record<number, M[]>>((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition] ?? [];
    return Object.assign(result, { [partition]: [...current, message] });
  }, {});
}

/** Runs an ES module script in a fresh Node process (under tsx) at the repository root; its last line of output, parsed. */
function lastJsonOf(lines: readonly string[]): unknown {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', lines.join('\n')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe("kafkajs' producer grouping, linear", () => {
  it('groups exactly as kafkajs does: the same partitions, in the same key order, each in message order', () => {
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({ partitionId }));
    const messages = Array.from({ length: 2_000 }, (_, i) => ({ key: `c${(i * 7919) % 613}`, i }));
    const partitioner = ({ message }: { message: { key: string } }) => (message.key.charCodeAt(1) * 31 + message.key.length) % 6;
    const args = { topic: 't', partitionMetadata, messages, partitioner };
    const ours = groupMessagesPerPartition(args);
    expect(ours).toEqual(kafkajsGrouping(args));
    expect(Object.keys(ours)).toEqual(Object.keys(kafkajsGrouping(args)));
    expect(Object.values(ours).flat()).toHaveLength(messages.length);
    expect(groupMessagesPerPartition({ ...args, partitionMetadata: [] })).toEqual({});
  });

  it("is what kafkajs' producer uses in a process that runs the CLI (which also imports the simulator)", () => {
    // The compiled CLI's module graph, loaded as `scenestream` loads it, then asked at exit.
    expect(
      lastJsonOf([
        "import { createRequire } from 'node:module';",
        "process.argv = [process.argv[0], 'cli', '--help'];",
        'const require = createRequire(import.meta.url);',
        // kafkajs' own grouping spreads the partition's list; ours does not (imported nothing of ours before the CLI).
        "process.on('exit', () => { const m = require.cache[require.resolve('kafkajs/src/producer/sendMessages.js')]; const f = require('kafkajs/src/producer/groupMessagesPerPartition.js'); console.log(JSON.stringify({ loaded: m !== undefined, same: !String(f).includes('...current') })); });",
        "await import('./runtime/cli.ts');",
      ]),
    ).toEqual({ loaded: true, same: true });
  });

  it("is what kafkajs' producer uses in a process that loads the product's runtime", () => {
    // A fresh process: the production host, then kafkajs' own module as its producer requires it.
    expect(
      lastJsonOf([
        "import { createRequire } from 'node:module';",
        "const { linearGroupingInstalled } = await import('./runtime/kafka/kafkajs.ts');",
        "await import('./runtime/production.ts');",
        "const { groupMessagesPerPartition } = await import('./runtime/kafka/linearGrouping.ts');",
        'const require = createRequire(import.meta.url);',
        "const used = require('kafkajs/src/producer/groupMessagesPerPartition.js');",
        'console.log(JSON.stringify({ linearGroupingInstalled, same: used === groupMessagesPerPartition }));',
      ]),
    ).toEqual({ linearGroupingInstalled: true, same: true });
  });

  it('is not installed once kafkajs was loaded first, and says so', () => {
    expect(lastJsonOf(["await import('kafkajs');", "const { linearGroupingInstalled } = await import('./runtime/kafka/linearGrouping.ts');", 'console.log(JSON.stringify({ linearGroupingInstalled }));'])).toEqual({ linearGroupingInstalled: false });
  });

  it("no module of the product imports kafkajs' values but through runtime/kafka/kafkajs.ts (type imports load nothing)", () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
        const rel = join(dir, e.name);
        if (e.isDirectory()) walk(rel);
        else if (rel.endsWith('.ts') && !rel.endsWith('.test.ts') && rel !== join('runtime', 'kafka', 'kafkajs.ts')) {
          const text = readFileSync(join(ROOT, rel), 'utf8');
          if (/^import\s+(?!type\b)[^;]*from\s+'kafkajs'/m.test(text)) offenders.push(rel);
        }
      }
    };
    for (const dir of ['runtime', 'testkit', 'bench', 'simulator']) walk(dir);
    expect(offenders).toEqual([]);
  });
});

describe("kafkajs' request queue, quiet when idle", () => {
  // kafkajs' RequestQueue class itself (the one its connections use), after our change is installed.
  const require = createRequire(import.meta.url);
  const queueOf = () => {
    const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (o: object) => { pending: unknown[]; throttledUntil: number; throttleCheckTimeoutId: unknown; checkPendingRequests(): void; destroy(): void };
    const quiet = () => undefined;
    return new RequestQueue({ maxInFlightRequests: null, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'b:9092', logger: { debug: quiet, info: quiet, warn: quiet, error: quiet } });
  };

  it('arms no timer with nothing pending (kafkajs arms one of a negative delay, run every 1 ms, warned about on Node 24)', () => {
    expect(quietRequestQueueInstalled).toBe(true);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const q = queueOf();
    try {
      q.checkPendingRequests(); // what a response does
      expect(q.throttleCheckTimeoutId).toBeNull();
    } finally {
      q.destroy();
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'TimeoutNegativeWarning')).toEqual([]);
  });

  it('with requests pending, checks again as kafkajs does: at the end of a throttle', async () => {
    const q = queueOf();
    let checks = 0;
    try {
      q.pending.push({ correlationId: 1 });
      q.throttledUntil = Date.now() + 30;
      const check = q.checkPendingRequests.bind(q);
      q.checkPendingRequests = () => {
        checks++;
        if (checks === 2) q.pending.length = 0; // the throttle over: the request goes (here: is dropped)
        check();
      };
      q.checkPendingRequests(); // throttled: the request stays pending, a timer is armed for the throttle's end
      expect(q.throttleCheckTimeoutId).not.toBeNull();
      await new Promise((r) => setTimeout(r, 100));
      expect(checks).toBe(2); // the timer ran the check once, and with nothing left pending armed no other
      expect(q.throttleCheckTimeoutId).toBeNull();
    } finally {
      q.destroy();
    }
  });

  it("is installed in a process that loads the product's runtime", () => {
    expect(lastJsonOf(["await import('./runtime/production.ts');", "const { quietRequestQueueInstalled } = await import('./runtime/kafka/quietRequestQueue.ts');", 'console.log(JSON.stringify({ quietRequestQueueInstalled }));'])).toEqual({
      quietRequestQueueInstalled: true,
    });
  });
});
