import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { holdoutPosition, inHoldout } from './holdout.js';

/** Independent of the module: the spec's formula written out again. */
const position = (salt: string, id: string): number => createHash('sha256').update(salt + id).digest().readUInt32BE(0) / 2 ** 32;

describe('holdout (SCENES §4.1)', () => {
  it('is the first 4 bytes of sha256(salt + customerId), big-endian, over 2^32', () => {
    for (const id of ['u0', 'u13', 'alice', 'c000001', '']) expect(holdoutPosition(id, 'scenestream')).toBe(position('scenestream', id));
    // Known values, from `printf 'scenestreamalice' | sha256sum` = e813ad20...: 0xe813ad20 = 3893603616.
    expect(holdoutPosition('alice', 'scenestream')).toBe(3893603616 / 2 ** 32);
    // `printf 'scenestreamu13' | sha256sum` = 01dd440e...: 0x01dd440e = 31278094, ~0.0073 < 0.05: held out.
    expect(holdoutPosition('u13', 'scenestream')).toBe(31278094 / 2 ** 32);
    expect(inHoldout('u13', 'scenestream', 0.05)).toBe(true);
    expect(inHoldout('alice', 'scenestream', 0.05)).toBe(false);
  });

  it('depends on the salt, and is the same on every call', () => {
    expect(holdoutPosition('u13', 'other')).toBe(position('other', 'u13'));
    expect(holdoutPosition('u13', 'other')).not.toBe(holdoutPosition('u13', 'scenestream'));
    expect(inHoldout('u13', 'scenestream', 0.05)).toBe(inHoldout('u13', 'scenestream', 0.05));
  });

  it('uses a strict < ratio: exactly at the position is not held out', () => {
    const p = holdoutPosition('u13', 'scenestream');
    expect(inHoldout('u13', 'scenestream', p)).toBe(false);
    expect(inHoldout('u13', 'scenestream', p + 2 ** -32)).toBe(true);
  });

  it('holds out nobody at ratio 0 and everybody at ratio 1', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `c${i}`);
    expect(ids.filter((id) => inHoldout(id, 'scenestream', 0))).toEqual([]);
    expect(ids.filter((id) => inHoldout(id, 'scenestream', 1))).toEqual(ids);
  });

  it('holds out about 5 % of 100k customers with the defaults', () => {
    let held = 0;
    for (let i = 0; i < 100_000; i++) if (inHoldout(`c${i}`, 'scenestream', 0.05)) held++;
    // Binomial(100k, 0.05): sd ~ 69; 5 sd either side.
    expect(held).toBeGreaterThan(5000 - 345);
    expect(held).toBeLessThan(5000 + 345);
  });
});
