import { describe, expect, it } from 'vitest';
import { loadSchemaFiles } from './load.js';
import { scanAvro } from './scan.js';
import { ShapeSet, type Shape } from './shape.js';

const shapes = new ShapeSet(loadSchemaFiles());
const scan = (shape: Shape | string, bytes: number[]) =>
  scanAvro(shapes, typeof shape === 'string' ? shapes.get(shape) : shape, Uint8Array.from(bytes));
const prim = (type: 'boolean' | 'int' | 'long' | 'string' | 'double'): Shape => ({ kind: 'primitive', type, timestamp: false });

describe('scanAvro', () => {
  it('accepts exactly one well-formed value', () => {
    expect(scan(prim('string'), [0x06, 0x61, 0x62, 0x63])).toBeUndefined();
    expect(scan(prim('long'), [0x01])).toBeUndefined();
    expect(scan(prim('boolean'), [0x01])).toBeUndefined();
    expect(scan(prim('double'), [0, 0, 0, 0, 0, 0, 0xf0, 0x3f])).toBeUndefined();
  });

  it('trailing bytes', () => {
    expect(scan(prim('long'), [0x02, 0x00])?.message).toBe('1 trailing bytes after the record');
  });

  it('a string longer than the buffer', () => {
    expect(scan(prim('string'), [0x0a, 0x61])?.message).toBe('a string of length 5 needs 5 bytes but only 1 remain');
  });

  it('a negative string length', () => {
    expect(scan(prim('string'), [0x03])?.message).toBe('string length -2 is negative');
  });

  it('a varint that never ends', () => {
    expect(scan(prim('long'), Array(11).fill(0xff))?.message).toMatch(/longer than 10 bytes/);
    expect(scan(prim('int'), [0xff, 0xff, 0xff, 0xff, 0xff, 0x01])?.message).toMatch(/longer than 5 bytes/);
  });

  it('a long beyond what avsc reads safely', () => {
    expect(scan(prim('long'), [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])?.message).toMatch(/would lose precision/);
  });

  it('an int out of 32-bit range', () => {
    expect(scan(prim('int'), [0x80, 0x80, 0x80, 0x80, 0x10])?.message).toMatch(/out of 32-bit range/);
  });

  it('a boolean byte other than 0 or 1', () => {
    expect(scan(prim('boolean'), [0x02])?.message).toBe('boolean byte is 2, not 0 or 1');
  });

  it('an array block count larger than the bytes could hold', () => {
    const strings: Shape = { kind: 'array', items: prim('string') };
    expect(scan(strings, [0x0a, 0x00, 0x00])?.message).toBe('a block of 5 items cannot fit in the 2 remaining bytes');
    // A negative count is followed by the block's byte size.
    expect(scan(strings, [0x03, 0x04, 0x00, 0x00, 0x00])).toBeUndefined();
  });

  it('zero-size items are capped', () => {
    const nulls: Shape = { kind: 'array', items: { kind: 'primitive', type: 'null', timestamp: false } };
    expect(scan(nulls, [0x04, 0x00])).toBeUndefined();
    expect(scan(nulls, [0x80, 0x80, 0x80, 0x80, 0x08, 0x00])?.message).toMatch(/cannot fit/);
  });

  it('names the path of nested fields', () => {
    // BoughtTogether: productId "p", one item: productId "q", count = truncated varint.
    expect(scan('BoughtTogether', [0x02, 0x70, 0x02, 0x02, 0x71, 0x80])).toEqual({
      message: 'buffer ends inside a long at byte 6',
      field: 'items.0.count',
    });
  });
});
