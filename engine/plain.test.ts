import { describe, expect, it } from 'vitest';
import { fromPlain, toPlain } from './plain.js';

describe('plain encoding', () => {
  it('round-trips maps, sets, non-finite numbers and $-keyed objects through JSON', () => {
    const v = {
      m: new Map<string, unknown>([['a', { n: 1 }], ['b', new Set([1, 2])]]),
      w: -Infinity,
      p: Infinity,
      nested: [{ $map: 'looks like a tag' }],
      s: 'x',
      nil: null,
    };
    const back = fromPlain(JSON.parse(JSON.stringify(toPlain(v))));
    expect(back).toEqual(v);
  });

  it('refuses functions', () => {
    expect(() => toPlain({ f: () => 1 })).toThrow(/cannot hold a function/);
  });
});
