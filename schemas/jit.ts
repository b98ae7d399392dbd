/**
 * Functions built from source text once, when the schemas load: one per record type, so that each
 * reads its fields by name with property accesses V8 can specialise (a loop over field names in
 * shared code reads every record type through one megamorphic access instead), and builds its
 * copy as an object literal of fixed shape.
 *
 * What may go into the source: fixed code, field names that are Avro names (`[A-Za-z_][A-Za-z0-9_]*`,
 * checked here, written as string literals) and numbers. Everything else, such as default values,
 * rules and nested functions, is passed in as a parameter. Nothing from a record or from outside the
 * `.avsc` files reaches the source.
 */
import { ssError } from './errors.js';

const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `name` as a JS string literal, for `v[...]` and object literal keys; throws on a name that is not an Avro name. */
export function fieldKey(name: string): string {
  // `__proto__` as an object literal key would set the prototype rather than make a field.
  if (!AVRO_NAME.test(name) || name === '__proto__') throw ssError('SS_ERR_SCHEMA', `field name ${JSON.stringify(name)} is not a usable Avro name`);
  return JSON.stringify(name);
}

/** The names `p0`, `p1`, ... for `count` parameters. */
export function params(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

let built = 0;

/**
 * `function (<args>) { <body> }` built with `new Function`, closed over `bindings` (parameter
 * name → value). `label` is written in a comment: it names the function in profiles and keeps
 * sources distinct, so that V8 never shares one compiled function, and its type feedback,
 * between two record types.
 */
export function build<F>(label: string, bindings: ReadonlyMap<string, unknown>, args: string, body: string): F {
  built++;
  const source = `/* ${label.replace(/[^\w.]/g, '_')} #${built} */\nreturn function (${args}) {\n${body}\n};`;
  const factory = new Function(...bindings.keys(), source) as (...values: unknown[]) => F;
  return factory(...bindings.values());
}
