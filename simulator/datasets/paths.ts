/**
 * Where the shared datasets are: `$SCENESTREAM_DATASETS` if set, else `../shared/datasets` next to
 * the project (they are test inputs, never copied into the project).
 */

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export function datasetsDir(): string {
  const fromEnv = process.env['SCENESTREAM_DATASETS'];
  return fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : resolve(projectRoot, '..', 'shared', 'datasets');
}

export function datasetPath(...parts: string[]): string {
  return resolve(datasetsDir(), ...parts);
}
