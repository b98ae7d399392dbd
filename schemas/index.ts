/**
 * The contracts of scenestream: the TypeScript types generated from `schemas/*.avsc`, the codec
 * (validation, Avro binary, Confluent framing, JSON) and the schema id registry.
 * Import from here, never from the files behind it.
 */
export * from './types.generated.js';
export {
  CONFLUENT_HEADER_BYTES,
  avroSchema,
  decode,
  decodeAuto,
  decodeConfluent,
  encode,
  encodeConfluent,
  fromJson,
  toJson,
  validate,
  type Decoded,
  type EncodeOptions,
  type Result,
} from './codec.js';
export { DEFAULT_SCHEMA_IDS, SchemaRegistry, defaultRegistry } from './registry.js';
