/**
 * docker-compose.yml as Debian's Compose v1 (`docker-compose` 1.29, the `docker-compose` package;
 * .ci/run installs it) reads it: `docker-compose config` accepts it (no top-level `name:`, which v1
 * rejects), and the stack does what a user expects of it: the simulator runs once, the engine
 * stops on SIGTERM (node, not npx), the reference data includes the product catalogue. No Docker
 * engine is needed to validate.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../testkit/cli.js';

const COMPOSE = '/usr/bin/docker-compose';

function config(file: string): { status: number | null; out: string; err: string } {
  if (!existsSync(COMPOSE)) throw new Error(`${COMPOSE} is missing: install Debian's docker-compose package (apt-get install -y docker-compose; .ci/run does this)`);
  const r = spawnSync(COMPOSE, ['-f', file, 'config'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, COMPOSE_INTERACTIVE_NO_CLI: '1' } });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** The block of one service in `docker-compose config`'s normalised output. */
function service(normalised: string, name: string): string {
  const m = new RegExp(`^  ${name}:\\n((?:    .*\\n|\\s*\\n)*)`, 'm').exec(normalised);
  expect(m, `service ${name}`).not.toBeNull();
  return m![1]!;
}

describe('docker-compose.yml under Compose v1 (docker-compose 1.29)', () => {
  it('validates, and the check can fail: a top-level name: key is refused', () => {
    const ok = config(join(ROOT, 'docker-compose.yml'));
    expect(ok.status, ok.err).toBe(0);
    const tmp = mkdtempSync(join(tmpdir(), 'ss-compose-'));
    try {
      const named = join(tmp, 'docker-compose.yml');
      writeFileSync(named, `name: scenestream\n${readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')}`);
      const bad = config(named);
      expect(bad.status).not.toBe(0);
      expect(bad.err).toMatch(/'name' does not match/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('runs the simulator once, the engine and its tools as node (signals reach them), with the product catalogue loaded', () => {
    const out = config(join(ROOT, 'docker-compose.yml')).out;
    const simulator = service(out, 'simulator');
    expect(simulator).toMatch(/restart: 'no'|restart: "no"|restart: no/);
    expect(simulator).toMatch(/- simulate/);
    expect(service(out, 'engine')).toMatch(/command:\n\s+- node\n\s+- dist\/runtime\/cli\.js\n\s+- run/);
    expect(service(out, 'reference')).toContain('--products /tmp/ref/products.json');
    for (const name of ['engine', 'simulator', 'reference', 'deps']) expect(service(out, name)).toContain('image: node:22');
  });
});
