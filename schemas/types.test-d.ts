import { describe, expectTypeOf, it } from 'vitest';
import type {
  BoughtTogether,
  ClickChannel,
  ClickEvent,
  ClickType,
  Consent,
  CustomerProfile,
  Decision,
  Decoded,
  DeliveryChannel,
  LocationEvent,
  Offer,
  Outcome,
  PosEvent,
  PosItem,
  RecommendationItem,
  RecommendationUpdate,
  Result,
  Scene,
  SchemaName,
  SchemaTypes,
  Store,
  SuppressionReason,
  Tier,
  Trigger,
} from './index.js';
import { CLICK_TYPES, SCENES, decode, decodeAuto, decodeConfluent, encode, fromJson, validate } from './index.js';

describe('generated types', () => {
  it('enums are string literal unions', () => {
    expectTypeOf<ClickEvent['type']>().toEqualTypeOf<
      'page_view' | 'product_view' | 'search' | 'add_to_cart' | 'remove_from_cart' | 'checkout' | 'app_open'
    >();
    expectTypeOf<ClickEvent['type']>().toEqualTypeOf<ClickType>();
    expectTypeOf<ClickEvent['channel']>().toEqualTypeOf<ClickChannel>();
    expectTypeOf<ClickChannel>().toEqualTypeOf<'app' | 'web' | 'mini_program'>();
    expectTypeOf<Scene>().toEqualTypeOf<'cart_abandonment' | 'browse_abandonment' | 'store_proximity' | 'commute' | 'dormant_reactivation'>();
    expectTypeOf<Outcome>().toEqualTypeOf<'sent' | 'suppressed'>();
    expectTypeOf<DeliveryChannel>().toEqualTypeOf<'push' | 'sms' | 'email' | 'in_store'>();
    expectTypeOf<Tier>().toEqualTypeOf<'basic' | 'silver' | 'gold' | 'platinum'>();
  });

  it('const arrays are tuples of the symbols', () => {
    expectTypeOf(SCENES).toEqualTypeOf<readonly ['cart_abandonment', 'browse_abandonment', 'store_proximity', 'commute', 'dormant_reactivation']>();
    expectTypeOf<(typeof CLICK_TYPES)[number]>().toEqualTypeOf<ClickType>();
  });

  it('nullable fields are T | null; plain fields are not', () => {
    expectTypeOf<Decision['reason']>().toEqualTypeOf<SuppressionReason | null>();
    expectTypeOf<Decision['offerId']>().toEqualTypeOf<string | null>();
    expectTypeOf<PosEvent['customerId']>().toEqualTypeOf<string | null>();
    expectTypeOf<ClickEvent['quantity']>().toEqualTypeOf<number | null>();
    expectTypeOf<CustomerProfile['lastPurchaseTs']>().toEqualTypeOf<number | null>();
    expectTypeOf<LocationEvent['accuracyM']>().toEqualTypeOf<number | null>();
    expectTypeOf<Offer['storeId']>().toEqualTypeOf<string | null>();
    expectTypeOf<ClickEvent['customerId']>().toEqualTypeOf<string>();
    expectTypeOf<ClickEvent['ts']>().toEqualTypeOf<number>();
    expectTypeOf<Store['radiusM']>().toEqualTypeOf<number>();
  });

  it('arrays and nested records', () => {
    expectTypeOf<PosEvent['items']>().toEqualTypeOf<PosItem[]>();
    expectTypeOf<Trigger['productIds']>().toEqualTypeOf<string[]>();
    expectTypeOf<RecommendationUpdate['items']>().toEqualTypeOf<RecommendationItem[]>();
    expectTypeOf<RecommendationItem>().toEqualTypeOf<{ productId: string; score: number; reason: string }>();
    expectTypeOf<CustomerProfile['consent']>().toEqualTypeOf<Consent>();
    expectTypeOf<Consent>().toEqualTypeOf<{ push: boolean; sms: boolean; email: boolean; in_store: boolean }>();
    expectTypeOf<BoughtTogether['items'][number]>().toEqualTypeOf<{ productId: string; count: number }>();
  });

  it('SchemaTypes maps names to records', () => {
    expectTypeOf<SchemaName>().toEqualTypeOf<
      | 'ClickEvent'
      | 'PosEvent'
      | 'LocationEvent'
      | 'Trigger'
      | 'Decision'
      | 'Offer'
      | 'RecommendationUpdate'
      | 'AttributionEvent'
      | 'Store'
      | 'CustomerProfile'
      | 'BoughtTogether'
      | 'BasketMember'
      | 'BoughtTogetherChange'
      | 'Product'
    >();
    expectTypeOf<SchemaTypes['PosEvent']>().toEqualTypeOf<PosEvent>();
  });
});

describe('codec signatures', () => {
  it('narrow to the named schema', () => {
    expectTypeOf(validate('ClickEvent', {})).toEqualTypeOf<Result<ClickEvent>>();
    expectTypeOf(fromJson('Offer', '{}')).toEqualTypeOf<Result<Offer>>();
    expectTypeOf(decode('Store', Buffer.alloc(0))).toEqualTypeOf<Result<Store>>();
    expectTypeOf(decodeConfluent(Buffer.alloc(0), undefined, 'Trigger')).toEqualTypeOf<Result<Decoded<'Trigger'>>>();
    expectTypeOf(encode<'Decision'>).parameter(1).toEqualTypeOf<Decision>();
  });

  it('without an expected schema, a decoded record is a union discriminated by name', () => {
    const result = decodeAuto(Buffer.alloc(0));
    if (result.ok && result.value.name === 'LocationEvent') {
      expectTypeOf(result.value.value).toEqualTypeOf<LocationEvent>();
    }
  });

  it('a failed result carries the typed error', () => {
    const result = validate('ClickEvent', {});
    if (!result.ok) expectTypeOf(result.error.code).toEqualTypeOf<import('./errors.js').ErrorCode>();
  });
});
