import { inspect } from 'node:util';
import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { avroSchema, decode, encode, encodeConfluent, validate } from './codec.js';
import { Contract } from './contract.js';
import { fieldKey } from './jit.js';
import { loadSchemaFiles } from './load.js';
import { SAMPLES } from './samples.js';
import { compileScan, scanAvro } from './scan.js';
import { ShapeSet } from './shape.js';
import { SCHEMA_NAMES, type SchemaName, type SchemaTypes } from './types.generated.js';

/**
 * The codec decides with functions built once per schema and explains with the walks that name the
 * field (`scanAvro`, `Contract.violation`, avsc's `isValid`); these tests hold the two to the same
 * verdict on many broken inputs, so that a fast "yes" is never a slow "no" (and the other way round).
 */

const SHAPES = new ShapeSet(loadSchemaFiles());
const CONTRACT = new Contract(SHAPES);

/** A deterministic PRNG (mulberry32), so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function avroType(name: SchemaName): avsc.Type {
  return avsc.Type.forSchema(avroSchema(name) as Parameters<typeof avsc.Type.forSchema>[0], { wrapUnions: 'never' });
}

/** Every path to a value inside `value` (record fields, array items), the root excluded. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => [[...prefix, i], ...paths(v, [...prefix, i])]);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
  }
  return [];
}

/** A deep copy of `value` with the value at `path` replaced (or deleted, for `undefined`). */
function withAt(value: unknown, path: readonly (string | number)[], replacement: unknown): unknown {
  const copy: unknown = structuredClone(value);
  let parent = copy as Record<string | number, unknown>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, unknown>;
  const last = path[path.length - 1] ?? '';
  if (replacement === undefined && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

const ODD: readonly unknown[] = [
  undefined,
  null,
  '',
  'x',
  'Asia/Shanghai',
  0,
  -1,
  1.5,
  -0.5,
  95,
  200,
  Number.NaN,
  Infinity,
  -Infinity,
  2 ** 53,
  2 ** 31,
  true,
  [],
  [''],
  ['sku-1', 1],
  {},
  { productId: 'p' },
  new Date(0),
  'sent',
  'suppressed',
  'holdout',
  'toString',
];

/** Broken and intact variants of each sample: every value replaced by every odd value. */
function variants(name: SchemaName): unknown[] {
  const sample: unknown = SAMPLES[name];
  const out: unknown[] = [sample, [], null, 'x', {}];
  for (const path of paths(sample)) for (const odd of ODD) out.push(withAt(sample, path, odd));
  return out;
}

describe('the compiled contract decides as the walk does', () => {
  it.each(SCHEMA_NAMES)('%s', (name) => {
    const root = SHAPES.get(name);
    const compiled = CONTRACT.compile(root);
    const type = avroType(name);
    let broken = 0;
    for (const value of variants(name)) {
      const slow = CONTRACT.normalise(root, value);
      const fast = compiled.normalise(value);
      // Same keys in the same order, same values (inspect shows both, and undefined).
      expect(inspect(fast, { depth: null })).toBe(inspect(slow, { depth: null }));
      const holds = CONTRACT.violation(root, slow) === undefined;
      expect(compiled.holds(slow), inspect(value)).toBe(holds);
      const valid = type.isValid(slow) && holds;
      if (!valid) broken++;
      expect(validate(name, value).ok, inspect(value)).toBe(valid);
      // encode leaves the Avro type check to avsc's writer: it must refuse exactly what isValid refuses.
      let encoded: Buffer | undefined;
      try {
        encoded = encode(name, value as SchemaTypes[typeof name]);
      } catch (e) {
        expect(String(e)).toMatch(/SS_ERR_VALIDATION/);
      }
      expect(encoded !== undefined, inspect(value)).toBe(valid);
      if (encoded !== undefined) expect(encoded).toEqual(type.toBuffer(slow));
    }
    expect(broken).toBeGreaterThan(10);
  });
});

describe('the compiled scan decides as scanAvro does', () => {
  /** Records with multi-byte varints: long strings and arrays, large numbers. */
  function big(name: SchemaName): unknown {
    const sample = SAMPLES[name] as unknown as Record<string, unknown>;
    const long = 'x'.repeat(300);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(sample)) {
      if (typeof v === 'string' && !['type', 'channel', 'scene', 'outcome', 'reason', 'tier', 'timezone', 'group'].includes(k)) out[k] = `${v}${long}`;
      else if (Array.isArray(v)) out[k] = Array.from({ length: 70 }, (_, i) => v[i % v.length]);
      else out[k] = v;
    }
    return out;
  }

  it.each(SCHEMA_NAMES)('%s', (name) => {
    const root = SHAPES.get(name);
    const scan = compileScan(SHAPES, root);
    const random = prng(7 + SCHEMA_NAMES.indexOf(name));
    const goods = [encodeConfluent(name, SAMPLES[name]), encodeConfluent(name, big(name) as SchemaTypes[typeof name])];
    const cases: Buffer[] = [...goods];
    for (const good of goods) {
      for (let n = 0; n < good.length; n++) cases.push(good.subarray(0, n));
      for (let i = 0; i < 400; i++) {
        const at = 5 + Math.floor(random() * (good.length - 5));
        const flipped = Buffer.from(good);
        flipped[at] = (flipped[at] ?? 0) ^ (1 << Math.floor(random() * 8));
        const replaced = Buffer.from(good);
        replaced[at] = Math.floor(random() * 256);
        const widened = Buffer.concat([good.subarray(0, at), Buffer.from([0x80 | Math.floor(random() * 128)]), good.subarray(at)]);
        cases.push(flipped, replaced, widened);
      }
    }
    for (let i = 0; i < 1000; i++) {
      cases.push(Buffer.from(Array.from({ length: 5 + Math.floor(random() * 40) }, () => Math.floor(random() * 256))));
    }
    // Hand-made: 10-byte varints, a union index beyond the branches, negative block counts with sizes.
    cases.push(Buffer.from([0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]));
    cases.push(Buffer.from([0, 0, 0, 0, 0, 0x02, 0x61, 0x7e]));
    cases.push(Buffer.from([0, 0, 0, 0, 0, 0x02, 0x61, 0x03, 0x02, 0x02, 0x61, 0x00]));
    let failing = 0;
    for (const bytes of cases) {
      const slow = scanAvro(SHAPES, root, bytes, 5) === undefined;
      if (!slow) failing++;
      expect(scan(bytes, 5), `${bytes.toString('hex')}`).toBe(slow);
    }
    expect(failing).toBeGreaterThan(100);
  });
});

describe('encode options', () => {
  it.each(SCHEMA_NAMES)('%s: trusted writes the same bytes', (name) => {
    expect(encode(name, SAMPLES[name], { trusted: true })).toEqual(encode(name, SAMPLES[name]));
    expect(encodeConfluent(name, SAMPLES[name], 42, { trusted: true })).toEqual(encodeConfluent(name, SAMPLES[name], 42));
  });

  it('trusted skips the contract checks, and only them', () => {
    const late = { ...SAMPLES.Offer, expiresAt: SAMPLES.Offer.ts - 1 };
    expect(() => encode('Offer', late)).toThrow(/SS_ERR_VALIDATION/);
    expect(decode('Offer', encode('Offer', late, { trusted: true })).ok).toBe(false);
    // avsc's writer still refuses a value of the wrong type, with the typed error naming the field.
    const wrong = { ...SAMPLES.Offer, discountPct: 'ten' } as unknown as SchemaTypes['Offer'];
    expect(() => encode('Offer', wrong, { trusted: true })).toThrow(/SS_ERR_VALIDATION: Offer.discountPct: expected double/);
    expect(() => encodeConfluent('Offer', wrong, 6, { trusted: true })).toThrow(/SS_ERR_VALIDATION: Offer.discountPct/);
  });

  it('records larger than the scratch buffer, and records after a failed write', () => {
    // 100 kB (the scratch grows) and 1.4 MB (written into a buffer of its own).
    for (const length of [3000, 40_000]) {
      const items = Array.from({ length }, (_, i) => ({ productId: `sku-${i}`, score: i / length, reason: 'bought_together:sku-1' }));
      const large = { ...SAMPLES.RecommendationUpdate, items };
      const bytes = encodeConfluent('RecommendationUpdate', large);
      expect(bytes.length).toBeGreaterThan(length * 30);
      expect(bytes.readUInt32BE(1)).toBe(7);
      // Buffer#equals: vitest's deep equality takes seconds over a megabyte.
      expect(bytes.subarray(5).equals(avroType('RecommendationUpdate').toBuffer(large))).toBe(true);
      expect(encode('RecommendationUpdate', large).equals(bytes.subarray(5))).toBe(true);
      const broken = { ...large, items: [...items, { productId: 'p', score: 'x', reason: 'r' }] };
      expect(() => encode('RecommendationUpdate', broken as never)).toThrow(/SS_ERR_VALIDATION/);
      expect(encode('Trigger', SAMPLES.Trigger)).toEqual(avroType('Trigger').toBuffer(SAMPLES.Trigger));
    }
  });
});

describe('generated code', () => {
  it('takes only Avro names as field names', () => {
    expect(fieldKey('customerId')).toBe('"customerId"');
    for (const bad of ['a"b', 'a b', '1a', '', '__proto__', 'a\u2028b', 'x]; process.exit(); //']) expect(() => fieldKey(bad)).toThrow(/SS_ERR_SCHEMA/);
  });
});
