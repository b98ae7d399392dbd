/**
 * Encoding, decoding and validation of the contract records.
 *
 * The avsc types are parsed once, when this module loads, from the `.avsc` files next to it.
 * No avsc logical types are registered, so `timestamp-millis` values stay plain numbers (epoch ms)
 * on both sides. Every function that reads untrusted input (`validate`, `decode`, `decodeConfluent`,
 * `decodeAuto`, `fromJson`) returns a `Result` and never throws on bad input; `encode*` and `toJson`
 * take the engine's own records and throw the typed `SS_ERR_VALIDATION` error if one is invalid.
 *
 * Wire formats: plain Avro binary (the record alone), and the Confluent framing: magic byte `0x00`,
 * the schema id as 4 bytes big-endian, then the Avro binary.
 *
 * Cost: per schema, the bounds scan, the normaliser and the contract check are built once, at load
 * (`compileScan`, `Contract.compile`), so a valid record costs avsc's own work plus a copy and a few
 * comparisons. Only a record that fails is walked again, by the code that says why (`scanAvro`,
 * `Contract.violation`, avsc's `errorHook`), so errors read exactly as they always have.
 */
import avsc from 'avsc';
import { ScenestreamError, ssError, type ErrorDetails } from './errors.js';
import { Contract, type CompiledContract } from './contract.js';
import { NAMESPACE, loadSchemaFiles, selfContainedSchema } from './load.js';
import { defaultRegistry, isSchemaId, type SchemaRegistry } from './registry.js';
import { compileScan, scanAvro } from './scan.js';
import { ShapeSet, type NamedShape } from './shape.js';
import { SCHEMA_NAMES, type SchemaName, type SchemaTypes } from './types.generated.js';

export type Result<T> = { ok: true; value: T } | { ok: false; error: ScenestreamError };

/** A record decoded from framed bytes, with the schema it was read as. `schemaId` is null for plain Avro. */
export type Decoded<N extends SchemaName = SchemaName> = N extends SchemaName
  ? { name: N; schemaId: number | null; value: SchemaTypes[N] }
  : never;

type AvroType = ReturnType<typeof avsc.Type.forSchema>;
type AvroSchemaArg = Parameters<typeof avsc.Type.forSchema>[0];

/** Magic byte plus 4-byte schema id. */
export const CONFLUENT_HEADER_BYTES = 5;

export interface EncodeOptions {
  /**
   * The value was built by the engine's own code as a complete record of the generated type (every
   * field present, nullable ones as null): skip normalising it and the contract checks. avsc still
   * refuses a value of the wrong Avro type while writing it (→ `SS_ERR_VALIDATION`). Default false.
   */
  readonly trusted?: boolean;
}

const FILES = loadSchemaFiles();
const SHAPES = new ShapeSet(FILES);
const CONTRACT = new Contract(SHAPES);
const AVRO_TYPES: ReadonlyMap<string, AvroType> = parseAvroTypes();

/** What each schema's per-record path uses, built once. */
interface Compiled extends CompiledContract {
  readonly avro: AvroType;
  readonly scan: (buf: Uint8Array, start: number) => boolean;
}

const COMPILED: ReadonlyMap<SchemaName, Compiled> = new Map(
  SCHEMA_NAMES.map((name): [SchemaName, Compiled] => {
    const root = SHAPES.get(name);
    return [name, { ...CONTRACT.compile(root), avro: avroType(name), scan: compileScan(SHAPES, root) }];
  }),
);

/** How to read a record written with an earlier version of a schema: its type, a resolver into the current one, its bounds scan. */
interface EarlierWriter {
  readonly resolver: ReturnType<AvroType['createResolver']>;
  readonly scan: (buf: Uint8Array, start: number) => boolean;
}

const EARLIER = new Map<SchemaName, readonly EarlierWriter[]>();

/**
 * The writers of earlier versions of a record schema: the schema without its last `k` fields that
 * were appended later (`since`, with a default; k = 1, 2, ...), for records produced before them
 * (Avro's backward-compatible evolution: `AttributionEvent.segment` and `discountPct`). Only
 * declared fields: otherwise every truncation at a field boundary of a schema ending in a default
 * would read as a record. Built on first use, only after a record failed to decode as it stands.
 */
function earlierWriters(name: SchemaName): readonly EarlierWriter[] {
  const known = EARLIER.get(name);
  if (known !== undefined) return known;
  const file = FILES.find((f) => f.name === name);
  const out: EarlierWriter[] = [];
  if (file !== undefined && file.schema.type === 'record') {
    const fields = file.schema.fields;
    for (let k = 1; k <= fields.length && fields[fields.length - k]!.since !== undefined && Object.hasOwn(fields[fields.length - k]!, 'default'); k++) {
      const older = { ...file.schema, fields: fields.slice(0, fields.length - k) };
      const files = FILES.map((f) => (f === file ? { ...f, schema: older } : f));
      const shapes = new ShapeSet(files);
      const registry: Record<string, AvroType> = {};
      for (const f of files) avsc.Type.forSchema(f.schema as unknown as AvroSchemaArg, { registry, wrapUnions: 'never' });
      const type = registry[file.fullName]!;
      out.push({ resolver: avroType(name).createResolver(type), scan: compileScan(shapes, shapes.get(name)) });
    }
  }
  EARLIER.set(name, out);
  return out;
}

function compiled(name: SchemaName): Compiled {
  const c = COMPILED.get(name);
  if (c === undefined) throw ssError('SS_ERR_SCHEMA', `unknown schema ${String(name)}`);
  return c;
}

function parseAvroTypes(): Map<string, AvroType> {
  const registry: Record<string, AvroType> = {};
  for (const f of FILES) {
    try {
      // Deliberately no `logicalTypes` option: timestamp-millis must decode to a number, not a Date.
      avsc.Type.forSchema(f.schema as unknown as AvroSchemaArg, { registry, wrapUnions: 'never' });
    } catch (cause) {
      throw ssError('SS_ERR_SCHEMA', `${f.file} is not a valid Avro schema: ${messageOf(cause)}`, { cause });
    }
  }
  const types = new Map<string, AvroType>();
  for (const name of SCHEMA_NAMES) {
    const type = registry[`${NAMESPACE}.${name}`];
    if (type === undefined) throw ssError('SS_ERR_SCHEMA', `no schema file defines ${name}`);
    types.set(name, type);
  }
  return types;
}

function avroType(name: SchemaName): AvroType {
  const type = AVRO_TYPES.get(name);
  if (type === undefined) throw ssError('SS_ERR_SCHEMA', `unknown schema ${String(name)}`);
  return type;
}

function shapeOf(name: SchemaName): NamedShape {
  return SHAPES.get(name);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A short, safe rendering of a value for error messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  if (v === null) return 'null';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Date) return 'a Date';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

function fail<T>(error: ScenestreamError): Result<T> {
  return { ok: false, error };
}

function validationError(name: SchemaName, field: string | undefined, expected: string, got: unknown): ScenestreamError {
  const where = field === undefined ? name : `${name}.${field}`;
  const details: ErrorDetails = field === undefined ? {} : { field };
  return ssError('SS_ERR_VALIDATION', `${where}: expected ${expected}, got ${describeValue(got)}`, details);
}

function decodeError(name: string, message: string, details: ErrorDetails = {}): ScenestreamError {
  const where = details.field === undefined ? name : `${name}.${details.field}`;
  return ssError('SS_ERR_DECODE', `${where}: ${message}`, details);
}

/**
 * Schema check with avsc (first failing path), then the contract checks, on a normalised copy: the
 * error path, which says which field is wrong. The compiled functions decide the same, faster.
 */
function explain<N extends SchemaName>(name: N, value: unknown, schemaCheck: boolean): Result<SchemaTypes[N]> {
  const root = shapeOf(name);
  const normalised = CONTRACT.normalise(root, value);
  if (schemaCheck) {
    let first: { path: string[]; value: unknown } | undefined;
    const valid = avroType(name).isValid(normalised, {
      errorHook: (path: string[], v: unknown) => {
        first ??= { path, value: v };
      },
    });
    if (!valid) {
      // avsc accepts an array where a record is expected and complains about its fields; blame the array.
      const { path, got } = CONTRACT.arrayForRecord(root, normalised, first?.path ?? []) ?? { path: first?.path ?? [], got: first?.value };
      const expected = SHAPES.describe(CONTRACT.shapeAt(root, path));
      return fail(validationError(name, path.length > 0 ? path.join('.') : undefined, expected, got));
    }
  }
  const violation = CONTRACT.violation(root, normalised);
  if (violation !== undefined) return fail(validationError(name, violation.field, violation.expected, violation.got));
  return { ok: true, value: normalised as SchemaTypes[N] };
}

/**
 * Checks `value` against the Avro schema `name` and the contract checks (see `contract.ts`).
 * On success, `value` is a normalised copy: missing fields with a default (nullable → null) filled,
 * keys in schema order, undeclared keys dropped. On failure, `SS_ERR_VALIDATION` with `field` set to
 * the dotted path of the first bad field (`items.0.quantity`).
 */
export function validate<N extends SchemaName>(name: N, value: unknown): Result<SchemaTypes[N]> {
  const c = compiled(name);
  const normalised = c.normalise(value);
  if (c.avro.isValid(normalised) && c.holds(normalised)) return { ok: true, value: normalised as SchemaTypes[N] };
  return explain(name, value, true);
}

function validOrThrow<N extends SchemaName>(name: N, value: unknown): SchemaTypes[N] {
  const result = validate(name, value);
  if (!result.ok) throw result.error;
  return result.value;
}

/** Why `encode*` refused `value`: the error `explain` finds, else avsc's complaint (`cause`) as `SS_ERR_VALIDATION`. */
function encodeError(name: SchemaName, value: unknown, cause: unknown): ScenestreamError {
  const result = explain(name, value, true);
  if (!result.ok) return result.error;
  if (cause instanceof ScenestreamError) return cause;
  return ssError('SS_ERR_VALIDATION', `${name}: ${messageOf(cause)}`, { cause });
}

/**
 * The value `encode*` writes: the normalised copy, or `value` itself when trusted; throws
 * `SS_ERR_VALIDATION` if the contract checks fail. The Avro types are checked by avsc as it writes
 * (its writers refuse what `isValid` refuses), so they are not checked twice.
 */
function toWrite(name: SchemaName, c: Compiled, value: unknown, options: EncodeOptions | undefined): unknown {
  if (options?.trusted === true) return value;
  const normalised = c.normalise(value);
  if (!c.holds(normalised)) throw encodeError(name, value, undefined);
  return normalised;
}

/** Where records are written before they are copied out at their exact size. */
let scratch = Buffer.allocUnsafe(16 * 1024);
/** A record larger than this is written into a buffer of its own rather than a scratch kept for good. */
const MAX_SCRATCH_BYTES = 1024 * 1024;

/**
 * `value` written by avsc at `start` of a new buffer of exactly its size (bytes before `start` are
 * left for the caller to fill). Written once into the scratch and copied out, rather than avsc's
 * `toBuffer`, which zero-fills a new buffer, and a second copy to put the Confluent header before it.
 */
function write(type: AvroType, value: unknown, start: number): Buffer {
  let end = type.encode(value, scratch, start);
  if (end < 0) {
    // avsc stopped at the end of the scratch and says how many bytes were missing.
    const size = scratch.length - end;
    if (size > MAX_SCRATCH_BYTES) {
      const own = Buffer.allocUnsafe(size);
      type.encode(value, own, start);
      return own;
    }
    scratch = Buffer.allocUnsafe(Math.min(2 * size, MAX_SCRATCH_BYTES));
    end = type.encode(value, scratch, start);
  }
  const out = Buffer.allocUnsafe(end);
  scratch.copy(out, 0, 0, end);
  return out;
}

/**
 * Plain Avro binary of a valid record; throws `SS_ERR_VALIDATION` if it is not valid. With
 * `{ trusted: true }`, for records the engine built itself, the contract checks are skipped.
 */
export function encode<N extends SchemaName>(name: N, value: SchemaTypes[N], options?: EncodeOptions): Buffer {
  const c = compiled(name);
  const v = toWrite(name, c, value, options);
  try {
    return write(c.avro, v, 0);
  } catch (cause) {
    throw encodeError(name, value, cause);
  }
}

function asBuffer(input: unknown): Buffer | undefined {
  if (Buffer.isBuffer(input)) return input;
  if (input instanceof Uint8Array) return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  return undefined;
}

/** Decodes plain Avro of `name` from `buf` at `offset`, which must hold exactly one record (of this version or, failing that, of an earlier one). */
function decodeAt<N extends SchemaName>(name: N, buf: Buffer, offset: number): Result<SchemaTypes[N]> {
  const current = decodeCurrent(name, buf, offset);
  if (current.ok || current.error.code !== 'SS_ERR_DECODE') return current;
  for (const w of earlierWriters(name)) {
    const earlier = decodeEarlier(name, w, buf, offset);
    if (earlier !== undefined) return earlier;
  }
  return current;
}

/** A record of an earlier version, resolved to the current one (defaults filled in); undefined if the bytes are not one. */
function decodeEarlier<N extends SchemaName>(name: N, w: EarlierWriter, buf: Buffer, offset: number): Result<SchemaTypes[N]> | undefined {
  if (!w.scan(buf, offset)) return undefined;
  const c = compiled(name);
  try {
    const { value, offset: end } = c.avro.decode(buf, offset, w.resolver);
    if (end !== buf.length) return undefined;
    const plain = c.normalise(value);
    return c.holds(plain) ? { ok: true, value: plain as SchemaTypes[N] } : explain(name, value, false);
  } catch {
    return undefined;
  }
}

function decodeCurrent<N extends SchemaName>(name: N, buf: Buffer, offset: number): Result<SchemaTypes[N]> {
  const c = compiled(name);
  // Bounds first: avsc trusts lengths and block counts, and garbage could make it allocate without limit.
  if (!c.scan(buf, offset)) {
    const problem = scanAvro(SHAPES, shapeOf(name), buf, offset);
    if (problem !== undefined) {
      return fail(decodeError(name, problem.message, problem.field === undefined ? {} : { field: problem.field }));
    }
  }
  let decoded: unknown;
  try {
    const { value, offset: end } = c.avro.decode(buf, offset);
    if (end !== buf.length) return fail(decodeError(name, `record ends at byte ${end} of ${buf.length}`));
    decoded = value;
  } catch (cause) {
    return fail(decodeError(name, messageOf(cause), { cause }));
  }
  // The bytes matched the schema; what is left to check is the contract, on a plain-object copy.
  const plain = c.normalise(decoded);
  if (c.holds(plain)) return { ok: true, value: plain as SchemaTypes[N] };
  return explain(name, decoded, false);
}

/**
 * Decodes plain Avro binary of schema `name`. Bad, truncated or trailing bytes → `SS_ERR_DECODE`;
 * a record that decodes but breaks the contract → `SS_ERR_VALIDATION`.
 */
export function decode<N extends SchemaName>(name: N, buf: Uint8Array): Result<SchemaTypes[N]> {
  const bytes = asBuffer(buf);
  if (bytes === undefined) return fail(decodeError(name, `expected bytes, got ${describeValue(buf)}`));
  return decodeAt(name, bytes, 0);
}

/**
 * Confluent wire format: `0x00`, schema id (4 bytes big-endian), plain Avro. Throws on an invalid
 * record or id. `options` as for `encode`.
 */
export function encodeConfluent<N extends SchemaName>(
  name: N,
  value: SchemaTypes[N],
  schemaId: number = defaultRegistry.idOf(name),
  options?: EncodeOptions,
): Buffer {
  if (!isSchemaId(schemaId)) {
    throw ssError('SS_ERR_CONFIG', `schema id must be an integer in [0, 2147483647], got ${String(schemaId)}`, { field: 'schemaId' });
  }
  const c = compiled(name);
  const v = toWrite(name, c, value, options);
  let out: Buffer;
  try {
    out = write(c.avro, v, CONFLUENT_HEADER_BYTES);
  } catch (cause) {
    throw encodeError(name, value, cause);
  }
  out[0] = 0;
  out.writeUInt32BE(schemaId, 1);
  return out;
}

/** `framed`: the header is there (magic byte 0) but names no schema we know. */
type Framing = { ok: true; name: SchemaName; schemaId: number } | { ok: false; message: string; framed: boolean };

function readFraming(buf: Buffer, registry: SchemaRegistry): Framing {
  if (buf.length < CONFLUENT_HEADER_BYTES) {
    return { ok: false, framed: false, message: `${buf.length} bytes is too short for the Confluent wire format (magic byte + 4-byte schema id + Avro)` };
  }
  const magic = buf.readUInt8(0);
  if (magic !== 0) {
    return { ok: false, framed: false, message: `wrong magic byte 0x${magic.toString(16).padStart(2, '0')}; the Confluent wire format starts with 0x00` };
  }
  const schemaId = buf.readUInt32BE(1);
  const name = registry.nameOf(schemaId);
  if (name === undefined) return { ok: false, framed: true, message: `unknown schema id ${schemaId} (not in the registry)` };
  return { ok: true, name, schemaId };
}

function decoded<N extends SchemaName>(name: N, schemaId: number | null, result: Result<SchemaTypes[N]>): Result<Decoded<N>> {
  if (!result.ok) return result;
  return { ok: true, value: { name, schemaId, value: result.value } as Decoded<N> };
}

/**
 * Decodes the Confluent wire format, looking the schema id up in `registry`. Short buffer, wrong
 * magic byte, unknown id, or an id of another schema than `expected` → `SS_ERR_DECODE`.
 */
export function decodeConfluent<N extends SchemaName = SchemaName>(
  buf: Uint8Array,
  registry: SchemaRegistry = defaultRegistry,
  expected?: N,
): Result<Decoded<N>> {
  const label = expected ?? 'Confluent record';
  const bytes = asBuffer(buf);
  if (bytes === undefined) return fail(decodeError(label, `expected bytes, got ${describeValue(buf)}`));
  return decodeFramed(bytes, readFraming(bytes, registry), label, expected);
}

/** The Confluent decoding of `bytes` once their framing is read. The Avro body is read in place, at offset 5. */
function decodeFramed<N extends SchemaName>(bytes: Buffer, framing: Framing, label: string, expected: N | undefined): Result<Decoded<N>> {
  if (!framing.ok) return fail(decodeError(label, framing.message));
  if (expected !== undefined && framing.name !== expected) {
    return fail(decodeError(label, `schema id ${framing.schemaId} is ${framing.name}, expected ${expected}`));
  }
  const name = framing.name as N;
  return decoded(name, framing.schemaId, decodeAt(name, bytes, CONFLUENT_HEADER_BYTES));
}

/**
 * For sources that may receive either framing: Confluent when the bytes start with `0x00` and a known
 * schema id, else plain Avro of `expected`. If Confluent-looking bytes fail to decode as such (or carry
 * the id of another schema than `expected`), plain Avro of `expected` is tried too, since a plain
 * record can start with `0x00`; if both fail, the Confluent error is returned.
 */
export function decodeAuto<N extends SchemaName = SchemaName>(
  buf: Uint8Array,
  registry: SchemaRegistry = defaultRegistry,
  expected?: N,
): Result<Decoded<N>> {
  const label = expected ?? 'record';
  const bytes = asBuffer(buf);
  if (bytes === undefined) return fail(decodeError(label, `expected bytes, got ${describeValue(buf)}`));
  const framing = readFraming(bytes, registry);
  if (framing.ok) {
    const viaConfluent = decodeFramed(bytes, framing, expected ?? 'Confluent record', expected);
    if (viaConfluent.ok || expected === undefined) return viaConfluent;
    const viaPlain = decodeAt(expected, bytes, 0);
    return viaPlain.ok ? decoded(expected, null, viaPlain) : viaConfluent;
  }
  if (expected === undefined) {
    return fail(decodeError(label, `not in the Confluent wire format (${framing.message}) and no expected schema to read plain Avro with`));
  }
  const viaPlain = decodeAt(expected, bytes, 0);
  if (viaPlain.ok) return decoded(expected, null, viaPlain);
  // Neither framing fits. A Confluent header with an id we do not know is the likely cause; else
  // say both, so that a producer with the wrong serialiser sees why (no field: the plain reading's
  // field is a guess about bytes that may not be plain Avro at all).
  const e = viaPlain.error;
  const plain = e.message.slice(e.code.length + 2); // without the "SS_ERR_…: " the error adds
  const text = framing.framed ? `${framing.message}; not plain Avro either (${plain})` : `not Confluent-framed (${framing.message}), nor plain Avro (${plain})`;
  return fail(ssError(e.code, `${label}: ${text}`, { cause: e }));
}

/**
 * Reads a record from JSON text (string or UTF-8 bytes) or an already parsed value. Bad JSON →
 * `SS_ERR_DECODE`; an invalid record → `SS_ERR_VALIDATION`. Missing nullable fields become null.
 */
export function fromJson<N extends SchemaName>(name: N, input: unknown): Result<SchemaTypes[N]> {
  let value = input;
  const bytes = asBuffer(input);
  if (typeof input === 'string' || bytes !== undefined) {
    try {
      value = JSON.parse(typeof input === 'string' ? input : (bytes ?? Buffer.alloc(0)).toString('utf8'));
    } catch (cause) {
      return fail(decodeError(name, `bad JSON: ${messageOf(cause)}`, { cause }));
    }
  }
  return validate(name, value);
}

/** JSON text of a valid record, keys in schema field order; throws `SS_ERR_VALIDATION` if it is not valid. */
export function toJson<N extends SchemaName>(name: N, value: SchemaTypes[N]): string {
  return JSON.stringify(validOrThrow(name, value));
}

/** The self-contained Avro schema of `name` (named types inlined), e.g. to register it elsewhere. */
export function avroSchema(name: SchemaName): object {
  // From the files, not from avsc: avsc drops the logicalType of types it has no class for.
  return selfContainedSchema(FILES, name);
}
