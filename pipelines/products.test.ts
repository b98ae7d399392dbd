import { describe, expect, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import type { Product } from '../schemas/index.js';
import { LiveProducts, renderTitle, titleProblems, type ProductChange } from './products.js';

const shoe: Product = { productId: 'SHO-007', name: 'Trail runner', category: 'shoes', price: 59.9, imageUrl: '/images/SHO-007.png' };
const mug: Product = { productId: 'HOM-002', name: 'Stoneware mug', category: null, price: 0, imageUrl: 'https://cdn.example.com/mug.jpg' };

describe('LiveProducts (the product catalogue as a live table)', () => {
  it('serves products by id, versions each change and tells listeners what changed', () => {
    const c = new LiveProducts([shoe]);
    const heard: ProductChange[] = [];
    c.onChange((x) => heard.push(x));
    expect([c.version, c.get('SHO-007')?.name, c.get('nope')]).toEqual([0, 'Trail runner', undefined]);
    expect(c.replace([{ ...shoe, price: 49.9 }, mug])).toEqual({ version: 1, added: [mug], updated: [{ ...shoe, price: 49.9 }], removed: [] });
    expect(c.replace([{ ...shoe, price: 49.9 }, mug])).toBeUndefined();
    expect(c.remove('HOM-002')?.removed).toEqual(['HOM-002']);
    expect(heard.map((h) => h.version)).toEqual([1, 2]);
    expect(c.all().map((p) => p.productId)).toEqual(['SHO-007']);
  });

  it('rejects an invalid product naming it and the field, and changes nothing', () => {
    const c = new LiveProducts([shoe]);
    for (const [bad, field] of [
      [{ ...mug, price: -1 }, 'products.HOM-002.price'],
      [{ ...mug, name: ' ' }, 'products.HOM-002.name'],
      [{ ...mug, imageUrl: 'javascript:alert(1)' }, 'products.HOM-002.imageUrl'],
      [{ ...mug, productId: '' }, 'products..productId'],
    ] as const) {
      let err: unknown;
      try {
        c.replace([shoe, bad]);
      } catch (e) {
        err = e;
      }
      expect(isScenestreamError(err) && err.code === 'SS_ERR_VALIDATION' && err.field).toBe(field);
    }
    expect([c.version, c.size]).toEqual([0, 1]);
  });
});

describe('offer titles', () => {
  const catalogue = new LiveProducts([shoe, mug]);
  const v = { productIds: ['SHO-007', 'HOM-002'], storeName: 'Nanjing Road', discountPct: 15 };

  it("fills placeholders from the offer's first product, its store and discount", () => {
    expect(renderTitle('{product} ({category}) for {price}: {discount}% off at {store}', 'x', v, catalogue)).toBe('Trail runner (shoes) for 59.90: 15% off at Nanjing Road');
    expect(renderTitle('{product} for {price}', 'x', { ...v, productIds: ['HOM-002'] }, catalogue)).toBe('Stoneware mug for 0.00');
  });

  it('uses the fallback when any placeholder has no value, and leaves titles without placeholders alone', () => {
    expect(renderTitle('{product}', 'fallback', { ...v, productIds: [] }, catalogue)).toBe('fallback');
    expect(renderTitle('{product}', 'fallback', { ...v, productIds: ['unknown'] }, catalogue)).toBe('fallback');
    expect(renderTitle('{category}', 'fallback', { ...v, productIds: ['HOM-002'] }, catalogue)).toBe('fallback');
    expect(renderTitle('At {store}', 'fallback', { ...v, storeName: undefined }, catalogue)).toBe('fallback');
    expect(renderTitle('We miss you: 20% off', '', v, catalogue)).toBe('We miss you: 20% off');
  });

  it('names what is wrong with a template', () => {
    expect(titleProblems('plain', '')).toEqual([]);
    expect(titleProblems('{product} {colour}', '').map((p) => [p.field, p.message.slice(0, 40)])).toEqual([
      ['title', 'has an unknown placeholder {colour} (kno'],
      ['fallbackTitle', 'must be given (a title without placehold'],
    ]);
    expect(titleProblems('{product}', 'no {store}')).toEqual([{ field: 'fallbackTitle', message: 'must not have placeholders' }]);
  });
});
