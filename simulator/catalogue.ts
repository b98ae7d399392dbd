/**
 * The simulated product catalogue: a few retail categories, each with products at plausible prices.
 * Prices end in .9 like shelf prices; product ids are `<CAT>-<nnn>` (e.g. `SHO-007`).
 */

import type { Product as CatalogueProduct } from '../schemas/index.js';
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

/** Shelf names per category, in product order (`<CAT>-001` is the first); no randomness used. */
const NAMES: Readonly<Record<string, readonly string[]>> = {
  apparel: ['Linen shirt', 'Denim jacket', 'Wool scarf', 'Rain coat', 'Chino trousers', 'Knit sweater', 'Summer dress', 'Puffer vest', 'Oxford shirt', 'Cargo shorts', 'Silk blouse', 'Trench coat'],
  shoes: ['Trail runner', 'Leather loafer', 'Canvas sneaker', 'Ankle boot', 'Running shoe', 'Sandal', 'Hiking boot', 'Court sneaker', 'Slip-on', 'Chelsea boot', 'Ballet flat', 'High-top'],
  beauty: ['Face serum', 'Lip balm', 'Sun cream SPF 50', 'Night cream', 'Hand cream', 'Eye palette', 'Shampoo', 'Body lotion', 'Perfume 50 ml', 'Face mask', 'Mascara', 'Cleanser'],
  electronics: ['Wireless earbuds', 'Phone charger', 'Smart watch', 'Bluetooth speaker', 'Tablet 10"', 'Power bank', 'Headphones', 'Action camera', 'E-reader', 'Laptop 14"', 'Game controller', 'Smart plug'],
  home: ['Stoneware mug', 'Cotton towel', 'Scented candle', 'Table lamp', 'Cushion cover', 'Chef knife', 'Storage box', 'Bed linen set', 'Wall clock', 'Frying pan', 'Throw blanket', 'Coffee maker'],
  grocery: ['Ground coffee', 'Green tea', 'Dark chocolate', 'Olive oil', 'Granola', 'Honey', 'Pasta', 'Sparkling water', 'Almonds', 'Rice 2 kg', 'Oat milk', 'Jam'],
  sports: ['Yoga mat', 'Dumbbell set', 'Water bottle', 'Tennis racket', 'Football', 'Cycling helmet', 'Gym bag', 'Skipping rope', 'Resistance bands', 'Swim goggles', 'Running belt', 'Foam roller'],
  toys: ['Building blocks', 'Puzzle 500', 'Plush bear', 'Toy car', 'Board game', 'Kite', 'Doll house', 'Train set', 'Crayons', 'Water pistol', 'Card game', 'Robot kit'],
};

/**
 * The catalogue as reference data (`products.json`, the `Product` contract): each product with a
 * shelf name from its category's list (numbered past its end), its category and price. Names take
 * no randomness, so the events of a seed do not change.
 */
export function catalogueProducts(catalogue: Catalogue): CatalogueProduct[] {
  return catalogue.products.map((p) => {
    const i = Number(p.productId.slice(p.productId.lastIndexOf('-') + 1)) - 1;
    const names = NAMES[p.category] ?? [];
    const name = names[i % Math.max(1, names.length)] ?? p.category;
    return { productId: p.productId, name: i < names.length ? name : `${name} ${Math.floor(i / names.length) + 1}`, category: p.category, price: p.price, imageUrl: null };
  });
}
