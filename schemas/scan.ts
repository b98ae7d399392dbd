/**
 * A bounds-checked walk over Avro binary, run before avsc decodes untrusted bytes.
 *
 * Why: avsc trusts array block counts. Five garbage bytes that read as "2^40 items" make it
 * allocate until the process dies, which would take a whole consumer down for one bad record.
 * This walk checks every length, count, index and varint against the bytes that are actually
 * there, without building any value, and names the field where the bytes stop making sense.
 */
import type { NamedShape, Shape, ShapeSet } from './shape.js';

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
