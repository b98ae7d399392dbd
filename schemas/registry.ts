/**
 * A tiny in-process schema registry: the fixed ids that the Confluent wire format carries.
 *
 * There is no remote registry: every producer and consumer of scenestream is built from the same
 * `.avsc` files, so the id only has to say which schema the bytes are. The defaults are part of the
 * contract (documented in docs/schemas.md); never reuse or renumber an id.
 */
import { ssError } from './errors.js';
import { SCHEMA_NAMES, type SchemaName } from './types.generated.js';

/** Default Confluent schema ids. `satisfies` makes adding a schema without an id a type error. */
export const DEFAULT_SCHEMA_IDS = {
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
} as const satisfies Record<SchemaName, number>;

/** Confluent schema ids are positive 32-bit signed integers on the JVM side. */
const MAX_SCHEMA_ID = 0x7fffffff;

export function isSchemaId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= MAX_SCHEMA_ID;
}

export class SchemaRegistry {
  private readonly ids: ReadonlyMap<SchemaName, number>;
  private readonly names: ReadonlyMap<number, SchemaName>;

  /** `overrides` replaces some default ids; throws `SS_ERR_CONFIG` on a bad or duplicate id. */
  constructor(overrides: Partial<Record<SchemaName, number>> = {}) {
    const ids = new Map<SchemaName, number>();
    const names = new Map<number, SchemaName>();
    for (const name of SCHEMA_NAMES) {
      const id = overrides[name] ?? DEFAULT_SCHEMA_IDS[name];
      if (!isSchemaId(id)) {
        throw ssError('SS_ERR_CONFIG', `schema id of ${name} must be an integer in [0, ${MAX_SCHEMA_ID}], got ${String(id)}`, {
          field: `schemaIds.${name}`,
        });
      }
      const other = names.get(id);
      if (other !== undefined) {
        throw ssError('SS_ERR_CONFIG', `schema id ${id} is given to both ${other} and ${name}`, { field: `schemaIds.${name}` });
      }
      ids.set(name, id);
      names.set(id, name);
    }
    this.ids = ids;
    this.names = names;
  }

  idOf(name: SchemaName): number {
    const id = this.ids.get(name);
    if (id === undefined) throw ssError('SS_ERR_SCHEMA', `unknown schema ${String(name)}`);
    return id;
  }

  /** The schema an id stands for, or undefined when the id is unknown. */
  nameOf(id: number): SchemaName | undefined {
    return this.names.get(id);
  }
}

/** The registry with the default ids. */
export const defaultRegistry = new SchemaRegistry();
