/**
 * Purchase histories: what each customer bought in the year before the simulation starts, so that
 * the live profile (`pipelines/profile.ts`) finds customers in every RFM segment
 * (`pipelines/rfm.ts`) instead of a city where everyone bought once or twice in two days.
 *
 * A history agrees with the reference profile: its last purchase is exactly the profile's
 * `lastPurchaseTs` (a customer with none has no history), so recency and the dormant scene read
 * the same customer from events as from the profile. How much and how often a customer bought
 * comes from a value class drawn from the customer's own generator (`history/<index>`), so
 * turning histories on changes no other random choice of the world or of its days:
 *
 * | class   | share | purchases in the year | basket          | typical scores     |
 * |---------|-------|-----------------------|-----------------|--------------------|
 * | light   | 35 %  | 1                     | 10-70           | F1, M1: FM 1       |
 * | regular | 40 %  | 2-6                   | 40-350 a basket | F2-F4, M2-M4: FM 3 |
 * | heavy   | 25 %  | 9-18                  | 200-900         | F5, M5: FM 5       |
 *
 * Crossed with the profile's recency (a fifth new, a quarter lapsed 35-400 days, the rest recent;
 * `world.ts`), this reaches all eleven segments. Earlier purchases lie in the 300 days before the
 * last one, but not more than 360 days before the start, so that what a class bought stays within
 * the profile's 365-day horizon while the simulation runs. Purchases are till transactions at one
 * of the three stores nearest home (two thirds) or online checkouts on the customer's channel.
 */

import type { PosItem } from '../schemas/index.js';
import { productsIn, type Product } from './catalogue.js';
import type { SimRecord } from './life.js';
import { posTotal, roundCents } from './money.js';
import type { Rng } from './prng.js';
import type { SimCustomer, World } from './world.js';

const DAY_MS = 86_400_000;

/** How much a customer buys in a year. */
export type ValueClass = 'light' | 'regular' | 'heavy';

interface ClassShape {
  readonly purchases: readonly [number, number];
  readonly basket: readonly [number, number];
}

const CLASSES: Readonly<Record<ValueClass, ClassShape>> = {
  light: { purchases: [1, 1], basket: [10, 70] },
  regular: { purchases: [2, 4], basket: [30, 250] },
  heavy: { purchases: [9, 18], basket: [200, 900] },
};

/**
 * Till items from the customer's favourite categories (now and then another) adding up to about
 * `target`: products that keep the basket within a quarter over it are taken while it is below
 * four fifths of it; a category with none that fits is passed over. At least one item: the
 * cheapest product of the catalogue if nothing fitted.
 */
function basketNear(rng: Rng, world: World, c: SimCustomer, target: number): PosItem[] {
  const items: PosItem[] = [];
  let total = 0;
  for (let tries = 0; tries < 12 && total < target * 0.8; tries++) {
    const category = rng.chance(0.8) ? rng.pick(c.favouriteCategories) : rng.pick(world.catalogue.categories);
    const fitting = productsIn(world.catalogue, category).filter((p) => total + p.price <= target * 1.25);
    if (fitting.length === 0) continue;
    const p = rng.pick(fitting);
    items.push({ productId: p.productId, category: p.category, quantity: 1, unitPrice: p.price });
    total += p.price;
  }
  if (items.length === 0) {
    const p = [...world.catalogue.products].sort((a, b) => a.price - b.price || (a.productId < b.productId ? -1 : 1))[0] as Product;
    items.push({ productId: p.productId, category: p.category, quantity: 1, unitPrice: p.price });
  }
  return items;
}

/**
 * Value classes by how long ago the last purchase was: those slipping away after a month or two
 * are mostly light buyers (promising, or gone quiet), those gone for half a year or more are as
 * often the big spenders a retailer cannot lose.
 */
function classWeights(daysAgo: number): ReadonlyArray<readonly [ValueClass, number]> {
  if (daysAgo <= 30) return [['light', 30], ['regular', 45], ['heavy', 25]];
  if (daysAgo <= 90) return [['light', 65], ['regular', 20], ['heavy', 15]];
  if (daysAgo <= 180) return [['light', 40], ['regular', 35], ['heavy', 25]];
  return [['light', 35], ['regular', 30], ['heavy', 35]];
}

/**
 * The purchases of customer `c` before the world's start, in ts order, without eventIds (the merge
 * numbers them). `startMs` is the world's start (its first local midnight in the city's zone).
 */
export function purchaseHistory(world: World, c: SimCustomer, rng: Rng, startMs: number): SimRecord[] {
  const last = c.profile.lastPurchaseTs;
  if (last === null) return [];
  const valueClass = rng.weighted<ValueClass>(classWeights((startMs - last) / DAY_MS));
  const shape = CLASSES[valueClass];
  const n = rng.int(shape.purchases[0], shape.purchases[1]);
  const earliest = Math.max(last - 300 * DAY_MS, startMs - 360 * DAY_MS);
  const times = [last];
  for (let i = 1; i < n; i++) times.push(earliest >= last ? last : Math.round(earliest + rng.next() * (last - earliest)));
  times.sort((a, b) => a - b);
  const customerId = c.profile.customerId;
  return times.map((ts, i): SimRecord => {
    const target = rng.float(shape.basket[0], shape.basket[1]);
    const nearby = c.storesByHome.slice(0, 3);
    if (nearby.length > 0 && rng.chance(2 / 3)) {
      const items = basketNear(rng, world, c, target);
      return { topic: 'pos', value: { eventId: '', customerId, storeId: rng.pick(nearby), ts, items, total: posTotal(items) } };
    }
    const channel = c.channel;
    const sessionId = channel === 'web' && rng.chance(0.05) ? null : `${customerId}-history-s${i + 1}`;
    return {
      topic: 'clickstream',
      value: { eventId: '', customerId, sessionId, ts, type: 'checkout', productId: null, category: null, price: roundCents(target), quantity: null, channel },
    };
  });
}
