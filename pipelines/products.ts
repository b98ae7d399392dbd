import type { Product } from '../schemas/index.js';
import { checkBySchema, LiveTable, type RowKind, type TableChange } from './liveTable.js';

/**
 * The product catalogue: reference data like the stores (`{productId, name, category, price,
 * imageUrl}`, the `Product` schema), read by offer titles ({@link renderTitle}) and the store
 * screens. A replay and the embedded job read it from a file; production mode from Redis or from a
 * compacted topic, kept live (runtime/). A product missing from the catalogue is no error: titles
 * fall back, screens show the product id.
 */
export interface ProductLookup {
  get(productId: string): Product | undefined;
}

/** What one change did to a {@link LiveProducts}. */
export type ProductChange = TableChange<Product>;

/** The product if it is valid; `SS_ERR_VALIDATION` naming it and the field otherwise. */
export const checkProduct = checkBySchema('Product', 'product', 'products', (p) => p.productId);

const PRODUCT_ROWS: RowKind<Product> = {
  id: (p) => p.productId,
  check: checkProduct,
  same: (a, b) => a.name === b.name && a.category === b.category && a.price === b.price && a.imageUrl === b.imageUrl,
};

/**
 * The catalogue as a live table (a fixed one for a replay: built once, version 0). A change
 * applies to the offers decided and the screens drawn after it (processing time, as the stores).
 */
export class LiveProducts extends LiveTable<Product> implements ProductLookup {
  constructor(initial: Iterable<Product> = []) {
    super(PRODUCT_ROWS, initial);
  }
}

/** No catalogue: every lookup misses. */
export const NO_PRODUCTS: ProductLookup = { get: () => undefined };

// ---------------------------------------------------------------------------------------------
// Offer titles

/** The placeholders an offer title may use, and what each is replaced by. */
export const TITLE_PLACEHOLDERS = {
  product: "the name of the offer's first product",
  category: "the category of the offer's first product",
  price: "the price of the offer's first product, two decimals",
  store: "the name of the offer's store",
  discount: "the offer's discount in percent",
} as const;

export type TitlePlaceholder = keyof typeof TITLE_PLACEHOLDERS;

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The names between braces in a title, in order (known or not). */
function placeholdersOf(title: string): string[] {
  return [...title.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** A problem with an offer template's titles: which field, and what is wrong. */
export interface TitleProblem {
  readonly field: 'title' | 'fallbackTitle';
  readonly message: string;
}

/**
 * What is wrong with a template's `title` and `fallbackTitle` (checked at campaign load and at
 * build): an unknown placeholder; placeholders in the title without a fallback; placeholders in
 * the fallback.
 */
export function titleProblems(title: string, fallbackTitle: string): TitleProblem[] {
  const known = Object.keys(TITLE_PLACEHOLDERS).map((k) => `{${k}}`).join(', ');
  const used = placeholdersOf(title);
  const out: TitleProblem[] = used.filter((n) => !Object.hasOwn(TITLE_PLACEHOLDERS, n)).map((n) => ({ field: 'title', message: `has an unknown placeholder {${n}} (known: ${known})` }));
  if (used.length > 0 && fallbackTitle === '') out.push({ field: 'fallbackTitle', message: 'must be given (a title without placeholders, used when one has no value) because title has placeholders' });
  if (placeholdersOf(fallbackTitle).length > 0) out.push({ field: 'fallbackTitle', message: 'must not have placeholders' });
  return out;
}

/** What a title is rendered from. */
export interface TitleValues {
  readonly productIds: readonly string[];
  readonly storeName: string | undefined;
  readonly discountPct: number;
}

/**
 * An offer's title: `title` with its placeholders replaced; `fallback` when a placeholder has no
 * value (no product, a product not in the catalogue or without a category, no store). A title
 * without placeholders is returned as it is, whatever the catalogue holds, so titles of a campaign
 * that does not use them never depend on reference data.
 */
export function renderTitle(title: string, fallback: string, v: TitleValues, products: ProductLookup): string {
  if (!title.includes('{')) return title;
  const first = v.productIds[0];
  const product = first === undefined ? undefined : products.get(first);
  let missing = false;
  const out = title.replace(PLACEHOLDER, (_, name: string) => {
    const value = valueOf(name as TitlePlaceholder, product, v);
    if (value === undefined) missing = true;
    return value ?? '';
  });
  return missing ? fallback : out;
}

function valueOf(name: TitlePlaceholder, product: Product | undefined, v: TitleValues): string | undefined {
  switch (name) {
    case 'product':
      return product?.name;
    case 'category':
      return product?.category ?? undefined;
    case 'price':
      return product === undefined ? undefined : product.price.toFixed(2);
    case 'store':
      return v.storeName;
    case 'discount':
      return String(v.discountPct);
  }
}
