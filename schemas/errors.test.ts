import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, isScenestreamError, ScenestreamError, ssError, type ErrorCode } from './errors.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const rows = new Map(
  [...doc.matchAll(/^\| `(SS_ERR_[A-Z_]+)` \| (yes|no) \| (yes|no) \| (.+) \|$/gm)].map((m) => [m[1]!, { retryable: m[2] === 'yes', deadLetter: m[3] === 'yes', when: m[4]! }]),
);

describe('error catalogue', () => {
  it.each(Object.keys(ERRORS) as ErrorCode[])('%s is documented in docs/errors.md with matching flags', (code) => {
    const row = rows.get(code);
    expect(row, `${code} has no row in docs/errors.md`).toBeDefined();
    expect(row!.retryable).toBe(ERRORS[code].retryable);
    expect(row!.deadLetter).toBe(ERRORS[code].deadLetter);
    expect(row!.when.length).toBeGreaterThan(20);
  });

  it('documents no code that does not exist', () => {
    expect([...rows.keys()].filter((c) => !(c in ERRORS))).toEqual([]);
  });

  it('carries code, flags, step and field, and is told apart without instanceof', () => {
    const e = ssError('SS_ERR_VALIDATION', 'lat out of range', { stepId: 'decode', field: 'lat' });
    expect(e.message).toBe('SS_ERR_VALIDATION: [step decode] lat out of range');
    expect([e.code, e.retryable, e.deadLetter, e.stepId, e.field]).toEqual(['SS_ERR_VALIDATION', false, true, 'decode', 'lat']);
    const foreign = { _tag: 'ScenestreamError', code: 'SS_ERR_DECODE' };
    expect(isScenestreamError(foreign, 'SS_ERR_DECODE')).toBe(true);
    expect(isScenestreamError(foreign, 'SS_ERR_CONFIG')).toBe(false);
    expect(isScenestreamError(new Error('x'))).toBe(false);
    expect(e).toBeInstanceOf(ScenestreamError);
  });
});
