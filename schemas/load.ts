/**
 * Reads the `.avsc` files of this folder: the one source of truth for the contracts.
 *
 * Both the codec (which parses them with avsc) and the code generator (which turns them into
 * TypeScript) go through here, so they see the same schemas in the same order. A record may
 * reference a named type of another file by its name (`"Scene"`); files are returned so that
 * every referenced type is defined by an earlier file, which is the order avsc needs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { ssError } from './errors.js';

/** The namespace of every scenestream schema. */
export const NAMESPACE = 'scenestream';

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/** The JSON form of an Avro schema, as far as the contracts use it. */
export type AvroSchemaJson = string | AvroSchemaJson[] | AvroSchemaObject;

export type AvroSchemaObject = RecordSchema | EnumSchema | ArraySchema | MapSchema | AnnotatedPrimitive;

export interface RecordSchema {
  type: 'record';
  name: string;
  namespace?: string;
  doc?: string;
  fields: FieldSchema[];
}

export interface FieldSchema {
  name: string;
  type: AvroSchemaJson;
  doc?: string;
  default?: unknown;
  /**
   * The version of the record that appended this field (our own attribute, ignored by Avro): a
   * trailing field with `since` and a default may be absent from records of earlier writers, which
   * decode with the default (`codec.ts`).
   */
  since?: number;
}

export interface EnumSchema {
  type: 'enum';
  name: string;
  namespace?: string;
  doc?: string;
  symbols: string[];
}

export interface ArraySchema {
  type: 'array';
  items: AvroSchemaJson;
}

export interface MapSchema {
  type: 'map';
  values: AvroSchemaJson;
}

/** A primitive in object form, e.g. `{"type": "long", "logicalType": "timestamp-millis"}`. */
export interface AnnotatedPrimitive {
  type: string;
  logicalType?: string;
}

export interface SchemaFile {
  /** File name, e.g. `ClickEvent.avsc`. */
  file: string;
  /** Full name of the file's top-level type, e.g. `scenestream.ClickEvent`. */
  fullName: string;
  /** Short name, e.g. `ClickEvent`. */
  name: string;
  schema: RecordSchema | EnumSchema;
}

/** The folder holding the `.avsc` files (this module's folder). */
export const SCHEMAS_DIR = new URL('./', import.meta.url);

export function isPrimitiveName(name: string): boolean {
  return PRIMITIVES.has(name);
}

/** Qualifies a type name the way Avro does: a name with a dot is already full. */
export function qualify(name: string, namespace: string): string {
  return name.includes('.') || isPrimitiveName(name) ? name : `${namespace}.${name}`;
}

export function shortName(fullName: string): string {
  const dot = fullName.lastIndexOf('.');
  return dot < 0 ? fullName : fullName.slice(dot + 1);
}

/** Named types a schema defines and the names it references, both fully qualified. */
function namesOf(schema: AvroSchemaJson, namespace: string, defined: Set<string>, referenced: Set<string>): void {
  if (typeof schema === 'string') {
    if (!isPrimitiveName(schema)) referenced.add(qualify(schema, namespace));
    return;
  }
  if (Array.isArray(schema)) {
    for (const branch of schema) namesOf(branch, namespace, defined, referenced);
    return;
  }
  switch (schema.type) {
    case 'record': {
      const s = schema as RecordSchema;
      const ns = s.namespace ?? namespace;
      defined.add(qualify(s.name, ns));
      for (const field of s.fields) namesOf(field.type, ns, defined, referenced);
      return;
    }
    case 'enum': {
      const s = schema as EnumSchema;
      defined.add(qualify(s.name, s.namespace ?? namespace));
      return;
    }
    case 'array':
      namesOf((schema as ArraySchema).items, namespace, defined, referenced);
      return;
    case 'map':
      namesOf((schema as MapSchema).values, namespace, defined, referenced);
      return;
    default:
      return;
  }
}

function parseFile(dir: URL, file: string): SchemaFile {
  let text: string;
  try {
    text = readFileSync(new URL(file, dir), 'utf8');
  } catch (cause) {
    throw ssError('SS_ERR_SCHEMA', `cannot read schema file ${file}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw ssError('SS_ERR_SCHEMA', `schema file ${file} is not valid JSON`, { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw ssError('SS_ERR_SCHEMA', `schema file ${file} must hold one record or enum`);
  }
  const top = json as { type?: unknown; name?: unknown; namespace?: unknown };
  if ((top.type !== 'record' && top.type !== 'enum') || typeof top.name !== 'string') {
    throw ssError('SS_ERR_SCHEMA', `schema file ${file} must hold one named record or enum`);
  }
  if (top.namespace !== NAMESPACE) {
    throw ssError('SS_ERR_SCHEMA', `schema file ${file} must use namespace "${NAMESPACE}"`);
  }
  if (file !== `${top.name}.avsc`) {
    throw ssError('SS_ERR_SCHEMA', `schema file ${file} must be named after its type (${top.name}.avsc)`);
  }
  const schema = json as RecordSchema | EnumSchema;
  return { file, fullName: qualify(schema.name, NAMESPACE), name: schema.name, schema };
}

/**
 * Reads every `.avsc` file of `dir`, ordered so that each file only references types defined by
 * itself or by earlier files (otherwise alphabetical). Throws `SS_ERR_SCHEMA` on unreadable or
 * malformed files, unknown references and cycles between files.
 */
export function loadSchemaFiles(dir: URL = SCHEMAS_DIR): SchemaFile[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.avsc'))
    .sort();
  const pending = files.map((file) => {
    const parsed = parseFile(dir, file);
    const defined = new Set<string>();
    const referenced = new Set<string>();
    namesOf(parsed.schema, NAMESPACE, defined, referenced);
    for (const name of defined) referenced.delete(name);
    return { parsed, defined, referenced };
  });

  const allDefined = new Set<string>();
  for (const p of pending) {
    for (const name of p.defined) {
      if (allDefined.has(name)) throw ssError('SS_ERR_SCHEMA', `type ${name} is defined twice (again in ${p.parsed.file})`);
      allDefined.add(name);
    }
  }
  for (const p of pending) {
    for (const name of p.referenced) {
      if (!allDefined.has(name)) throw ssError('SS_ERR_SCHEMA', `${p.parsed.file} references unknown type ${name}`);
    }
  }

  // Alphabetical, except that a file's dependencies come right before it (depth first).
  const byDefined = new Map<string, (typeof pending)[number]>();
  for (const p of pending) for (const name of p.defined) byDefined.set(name, p);
  const ordered: SchemaFile[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (p: (typeof pending)[number]): void => {
    const mark = state.get(p.parsed.file);
    if (mark === 'done') return;
    if (mark === 'visiting') throw ssError('SS_ERR_SCHEMA', `schema files reference each other in a cycle through ${p.parsed.file}`);
    state.set(p.parsed.file, 'visiting');
    for (const name of [...p.referenced].sort()) {
      const dep = byDefined.get(name);
      if (dep !== undefined) visit(dep);
    }
    state.set(p.parsed.file, 'done');
    ordered.push(p.parsed);
  };
  for (const p of pending) visit(p);
  return ordered;
}

/**
 * The schema of `name` with every type it references from another file inlined at its first use,
 * as a registry outside this process needs it. Annotations such as `logicalType` are kept.
 */
export function selfContainedSchema(files: readonly SchemaFile[], name: string): RecordSchema | EnumSchema {
  const byName = new Map(files.map((f) => [f.fullName, f.schema]));
  const top = byName.get(qualify(name, NAMESPACE));
  if (top === undefined) throw ssError('SS_ERR_SCHEMA', `unknown schema ${name}`);
  const inlined = new Set<string>([qualify(name, NAMESPACE)]);
  const inline = (schema: AvroSchemaJson, namespace: string): AvroSchemaJson => {
    if (typeof schema === 'string') {
      const full = qualify(schema, namespace);
      const definition = byName.get(full);
      if (definition === undefined || inlined.has(full)) return schema;
      inlined.add(full);
      return inline(definition, namespace);
    }
    if (Array.isArray(schema)) return schema.map((b) => inline(b, namespace));
    switch (schema.type) {
      case 'record': {
        const s = schema as RecordSchema;
        const ns = s.namespace ?? namespace;
        return { ...s, fields: s.fields.map((f) => ({ ...f, type: inline(f.type, ns) })) };
      }
      case 'array':
        return { ...(schema as ArraySchema), items: inline((schema as ArraySchema).items, namespace) };
      case 'map':
        return { ...(schema as MapSchema), values: inline((schema as MapSchema).values, namespace) };
      default:
        return { ...schema };
    }
  };
  return inline(top, NAMESPACE) as RecordSchema | EnumSchema;
}
