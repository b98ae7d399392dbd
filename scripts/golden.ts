/**
 * The golden replays' recording (see testkit/golden.ts).
 *
 *   npx tsx scripts/golden.ts record [input...]   replay the inputs, write runtime/golden/ (all inputs if none named)
 *   npx tsx scripts/golden.ts check [input...]    replay and compare, as runtime/replay.golden.test.ts does
 *
 * Record only on a commit whose outputs are the reference (the one before a change that must not
 * change them): `record` refuses a working tree with changes outside runtime/golden/, so the manifest
 * names exactly the code that produced the outputs. A file whose content is unchanged is not
 * rewritten, so re-recording the same outputs leaves the fixtures byte-identical.
 */

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  compareGolden,
  digest,
  GOLDEN_DIR,
  GOLDEN_INPUTS,
  OUTPUT_FILES,
  readManifest,
  readRecordedOutput,
  runGolden,
  type GoldenInput,
  type GoldenManifest,
  type GoldenRecording,
} from '../testkit/golden.js';

const git = (...args: string[]) => execFileSync('git', args, { cwd: fileURLToPath(new URL('.', import.meta.url)), encoding: 'utf8' }).trim();

function pick(names: string[]): GoldenInput[] {
  if (names.length === 0) return [...GOLDEN_INPUTS];
  return names.map((n) => {
    const input = GOLDEN_INPUTS.find((i) => i.name === n);
    if (input === undefined) throw new Error(`no golden input ${JSON.stringify(n)}; there are: ${GOLDEN_INPUTS.map((i) => i.name).join(', ')}`);
    return input;
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function record(inputs: GoldenInput[]): Promise<void> {
  const top = git('rev-parse', '--show-toplevel');
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)runtime/golden'], { cwd: top, encoding: 'utf8' })
    .split('\n')
    .filter((l) => l !== '');
  if (dirty.length > 0) throw new Error(`uncommitted changes outside runtime/golden/; commit or stash them so the recording names its code:\n${dirty.join('\n')}`);
  const commit = git('rev-parse', 'HEAD');
  const previous: GoldenManifest = existsSync(join(GOLDEN_DIR, 'manifest.json')) ? await readManifest() : { inputs: {} };
  const entries: Record<string, GoldenRecording> = { ...previous.inputs };
  const tmp = await mkdtemp(join(tmpdir(), 'ss-golden-'));
  try {
    for (const input of inputs) {
      const run = await runGolden(input, join(tmp, input.name));
      const folder = join(GOLDEN_DIR, input.name);
      await mkdir(folder, { recursive: true });
      const outputs: Record<string, ReturnType<typeof digest>> = {};
      let gz = 0;
      for (const file of OUTPUT_FILES) {
        const content = run.outputs.get(file) ?? Buffer.alloc(0);
        outputs[file] = digest(content);
        const path = join(folder, `${file}.gz`);
        const same = existsSync(path) && (await readRecordedOutput(input.name, file)).equals(content);
        const packed = gzipSync(content, { level: 9 });
        if (!same) await writeFile(path, packed);
        gz += packed.length;
      }
      entries[input.name] = { recordedOn: commit, about: input.about, events: run.events, inputs: run.inputs, outputs };
      console.log(
        `${input.name}: ${run.events} events, prepared in ${seconds(run.prepareMs)}, replayed in ${seconds(run.replayMs)}; ` +
          OUTPUT_FILES.map((f) => `${f} ${outputs[f]!.lines}`).join(', ') +
          `; ${(gz / 1024).toFixed(0)} KiB gzipped`,
      );
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const known = new Set(GOLDEN_INPUTS.map((i) => i.name));
  const manifest: GoldenManifest = {
    inputs: Object.fromEntries(Object.entries(entries).filter(([n]) => known.has(n)).sort(([a], [b]) => GOLDEN_INPUTS.findIndex((i) => i.name === a) - GOLDEN_INPUTS.findIndex((i) => i.name === b))),
  };
  await writeFile(join(GOLDEN_DIR, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`recorded on ${commit} into ${GOLDEN_DIR}`);
}

async function check(inputs: GoldenInput[]): Promise<number> {
  const manifest = await readManifest();
  const tmp = await mkdtemp(join(tmpdir(), 'ss-golden-'));
  let failed = 0;
  try {
    for (const input of inputs) {
      const run = await runGolden(input, join(tmp, input.name));
      const problems = await compareGolden(run, manifest);
      console.log(`${input.name}: ${problems.length === 0 ? 'same' : 'DIFFERENT'} (${run.events} events, replayed in ${seconds(run.replayMs)})`);
      for (const p of problems) console.log(p);
      if (problems.length > 0) failed++;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return failed === 0 ? 0 : 1;
}

const [command, ...names] = process.argv.slice(2);
if (command === 'record') await record(pick(names));
else if (command === 'check') process.exitCode = await check(pick(names));
else {
  console.error('usage: npx tsx scripts/golden.ts record|check [input...]');
  process.exitCode = 2;
}
