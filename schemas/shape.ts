/**
 * A small resolved model of the `.avsc` files, for the walks avsc does not do for us: filling
 * defaults, contract checks, describing what a field expects, and scanning untrusted bytes.
 * Named types are looked up by full name, so shared enums (`Scene`) exist once.
 */
import { ssError } from './errors.js';
import {
  NAMESPACE,
  isPrimitiveName,
  qualify,
  shortName,
  type AnnotatedPrimitive,
  type ArraySchema,
  type AvroSchemaJson,
  type EnumSchema,
  type MapSchema,
  type RecordSchema,
  type SchemaFile,
} from './load.js';

export type PrimitiveName = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string';

export type Shape =
  | { readonly kind: 'primitive'; readonly type: PrimitiveName; readonly timestamp: boolean }
  | { readonly kind: 'ref'; readonly fullName: string }
  | { readonly kind: 'array'; readonly items: Shape }
  | { readonly kind: 'map'; readonly values: Shape }
  | { readonly kind: 'union'; readonly branches: readonly Shape[] };

export interface FieldShape {
  readonly name: string;
  readonly shape: Shape;
  /** Whether the schema declares a default (then a missing JSON field takes it). */
  readonly hasDefault: boolean;
  readonly defaultValue: unknown;
}

export type NamedShape =
  | { readonly kind: 'record'; readonly fullName: string; readonly fields: readonly FieldShape[] }
  | { readonly kind: 'enum'; readonly fullName: string; readonly symbols: readonly string[] };

/** Every named type of the contracts, by full name (`scenestream.PosItem`). */
export class ShapeSet {
  private readonly named = new Map<string, NamedShape>();

  constructor(files: readonly SchemaFile[]) {
    for (const f of files) this.compile(f.schema, NAMESPACE);
  }

  /** The named type `name` (short or full); throws `SS_ERR_SCHEMA` if unknown. */
  get(name: string): NamedShape {
    const shape = this.named.get(qualify(name, NAMESPACE));
    if (shape === undefined) throw ssError('SS_ERR_SCHEMA', `unknown schema type ${name}`);
    return shape;
  }

  /** Follows a `ref` to its named type; other shapes are returned as they are. */
  resolve(shape: Shape): Shape | NamedShape {
    return shape.kind === 'ref' ? this.get(shape.fullName) : shape;
  }

  /** What a value of `shape` looks like, for error messages (`string or null`, `one of app, web`). */
  describe(shape: Shape | NamedShape): string {
    const s = shape.kind === 'ref' ? this.get(shape.fullName) : shape;
    switch (s.kind) {
      case 'primitive':
        return s.timestamp ? `${s.type} (timestamp-millis)` : s.type;
      case 'record':
        return `a ${shortName(s.fullName)} record`;
      case 'enum':
        return `${shortName(s.fullName)} (one of ${s.symbols.join(', ')})`;
      case 'array':
        return `an array of ${this.describe(s.items)}`;
      case 'map':
        return `a map of ${this.describe(s.values)}`;
      case 'union': {
        const branches = s.branches.map((b) => this.describe(b));
        const nonNull = branches.filter((b) => b !== 'null');
        return (nonNull.length < branches.length ? [...nonNull, 'null'] : branches).join(' or ');
      }
    }
  }

  /** The fewest bytes any encoding of `shape` takes (bounds array block counts when scanning). */
  minSize(shape: Shape | NamedShape, seen: ReadonlySet<string> = new Set()): number {
    const s = shape.kind === 'ref' ? this.get(shape.fullName) : shape;
    switch (s.kind) {
      case 'primitive':
        return s.type === 'null' ? 0 : s.type === 'float' ? 4 : s.type === 'double' ? 8 : 1;
      case 'enum':
      case 'array':
      case 'map':
      case 'union':
        return 1;
      case 'record': {
        if (seen.has(s.fullName)) return 0;
        const next = new Set(seen).add(s.fullName);
        return s.fields.reduce((sum, f) => sum + this.minSize(f.shape, next), 0);
      }
    }
  }

  private compile(schema: AvroSchemaJson, namespace: string): Shape {
    if (typeof schema === 'string') {
      if (isPrimitiveName(schema)) return { kind: 'primitive', type: schema as PrimitiveName, timestamp: false };
      return { kind: 'ref', fullName: qualify(schema, namespace) };
    }
    if (Array.isArray(schema)) return { kind: 'union', branches: schema.map((b) => this.compile(b, namespace)) };
    switch (schema.type) {
      case 'record': {
        const s = schema as RecordSchema;
        const ns = s.namespace ?? namespace;
        const fullName = qualify(s.name, ns);
        const fields = s.fields.map((f) => ({
          name: f.name,
          shape: this.compile(f.type, ns),
          hasDefault: Object.hasOwn(f, 'default'),
          defaultValue: f.default,
        }));
        this.named.set(fullName, { kind: 'record', fullName, fields });
        return { kind: 'ref', fullName };
      }
      case 'enum': {
        const s = schema as EnumSchema;
        const fullName = qualify(s.name, s.namespace ?? namespace);
        this.named.set(fullName, { kind: 'enum', fullName, symbols: s.symbols });
        return { kind: 'ref', fullName };
      }
      case 'array':
        return { kind: 'array', items: this.compile((schema as ArraySchema).items, namespace) };
      case 'map':
        return { kind: 'map', values: this.compile((schema as MapSchema).values, namespace) };
      default: {
        const p = schema as AnnotatedPrimitive;
        if (!isPrimitiveName(p.type)) throw ssError('SS_ERR_SCHEMA', `unsupported Avro type ${JSON.stringify(schema)}`);
        return { kind: 'primitive', type: p.type as PrimitiveName, timestamp: p.logicalType === 'timestamp-millis' };
      }
    }
  }
}
