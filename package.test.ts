/**
 * The package as a user gets it: `npm pack`, installed into an empty folder, then a user pipeline
 * that imports only the public entry points (`scenestream`, `scenestream/testkit`) is type-checked
 * against the shipped declaration files and run on the test kit's virtual clock with plain Node.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('.', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const dir = mkdtempSync(join(tmpdir(), 'scenestream-pack-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const USER_PIPELINE = `
import { pipeline, tumblingWindow, isScenestreamError, type Windowed } from 'scenestream';
import { TestDriver } from 'scenestream/testkit';

interface View { readonly id: string; readonly customerId: string; readonly ts: number }

export function buildViewsPerMinute() {
  const p = pipeline('views-per-minute');
  p.source<View>('clickstream', { timestamp: (e) => e.ts, outOfOrdernessMs: 0 })
    .keyBy((e) => e.customerId)
    .dedupe('views.dedupe', { id: (e) => e.id, ttlMs: 60_000 })
    .window(tumblingWindow({ sizeMs: 60_000, graceMs: 0 }))
    .count('views.count')
    .to('views');
  return p;
}

const d = TestDriver.of(buildViewsPerMinute());
const view = (id: string, customerId: string, ts: number): View => ({ id, customerId, ts });
d.pushAll('clickstream', [view('a', 'alice', 1_000), view('a', 'alice', 1_000), view('b', 'alice', 2_000), view('c', 'bob', 3_000)]);
d.watermark('clickstream', 60_000);
const out: Windowed<number>[] = d.values('views') as Windowed<number>[];
let failed = '';
try {
  const bad = pipeline('bad');
  bad.source<View>('clickstream', { timestamp: (e) => e.ts }).keyBy((e) => e.customerId).window(tumblingWindow({ sizeMs: 0, graceMs: 0 })).count('x').to('y');
  bad.build();
} catch (e) {
  failed = isScenestreamError(e) ? e.code : 'other';
}
console.log(JSON.stringify({ out, failed }));
`;

describe('the packed package', () => {
  it('installs into an empty folder and runs a user pipeline with the test kit, types included', () => {
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    const tarball = join(dir, packed);
    const app = join(dir, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'user-app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], { cwd: app, encoding: 'utf8', timeout: 240_000 });

    const shipped = readdirSync(join(app, 'node_modules', 'scenestream'));
    expect(shipped).toEqual(expect.arrayContaining(['dist', 'package.json', 'README.md']));
    expect(shipped.filter((f) => /^(engine|operators|stream|runtime|pipelines)$/.test(f))).toEqual([]);

    writeFileSync(join(app, 'user.ts'), USER_PIPELINE);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', skipLibCheck: false, types: [] }, include: ['user.ts'] }),
    );
    execFileSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
    const printed = execFileSync(process.execPath, [join(app, 'out', 'user.js')], { cwd: app, encoding: 'utf8' });
    const result = JSON.parse(printed) as { out: unknown[]; failed: string };
    expect(result.out).toEqual([
      { key: 'alice', start: 0, end: 60_000, value: 2 },
      { key: 'bob', start: 0, end: 60_000, value: 1 },
    ]);
    expect(result.failed).toBe('SS_ERR_GRAPH_INVALID');
  }, 300_000);
});
