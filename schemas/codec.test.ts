import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { isScenestreamError, type ErrorCode } from './errors.js';
import {
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
  type Result,
} from './codec.js';
import { SchemaRegistry, defaultRegistry } from './registry.js';
import { SAMPLES } from './samples.js';
import {
  CLICK_CHANNELS,
  CLICK_TYPES,
  DELIVERY_CHANNELS,
  SCENES,
  SCHEMA_NAMES,
  SUPPRESSION_REASONS,
  TIERS,
  type SchemaName,
  type SchemaTypes,
} from './types.generated.js';

function expectOk<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.message}`);
  return result.value;
}

function expectError<T>(result: Result<T>, code: ErrorCode, field?: string): string {
  if (result.ok) throw new Error(`expected ${code}, got ok: ${JSON.stringify(result.value)}`);
  expect(result.error.code).toBe(code);
  expect(result.error.field).toBe(field);
  return result.error.message;
}

/** Top-level field names of a schema, in order, from the parsed avsc type. */
function fieldNames(name: SchemaName): string[] {
  const schema = avroSchema(name) as { fields: { name: string }[] };
  return schema.fields.map((f) => f.name);
}

/** A deterministic PRNG (mulberry32), so fuzz failures reproduce. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('round trips', () => {
  describe.each(SCHEMA_NAMES)('%s', (name) => {
    const sample = SAMPLES[name];

    it('validates its sample', () => {
      expect(expectOk(validate(name, sample))).toEqual(sample);
    });

    it('plain Avro binary', () => {
      expect(expectOk(decode(name, encode(name, sample)))).toEqual(sample);
    });

    it('Confluent framing with the default id', () => {
      const bytes = encodeConfluent(name, sample);
      expect(bytes[0]).toBe(0);
      expect(bytes.readUInt32BE(1)).toBe(defaultRegistry.idOf(name));
      expect(bytes.subarray(CONFLUENT_HEADER_BYTES)).toEqual(encode(name, sample));
      expect(expectOk(decodeConfluent(bytes))).toEqual({ name, schemaId: defaultRegistry.idOf(name), value: sample });
      expect(expectOk(decodeConfluent(bytes, defaultRegistry, name)).value).toEqual(sample);
    });

    it('decodeAuto, both framings', () => {
      const id = defaultRegistry.idOf(name);
      expect(expectOk(decodeAuto(encodeConfluent(name, sample)))).toEqual({ name, schemaId: id, value: sample });
      expect(expectOk(decodeAuto(encode(name, sample), defaultRegistry, name))).toEqual({ name, schemaId: null, value: sample });
    });

    it('JSON', () => {
      const text = toJson(name, sample);
      expect(expectOk(fromJson(name, text))).toEqual(sample);
      expect(expectOk(fromJson(name, Buffer.from(text)))).toEqual(sample);
      expect(expectOk(fromJson(name, JSON.parse(text)))).toEqual(sample);
    });

    it('JSON keys follow the schema field order, whatever the input order', () => {
      const reversed = Object.fromEntries(Object.entries(sample).reverse());
      expect(Object.keys(JSON.parse(toJson(name, reversed as SchemaTypes[typeof name])) as object)).toEqual(fieldNames(name));
    });

    it('decodes to plain objects', () => {
      const value = expectOk(decode(name, encode(name, sample)));
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    });
  });

  it('accepts Uint8Array views as well as Buffers', () => {
    const bytes = encode('ClickEvent', SAMPLES.ClickEvent);
    const padded = new Uint8Array(bytes.length + 4);
    padded.set(bytes, 2);
    expect(expectOk(decode('ClickEvent', padded.subarray(2, 2 + bytes.length)))).toEqual(SAMPLES.ClickEvent);
  });
});

describe('timestamps stay epoch milliseconds', () => {
  it('ts, expiresAt and lastPurchaseTs decode to numbers, not Dates', () => {
    const click = expectOk(decode('ClickEvent', encode('ClickEvent', SAMPLES.ClickEvent)));
    expect(typeof click.ts).toBe('number');
    expect(click.ts).toBe(SAMPLES.ClickEvent.ts);
    const offer = expectOk(decode('Offer', encode('Offer', SAMPLES.Offer)));
    expect(typeof offer.expiresAt).toBe('number');
    const profile = expectOk(decodeConfluent(encodeConfluent('CustomerProfile', SAMPLES.CustomerProfile), defaultRegistry, 'CustomerProfile'));
    expect(typeof profile.value.lastPurchaseTs).toBe('number');
  });

  it('keeps the logicalType annotation in the exported schema', () => {
    const schema = avroSchema('ClickEvent') as { fields: { name: string; type: unknown }[] };
    expect(schema.fields.find((f) => f.name === 'ts')?.type).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
  });

  it('rejects a Date where epoch ms are expected', () => {
    expectError(validate('ClickEvent', { ...SAMPLES.ClickEvent, ts: new Date(0) }), 'SS_ERR_VALIDATION', 'ts');
  });

  it('handles timestamps up to avsc\'s largest safe long, 2^53 - 2', () => {
    const late = { ...SAMPLES.ClickEvent, ts: 2 ** 53 - 2 };
    expect(expectOk(decode('ClickEvent', encode('ClickEvent', late))).ts).toBe(2 ** 53 - 2);
    expectError(validate('ClickEvent', { ...SAMPLES.ClickEvent, ts: 2 ** 53 }), 'SS_ERR_VALIDATION', 'ts');
  });
});

describe('every enum symbol', () => {
  it.each(CLICK_TYPES)('ClickType %s', (type) => {
    const value = { ...SAMPLES.ClickEvent, type };
    expect(expectOk(decode('ClickEvent', encode('ClickEvent', value))).type).toBe(type);
  });

  it.each(CLICK_CHANNELS)('ClickChannel %s', (channel) => {
    const value = { ...SAMPLES.ClickEvent, channel };
    expect(expectOk(decode('ClickEvent', encode('ClickEvent', value))).channel).toBe(channel);
  });

  it.each(SCENES)('Scene %s', (scene) => {
    expect(expectOk(decode('Trigger', encode('Trigger', { ...SAMPLES.Trigger, scene }))).scene).toBe(scene);
    expect(expectOk(decode('Offer', encode('Offer', { ...SAMPLES.Offer, scene }))).scene).toBe(scene);
  });

  it.each(SUPPRESSION_REASONS)('Outcome suppressed with SuppressionReason %s', (reason) => {
    const value = { ...SAMPLES.Decision, outcome: 'suppressed' as const, reason, offerId: null };
    expect(expectOk(decode('Decision', encode('Decision', value)))).toEqual(value);
  });

  it.each(DELIVERY_CHANNELS)('DeliveryChannel %s', (channel) => {
    expect(expectOk(decode('Decision', encode('Decision', { ...SAMPLES.Decision, channel }))).channel).toBe(channel);
    expect(expectOk(decode('Offer', encode('Offer', { ...SAMPLES.Offer, channel }))).channel).toBe(channel);
  });

  it.each(TIERS)('Tier %s', (tier) => {
    const value = { ...SAMPLES.CustomerProfile, tier };
    expect(expectOk(decode('CustomerProfile', encode('CustomerProfile', value))).tier).toBe(tier);
  });

  it('SCENES is in the order of SCENES.md section 3', () => {
    expect(SCENES).toEqual(['cart_abandonment', 'browse_abandonment', 'store_proximity', 'commute', 'dormant_reactivation']);
  });
});

describe('nullable fields', () => {
  const cases: { name: SchemaName; nulls: Record<string, null> }[] = [
    { name: 'ClickEvent', nulls: { sessionId: null, productId: null, category: null, price: null, quantity: null } },
    { name: 'PosEvent', nulls: { customerId: null } },
    { name: 'LocationEvent', nulls: { accuracyM: null, speedMps: null } },
    { name: 'Trigger', nulls: { storeId: null, category: null } },
    { name: 'Offer', nulls: { storeId: null } },
    { name: 'RecommendationUpdate', nulls: { storeId: null } },
    { name: 'CustomerProfile', nulls: { lastPurchaseTs: null } },
  ];

  it.each(cases)('$name: null round-trips in binary and JSON', ({ name, nulls }) => {
    const value = { ...SAMPLES[name], ...nulls } as SchemaTypes[typeof name];
    expect(expectOk(decode(name, encode(name, value)))).toEqual(value);
    expect(expectOk(fromJson(name, toJson(name, value)))).toEqual(value);
  });

  it.each(cases)('$name: missing in JSON input becomes null', ({ name, nulls }) => {
    const json: Record<string, unknown> = { ...SAMPLES[name] };
    for (const field of Object.keys(nulls)) delete json[field];
    const value = expectOk(fromJson(name, JSON.stringify(json)));
    expect(value).toEqual({ ...SAMPLES[name], ...nulls });
    expect(Object.keys(value)).toEqual(fieldNames(name));
  });

  it('missing nullable fields inside array items become null too', () => {
    const json = { ...SAMPLES.PosEvent, items: [{ productId: 'sku-9', quantity: 1, unitPrice: 2 }] };
    expect(expectOk(fromJson('PosEvent', json)).items).toEqual([{ productId: 'sku-9', category: null, quantity: 1, unitPrice: 2 }]);
  });

  it('Store.radiusM defaults to 150 when missing', () => {
    const { radiusM: _omitted, ...json } = SAMPLES.Store;
    expect(expectOk(fromJson('Store', json)).radiusM).toBe(150);
  });

  it('Decision.reason is null when sent and offerId null when suppressed', () => {
    const suppressed = { ...SAMPLES.Decision, outcome: 'suppressed' as const, reason: 'quiet_hours' as const, offerId: null };
    expect(expectOk(decode('Decision', encode('Decision', suppressed)))).toEqual(suppressed);
  });

  it('undeclared fields are dropped, as an Avro reader drops unknown writer fields', () => {
    const value = expectOk(fromJson('ClickEvent', { ...SAMPLES.ClickEvent, extra: 1 }));
    expect(value).toEqual(SAMPLES.ClickEvent);
    expect('extra' in value).toBe(false);
  });

  it('validate does not modify its input', () => {
    const input: Record<string, unknown> = { ...SAMPLES.ClickEvent };
    delete input['sessionId'];
    expectOk(validate('ClickEvent', input));
    expect('sessionId' in input).toBe(false);
  });
});

describe('invalid records', () => {
  function without<T extends object>(value: T, field: keyof T): Record<string, unknown> {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    delete copy[field as string];
    return copy;
  }
  const pos = SAMPLES.PosEvent;
  const item0 = pos.items[0];
  const item1 = pos.items[1];

  const table: { what: string; name: SchemaName; value: unknown; field: string | undefined }[] = [
    { what: 'not an object', name: 'ClickEvent', value: 'click', field: undefined },
    { what: 'null', name: 'ClickEvent', value: null, field: undefined },
    { what: 'an array', name: 'ClickEvent', value: [], field: undefined },
    { what: 'eventId wrong type', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, eventId: 5 }, field: 'eventId' },
    { what: 'eventId empty', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, eventId: '' }, field: 'eventId' },
    { what: 'customerId missing', name: 'ClickEvent', value: without(SAMPLES.ClickEvent, 'customerId'), field: 'customerId' },
    { what: 'customerId empty', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, customerId: '' }, field: 'customerId' },
    { what: 'sessionId wrong type', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, sessionId: 7 }, field: 'sessionId' },
    { what: 'ts negative', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, ts: -1 }, field: 'ts' },
    { what: 'ts fractional', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, ts: 1.5 }, field: 'ts' },
    { what: 'ts a string', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, ts: '1700000000000' }, field: 'ts' },
    { what: 'ts missing', name: 'ClickEvent', value: without(SAMPLES.ClickEvent, 'ts'), field: 'ts' },
    { what: 'ts beyond 2^53', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, ts: 2 ** 60 }, field: 'ts' },
    { what: 'bad ClickType symbol', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, type: 'purchase' }, field: 'type' },
    { what: 'bad ClickChannel symbol', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, channel: 'email' }, field: 'channel' },
    { what: 'price NaN', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, price: Number.NaN }, field: 'price' },
    { what: 'price Infinity', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, price: Infinity }, field: 'price' },
    { what: 'quantity fractional', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, quantity: 1.5 }, field: 'quantity' },
    { what: 'items.1.quantity wrong type', name: 'PosEvent', value: { ...pos, items: [item0, { ...item1, quantity: '2' }] }, field: 'items.1.quantity' },
    { what: 'items.0.productId empty', name: 'PosEvent', value: { ...pos, items: [{ ...item0, productId: '' }, item1] }, field: 'items.0.productId' },
    { what: 'items.1 null', name: 'PosEvent', value: { ...pos, items: [item0, null] }, field: 'items.1' },
    { what: 'items.0.unitPrice missing', name: 'PosEvent', value: { ...pos, items: [without(item0 ?? {}, 'unitPrice' as never)] }, field: 'items.0.unitPrice' },
    { what: 'items not an array', name: 'PosEvent', value: { ...pos, items: {} }, field: 'items' },
    { what: 'items.0 an array, not a record', name: 'PosEvent', value: { ...pos, items: [['sku-1', 1]] }, field: 'items.0' },
    { what: 'storeId empty', name: 'PosEvent', value: { ...pos, storeId: '' }, field: 'storeId' },
    { what: 'anonymous customerId empty, not null', name: 'PosEvent', value: { ...pos, customerId: '' }, field: 'customerId' },
    { what: 'total NaN', name: 'PosEvent', value: { ...pos, total: Number.NaN }, field: 'total' },
    { what: 'items.0.unitPrice negative', name: 'PosEvent', value: { ...pos, items: [{ ...(item0 ?? {}), unitPrice: -2.5 }] }, field: 'items.0.unitPrice' },
    { what: 'click price negative', name: 'ClickEvent', value: { ...SAMPLES.ClickEvent, price: -1 }, field: 'price' },
    { what: 'lat above 90', name: 'LocationEvent', value: { ...SAMPLES.LocationEvent, lat: 90.0001 }, field: 'lat' },
    { what: 'lat below -90', name: 'LocationEvent', value: { ...SAMPLES.LocationEvent, lat: -91 }, field: 'lat' },
    { what: 'lon above 180', name: 'LocationEvent', value: { ...SAMPLES.LocationEvent, lon: 181 }, field: 'lon' },
    { what: 'lon below -180', name: 'LocationEvent', value: { ...SAMPLES.LocationEvent, lon: -180.5 }, field: 'lon' },
    { what: 'accuracyM negative', name: 'LocationEvent', value: { ...SAMPLES.LocationEvent, accuracyM: -1 }, field: 'accuracyM' },
    { what: 'speedMps negative', name: 'LocationEvent', value: { ...SAMPLES.LocationEvent, speedMps: -0.1 }, field: 'speedMps' },
    { what: 'eventId empty (location)', name: 'LocationEvent', value: { ...SAMPLES.LocationEvent, eventId: '' }, field: 'eventId' },
    { what: 'bad Scene symbol', name: 'Trigger', value: { ...SAMPLES.Trigger, scene: 'christmas' }, field: 'scene' },
    { what: 'productIds not an array', name: 'Trigger', value: { ...SAMPLES.Trigger, productIds: 'sku-1' }, field: 'productIds' },
    { what: 'productIds.1 empty', name: 'Trigger', value: { ...SAMPLES.Trigger, productIds: ['sku-1', ''] }, field: 'productIds.1' },
    { what: 'trigger eventId empty', name: 'Trigger', value: { ...SAMPLES.Trigger, eventId: '' }, field: 'eventId' },
    { what: 'bad SuppressionReason symbol', name: 'Decision', value: { ...SAMPLES.Decision, outcome: 'suppressed', reason: 'spam', offerId: null }, field: 'reason' },
    { what: 'bad Outcome symbol', name: 'Decision', value: { ...SAMPLES.Decision, outcome: 'maybe' }, field: 'outcome' },
    { what: 'sent with a reason', name: 'Decision', value: { ...SAMPLES.Decision, reason: 'holdout' }, field: 'reason' },
    { what: 'sent without offerId', name: 'Decision', value: { ...SAMPLES.Decision, offerId: null }, field: 'offerId' },
    { what: 'suppressed without reason', name: 'Decision', value: { ...SAMPLES.Decision, outcome: 'suppressed', offerId: null }, field: 'reason' },
    { what: 'suppressed with offerId', name: 'Decision', value: { ...SAMPLES.Decision, outcome: 'suppressed', reason: 'holdout' }, field: 'offerId' },
    { what: 'bad DeliveryChannel symbol', name: 'Offer', value: { ...SAMPLES.Offer, channel: 'carrier_pigeon' }, field: 'channel' },
    { what: 'expiresAt before ts', name: 'Offer', value: { ...SAMPLES.Offer, expiresAt: SAMPLES.Offer.ts - 1 }, field: 'expiresAt' },
    { what: 'discountPct Infinity', name: 'Offer', value: { ...SAMPLES.Offer, discountPct: Infinity }, field: 'discountPct' },
    { what: 'campaignId empty', name: 'Offer', value: { ...SAMPLES.Offer, campaignId: '' }, field: 'campaignId' },
    { what: 'items.0.score wrong type', name: 'RecommendationUpdate', value: { ...SAMPLES.RecommendationUpdate, items: [{ productId: 'p', score: 'high', reason: 'r' }] }, field: 'items.0.score' },
    { what: 'radiusM zero', name: 'Store', value: { ...SAMPLES.Store, radiusM: 0 }, field: 'radiusM' },
    { what: 'radiusM negative', name: 'Store', value: { ...SAMPLES.Store, radiusM: -5 }, field: 'radiusM' },
    { what: 'unknown timezone', name: 'Store', value: { ...SAMPLES.Store, timezone: 'Mars/Olympus_Mons' }, field: 'timezone' },
    { what: 'store lat out of range', name: 'Store', value: { ...SAMPLES.Store, lat: 200 }, field: 'lat' },
    { what: 'bad Tier symbol', name: 'CustomerProfile', value: { ...SAMPLES.CustomerProfile, tier: 'diamond' }, field: 'tier' },
    { what: 'consent.push not a boolean', name: 'CustomerProfile', value: { ...SAMPLES.CustomerProfile, consent: { ...SAMPLES.CustomerProfile.consent, push: 'yes' } }, field: 'consent.push' },
    { what: 'consent.in_store missing', name: 'CustomerProfile', value: { ...SAMPLES.CustomerProfile, consent: { push: true, sms: true, email: true } }, field: 'consent.in_store' },
    { what: 'lastPurchaseTs negative', name: 'CustomerProfile', value: { ...SAMPLES.CustomerProfile, lastPurchaseTs: -5 }, field: 'lastPurchaseTs' },
    { what: 'profile timezone empty', name: 'CustomerProfile', value: { ...SAMPLES.CustomerProfile, timezone: '' }, field: 'timezone' },
    { what: 'items.0.count fractional', name: 'BoughtTogether', value: { ...SAMPLES.BoughtTogether, items: [{ productId: 'p', count: 1.5 }] }, field: 'items.0.count' },
  ];

  it.each(table)('$name: $what → SS_ERR_VALIDATION at $field', ({ name, value, field }) => {
    const message = expectError(validate(name, value), 'SS_ERR_VALIDATION', field);
    expect(message).toContain(field === undefined ? `${name}: expected` : `${name}.${field}: expected`);
    // The same record is refused by every entry point (a string given to fromJson is JSON text).
    if (typeof value !== 'string') expectError(fromJson(name, value), 'SS_ERR_VALIDATION', field);
    expect(() => encode(name, value as SchemaTypes[typeof name])).toThrow(/SS_ERR_VALIDATION/);
    expect(() => toJson(name, value as SchemaTypes[typeof name])).toThrow(/SS_ERR_VALIDATION/);
  });

  it('says what was expected and what came', () => {
    const message = expectError(validate('PosEvent', { ...pos, items: [item0, { ...item1, quantity: '2' }] }), 'SS_ERR_VALIDATION', 'items.1.quantity');
    expect(message).toBe('SS_ERR_VALIDATION: PosEvent.items.1.quantity: expected int, got string "2"');
    expect(expectError(validate('ClickEvent', without(SAMPLES.ClickEvent, 'customerId')), 'SS_ERR_VALIDATION', 'customerId')).toContain(
      'expected string, got nothing (missing)',
    );
    expect(expectError(validate('ClickEvent', { ...SAMPLES.ClickEvent, type: 'purchase' }), 'SS_ERR_VALIDATION', 'type')).toContain(
      'expected ClickType (one of page_view, product_view, search, add_to_cart, remove_from_cart, checkout, app_open), got string "purchase"',
    );
    expect(expectError(validate('ClickEvent', { ...SAMPLES.ClickEvent, sessionId: 7 }), 'SS_ERR_VALIDATION', 'sessionId')).toContain(
      'expected string or null, got number 7',
    );
    expect(expectError(validate('LocationEvent', { ...SAMPLES.LocationEvent, lat: 95 }), 'SS_ERR_VALIDATION', 'lat')).toContain(
      'expected a latitude in [-90, 90], got number 95',
    );
  });

  it('the error is typed and dead-letters', () => {
    const result = validate('ClickEvent', {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(isScenestreamError(result.error, 'SS_ERR_VALIDATION')).toBe(true);
    expect(result.error.deadLetter).toBe(true);
    expect(result.error.retryable).toBe(false);
  });

  it('encode throws the typed error, not a bare avsc one', () => {
    let thrown: unknown;
    try {
      encode('ClickEvent', { ...SAMPLES.ClickEvent, eventId: '' });
    } catch (e) {
      thrown = e;
    }
    expect(isScenestreamError(thrown, 'SS_ERR_VALIDATION')).toBe(true);
  });

  it('never throws on odd input', () => {
    const odd: unknown[] = [undefined, null, 0, -1, 'x', true, [], {}, [1, 2], new Date(0), Symbol('s'), 10n, () => 1, new Uint8Array(3)];
    for (const name of SCHEMA_NAMES) {
      for (const value of odd) {
        expect(validate(name, value).ok).toBe(false);
        expect(fromJson(name, value).ok).toBe(false);
      }
    }
  });
});

describe('bad bytes', () => {
  it.each(SCHEMA_NAMES)('%s: every truncation is SS_ERR_DECODE', (name) => {
    // Except a prefix that is a whole record of an earlier version (fields appended `since`, absent): the sample with their defaults.
    const schema = avroSchema(name) as { fields?: Array<{ name: string; since?: number; default?: unknown }> };
    const appended = (schema.fields ?? []).filter((f) => f.since !== undefined);
    const isEarlier = (value: unknown): boolean =>
      appended.length > 0 && appended.some((_, k) => JSON.stringify(value) === JSON.stringify({ ...SAMPLES[name], ...Object.fromEntries(appended.slice(k).map((f) => [f.name, f.default])) }));
    const bytes = encode(name, SAMPLES[name]);
    for (let n = 0; n < bytes.length; n++) {
      const result = decode(name, bytes.subarray(0, n));
      if (result.ok && isEarlier(result.value)) continue;
      expect(result.ok, `prefix of ${n} bytes`).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('SS_ERR_DECODE');
    }
    const framed = encodeConfluent(name, SAMPLES[name]);
    for (let n = 0; n < framed.length; n++) {
      const result = decodeConfluent(framed.subarray(0, n));
      if (result.ok && isEarlier(result.value.value)) continue;
      expect(result.ok, `framed prefix of ${n} bytes`).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('SS_ERR_DECODE');
    }
  });

  it('trailing bytes are SS_ERR_DECODE', () => {
    const bytes = Buffer.concat([encode('ClickEvent', SAMPLES.ClickEvent), Buffer.from([0])]);
    expect(expectError(decode('ClickEvent', bytes), 'SS_ERR_DECODE')).toContain('1 trailing bytes');
  });

  it('garbage that claims a huge array fails fast instead of exhausting memory', () => {
    const started = Date.now();
    // productId "", then an array block count of 2^31 - 1 items.
    const message = expectError(decode('BoughtTogether', Buffer.from([0x00, 0xfe, 0xff, 0xff, 0xff, 0x0f])), 'SS_ERR_DECODE', 'items');
    expect(message).toContain('cannot fit');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('names the field where the bytes stop making sense', () => {
    // eventId "e", customerId "c", sessionId union branch 5 (of 2).
    const bytes = Buffer.from([0x02, 0x65, 0x02, 0x63, 0x0a]);
    expect(expectError(decode('ClickEvent', bytes), 'SS_ERR_DECODE', 'sessionId')).toContain('union branch index 5');
  });

  it('an enum index out of range is SS_ERR_DECODE', () => {
    const good = encode('Trigger', SAMPLES.Trigger);
    const bad = Buffer.from(good);
    bad[0] = 0x14; // scene index 10 of 5
    expect(expectError(decode('Trigger', bad), 'SS_ERR_DECODE', 'scene')).toContain('enum index 10');
  });

  it('random garbage and bit flips never throw, and fail with a decode or validation error', () => {
    const random = prng(20231114);
    const codes = new Set<string>();
    for (const name of SCHEMA_NAMES) {
      const good = encodeConfluent(name, SAMPLES[name]);
      for (let i = 0; i < 300; i++) {
        const garbage = Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
        const flipped = Buffer.from(good);
        const at = CONFLUENT_HEADER_BYTES + Math.floor(random() * (good.length - CONFLUENT_HEADER_BYTES));
        flipped[at] = (flipped[at] ?? 0) ^ (1 << Math.floor(random() * 8));
        for (const result of [
          decode(name, garbage),
          decodeConfluent(garbage),
          decodeAuto(garbage, defaultRegistry, name),
          decodeConfluent(flipped, defaultRegistry, name),
        ]) {
          if (!result.ok) codes.add(result.error.code);
        }
      }
    }
    expect([...codes].sort()).toEqual(['SS_ERR_DECODE', 'SS_ERR_VALIDATION']);
  });

  it('bytes that decode but break the contract are SS_ERR_VALIDATION', () => {
    // Encoded by avsc directly, bypassing our checks.
    const raw = avsc.Type.forSchema(avroSchema('LocationEvent') as Parameters<typeof avsc.Type.forSchema>[0]);
    const bytes = raw.toBuffer({ ...SAMPLES.LocationEvent, lat: 123 });
    expectError(decode('LocationEvent', bytes), 'SS_ERR_VALIDATION', 'lat');
  });

  it('non-bytes input is SS_ERR_DECODE', () => {
    expectError(decode('ClickEvent', 'abc' as unknown as Uint8Array), 'SS_ERR_DECODE');
    expectError(decodeConfluent(null as unknown as Uint8Array), 'SS_ERR_DECODE');
    expectError(decodeAuto(undefined as unknown as Uint8Array), 'SS_ERR_DECODE');
  });
});

describe('Confluent wire format', () => {
  const framed = encodeConfluent('ClickEvent', SAMPLES.ClickEvent);

  it('wrong magic byte', () => {
    const bad = Buffer.from(framed);
    bad[0] = 1;
    expect(expectError(decodeConfluent(bad), 'SS_ERR_DECODE')).toContain('wrong magic byte 0x01');
  });

  it('buffer shorter than the header', () => {
    expect(expectError(decodeConfluent(Buffer.from([0, 0, 0])), 'SS_ERR_DECODE')).toContain('too short');
    expect(expectError(decodeConfluent(Buffer.alloc(0)), 'SS_ERR_DECODE')).toContain('too short');
  });

  it('unknown schema id', () => {
    const bad = Buffer.from(framed);
    bad.writeUInt32BE(4242, 1);
    expect(expectError(decodeConfluent(bad), 'SS_ERR_DECODE')).toContain('unknown schema id 4242');
  });

  it('decodeAuto (what the Kafka job reads with) names the framing fault, not only what plain Avro made of the bytes', () => {
    const magic = Buffer.from(framed);
    magic[0] = 0x05;
    const wrongMagic = expectError(decodeAuto(magic, defaultRegistry, 'ClickEvent'), 'SS_ERR_DECODE');
    expect(wrongMagic).toContain('not Confluent-framed (wrong magic byte 0x05');
    expect(wrongMagic).toContain('nor plain Avro (ClickEvent');
    const unknown = Buffer.from(framed);
    unknown.writeUInt32BE(4242, 1);
    expect(expectError(decodeAuto(unknown, defaultRegistry, 'ClickEvent'), 'SS_ERR_DECODE')).toMatch(/^SS_ERR_DECODE: ClickEvent: unknown schema id 4242 \(not in the registry\); not plain Avro either/);
    // Plain Avro still reads when the first byte is not a magic byte.
    expect(expectOk(decodeAuto(encode('ClickEvent', SAMPLES.ClickEvent), defaultRegistry, 'ClickEvent')).value).toEqual(SAMPLES.ClickEvent);
  });

  it('an id of another schema than expected', () => {
    expect(expectError(decodeConfluent(framed, defaultRegistry, 'PosEvent'), 'SS_ERR_DECODE')).toContain(
      'schema id 1 is ClickEvent, expected PosEvent',
    );
  });

  it('uses the ids of the given registry', () => {
    const registry = new SchemaRegistry({ ClickEvent: 101 });
    const bytes = encodeConfluent('ClickEvent', SAMPLES.ClickEvent, registry.idOf('ClickEvent'));
    expect(bytes.readUInt32BE(1)).toBe(101);
    expect(expectOk(decodeConfluent(bytes, registry)).name).toBe('ClickEvent');
    expectError(decodeConfluent(bytes), 'SS_ERR_DECODE');
  });

  it('refuses a schema id that is not a 31-bit integer', () => {
    for (const id of [-1, 1.5, 2 ** 31]) {
      expect(() => encodeConfluent('ClickEvent', SAMPLES.ClickEvent, id)).toThrow(/SS_ERR_CONFIG/);
    }
  });
});

describe('decodeAuto', () => {
  it('without an expected schema, plain Avro is an error that says why', () => {
    const message = expectError(decodeAuto(encode('Store', SAMPLES.Store)), 'SS_ERR_DECODE');
    expect(message).toContain('no expected schema');
  });

  it('Confluent bytes of another schema than expected: the Confluent error, once plain Avro fails too', () => {
    const framed = encodeConfluent('ClickEvent', SAMPLES.ClickEvent);
    expect(expectError(decodeAuto(framed, defaultRegistry, 'Store'), 'SS_ERR_DECODE')).toContain('schema id 1 is ClickEvent, expected Store');
  });

  it('falls back to plain Avro when bytes that look framed do not decode as such', () => {
    // A plain Trigger of scene cart_abandonment starts with 0x00; make its next 4 bytes a known id.
    const plain = encode('Trigger', SAMPLES.Trigger);
    expect(plain[0]).toBe(0);
    const lookalikeId = plain.readUInt32BE(1);
    const registry = new SchemaRegistry({ Trigger: lookalikeId });
    expect(expectOk(decodeAuto(plain, registry, 'Trigger'))).toEqual({ name: 'Trigger', schemaId: null, value: SAMPLES.Trigger });
  });
});

describe('fromJson', () => {
  it('bad JSON is SS_ERR_DECODE', () => {
    expect(expectError(fromJson('ClickEvent', '{"eventId": '), 'SS_ERR_DECODE')).toContain('bad JSON');
    expectError(fromJson('ClickEvent', Buffer.from([0xff, 0xfe])), 'SS_ERR_DECODE');
    expectError(fromJson('ClickEvent', ''), 'SS_ERR_DECODE');
  });

  it('valid JSON that is not the record is SS_ERR_VALIDATION', () => {
    expectError(fromJson('ClickEvent', '[1, 2]'), 'SS_ERR_VALIDATION');
    expectError(fromJson('ClickEvent', '"a string"'), 'SS_ERR_VALIDATION');
    expectError(fromJson('ClickEvent', '{"eventId": "e"}'), 'SS_ERR_VALIDATION', 'customerId');
  });
});

describe('records of an earlier version (trailing fields with defaults appended since)', () => {
  /** AttributionEvent as written before `segment` and `discountPct` (or before `discountPct` only). */
  const earlier = (drop: number) => {
    const schema = avroSchema('AttributionEvent') as { fields: Array<{ name: string }> };
    return avsc.Type.forSchema({ ...schema, fields: schema.fields.slice(0, schema.fields.length - drop) } as Parameters<typeof avsc.Type.forSchema>[0], { wrapUnions: 'never' });
  };
  const { segment: _segment, discountPct: _discount, ...old } = SAMPLES.AttributionEvent;
  const framed = (body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, defaultRegistry.idOf('AttributionEvent')]), body]);

  it('decodes with the defaults filled in: plain, Confluent and auto', () => {
    const body = earlier(2).toBuffer(old);
    expect(decode('AttributionEvent', body)).toEqual({ ok: true, value: { ...old, segment: null, discountPct: 0 } });
    const viaConfluent = decodeConfluent(framed(body), defaultRegistry, 'AttributionEvent');
    expect(viaConfluent.ok && viaConfluent.value.value).toEqual({ ...old, segment: null, discountPct: 0 });
    const withSegment = earlier(1).toBuffer({ ...old, segment: 'loyal' });
    const viaAuto = decodeAuto(framed(withSegment), defaultRegistry, 'AttributionEvent');
    expect(viaAuto.ok && viaAuto.value.value).toEqual({ ...old, segment: 'loyal', discountPct: 0 });
  });

  it('still refuses bytes that are no version of the schema, with the current version\'s error', () => {
    const current = encode('AttributionEvent', SAMPLES.AttributionEvent);
    const cut = decode('AttributionEvent', current.subarray(0, current.length - 3));
    expect(cut.ok).toBe(false);
    if (!cut.ok) expect(cut.error.code).toBe('SS_ERR_DECODE');
    const longer = decode('AttributionEvent', Buffer.concat([earlier(2).toBuffer(old), Buffer.from([1])]));
    expect(longer.ok).toBe(false);
    // A schema whose last field has no default has no earlier version to try.
    const click = encode('ClickEvent', SAMPLES.ClickEvent);
    expect(decode('ClickEvent', click.subarray(0, click.length - 1)).ok).toBe(false);
  });
});
