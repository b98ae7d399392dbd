/**
 * JSON-safe encoding of state values and snapshots. State may hold `Map`s, `Set`s and non-finite
 * numbers (watermarks start at -Infinity); JSON has none of them. Tagged objects keep them:
 * `{"$map": [[k, v], ...]}`, `{"$set": [...]}`, `{"$num": "Infinity" | "-Infinity" | "NaN"}`.
 * A plain object whose only key starts with `$` is escaped as `{"$obj": {...}}`.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function toPlain(v: unknown): Json {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? v : { $num: String(v) };
    case 'string':
    case 'boolean':
      return v;
    case 'bigint':
      return { $big: v.toString() };
    case 'object':
      break;
    default:
      throw new TypeError(`state cannot hold a ${typeof v}`);
  }
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Map) return { $map: [...v].map(([k, x]) => [toPlain(k), toPlain(x)]) };
  if (v instanceof Set) return { $set: [...v].map(toPlain) };
  const out: { [k: string]: Json } = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) out[k] = toPlain(x);
  const keys = Object.keys(out);
  return keys.length === 1 && keys[0]!.startsWith('$') ? { $obj: out } : out;
}

export function fromPlain(v: Json): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(fromPlain);
  const keys = Object.keys(v);
  if (keys.length === 1) {
    const tag = keys[0]!;
    const body = v[tag]!;
    switch (tag) {
      case '$num':
        return Number(body);
      case '$big':
        return BigInt(body as string);
      case '$map':
        return new Map((body as Json[][]).map(([k, x]) => [fromPlain(k ?? null), fromPlain(x ?? null)]));
      case '$set':
        return new Set((body as Json[]).map(fromPlain));
      case '$obj': {
        const o: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(body as { [k: string]: Json })) o[k] = fromPlain(x);
        return o;
      }
    }
  }
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) o[k] = fromPlain(x);
  return o;
}
