/**
 * The simulated product catalogue: a few retail categories, each with products at plausible prices.
 * Prices end in .9 like shelf prices; product ids are `<CAT>-<nnn>` (e.g. `SHO-007`).
 */

import type { Rng } from './prng.js';

export interface Product {
  readonly productId: string;
  readonly category: string;
  readonly price: number;
}

export interface Catalogue {
  readonly categories: readonly string[];
  readonly products: readonly Product[];
  readonly byCategory: ReadonlyMap<string, readonly Product[]>;
}

/** Category, lowest and highest shelf price. */
const CATEGORY_PRICES: readonly (readonly [string, number, number])[] = [
  ['apparel', 59, 899],
  ['shoes', 199, 1299],
  ['beauty', 39, 699],
  ['electronics', 99, 6999],
  ['home', 19, 1599],
  ['grocery', 5, 199],
  ['sports', 49, 1999],
  ['toys', 29, 599],
];

export function createCatalogue(rng: Rng, productsPerCategory = 12): Catalogue {
  const products: Product[] = [];
  const byCategory = new Map<string, Product[]>();
  for (const [category, lo, hi] of CATEGORY_PRICES) {
    const list: Product[] = [];
    const code = category.slice(0, 3).toUpperCase();
    for (let i = 1; i <= productsPerCategory; i++) {
      // Log-uniform: many cheap items, a few expensive ones.
      const raw = Math.exp(rng.float(Math.log(lo), Math.log(hi)));
      const price = Math.max(0.9, Math.round(Math.floor(raw) * 10 + 9) / 10);
      const product = { productId: `${code}-${String(i).padStart(3, '0')}`, category, price };
      list.push(product);
      products.push(product);
    }
    byCategory.set(category, list);
  }
  return { categories: CATEGORY_PRICES.map(([c]) => c), products, byCategory };
}

export function productsIn(catalogue: Catalogue, category: string): readonly Product[] {
  const list = catalogue.byCategory.get(category);
  if (list === undefined || list.length === 0) throw new RangeError(`unknown category ${category}`);
  return list;
}
