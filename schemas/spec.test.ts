/**
 * The `.avsc` files against the product spec, /work/shared/SCENES.md: field names (and, where the
 * spec gives them, order, types, nullability and enum symbols) must match. The tables of section 1
 * are compared field by field; the `{a, b, c}` lists of sections 2 to 7 by name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSchemaFiles } from './load.js';
import { ShapeSet, type NamedShape, type Shape } from './shape.js';
import { DELIVERY_CHANNELS, SCENES, SUPPRESSION_REASONS } from './types.generated.js';

const SCENES_MD = new URL('../../shared/SCENES.md', import.meta.url);
const present = existsSync(SCENES_MD);
const skipNote = present ? '' : ` (skipped: ${fileURLToPath(SCENES_MD)} not found)`;
const spec = present ? readFileSync(SCENES_MD, 'utf8') : '';
const shapes = new ShapeSet(loadSchemaFiles());

/** The body of the `## N.` section. */
function section(n: number): string {
  const start = spec.search(new RegExp(`^## ${n}\\.`, 'm'));
  if (start < 0) throw new Error(`SCENES.md has no section ${n}`);
  const next = spec.slice(start + 1).search(/^## /m);
  return next < 0 ? spec.slice(start) : spec.slice(start, start + 1 + next);
}

interface SpecField {
  name: string;
  type: string;
}

/** Section 1: `**topic** (\`Record\`)` followed by a `| field | type |` table. */
function tables(text: string): Map<string, SpecField[]> {
  const out = new Map<string, SpecField[]>();
  let current: SpecField[] | undefined;
  for (const line of text.split('\n')) {
    const heading = /^\*\*\w+\*\* \(`(\w+)`\)/.exec(line);
    if (heading?.[1] !== undefined) {
      current = [];
      out.set(heading[1], current);
      continue;
    }
    if (current === undefined || !line.startsWith('|')) continue;
    const cells = line.split('|').map((c) => c.trim());
    const [, field = '', type = ''] = cells;
    if (field === 'field' || /^-+$/.test(field)) continue;
    for (const name of field.split(',')) current.push({ name: name.trim(), type });
  }
  return out;
}

/** Splits `a, b: {x, y}, c (or null)` at top-level commas. */
function topLevelParts(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let part = '';
  for (const ch of list) {
    if ('{[('.includes(ch)) depth++;
    if ('}])'.includes(ch)) depth--;
    if (ch === ',' && depth === 0) {
      parts.push(part.trim());
      part = '';
    } else {
      part += ch;
    }
  }
  if (part.trim() !== '') parts.push(part.trim());
  return parts;
}

/** The content of the first balanced `{...}` at or after `from`. */
function braces(text: string, from: number): string {
  const open = text.indexOf('{', from);
  if (open < 0) throw new Error(`no {...} after position ${from}`);
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i);
  }
  throw new Error(`unbalanced {...} at position ${open}`);
}

/** `{a, b (or null), c: {x, y}}` → parts with their leading name (quotes stripped). */
function braceList(list: string): { name: string; text: string }[] {
  return topLevelParts(list).map((text) => ({ name: /^"?(\w+)"?/.exec(text)?.[1] ?? text, text }));
}

function listAfter(anchor: string): { name: string; text: string }[] {
  const at = spec.indexOf(anchor);
  if (at < 0) throw new Error(`SCENES.md no longer contains "${anchor}"`);
  return braceList(braces(spec, at));
}

function record(name: string): Extract<NamedShape, { kind: 'record' }> {
  const shape = shapes.get(name);
  if (shape.kind !== 'record') throw new Error(`${name} is not a record`);
  return shape;
}

/** `string or null` / `long` / `enum: a, b` / `array of ...` for an Avro field, in the spec's words. */
function specWords(shape: Shape): { base: string; nullable: boolean; symbols?: readonly string[] } {
  let s: Shape | NamedShape = shapes.resolve(shape);
  let nullable = false;
  if (s.kind === 'union') {
    nullable = s.branches.some((b) => b.kind === 'primitive' && b.type === 'null');
    const other = s.branches.find((b) => !(b.kind === 'primitive' && b.type === 'null'));
    if (other === undefined) throw new Error('union of null only');
    s = shapes.resolve(other);
  }
  switch (s.kind) {
    case 'primitive':
      return { base: s.type, nullable };
    case 'enum':
      return { base: 'enum', nullable, symbols: s.symbols };
    case 'array':
      return { base: 'array', nullable };
    default:
      return { base: s.kind, nullable };
  }
}

function expectTypeMatches(where: string, specType: string, shape: Shape): void {
  const words = specWords(shape);
  const base = /^(string|long|double|int|boolean|enum|array)/.exec(specType)?.[1];
  expect(base, `${where}: spec type "${specType}"`).toBe(words.base);
  // Only the field's own words count, not those of a nested record (`array of `{... or null}``).
  const own = specType.replace(/`[^`]*`/g, '');
  expect(/\bor null\b/.test(own), `${where}: nullable per spec "${specType}"`).toBe(words.nullable);
  if (base === 'enum') {
    const symbols = specType.replace(/^enum:\s*/, '').split(',').map((s) => s.trim());
    expect(words.symbols, `${where}: enum symbols`).toEqual(symbols);
  }
}

describe(`schemas match SCENES.md${skipNote}`, () => {
  it.skipIf(!present).each(['ClickEvent', 'PosEvent', 'LocationEvent'])('section 1 table: %s', (name) => {
    const table = tables(section(1)).get(name);
    expect(table, `SCENES.md section 1 has a table for ${name}`).toBeDefined();
    const fields = record(name).fields;
    expect(fields.map((f) => f.name)).toEqual((table ?? []).map((f) => f.name));
    for (const [i, f] of fields.entries()) expectTypeMatches(`${name}.${f.name}`, table?.[i]?.type ?? '', f.shape);
  });

  it.skipIf(!present)('section 1: PosItem, from the items row', () => {
    const items = tables(section(1)).get('PosEvent')?.find((f) => f.name === 'items');
    const parts = braceList(braces(items?.type ?? '', 0));
    const fields = record('PosItem').fields;
    expect(fields.map((f) => f.name)).toEqual(parts.map((p) => p.name));
    for (const [i, f] of fields.entries()) {
      expectTypeMatches(`PosItem.${f.name}`, (parts[i]?.text ?? '').replace(/^\w+:\s*/, ''), f.shape);
    }
  });

  const lists: { name: string; anchor: string }[] = [
    { name: 'Store', anchor: '**Store**:' },
    { name: 'CustomerProfile', anchor: '**CustomerProfile**:' },
    { name: 'Trigger', anchor: 'A trigger is' },
    { name: 'Decision', anchor: 'Every trigger yields exactly one decision' },
    { name: 'Offer', anchor: 'emits an **Offer**' },
    { name: 'RecommendationUpdate', anchor: 'A **RecommendationUpdate**' },
    { name: 'BoughtTogether', anchor: '`bought_together.jsonl`' },
  ];

  it.skipIf(!present).each(lists)('field list: $name', ({ name, anchor }) => {
    const parts = listAfter(anchor);
    const fields = record(name).fields;
    expect(fields.map((f) => f.name)).toEqual(parts.map((p) => p.name));
    // Where the spec says a field can be null, the schema must allow it.
    for (const p of parts) {
      const field = fields.find((f) => f.name === p.name);
      if (field !== undefined && /\bnull\b/.test(p.text)) expect(specWords(field.shape).nullable, `${name}.${p.name} nullable`).toBe(true);
    }
  });

  it.skipIf(!present)('nested lists: Consent, RecommendationItem, BoughtTogetherItem', () => {
    const nested = (anchor: string, field: string): string[] => {
      const part = listAfter(anchor).find((p) => p.name === field);
      return braceList(braces(part?.text ?? '', 0)).map((p) => p.name);
    };
    expect(record('Consent').fields.map((f) => f.name)).toEqual(nested('**CustomerProfile**:', 'consent'));
    expect(record('RecommendationItem').fields.map((f) => f.name)).toEqual(nested('A **RecommendationUpdate**', 'items'));
    expect(record('BoughtTogetherItem').fields.map((f) => f.name)).toEqual(nested('`bought_together.jsonl`', 'items'));
  });

  it.skipIf(!present)('enums: tier, outcome, consent channels, scenes (section 3) and suppression reasons (section 4)', () => {
    const symbolsOf = (anchor: string, field: string): string[] =>
      (listAfter(anchor).find((p) => p.name === field)?.text ?? '').replace(/^\w+:\s*/, '').split('|').map((s) => s.trim());
    const tier = shapes.get('Tier');
    expect(tier.kind === 'enum' ? tier.symbols : []).toEqual(symbolsOf('**CustomerProfile**:', 'tier'));
    const outcome = shapes.get('Outcome');
    expect(outcome.kind === 'enum' ? outcome.symbols : []).toEqual(symbolsOf('Every trigger yields exactly one decision', 'outcome'));
    expect([...DELIVERY_CHANNELS]).toEqual(record('Consent').fields.map((f) => f.name));
    expect([...SCENES]).toEqual([...section(3).matchAll(/^\d+\. \*\*(\w+)\*\*/gm)].map((m) => m[1]));
    // SCENES.md's four in its order, then issue 13's `segment` (appended: Avro enums encode by index).
    expect([...SUPPRESSION_REASONS]).toEqual([...[...section(4).matchAll(/^\d+\. `(\w+)`:/gm)].map((m) => m[1]), 'segment']);
  });
});
