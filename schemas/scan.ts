/**
 * A bounds-checked walk over Avro binary, run before avsc decodes untrusted bytes.
 *
 * Why: avsc trusts array block counts. Five garbage bytes that read as "2^40 items" make it
 * allocate until the process dies, which would take a whole consumer down for one bad record.
 * This walk checks every length, count, index and varint against the bytes that are actually
 * there, without building any value, and names the field where the bytes stop making sense.
 *
 * Two forms of the same walk: `compileScan` builds, once per schema, a yes/no scanner that allocates
 * nothing (the per-record path); `scanAvro` says what is wrong and where (the error path, run only
 * once the compiled scanner said no).
 */
import { build } from './jit.js';
import type { NamedShape, PrimitiveName, Shape, ShapeSet } from './shape.js';

export interface ScanFailure {
  readonly message: string;
  /** Dotted path of the field being read (`items.1.quantity`); undefined at the top level. */
  readonly field: string | undefined;
}

/** The largest long magnitude avsc reads or writes (it refuses anything that might lose precision). */
const MAX_SAFE_LONG = 9007199254740990;

/** Zero-size items (nulls, empty records) have no byte bound; cap them so a count cannot run away. */
const MAX_ZERO_SIZE_ITEMS = 1 << 16;

class Failure {
  constructor(readonly message: string) {}
}

class Scanner {
  pos: number;
  readonly path: string[] = [];

  constructor(
    private readonly shapes: ShapeSet,
    private readonly buf: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** Reads a zig-zag varint of at most `maxBytes` bytes; fails if it is not a safe integer. */
  private varint(maxBytes: number, what: string): number {
    let unsigned = 0;
    let scale = 1;
    for (let i = 0; i < maxBytes; i++) {
      const byte = this.buf[this.pos];
      if (byte === undefined) throw new Failure(`buffer ends inside ${what} at byte ${this.pos}`);
      this.pos++;
      unsigned += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        const n = unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2;
        if (Math.abs(n) > MAX_SAFE_LONG) throw new Failure(`${what} is beyond ±${MAX_SAFE_LONG}, which would lose precision`);
        return n;
      }
      scale *= 128;
    }
    throw new Failure(`${what} is a varint longer than ${maxBytes} bytes`);
  }

  long(what = 'a long'): number {
    return this.varint(10, what);
  }

  private take(n: number, what: string): void {
    if (n > this.remaining) throw new Failure(`${what} needs ${n} bytes but only ${this.remaining} remain`);
    this.pos += n;
  }

  walk(shape: Shape | NamedShape): void {
    const s = shape.kind === 'ref' ? this.shapes.get(shape.fullName) : shape;
    switch (s.kind) {
      case 'primitive':
        return this.primitive(s.type);
      case 'enum': {
        const index = this.long('an enum index');
        if (index < 0 || index >= s.symbols.length) {
          throw new Failure(`enum index ${index} is out of range for ${s.fullName} (${s.symbols.length} symbols)`);
        }
        return;
      }
      case 'union': {
        const index = this.long('a union branch index');
        const branch = s.branches[index];
        if (index < 0 || branch === undefined) throw new Failure(`union branch index ${index} is out of range (${s.branches.length} branches)`);
        return this.walk(branch);
      }
      case 'record': {
        const depth = this.path.length;
        this.path.push('');
        for (const field of s.fields) {
          this.path[depth] = field.name;
          this.walk(field.shape);
        }
        this.path.pop();
        return;
      }
      case 'array':
        return this.blocks(this.shapes.minSize(s.items), (i) => {
          this.path.push(String(i));
          this.walk(s.items);
          this.path.pop();
        });
      case 'map':
        return this.blocks(1 + this.shapes.minSize(s.values), () => {
          this.primitive('string');
          this.walk(s.values);
        });
    }
  }

  private primitive(type: string): void {
    switch (type) {
      case 'null':
        return;
      case 'boolean': {
        const byte = this.buf[this.pos];
        if (byte === undefined) throw new Failure('buffer ends inside a boolean');
        if (byte > 1) throw new Failure(`boolean byte is ${byte}, not 0 or 1`);
        this.pos++;
        return;
      }
      case 'int': {
        const n = this.varint(5, 'an int');
        if (n < -2147483648 || n > 2147483647) throw new Failure(`int ${n} is out of 32-bit range`);
        return;
      }
      case 'long':
        this.long();
        return;
      case 'float':
        return this.take(4, 'a float');
      case 'double':
        return this.take(8, 'a double');
      case 'string':
      case 'bytes': {
        const length = this.long(`a ${type} length`);
        if (length < 0) throw new Failure(`${type} length ${length} is negative`);
        return this.take(length, `a ${type} of length ${length}`);
      }
      default:
        throw new Failure(`cannot scan Avro type ${type}`);
    }
  }

  /** Array and map blocks: a count (negative: followed by a byte size), items, until a zero count. */
  private blocks(minItemSize: number, item: (index: number) => void): void {
    let index = 0;
    for (;;) {
      let count = this.long('a block count');
      if (count === 0) return;
      if (count < 0) {
        count = -count;
        const size = this.long('a block size');
        if (size < 0) throw new Failure(`block size ${size} is negative`);
      }
      const fits = minItemSize > 0 ? count * minItemSize <= this.remaining : index + count <= MAX_ZERO_SIZE_ITEMS;
      if (!fits) throw new Failure(`a block of ${count} items cannot fit in the ${this.remaining} remaining bytes`);
      for (let i = 0; i < count; i++) item(index++);
    }
  }
}

/**
 * Checks that `buf` from `start` holds exactly one well-formed encoding of `root` (no trailing
 * bytes). Returns undefined when it does, else what is wrong and where.
 */
export function scanAvro(shapes: ShapeSet, root: Shape | NamedShape, buf: Uint8Array, start = 0): ScanFailure | undefined {
  const scanner = new Scanner(shapes, buf, start);
  try {
    scanner.walk(root);
  } catch (e) {
    if (e instanceof Failure) {
      return { message: e.message, field: scanner.path.length > 0 ? scanner.path.join('.') : undefined };
    }
    throw e;
  }
  if (scanner.remaining > 0) {
    return { message: `${scanner.remaining} trailing bytes after the record`, field: undefined };
  }
  return undefined;
}

/** Where `readLong` left off: the generated scans' one shared variable. */
const varintEnd = { pos: 0 };

/**
 * `Scanner.varint` from `pos`, for varints of more than one byte (the generated code reads one-byte
 * varints itself): the value, or NaN where `Scanner` fails; the position after it in `varintEnd.pos`.
 */
function readLong(buf: Uint8Array, pos: number, maxBytes: number): number {
  let unsigned = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    const byte = buf[pos];
    if (byte === undefined) return Number.NaN;
    pos++;
    unsigned += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      varintEnd.pos = pos;
      const n = unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2;
      return Math.abs(n) > MAX_SAFE_LONG ? Number.NaN : n;
    }
    scale *= 128;
  }
  return Number.NaN;
}

/**
 * Writes the source of a scan of one shape: statements that move `pos` past one value of the shape
 * in `buf` (whose length is `len`), and `return false` where `Scanner` would fail. Only fixed code
 * and numbers go into it (see `jit.ts`).
 */
class ScanWriter {
  readonly lines: string[] = [];
  private vars = 0;
  /** Records being written, outermost first: a recursive type cannot be written out inline. */
  private readonly open: string[] = [];

  constructor(private readonly shapes: ShapeSet) {}

  private emit(depth: number, line: string): void {
    this.lines.push(`${'  '.repeat(depth + 1)}${line}`);
  }

  private fresh(name: string): string {
    return `${name}${this.vars++}`;
  }

  /** A varint of at most `maxBytes` bytes into the new variable it returns; one-byte ones inline. */
  private varint(depth: number, maxBytes: number): string {
    const n = this.fresh('n');
    this.emit(depth, `let ${n} = buf[pos];`);
    this.emit(depth, `if (${n} === undefined) return false;`);
    this.emit(depth, `if (${n} < 128) { pos++; ${n} = (${n} & 1) === 0 ? ${n} >>> 1 : -((${n} + 1) >>> 1); }`);
    this.emit(depth, `else { ${n} = readLong(buf, pos, ${maxBytes}); if (${n} !== ${n}) return false; pos = varintEnd.pos; }`);
    return n;
  }

  /** Returns false for a recursive type, which the caller then scans otherwise. */
  write(shape: Shape | NamedShape, depth: number): boolean {
    const s = shape.kind === 'ref' ? this.shapes.get(shape.fullName) : shape;
    switch (s.kind) {
      case 'primitive':
        this.primitive(s.type, depth);
        return true;
      case 'enum': {
        const n = this.varint(depth, 10);
        this.emit(depth, `if (${n} < 0 || ${n} >= ${s.symbols.length}) return false;`);
        return true;
      }
      case 'union': {
        const n = this.varint(depth, 10);
        this.emit(depth, `switch (${n}) {`);
        for (const [i, branch] of s.branches.entries()) {
          this.emit(depth + 1, `case ${i}: {`);
          if (!this.write(branch, depth + 2)) return false;
          this.emit(depth + 2, 'break;');
          this.emit(depth + 1, '}');
        }
        this.emit(depth + 1, 'default: return false;');
        this.emit(depth, '}');
        return true;
      }
      case 'record': {
        if (this.open.includes(s.fullName)) return false;
        this.open.push(s.fullName);
        for (const f of s.fields) if (!this.write(f.shape, depth)) return false;
        this.open.pop();
        return true;
      }
      case 'array':
        return this.blocks(depth, this.shapes.minSize(s.items), (d) => this.write(s.items, d));
      case 'map':
        return this.blocks(depth, 1 + this.shapes.minSize(s.values), (d) => {
          this.primitive('string', d);
          return this.write(s.values, d);
        });
    }
  }

  private primitive(type: PrimitiveName, depth: number): void {
    switch (type) {
      case 'null':
        return;
      case 'boolean':
        this.emit(depth, 'if (!(buf[pos] <= 1)) return false;'); // undefined too
        this.emit(depth, 'pos++;');
        return;
      case 'int': {
        const n = this.varint(depth, 5);
        this.emit(depth, `if (${n} < -2147483648 || ${n} > 2147483647) return false;`);
        return;
      }
      case 'long':
        this.varint(depth, 10);
        return;
      case 'float':
      case 'double': {
        const size = type === 'float' ? 4 : 8;
        this.emit(depth, `if (${size} > len - pos) return false;`);
        this.emit(depth, `pos += ${size};`);
        return;
      }
      case 'string':
      case 'bytes': {
        const n = this.varint(depth, 10);
        this.emit(depth, `if (${n} < 0 || ${n} > len - pos) return false;`);
        this.emit(depth, `pos += ${n};`);
        return;
      }
    }
  }

  /** `Scanner.blocks`: a count (negative: then a byte size), that many items, until a zero count. */
  private blocks(depth: number, minItemSize: number, item: (depth: number) => boolean): boolean {
    const index = this.fresh('index');
    const i = this.fresh('i');
    this.emit(depth, `let ${index} = 0;`);
    this.emit(depth, 'for (;;) {');
    const count = this.varint(depth + 1, 10);
    this.emit(depth + 1, `if (${count} === 0) break;`);
    this.emit(depth + 1, `if (${count} < 0) {`);
    this.emit(depth + 2, `${count} = -${count};`);
    const size = this.varint(depth + 2, 10);
    this.emit(depth + 2, `if (${size} < 0) return false;`);
    this.emit(depth + 1, '}');
    const fits = minItemSize > 0 ? `${count} * ${minItemSize} <= len - pos` : `${index} + ${count} <= ${MAX_ZERO_SIZE_ITEMS}`;
    this.emit(depth + 1, `if (!(${fits})) return false;`);
    this.emit(depth + 1, `for (let ${i} = 0; ${i} < ${count}; ${i}++) {`);
    if (!item(depth + 2)) return false;
    this.emit(depth + 1, '}');
    this.emit(depth + 1, `${index} += ${count};`);
    this.emit(depth, '}');
    return true;
  }
}

/**
 * `scanAvro` as one function built for `root` (see `jit.ts`), straight-line code over a local
 * position: true exactly when `scanAvro` finds nothing wrong, without saying what (ask `scanAvro`).
 * A recursive type, which cannot be written out inline, is scanned by `scanAvro` itself.
 */
export function compileScan(shapes: ShapeSet, root: Shape | NamedShape): (buf: Uint8Array, start: number) => boolean {
  const writer = new ScanWriter(shapes);
  if (!writer.write(root, 0)) return (buf, start) => scanAvro(shapes, root, buf, start) === undefined;
  const body = ['  const len = buf.length;', ...writer.lines, '  return pos === len;'].join('\n');
  const label = root.kind === 'ref' || root.kind === 'record' || root.kind === 'enum' ? `scan ${root.fullName}` : 'scan';
  const bindings = new Map<string, unknown>([
    ['readLong', readLong],
    ['varintEnd', varintEnd],
  ]);
  return build<(buf: Uint8Array, start: number) => boolean>(label, bindings, 'buf, pos', body);
}
