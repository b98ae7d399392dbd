/**
 * Where the shared datasets are: `$SCENESTREAM_DATASETS` if set, else `../shared/datasets` next to
 * the project (they are test inputs, never copied into the project).
 */

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's folder: the nearest one above this module with a `package.json`, so that the
 * compiled module (`dist/simulator/datasets/`, as `scenestream datasets` runs it) finds the same
 * folder as its source.
 */
function projectRootFrom(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return d;
    if (dirname(d) === d) return resolve(dir, '..', '..');
  }
}

const projectRoot = projectRootFrom(fileURLToPath(new URL('.', import.meta.url)));

export function datasetsDir(): string {
  const fromEnv = process.env['SCENESTREAM_DATASETS'];
  return fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : resolve(projectRoot, '..', 'shared', 'datasets');
}

export function datasetPath(...parts: string[]): string {
  return resolve(datasetsDir(), ...parts);
}
