/**
 * The shipped alert rules and our metrics, checked by Prometheus' own tool (Debian's `prometheus`
 * package provides `promtool`; .ci/run installs it): the rules are valid, each alert fires on the
 * series that should raise it and stays quiet otherwise (`promtool test rules`, cases in
 * alerts.test.yml), and our metrics exposition passes `promtool check metrics` (names, units, help).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../runtime/metrics.js';

const PROMTOOL = '/usr/bin/promtool';
const DIR = fileURLToPath(new URL('.', import.meta.url));

function promtool(args: readonly string[], input?: string): { status: number | null; out: string } {
  if (!existsSync(PROMTOOL)) throw new Error(`${PROMTOOL} is missing: install Debian's prometheus package (apt-get install -y prometheus; .ci/run does this)`);
  const r = spawnSync(PROMTOOL, args, { cwd: DIR, encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('alert rules (dashboards/alerts.yml)', () => {
  it('are valid rules, one per failure an SRE must hear of', () => {
    const r = promtool(['check', 'rules', 'alerts.yml']);
    expect(r.status, r.out).toBe(0);
    const names = [...readFileSync(`${DIR}alerts.yml`, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    expect(names).toEqual(['ScenestreamJobDown', 'ScenestreamDependencyDown', 'ScenestreamConsumerLagGrowing', 'ScenestreamDeadLettersRising', 'ScenestreamCheckpointFailing', 'ScenestreamWebhookFailures', 'ScenestreamLatencyOverBudget']);
  });

  it('fire as their unit tests say (promtool test rules), and every alert has a test', () => {
    const r = promtool(['test', 'rules', 'alerts.test.yml']);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
    const tests = readFileSync(`${DIR}alerts.test.yml`, 'utf8');
    for (const m of readFileSync(`${DIR}alerts.yml`, 'utf8').matchAll(/- alert: (\w+)/g)) expect(tests, m[1]).toContain(`alertname: ${m[1]}`);
  });

  it('a broken expectation fails the unit tests (the check can fail)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ss-alerts-'));
    try {
      copyFileSync(`${DIR}alerts.yml`, join(tmp, 'alerts.yml'));
      writeFileSync(join(tmp, 'ok.yml'), readFileSync(`${DIR}alerts.test.yml`, 'utf8'));
      writeFileSync(join(tmp, 'broken.yml'), readFileSync(`${DIR}alerts.test.yml`, 'utf8').replace('summary: "checkpoints failing on a:9464"', 'summary: "something else"'));
      expect(spawnSync(PROMTOOL, ['test', 'rules', 'ok.yml'], { cwd: tmp }).status).toBe(0);
      const r = spawnSync(PROMTOOL, ['test', 'rules', 'broken.yml'], { cwd: tmp, encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stdout + r.stderr).toContain('something else');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('our metrics exposition', () => {
  it('passes promtool check metrics, with a sample of every metric', async () => {
    const m = new Metrics({ processMetrics: false });
    m.eventsIn.inc({ source: 'clickstream' });
    m.offers.inc({ scene: 'cart_abandonment', channel: 'push' });
    m.offersDelivered.inc({ channel: 'webhook' });
    m.operationFailures.inc({ operation: 'checkpoint', service: 'redis' });
    m.eventToOutput.observe(0.01);
    const text = await m.text();
    const r = promtool(['check', 'metrics'], text);
    expect(r.status, r.out).toBe(0);
    expect(r.out.trim(), r.out).toBe('');
  });
});
