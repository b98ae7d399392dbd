import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareGolden, firstDifference, GOLDEN_INPUTS, OUTPUT_FILES, readManifest, readRecordedOutput, runGolden, type GoldenManifest } from '../testkit/golden.js';

/**
 * Every golden input (testkit/golden.ts: simulated cities, the example campaign, unusable lines,
 * Online Retail, GeoLife, REES46, Instacart) replayed as `scenestream replay` does, each output file
 * byte-identical to the one recorded in runtime/golden/ before a change. A failure names the input,
 * the file, the first differing line and both versions of it; if an input itself changed, it says
 * that instead. Re-record (`npx tsx scripts/golden.ts record`) only when a change of output is meant.
 */
describe('replay outputs equal the golden recording', () => {
  let manifest: GoldenManifest;
  let dir: string;
  beforeAll(async () => {
    manifest = await readManifest();
    dir = await mkdtemp(join(tmpdir(), 'ss-golden-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has a recording of every input, and of nothing else', async () => {
    expect(Object.keys(manifest.inputs)).toEqual(GOLDEN_INPUTS.map((i) => i.name));
    for (const input of GOLDEN_INPUTS) {
      expect(Object.keys(manifest.inputs[input.name]!.outputs)).toEqual([...OUTPUT_FILES]);
      for (const file of OUTPUT_FILES) await readRecordedOutput(input.name, file);
    }
  });

  for (const input of GOLDEN_INPUTS) {
    it(input.name, { timeout: 120_000 }, async () => {
      const run = await runGolden(input, join(dir, input.name));
      const problems = await compareGolden(run, manifest);
      if (problems.length > 0) expect.fail(`replay of ${input.name} differs from the recording made on ${manifest.inputs[input.name]?.recordedOn ?? '(not recorded)'}:\n${problems.join('\n')}`);
      await rm(join(dir, input.name), { recursive: true, force: true });
    });
  }
});

describe('firstDifference', () => {
  it('names the file, the first differing line and column, and both lines', () => {
    expect(firstDifference('triggers.jsonl', 'a\nb\nc\n', 'a\nbx\nc\n')).toBe(
      ['triggers.jsonl: first difference at line 2, column 2 (recorded 3 lines, now 3)', '  recorded: "b"', '  now:      "bx"'].join('\n'),
    );
    expect(firstDifference('offers.jsonl', 'a\n', 'a\n')).toBeNull();
  });

  it('says which side ends first', () => {
    expect(firstDifference('offers.jsonl', 'a\nb\n', 'a\n')).toBe(
      ['offers.jsonl: first difference at line 2, column 1 (recorded 2 lines, now 1)', '  recorded: "b"', '  now:      ""'].join('\n'),
    );
    expect(firstDifference('offers.jsonl', 'a\n', 'a')).toBe(
      ['offers.jsonl: first difference at line 2 (recorded 1 lines, now 0)', '  recorded: ""', '  now:      (no such line: the file ends before)'].join('\n'),
    );
  });

  it('cuts a long line around the difference', () => {
    const was = `${'x'.repeat(2000)}A${'y'.repeat(2000)}`;
    const now = `${'x'.repeat(2000)}B${'y'.repeat(2000)}`;
    const message = firstDifference('recommendations.jsonl', was, now)!;
    expect(message).toContain('line 1, column 2001');
    expect(message.split('\n')[1]).toMatch(/^ {2}recorded: …\[1700 chars\] "x{300}Ay{299}" \[1701 chars\]…$/);
  });
});
