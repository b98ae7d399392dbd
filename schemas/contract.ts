/**
 * What the Avro types alone do not say: the contract checks SCENES.md implies, and the
 * normalisation of JSON input (missing fields that have a default take it, keys in schema order).
 *
 * Rules, applied wherever the field occurs (checked in schema field order; the first violation wins):
 * - a string field named `...Id` is non-empty, and so is every string of an array named `...Ids`;
 * - a `double`/`float` is finite; a `timestamp-millis` is `>= 0`;
 * - `lat` in [-90, 90], `lon` in [-180, 180], `accuracyM`, `speedMps`, `price` and `unitPrice`
 *   `>= 0`, `radiusM > 0`,
 *   `timezone` is an IANA time zone name this runtime knows;
 * - Decision: `sent` has `reason = null` and an `offerId`; `suppressed` has a `reason` and `offerId = null`;
 * - Offer: `expiresAt >= ts`;
 * - Product: a non-empty `name`; `imageUrl` an http(s) URL, a path starting with `/` or a `data:image/` URL.
 *
 * Two forms of the same rules: `compile` builds, once per schema, a normaliser and a yes/no check
 * that allocate nothing but the normalised copy (the per-record path); `violation` walks the record
 * and says which field breaks which rule (the error path, run only once the check said no).
 */
import { build, fieldKey } from './jit.js';
import type { FieldShape, NamedShape, Shape, ShapeSet } from './shape.js';

export interface Violation {
  /** Dotted path, e.g. `items.1.quantity`; undefined when the record itself is at fault. */
  readonly field: string | undefined;
  readonly expected: string;
  readonly got: unknown;
}

type Check = (value: unknown) => string | undefined;

/** A yes/no check of one value, built once per shape. */
type Holds = (value: unknown) => boolean;

/** A normaliser of one value, built once per shape; undefined where a value is kept as it is. */
type Normalise = ((value: unknown) => unknown) | undefined;

/** The per-schema functions `Contract.compile` builds. */
export interface CompiledContract {
  /** `Contract.normalise(root, value)`: a normalised copy of `value`. */
  readonly normalise: (value: unknown) => unknown;
  /** Whether `Contract.violation(root, value)` is undefined, without building the violation. */
  readonly holds: Holds;
}

const ALWAYS: Holds = () => true;

/** String fields whose name ends in `Id` or `Ids` (and the strings of such arrays) must not be empty. */
const ID_FIELD = /Ids?$/;

const validTimeZones = new Map<string, boolean>();

function isTimeZone(name: string): boolean {
  let known = validTimeZones.get(name);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: name });
      known = name.length > 0;
    } catch {
      known = false;
    }
    validTimeZones.set(name, known);
  }
  return known;
}

function range(lo: number, hi: number, what: string): Check {
  return (v) => (typeof v === 'number' && v >= lo && v <= hi ? undefined : what);
}

/** Checks by field name, wherever the field occurs; null values (of nullable fields) are skipped. */
const FIELD_RULES: Readonly<Record<string, Check>> = {
  lat: range(-90, 90, 'a latitude in [-90, 90]'),
  lon: range(-180, 180, 'a longitude in [-180, 180]'),
  accuracyM: range(0, Infinity, 'a number >= 0'),
  speedMps: range(0, Infinity, 'a number >= 0'),
  radiusM: (v) => (typeof v === 'number' && v > 0 ? undefined : 'a number > 0'),
  // Prices are never negative: a return is a negative quantity (SCENES.md §1), not a negative price.
  price: range(0, Infinity, 'a price >= 0'),
  unitPrice: range(0, Infinity, 'a price >= 0'),
  timezone: (v) => (typeof v === 'string' && isTimeZone(v) ? undefined : 'an IANA time zone name'),
};

/** Checks across the fields of one record, by record full name; each returns the field at fault. */
const RECORD_RULES: Readonly<Record<string, (r: Readonly<Record<string, unknown>>) => Violation | undefined>> = {
  'scenestream.Decision': (r) => {
    if (r['outcome'] === 'sent') {
      if (r['reason'] !== null) return { field: 'reason', expected: 'null when outcome is sent', got: r['reason'] };
      if (r['offerId'] === null) return { field: 'offerId', expected: 'an offerId when outcome is sent', got: null };
    } else {
      if (r['reason'] === null) return { field: 'reason', expected: 'a suppression reason when outcome is suppressed', got: null };
      if (r['offerId'] !== null) return { field: 'offerId', expected: 'null when outcome is suppressed', got: r['offerId'] };
    }
    return undefined;
  },
  'scenestream.Product': (r) => {
    if (r['productId'] === '') return { field: 'productId', expected: 'a non-empty product id', got: '' };
    const name = r['name'];
    if (typeof name === 'string' && name.trim() === '') return { field: 'name', expected: 'a non-empty name', got: name };
    const url = r['imageUrl'];
    if (typeof url === 'string' && !/^(https?:\/\/\S+|\/\S*|data:image\/[\w.+-]+[;,]\S*)$/.test(url)) return { field: 'imageUrl', expected: 'an http(s) URL, a path starting with / or a data:image/ URL', got: url };
    return undefined;
  },
  'scenestream.Offer': (r) => {
    const ts = r['ts'];
    const expiresAt = r['expiresAt'];
    if (typeof ts === 'number' && typeof expiresAt === 'number' && expiresAt < ts) {
      return { field: 'expiresAt', expected: `a time >= ts (${ts})`, got: expiresAt };
    }
    return undefined;
  },
};

function isObject(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The only non-null branch of a `["null", T]` union, if that is what `shape` is. */
function nullableBranch(shape: Shape): Shape | undefined {
  if (shape.kind !== 'union') return undefined;
  const others = shape.branches.filter((b) => !(b.kind === 'primitive' && b.type === 'null'));
  return others.length === 1 ? others[0] : undefined;
}

type PrimitiveShape = Extract<Shape, { kind: 'primitive' }>;

/** Which checks a primitive value of the field `fieldName` has; undefined when none. */
function primitiveChecks(s: PrimitiveShape, fieldName: string | undefined): { finite: boolean; timestamp: boolean; nonEmpty: boolean } | undefined {
  const finite = s.type === 'double' || s.type === 'float';
  const nonEmpty = s.type === 'string' && fieldName !== undefined && ID_FIELD.test(fieldName);
  return finite || s.timestamp || nonEmpty ? { finite, timestamp: s.timestamp, nonEmpty } : undefined;
}

function cloneDefault(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? structuredClone(v) : v;
}

export class Contract {
  /** Built per record full name, so that shared and nested records are built once. */
  private readonly normalisers = new Map<string, (value: unknown) => unknown>();
  private readonly checkers = new Map<string, Holds>();

  constructor(private readonly shapes: ShapeSet) {}

  /**
   * The normaliser and the check of `root`, built once: what `normalise` and `violation` decide,
   * without walking the shape or allocating anything per record but the copy.
   */
  compile(root: NamedShape): CompiledContract {
    return { normalise: this.normaliser(root) ?? ((value: unknown) => value), holds: this.checker(root, undefined) ?? ALWAYS };
  }

  private normaliser(shape: Shape | NamedShape): Normalise {
    const s = shape.kind === 'ref' ? this.shapes.get(shape.fullName) : shape;
    switch (s.kind) {
      case 'record':
        return this.recordNormaliser(s.fullName, s.fields);
      case 'array': {
        const item = this.normaliser(s.items);
        if (item === undefined) {
          return (value) => (Array.isArray(value) ? value.slice() : value);
        }
        return (value) => {
          if (!Array.isArray(value)) return value;
          const out: unknown[] = [];
          for (let i = 0; i < value.length; i++) out.push(item(value[i]));
          return out;
        };
      }
      case 'map': {
        const values = this.normaliser(s.values);
        return (value) => {
          if (!isObject(value)) return value;
          const out: Record<string, unknown> = {};
          for (const k of Object.keys(value)) out[k] = values === undefined ? value[k] : values(value[k]);
          return out;
        };
      }
      case 'union': {
        const branch = nullableBranch(s);
        const inner = branch === undefined ? undefined : this.normaliser(branch);
        if (inner === undefined) return undefined;
        return (value) => (value === null ? value : inner(value));
      }
      default:
        return undefined;
    }
  }

  /**
   * A function built for the record type (see `jit.ts`):
   * `v => isObject(v) ? { eventId: v.eventId, customerId: v.customerId === undefined ? null : v.customerId, ... } : v`.
   */
  private recordNormaliser(fullName: string, shapeFields: readonly FieldShape[]): (value: unknown) => unknown {
    const built = this.normalisers.get(fullName);
    if (built !== undefined) return built;
    // A recursive type refers to itself through this until it is built.
    let normalise: (value: unknown) => unknown = (value) => value;
    this.normalisers.set(fullName, (value) => normalise(value));
    const bindings = new Map<string, unknown>([
      ['isArray', Array.isArray],
      ['clone', cloneDefault],
    ]);
    const reads: string[] = [];
    const entries: string[] = [];
    shapeFields.forEach((f, i) => {
      const key = fieldKey(f.name);
      const x = `x${i}`;
      reads.push(`  const ${x} = v[${key}];`);
      const inner = this.normaliser(f.shape);
      if (inner !== undefined) bindings.set(`f${i}`, inner);
      const present = inner === undefined ? x : `f${i}(${x})`;
      let missing = 'undefined';
      if (f.hasDefault) {
        bindings.set(`d${i}`, f.defaultValue);
        missing = typeof f.defaultValue === 'object' && f.defaultValue !== null ? `clone(d${i})` : `d${i}`;
      }
      entries.push(`    ${key}: ${present === x && missing === 'undefined' ? x : `${x} === undefined ? ${missing} : ${present}`},`);
    });
    const body = [
      "  if (typeof v !== 'object' || v === null || isArray(v)) return v;",
      ...reads,
      '  return {',
      ...entries,
      '  };',
    ].join('\n');
    normalise = build<(value: unknown) => unknown>(`normalise ${fullName}`, bindings, 'v', body);
    this.normalisers.set(fullName, normalise);
    return normalise;
  }

  /** Mirrors `walk`: true exactly when `walk` finds no violation. Undefined when nothing is checked. */
  private checker(shape: Shape | NamedShape, fieldName: string | undefined): Holds | undefined {
    const s = shape.kind === 'ref' ? this.shapes.get(shape.fullName) : shape;
    switch (s.kind) {
      case 'primitive': {
        const checks = primitiveChecks(s, fieldName);
        if (checks === undefined) return undefined;
        const { finite, timestamp, nonEmpty } = checks;
        // The common cases alone, the combination in general.
        if (finite && !timestamp && !nonEmpty) return (value) => typeof value === 'number' && Number.isFinite(value);
        if (timestamp && !finite && !nonEmpty) return (value) => typeof value === 'number' && !(value < 0); // NaN passes, as in `walk`
        if (nonEmpty && !finite && !timestamp) return (value) => value !== '';
        return (value) =>
          !(finite && (typeof value !== 'number' || !Number.isFinite(value))) &&
          !(timestamp && (typeof value !== 'number' || value < 0)) &&
          !(nonEmpty && value === '');
      }
      case 'union': {
        const branch = nullableBranch(s);
        const inner = branch === undefined ? undefined : this.checker(branch, fieldName);
        if (inner === undefined) return undefined;
        return (value) => value === null || inner(value);
      }
      case 'record':
        return this.recordChecker(s.fullName, s.fields);
      case 'array': {
        const item = this.checker(s.items, fieldName);
        if (item === undefined) return undefined;
        return (value) => {
          if (!Array.isArray(value)) return true;
          for (let i = 0; i < value.length; i++) if (!item(value[i])) return false;
          return true;
        };
      }
      case 'map': {
        const values = this.checker(s.values, undefined);
        if (values === undefined) return undefined;
        return (value) => {
          if (!isObject(value)) return true;
          for (const k of Object.keys(value)) if (!values(value[k])) return false;
          return true;
        };
      }
      case 'enum':
        return undefined;
    }
  }

  /**
   * A function built for the record type (see `jit.ts`): the record's own checks in field order,
   * those of primitive fields (and nullable ones) written out, the others called; then the rules
   * by field name and the record rule.
   */
  private recordChecker(fullName: string, shapeFields: readonly FieldShape[]): Holds {
    const built = this.checkers.get(fullName);
    if (built !== undefined) return built;
    // A recursive type refers to itself through this until it is built.
    let holds: Holds = ALWAYS;
    this.checkers.set(fullName, (value) => holds(value));
    const bindings = new Map<string, unknown>([
      ['isArray', Array.isArray],
      ['isFinite', Number.isFinite],
    ]);
    const lines = ["  if (typeof v !== 'object' || v === null || isArray(v)) return false;", '  let x;'];
    shapeFields.forEach((f, i) => {
      const inner = this.inlineCheck(f.shape, f.name, 'x') ?? this.checker(f.shape, f.name);
      const rule = FIELD_RULES[f.name];
      if (inner === undefined && rule === undefined) return;
      lines.push(`  x = v[${fieldKey(f.name)}];`);
      if (typeof inner === 'string') {
        lines.push(`  if (!(${inner})) return false;`);
      } else if (inner !== undefined) {
        bindings.set(`c${i}`, inner);
        lines.push(`  if (!c${i}(x)) return false;`);
      }
      if (rule !== undefined) {
        bindings.set(`r${i}`, rule);
        lines.push(`  if (x !== null && r${i}(x) !== undefined) return false;`);
      }
    });
    const recordRule = RECORD_RULES[fullName];
    if (recordRule !== undefined) bindings.set('recordRule', recordRule);
    lines.push(recordRule === undefined ? '  return true;' : '  return recordRule(v) === undefined;');
    holds = build<Holds>(`holds ${fullName}`, bindings, 'v', lines.join('\n'));
    this.checkers.set(fullName, holds);
    return holds;
  }

  /**
   * The checks of a primitive (or nullable primitive) field as a JS expression over `x`, from fixed
   * code only; undefined when the field has no such checks or is of another kind.
   */
  private inlineCheck(shape: Shape, fieldName: string, x: string): string | undefined {
    const branch = shape.kind === 'union' ? nullableBranch(shape) : shape;
    if (branch === undefined || branch.kind !== 'primitive') return undefined;
    const checks = primitiveChecks(branch, fieldName);
    if (checks === undefined) return undefined;
    const parts: string[] = [];
    if (checks.finite) parts.push(`typeof ${x} === 'number' && isFinite(${x})`);
    if (checks.timestamp) parts.push(`typeof ${x} === 'number' && !(${x} < 0)`); // NaN passes, as in `walk`
    if (checks.nonEmpty) parts.push(`${x} !== ''`);
    const all = parts.join(' && ');
    return shape.kind === 'union' ? `${x} === null || (${all})` : all;
  }

  /**
   * A copy of `value` with missing fields that have a default set to it (nullable fields default
   * to null), record keys in schema order and undeclared keys dropped (as an Avro reader drops the
   * fields its schema does not know). Values of the wrong kind are kept as they are, for the
   * schema check to report.
   */
  normalise(shape: Shape | NamedShape, value: unknown): unknown {
    const s = shape.kind === 'ref' ? this.shapes.get(shape.fullName) : shape;
    switch (s.kind) {
      case 'record': {
        if (!isObject(value)) return value;
        const out: Record<string, unknown> = {};
        for (const f of s.fields) {
          const v = value[f.name];
          out[f.name] = v === undefined ? (f.hasDefault ? cloneDefault(f.defaultValue) : undefined) : this.normalise(f.shape, v);
        }
        return out;
      }
      case 'array':
        return Array.isArray(value) ? value.map((item: unknown) => this.normalise(s.items, item)) : value;
      case 'map': {
        if (!isObject(value)) return value;
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[k] = this.normalise(s.values, v);
        return out;
      }
      case 'union': {
        const branch = nullableBranch(s);
        return value === null || branch === undefined ? value : this.normalise(branch, value);
      }
      default:
        return value;
    }
  }

  /** The shape found by following a dotted path (as avsc's errorHook reports it) from `root`. */
  shapeAt(root: Shape | NamedShape, path: readonly string[]): Shape | NamedShape {
    let current: Shape | NamedShape = root;
    for (const segment of path) {
      current = this.shapes.resolve(current as Shape);
      const branch: Shape | undefined = current.kind === 'union' ? nullableBranch(current) : undefined;
      if (branch !== undefined) current = this.shapes.resolve(branch);
      if (current.kind === 'record') {
        const field: FieldShape | undefined = current.fields.find((f) => f.name === segment);
        if (field === undefined) return current;
        current = field.shape;
      } else if (current.kind === 'array') {
        current = current.items;
      } else if (current.kind === 'map') {
        current = current.values;
      } else {
        return current;
      }
    }
    return current;
  }

  /**
   * avsc checks a record with `typeof v == 'object'`, so an array passes as a record and the error
   * lands on one of its "fields". Returns the first array on `path` that stands where a record
   * belongs, so the error can name it instead.
   */
  arrayForRecord(root: NamedShape, value: unknown, path: readonly string[]): { path: string[]; got: unknown } | undefined {
    let current: unknown = value;
    for (let i = 0; i <= path.length; i++) {
      let shape = this.shapes.resolve(this.shapeAt(root, path.slice(0, i)) as Shape);
      if (shape.kind === 'union') {
        const branch = nullableBranch(shape);
        if (branch !== undefined) shape = this.shapes.resolve(branch);
      }
      if (shape.kind === 'record' && Array.isArray(current)) return { path: path.slice(0, i), got: current };
      const segment = path[i];
      if (segment === undefined || typeof current !== 'object' || current === null) return undefined;
      current = (current as Record<string, unknown>)[segment];
    }
    return undefined;
  }

  /** The first contract violation of a schema-valid, normalised record, if any. */
  violation(root: NamedShape, value: unknown): Violation | undefined {
    return this.walk(root, value, [], undefined);
  }

  private walk(shape: Shape | NamedShape, value: unknown, path: string[], fieldName: string | undefined): Violation | undefined {
    const s = shape.kind === 'ref' ? this.shapes.get(shape.fullName) : shape;
    const at = (expected: string, got: unknown = value): Violation => ({
      field: path.length > 0 ? path.join('.') : undefined,
      expected,
      got,
    });
    switch (s.kind) {
      case 'primitive': {
        if (s.type === 'double' || s.type === 'float') {
          if (typeof value !== 'number' || !Number.isFinite(value)) return at('a finite number');
        }
        if (s.timestamp && (typeof value !== 'number' || value < 0)) return at('a timestamp >= 0 (epoch milliseconds)');
        if (s.type === 'string' && fieldName !== undefined && ID_FIELD.test(fieldName) && value === '') {
          return at('a non-empty string');
        }
        return undefined;
      }
      case 'union': {
        if (value === null) return undefined;
        const branch = nullableBranch(s);
        return branch === undefined ? undefined : this.walk(branch, value, path, fieldName);
      }
      case 'record': {
        if (!isObject(value)) return at(`a ${s.fullName} record`);
        for (const f of s.fields) {
          path.push(f.name);
          const v = value[f.name];
          const inner = this.walk(f.shape, v, path, f.name);
          if (inner !== undefined) return inner;
          const rule = FIELD_RULES[f.name];
          const problem = rule !== undefined && v !== null ? rule(v) : undefined;
          if (problem !== undefined) return at(problem, v);
          path.pop();
        }
        const recordRule = RECORD_RULES[s.fullName];
        const broken = recordRule?.(value);
        if (broken !== undefined) {
          const prefix = path.length > 0 ? `${path.join('.')}.` : '';
          return { ...broken, field: broken.field === undefined ? broken.field : `${prefix}${broken.field}` };
        }
        return undefined;
      }
      case 'array': {
        if (!Array.isArray(value)) return undefined;
        for (let i = 0; i < value.length; i++) {
          path.push(String(i));
          const inner = this.walk(s.items, value[i], path, fieldName);
          if (inner !== undefined) return inner;
          path.pop();
        }
        return undefined;
      }
      case 'map': {
        if (!isObject(value)) return undefined;
        for (const [k, v] of Object.entries(value)) {
          path.push(k);
          const inner = this.walk(s.values, v, path, undefined);
          if (inner !== undefined) return inner;
          path.pop();
        }
        return undefined;
      }
      case 'enum':
        return undefined;
    }
  }
}
