import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import avsc from 'avsc';
import { afterEach, describe, expect, it } from 'vitest';
import { isScenestreamError } from './errors.js';
import { loadSchemaFiles, selfContainedSchema } from './load.js';
import { SCHEMA_NAMES } from './types.generated.js';

describe('loadSchemaFiles', () => {
  it('orders files so that referenced types come first', () => {
    const order = loadSchemaFiles().map((f) => f.name);
    for (const [user, used] of [
      ['Decision', 'Scene'],
      ['Decision', 'DeliveryChannel'],
      ['Offer', 'Scene'],
      ['Trigger', 'Scene'],
    ] as const) {
      expect(order.indexOf(used)).toBeLessThan(order.indexOf(user));
    }
    expect(new Set(order)).toEqual(new Set([...SCHEMA_NAMES, 'Scene', 'DeliveryChannel']));
  });

  describe('refuses broken schema folders with SS_ERR_SCHEMA', () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    function loadFrom(files: Record<string, string | object>): () => unknown {
      dir = mkdtempSync(join(tmpdir(), 'scenestream-load-'));
      for (const [file, content] of Object.entries(files)) {
        writeFileSync(join(dir, file), typeof content === 'string' ? content : JSON.stringify(content));
      }
      const url = pathToFileURL(`${dir}/`);
      return () => loadSchemaFiles(url);
    }

    function expectSchemaError(load: () => unknown, message: RegExp): void {
      let thrown: unknown;
      try {
        load();
      } catch (e) {
        thrown = e;
      }
      expect(isScenestreamError(thrown, 'SS_ERR_SCHEMA')).toBe(true);
      expect(String((thrown as Error).message)).toMatch(message);
    }

    const rec = (name: string, fields: object[] = [], namespace = 'scenestream'): object => ({ type: 'record', name, namespace, fields });

    it('bad JSON', () => expectSchemaError(loadFrom({ 'A.avsc': '{' }), /A\.avsc is not valid JSON/));
    it('wrong namespace', () => expectSchemaError(loadFrom({ 'A.avsc': rec('A', [], 'other') }), /namespace "scenestream"/));
    it('file not named after its type', () => expectSchemaError(loadFrom({ 'B.avsc': rec('A') }), /must be named after its type/));
    it('unknown reference', () =>
      expectSchemaError(loadFrom({ 'A.avsc': rec('A', [{ name: 'b', type: 'B' }]) }), /references unknown type scenestream\.B/));
    it('a type defined twice', () =>
      expectSchemaError(
        loadFrom({
          'A.avsc': rec('A', [{ name: 'e', type: { type: 'enum', name: 'E', symbols: ['x'] } }]),
          'B.avsc': rec('B', [{ name: 'e', type: { type: 'enum', name: 'E', symbols: ['x'] } }]),
        }),
        /scenestream\.E is defined twice/,
      ));
    it('a cycle between files', () =>
      expectSchemaError(
        loadFrom({ 'A.avsc': rec('A', [{ name: 'b', type: 'B' }]), 'B.avsc': rec('B', [{ name: 'a', type: ['null', 'A'] }]) }),
        /cycle/,
      ));
  });
});

describe('selfContainedSchema', () => {
  const files = loadSchemaFiles();

  it.each(SCHEMA_NAMES)('%s parses on its own, without the other files', (name) => {
    const schema = selfContainedSchema(files, name);
    expect(() => avsc.Type.forSchema(schema as Parameters<typeof avsc.Type.forSchema>[0])).not.toThrow();
  });

  it('inlines a shared enum once and references it by name afterwards', () => {
    const text = JSON.stringify(selfContainedSchema(files, 'Offer'));
    expect(text.match(/"name":"Scene"/g)).toHaveLength(1);
    const decision = JSON.stringify(selfContainedSchema(files, 'Decision'));
    expect(decision.match(/"name":"DeliveryChannel"/g)).toHaveLength(1);
  });
});
