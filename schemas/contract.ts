/**
 * What the Avro types alone do not say: the contract checks SCENES.md implies, and the
 * normalisation of JSON input (missing fields that have a default take it, keys in schema order).
 *
 * Rules, applied wherever the field occurs (checked in schema field order; the first violation wins):
 * - a string field named `...Id` is non-empty, and so is every string of an array named `...Ids`;
 * - a `double`/`float` is finite; a `timestamp-millis` is `>= 0`;
 * - `lat` in [-90, 90], `lon` in [-180, 180], `accuracyM` and `speedMps` `>= 0`, `radiusM > 0`,
 *   `timezone` is an IANA time zone name this runtime knows;
 * - Decision: `sent` has `reason = null` and an `offerId`; `suppressed` has a `reason` and `offerId = null`;
 * - Offer: `expiresAt >= ts`.
 */
import type { FieldShape, NamedShape, Shape, ShapeSet } from './shape.js';

export interface Violation {
  /** Dotted path, e.g. `items.1.quantity`; undefined when the record itself is at fault. */
  readonly field: string | undefined;
  readonly expected: string;
  readonly got: unknown;
}

type Check = (value: unknown) => string | undefined;

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

function cloneDefault(v: unknown): unknown {
  return typeof v === 'object' && v !== null ? structuredClone(v) : v;
}

export class Contract {
  constructor(private readonly shapes: ShapeSet) {}

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
        if (s.type === 'string' && fieldName !== undefined && /Ids?$/.test(fieldName) && value === '') {
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
