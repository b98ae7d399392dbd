/**
 * One valid record of every schema, for tests and examples. Typed by `SchemaTypes`, so adding a
 * schema without a sample is a type error. Timestamps are around 2023-11-14 (epoch ms).
 */
import type { SchemaName, SchemaTypes } from './types.generated.js';

export const SAMPLES: { readonly [N in SchemaName]: SchemaTypes[N] } = {
  ClickEvent: {
    eventId: 'click-1',
    customerId: 'cust-1',
    sessionId: 'sess-1',
    ts: 1_700_000_000_000,
    type: 'add_to_cart',
    productId: 'sku-1',
    category: 'shoes',
    price: 59.9,
    quantity: 2,
    channel: 'app',
  },
  PosEvent: {
    eventId: 'pos-1',
    customerId: 'cust-1',
    storeId: 'store-1',
    ts: 1_700_000_100_000,
    items: [
      { productId: 'sku-1', category: 'shoes', quantity: 1, unitPrice: 59.9 },
      { productId: 'sku-2', category: null, quantity: -1, unitPrice: 5 },
    ],
    total: 54.9,
  },
  LocationEvent: {
    eventId: 'loc-1',
    customerId: 'cust-1',
    ts: 1_700_000_200_000,
    lat: 31.2304,
    lon: 121.4737,
    accuracyM: 12.5,
    speedMps: 1.4,
  },
  Trigger: {
    scene: 'cart_abandonment',
    customerId: 'cust-1',
    ts: 1_700_001_800_000,
    storeId: null,
    productIds: ['sku-1', 'sku-3'],
    category: null,
    eventId: 'click-1',
  },
  Decision: {
    decisionId: 'dec-1',
    scene: 'cart_abandonment',
    customerId: 'cust-1',
    ts: 1_700_001_800_000,
    outcome: 'sent',
    reason: null,
    channel: 'push',
    offerId: 'offer-1',
  },
  Offer: {
    offerId: 'offer-1',
    customerId: 'cust-1',
    scene: 'cart_abandonment',
    campaignId: 'camp-cart',
    channel: 'push',
    storeId: null,
    productIds: ['sku-1', 'sku-3'],
    discountPct: 10,
    title: 'Your cart misses you',
    ts: 1_700_001_800_000,
    expiresAt: 1_700_088_200_000,
    triggerEventId: 'click-1',
  },
  RecommendationUpdate: {
    customerId: 'cust-1',
    storeId: 'store-1',
    ts: 1_700_000_300_000,
    items: [
      { productId: 'sku-4', score: 0.9, reason: 'bought_together:sku-1' },
      { productId: 'sku-5', score: 0.5, reason: 'bought_together:sku-1' },
    ],
  },
  Store: {
    storeId: 'store-1',
    name: 'Nanjing Road',
    lat: 31.2352,
    lon: 121.4754,
    radiusM: 150,
    timezone: 'Asia/Shanghai',
  },
  CustomerProfile: {
    customerId: 'cust-1',
    tier: 'gold',
    timezone: 'Asia/Shanghai',
    consent: { push: true, sms: false, email: true, in_store: false },
    lastPurchaseTs: 1_690_000_000_000,
  },
  BoughtTogether: {
    productId: 'sku-1',
    items: [
      { productId: 'sku-4', count: 12 },
      { productId: 'sku-5', count: 3 },
    ],
  },
  BasketMember: {
    productId: 'sku-1',
    basket: ['sku-1', 'sku-4', 'sku-5'],
    ts: 1_700_000_400_000,
    origin: 2,
    seq: 17,
  },
  BoughtTogetherChange: {
    productId: 'sku-1',
    ts: 1_700_000_400_000,
    items: [
      { productId: 'sku-4', count: 12 },
      { productId: 'sku-5', count: 3 },
    ],
  },
  AttributionEvent: {
    decisionId: 'dec-1',
    scene: 'cart_abandonment',
    customerId: 'cust-1',
    group: 'sent',
    converted: true,
    revenue: 59.9,
    ts: 1_741_000_000_000 + 86_400_000,
    decisionTs: 1_741_000_000_000,
  },
};
