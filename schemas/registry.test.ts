import { describe, expect, it } from 'vitest';
import { isScenestreamError } from './errors.js';
import { DEFAULT_SCHEMA_IDS, SchemaRegistry, defaultRegistry } from './registry.js';
import { SCHEMA_NAMES } from './types.generated.js';

function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('SchemaRegistry', () => {
  it('the default ids are fixed, distinct and cover every schema', () => {
    expect(DEFAULT_SCHEMA_IDS).toEqual({
      ClickEvent: 1,
      PosEvent: 2,
      LocationEvent: 3,
      Trigger: 4,
      Decision: 5,
      Offer: 6,
      RecommendationUpdate: 7,
      Store: 8,
      CustomerProfile: 9,
      BoughtTogether: 10,
      AttributionEvent: 11,
      BasketMember: 12,
      BoughtTogetherChange: 13,
      Product: 14,
    });
    for (const name of SCHEMA_NAMES) expect(defaultRegistry.nameOf(defaultRegistry.idOf(name))).toBe(name);
  });

  it('unknown ids have no name', () => {
    expect(defaultRegistry.nameOf(0)).toBeUndefined();
    expect(defaultRegistry.nameOf(15)).toBeUndefined();
    expect(defaultRegistry.nameOf(-1)).toBeUndefined();
  });

  it('overrides replace some ids and keep the others', () => {
    const registry = new SchemaRegistry({ ClickEvent: 1001, Offer: 1006 });
    expect(registry.idOf('ClickEvent')).toBe(1001);
    expect(registry.idOf('Offer')).toBe(1006);
    expect(registry.idOf('PosEvent')).toBe(2);
    expect(registry.nameOf(1)).toBeUndefined();
    expect(registry.nameOf(1006)).toBe('Offer');
  });

  it('refuses duplicate and malformed ids with SS_ERR_CONFIG naming the schema', () => {
    const duplicate = thrownBy(() => new SchemaRegistry({ Offer: 1 }));
    expect(isScenestreamError(duplicate, 'SS_ERR_CONFIG')).toBe(true);
    expect((duplicate as { field?: string }).field).toBe('schemaIds.Offer');
    for (const bad of [-1, 1.5, 2 ** 31, Number.NaN]) {
      expect(isScenestreamError(thrownBy(() => new SchemaRegistry({ Store: bad })), 'SS_ERR_CONFIG')).toBe(true);
    }
  });
});
