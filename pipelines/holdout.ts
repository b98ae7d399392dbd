import { createHash } from 'node:crypto';

const TWO_POW_32 = 2 ** 32;

/**
 * The position of a customer in `[0, 1)` for the global control group (SCENES.md §4.1): the first
 * 4 bytes of `sha256(salt + customerId)` (UTF-8, plain string concatenation, no separator) read as
 * a big-endian uint32, divided by 2^32. Stable across runs, processes and restarts.
 */
export function holdoutPosition(customerId: string, salt: string): number {
  return createHash('sha256').update(salt + customerId, 'utf8').digest().readUInt32BE(0) / TWO_POW_32;
}

/**
 * Whether the customer is in the global control group: `holdoutPosition < ratio`. A ratio of 0
 * holds out nobody, 1 everybody (positions are < 1); with the defaults (salt `scenestream`, ratio
 * 0.05) about 5 % of customers.
 */
export function inHoldout(customerId: string, salt: string, ratio: number): boolean {
  return holdoutPosition(customerId, salt) < ratio;
}
