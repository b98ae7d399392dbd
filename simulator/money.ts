/** Money arithmetic shared by the simulator and the dataset loaders. */

import type { PosItem } from '../schemas/index.js';

/** Round to cents, half away from zero (so returns round like sales), never -0. */
export function roundCents(x: number): number {
  const r = (Math.sign(x) * Math.round(Math.abs(x) * 100 + 1e-9)) / 100;
  return r === 0 ? 0 : r;
}

/** A till total: the sum of quantity × unitPrice, rounded to cents. */
export function posTotal(items: readonly PosItem[]): number {
  let sum = 0;
  for (const it of items) sum += it.quantity * it.unitPrice;
  return roundCents(sum);
}
