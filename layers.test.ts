/**
 * The layers of the repository only point down. Each top-level folder has a rank; a source file may
 * import from its own folder and from folders of lower rank, never from a higher one, so no
 * folder-level cycle can exist. Tests (`*.test.ts`, `*.test-d.ts`) are consumers of the layer they
 * test and may use the test kit, so they are not ranked.
 *
 *   schemas (contracts, the error catalogue) <- engine <- operators <- stream (the fluent API)
 *   <- pipelines <- simulator <- runtime (the hosts) <- testkit <- conformance, examples, bench
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const ROOT = dirname(fileURLToPath(import.meta.url));

export const LAYERS: readonly (readonly string[])[] = [
  ['schemas'],
  ['engine'],
  ['operators'],
  ['stream'],
  ['pipelines'],
  ['simulator'],
  ['runtime'],
  ['testkit'],
  ['conformance', 'examples', 'bench', 'dashboards', 'scripts'],
];

/** The package's own entry points (package.json `exports`), by the folder they open. */
const SELF: Readonly<Record<string, string>> = {
  scenestream: 'stream',
  'scenestream/testkit': 'testkit',
  'scenestream/runtime': 'runtime',
  'scenestream/retail': 'pipelines',
};

function rankOf(folder: string): number {
  return LAYERS.findIndex((names) => names.includes(folder));
}

export interface Violation {
  file: string;
  imports: string;
  why: string;
}

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s+['"]([^'"]+)['"]/g;

/** Every module specifier a source text imports or re-exports, static or dynamic. */
export function specifiersOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) out.push((m[1] ?? m[2] ?? m[3]) as string);
  return out;
}

/** The upward imports of one file, given its path relative to the root and its text. */
export function violationsOf(file: string, text: string): Violation[] {
  const folder = file.split('/')[0] as string;
  const rank = rankOf(folder);
  if (rank < 0) return [];
  const found: Violation[] = [];
  for (const spec of specifiersOf(text)) {
    let target: string | undefined;
    if (spec.startsWith('.')) {
      const rel = relative(ROOT, resolve(ROOT, dirname(file), spec)).split(sep);
      if (rel[0] === '..') {
        found.push({ file, imports: spec, why: 'reaches outside the repository' });
        continue;
      }
      target = rel.length > 1 ? rel[0] : undefined;
    } else if (spec === 'scenestream' || spec.startsWith('scenestream/')) {
      target = SELF[spec];
      if (target === undefined) {
        found.push({ file, imports: spec, why: 'is not a public entry point of the package' });
        continue;
      }
    }
    if (target === undefined || target === folder) continue;
    const targetRank = rankOf(target);
    if (targetRank < 0) found.push({ file, imports: spec, why: `imports ${target}/, which has no layer` });
    else if (targetRank >= rank) found.push({ file, imports: spec, why: `${folder}/ imports ${target}/, a layer above or beside it` });
  }
  return found;
}

function sourceFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mts', '*.mjs'], { cwd: ROOT, encoding: 'utf8' });
  return listed
    .split('\n')
    .filter((f) => f.includes('/') && !/\.test(-d)?\.ts$/.test(f))
    .filter((f) => { try { readFileSync(join(ROOT, f)); return true; } catch { return false; } });
}

describe('layers', () => {
  it('every top-level source folder has a layer', () => {
    const folders = new Set(sourceFiles().map((f) => f.split('/')[0] as string));
    const unranked = [...folders].filter((f) => rankOf(f) < 0 && f !== 'bin' && f !== 'node_modules');
    expect(unranked).toEqual([]);
  });

  it('no source file imports a folder above its own', () => {
    const violations = sourceFiles().flatMap((f) => violationsOf(f, readFileSync(join(ROOT, f), 'utf8')));
    expect(violations.map((v) => `${v.file}: '${v.imports}' ${v.why}`)).toEqual([]);
  });

  it('tells an upward import, a sideways one and an unknown entry point apart', () => {
    expect(violationsOf('engine/x.ts', "import { a } from '../operators/map.js';")).toHaveLength(1);
    expect(violationsOf('engine/x.ts', "export * from '../schemas/errors.js';")).toEqual([]);
    expect(violationsOf('examples/x.ts', "import type { A } from 'scenestream/runtime';")).toEqual([]);
    expect(violationsOf('pipelines/x.ts', "const m = await import('../runtime/cli.js');")[0]?.why).toContain('above');
    expect(violationsOf('examples/x.ts', "import { b } from 'scenestream/engine/state.js';")[0]?.why).toContain('not a public entry');
    expect(violationsOf('bench/x.ts', "import { c } from '../examples/fraudAlerts.js';")[0]?.why).toContain('beside');
  });
});
