import { describe, expect, it } from 'vitest';
import { isScenestreamError } from '../schemas/errors.js';
import { pipeline } from '../stream/stream.js';
import { validate, type BoughtTogetherItem, type ClickEvent, type PosEvent, type RecommendationItem, type RecommendationUpdate, type Trigger } from '../schemas/index.js';
import { rewriteStateTable, TestDriver } from '../testkit/driver.js';
import { buildRecommendations, RECOMMENDATION_DEFAULTS, suggestionsOf, TopN, type CustomerState, type Interest, type RecommendationParams } from './recommendations.js';
import { retailSources } from './sources.js';

let n = 0;
const click = (customerId: string, type: ClickEvent['type'], ts: number, productId: string | null = null): ClickEvent => ({
  eventId: `c${++n}`,
  customerId,
  sessionId: null,
  ts,
  type,
  productId,
  category: null,
  price: null,
  quantity: null,
  channel: 'app',
});
/** A till transaction; `-P` is a return line of P. */
const till = (customerId: string | null, ts: number, lines: string[]): PosEvent => {
  const items = lines.map((l) => ({ productId: l.replace(/^-/, ''), category: null, quantity: l.startsWith('-') ? -1 : 1, unitPrice: 3 }));
  return { eventId: `t${++n}`, customerId, storeId: 's1', ts, items, total: items.reduce((s, i) => s + i.quantity * 3, 0) };
};
const trigger = (customerId: string, ts: number, storeId: string | null, scene: Trigger['scene'] = 'store_proximity'): Trigger => ({
  scene,
  customerId,
  ts,
  storeId,
  productIds: [],
  category: null,
  eventId: `g${++n}`,
});

function build(params: RecommendationParams = RECOMMENDATION_DEFAULTS) {
  const p = pipeline('recs');
  const src = retailSources(p, { outOfOrdernessMs: 0 });
  const triggers = p.keyedSource<Trigger>('scene_triggers', { timestamp: (t) => t.ts, key: (t) => t.customerId, outOfOrdernessMs: 0 });
  const r = buildRecommendations(src, triggers, params);
  r.updates.to('recommendations');
  return { d: TestDriver.of(p), index: r.index };
}

/** The updates, each validated against the contract. */
function updates(d: TestDriver, customerId?: string): RecommendationUpdate[] {
  const all = d.values<RecommendationUpdate>('recommendations');
  for (const u of all) {
    const v = validate('RecommendationUpdate', u);
    expect(v.ok, v.ok ? '' : v.error.message).toBe(true);
  }
  return customerId === undefined ? all : all.filter((u) => u.customerId === customerId);
}
const brief = (u: RecommendationUpdate) => [u.storeId, u.ts, u.items.map((i) => `${i.productId} ${i.score} ${i.reason.replace('bought together with ', '<')}`)];

/** A~B 3, A~C 1, B~D 2: from anonymous shoppers (their baskets count). */
function seedTable(d: TestDriver): void {
  for (let i = 0; i < 3; i++) d.push('pos', till(null, 100 + i, ['A', 'B']));
  d.push('pos', till(null, 110, ['A', 'C']));
  d.push('pos', till(null, 120, ['B', 'D']));
  d.push('pos', till(null, 130, ['B', 'D']));
}

/** A random day of shoppers over 25 products, each topic in ts order. */
function randomInput(seed0: number): Array<[string, unknown]> {
  const events: Array<[string, unknown]> = [];
  let seed = seed0;
  const rnd = (k: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return Math.floor(seed / 65_536) % k;
  };
  const pid = () => `p${rnd(25)}`;
  for (let t = 1; t <= 600; t++) {
    const ts = t * 60_000 + rnd(1000);
    const who = `c${rnd(12)}`;
    const r = rnd(10);
    if (r < 3) events.push(['pos', till(rnd(2) === 0 ? null : who, ts, Array.from({ length: 1 + rnd(5) }, () => (rnd(6) === 0 ? '-' : '') + pid()))]);
    else if (r < 6) events.push(['clickstream', click(who, 'product_view', ts, pid())]);
    else if (r < 8) events.push(['clickstream', click(who, 'add_to_cart', ts, pid())]);
    else if (r < 9) events.push(['clickstream', click(who, 'checkout', ts)]);
    else events.push(['scene_triggers', trigger(who, ts, `shop-${rnd(3)}`)]);
  }
  return events;
}

function runAll(events: ReadonlyArray<[string, unknown]>): RecommendationUpdate[] {
  const { d } = build();
  for (const [source, e] of events) d.push(source, e);
  d.end();
  return updates(d);
}

describe('recommendations (SCENES §5)', () => {
  it('suggests what was bought together with what the customer viewed and bought, excluding what they bought; updates only on change', () => {
    const { d } = build();
    seedTable(d);
    d.push('clickstream', click('u', 'product_view', 1000, 'A'));
    d.push('clickstream', click('u', 'product_view', 2000, 'A')); // same interest: unchanged
    d.push('clickstream', click('u', 'product_view', 3000, 'Z')); // no pairs; A decays by 1 s of 7 days: rounds the same
    d.push('pos', till('u', 4000, ['B', '-C'])); // buys B; the return of C is not a purchase of C
    d.end();
    expect(updates(d, 'u').map(brief)).toEqual([
      [null, 1000, ['B 3 <A', 'C 1 <A']],
      [null, 4000, ['A 9 <B', 'D 6 <B', 'C 1 <A']],
    ]);
  });

  it('updates a store screen on a store_proximity trigger with the suggestions current then; other scenes do not', () => {
    const { d } = build();
    seedTable(d);
    d.push('clickstream', click('u', 'product_view', 1000, 'A'));
    d.push('scene_triggers', trigger('u', 5000, 'shop-1'));
    d.push('scene_triggers', trigger('u', 5000, null, 'cart_abandonment'));
    d.push('scene_triggers', trigger('u', 6000, 'shop-2'));
    d.end();
    expect(updates(d, 'u').map(brief)).toEqual([
      [null, 1000, ['B 3 <A', 'C 1 <A']],
      ['shop-1', 5000, ['B 3 <A', 'C 1 <A']],
      ['shop-2', 6000, ['B 3 <A', 'C 1 <A']],
    ]);
    expect(d.records<RecommendationUpdate>('recommendations').map((r) => r.key)).toEqual(['u', 'u', 'u']);
  });

  it('lets a trigger see the events of its own ts, whichever topic delivered first; an empty screen update when there is nothing to suggest', () => {
    const { d } = build();
    seedTable(d);
    d.push('scene_triggers', trigger('v', 7000, 'shop-1')); // arrives first...
    d.push('clickstream', click('v', 'add_to_cart', 7000, 'B')); // ...but the click at the same ts is applied before it
    d.push('scene_triggers', trigger('w', 7000, 'shop-1'));
    d.end();
    expect(updates(d, 'v').map(brief)).toEqual([
      [null, 7000, ['A 6 <B', 'D 4 <B']],
      ['shop-1', 7000, ['A 6 <B', 'D 4 <B']],
    ]);
    expect(updates(d, 'w').map(brief)).toEqual([['shop-1', 7000, []]]);
  });

  it('shows a change of the table made by other shoppers at the customer’s next event', () => {
    const { d } = build();
    seedTable(d);
    d.push('clickstream', click('u', 'product_view', 1000, 'A'));
    for (let i = 0; i < 4; i++) d.push('pos', till(null, 1100 + i, ['A', 'E']));
    d.push('clickstream', click('u', 'product_view', 2000, 'A'));
    d.end();
    expect(updates(d, 'u').map(brief)).toEqual([
      [null, 1000, ['B 3 <A', 'C 1 <A']],
      [null, 2000, ['E 4 <A', 'B 3 <A', 'C 1 <A']],
    ]);
  });

  it('weighs carted over viewed, decays by age relative to the latest interest, cuts at 5 with ties by productId', () => {
    const { d } = build();
    for (const y of ['P5', 'P4', 'P3', 'P2', 'P1', 'P0']) d.push('pos', till(null, 10, ['X', y])); // X~P0..P5 at 1 each
    d.push('pos', till(null, 11, ['Y', 'Q']));
    const week = RECOMMENDATION_DEFAULTS.halfLifeMs;
    d.push('clickstream', click('u', 'product_view', 1000, 'X'));
    d.push('clickstream', click('u', 'add_to_cart', 1000 + week, 'Y')); // X is now one half-life old: weight 0.5; Y carted: 2
    d.end();
    expect(updates(d, 'u').map(brief)).toEqual([
      [null, 1000, ['P0 1 <X', 'P1 1 <X', 'P2 1 <X', 'P3 1 <X', 'P4 1 <X']],
      [null, 1000 + week, ['Q 2 <Y', 'P0 0.5 <X', 'P1 0.5 <X', 'P2 0.5 <X', 'P3 0.5 <X']],
    ]);
  });

  it('buys the cart on a checkout without productId; a product removed from the cart is not bought', () => {
    const { d } = build();
    d.push('pos', till(null, 10, ['K', 'L']));
    d.push('pos', till(null, 11, ['K', 'L']));
    d.push('pos', till(null, 12, ['K', 'N']));
    d.push('pos', till(null, 13, ['L', 'M']));
    d.push('clickstream', click('x', 'add_to_cart', 1000, 'K'));
    d.push('clickstream', click('x', 'add_to_cart', 1000, 'L'));
    d.push('clickstream', click('x', 'remove_from_cart', 1000, 'L'));
    d.push('clickstream', click('x', 'checkout', 2000));
    d.end();
    // At 1000 both carted (weight 2): K -> L 4, N 2; L -> K 4, M 2. At 2000 K is bought (3) and excluded.
    expect(updates(d, 'x').map(brief)).toEqual([
      [null, 1000, ['K 4 <L', 'L 4 <K', 'M 2 <L', 'N 2 <K']],
      [null, 2000, ['L 6 <K', 'N 3 <K', 'M 2 <L']],
    ]);
  });

  it('keeps its state and the table across a snapshot: an unchanged list is not re-emitted after a restore', () => {
    const a = build();
    seedTable(a.d);
    a.d.push('clickstream', click('u', 'product_view', 1000, 'A'));
    a.d.push('clickstream', click('u', 'page_view', 1500)); // moves the watermark past 1000
    a.d.watermark('pos', 1500).watermark('scene_triggers', 1500);
    expect(updates(a.d, 'u')).toHaveLength(1);
    const snap = JSON.parse(JSON.stringify(a.d.snapshot())) as ReturnType<TestDriver['snapshot']>;
    const b = build();
    b.d.restore(snap);
    b.d.push('clickstream', click('u', 'product_view', 2000, 'A'));
    b.d.push('pos', till('u', 3000, ['B']));
    b.d.end();
    expect(updates(b.d, 'u').map(brief)).toEqual([[null, 3000, ['A 9 <B', 'D 6 <B', 'C 1 <A']]]);
  });

  it('restores a checkpoint of the object form an older version wrote (one object per product) and goes on as from its own', () => {
    const objectForm = (v: unknown) => {
      const c = v as CustomerState;
      const h: Record<string, Interest> = {};
      c.ids.forEach((p, i) => {
        const [vt, ct, bt, cart] = c.at.slice(i * 4, i * 4 + 4) as [number, number, number, number];
        h[p] = { ...(vt > -Infinity ? { v: vt } : {}), ...(ct > -Infinity ? { c: ct } : {}), ...(bt > -Infinity ? { b: bt } : {}), ...(cart === 1 ? { cart: true as const } : {}) };
      });
      const bought = Object.fromEntries(c.boughtIds.map((p, i) => [p, c.boughtAt[i]!]));
      const last = c.lastIds.map((productId, i) => ({ productId, score: c.lastScores[i]!, reason: `bought together with ${c.lastFrom[i]!}` }));
      return { h, bought, last };
    };
    const run = (old: boolean) => {
      const a = build();
      seedTable(a.d);
      a.d.push('clickstream', click('u', 'add_to_cart', 1000, 'A'));
      a.d.push('pos', till('u', 1200, ['C']));
      a.d.push('clickstream', click('u', 'page_view', 1500));
      a.d.watermark('pos', 1500).watermark('scene_triggers', 1500);
      const snap = JSON.parse(JSON.stringify(a.d.snapshot())) as ReturnType<TestDriver['snapshot']>;
      const b = build();
      b.d.restore(old ? rewriteStateTable(snap, 'recommend/customers', objectForm) : snap);
      b.d.push('clickstream', click('u', 'product_view', 2000, 'A'));
      b.d.push('clickstream', click('u', 'checkout', 2500));
      b.d.push('pos', till('u', 3000, ['B']));
      b.d.push('scene_triggers', trigger('u', 3500, 'shop-1'));
      b.d.end();
      return updates(b.d, 'u').map(brief);
    };
    const fromOwn = run(false);
    expect(fromOwn.length).toBeGreaterThan(0);
    expect(run(true)).toEqual(fromOwn);
  });

  it('reads the table as of each event: the same updates whether the pos topic arrives with the others or long before them', () => {
    const events = randomInput(11);
    const interleaved = runAll(events);
    const posFirst = runAll([...events.filter(([s]) => s === 'pos'), ...events.filter(([s]) => s !== 'pos')]);
    const perCustomer = (us: RecommendationUpdate[]) => us.map((u) => JSON.stringify(u)).sort();
    expect(interleaved.length).toBeGreaterThan(50);
    expect(perCustomer(posFirst)).toEqual(perCustomer(interleaved));
  });

  it('produces the same bytes on two runs of the same input', () => {
    const events = randomInput(7);
    const first = runAll(events)
      .map((u) => JSON.stringify(u))
      .join('\n');
    expect(first.split('\n').length).toBeGreaterThan(50);
    expect(first).toMatch(/"storeId":"shop-\d"/);
    expect(
      runAll(events)
        .map((u) => JSON.stringify(u))
        .join('\n'),
    ).toBe(first);
  });

  it('rejects bad parameters at build time, naming the field', () => {
    let caught: unknown;
    try {
      build({ ...RECOMMENDATION_DEFAULTS, topN: 0 });
    } catch (e) {
      caught = e;
    }
    expect(isScenestreamError(caught, 'SS_ERR_CONFIG')).toBe(true);
    expect(String(caught)).toMatch(/\[step recommend\] recommendations\.topN is 0/);
  });
});

/**
 * The definition of {@link suggestionsOf} written the plain way (score every candidate, build every
 * reason, sort them all, cut): the oracle the selection must match byte for byte.
 */
function suggestionsBySorting(
  history: Readonly<Record<string, Interest>>,
  bought: Readonly<Record<string, number>>,
  table: (productId: string) => readonly BoughtTogetherItem[],
  params: RecommendationParams,
): RecommendationItem[] {
  const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const xs = Object.keys(history).sort(byCodeUnits);
  if (xs.length === 0) return [];
  const latest = (i: Interest) => Math.max(i.v ?? -Infinity, i.c ?? -Infinity, i.b ?? -Infinity);
  const tRef = Math.max(...xs.map((x) => latest(history[x]!)));
  const decay = (t: number | undefined) => (t === undefined ? 0 : Math.pow(2, -(tRef - t) / params.halfLifeMs));
  const w = params.weights;
  const scores = new Map<string, { score: number; from: string; best: number }>();
  for (const x of xs) {
    const i = history[x]!;
    const s = Math.max(w.viewed * decay(i.v), w.carted * decay(i.c), w.bought * decay(i.b));
    if (!(s > 0)) continue;
    for (const { productId: y, count } of table(x)) {
      if (Object.hasOwn(bought, y)) continue;
      const add = s * count;
      const cur = scores.get(y);
      if (cur === undefined) scores.set(y, { score: add, from: x, best: add });
      else {
        cur.score += add;
        if (add > cur.best) Object.assign(cur, { best: add, from: x });
      }
    }
  }
  const f = 10 ** params.decimals;
  const items = [...scores]
    .map(([productId, { score, from }]) => ({ productId, score: Math.round(score * f) / f, reason: `bought together with ${from}` }))
    .filter((i) => i.score > 0);
  items.sort((a, b) => b.score - a.score || byCodeUnits(a.productId, b.productId));
  return items.slice(0, params.topN);
}

describe('suggestionsOf: the top N of the candidates', () => {
  const P = RECOMMENDATION_DEFAULTS;
  const tableOf =
    (rows: Record<string, Record<string, number>>) =>
    (x: string): BoughtTogetherItem[] =>
      Object.entries(rows[x] ?? {}).map(([productId, count]) => ({ productId, count }));
  const short = (items: readonly RecommendationItem[]) => items.map((i) => `${i.productId} ${i.score} ${i.reason.replace('bought together with ', '<')}`);

  it('breaks ties in score by productId (UTF-16 code units), at the cut too', () => {
    // 7 candidates at the same score, offered in an order that is neither sorted nor reversed.
    const table = tableOf({ X: { b: 1, Z: 1, a: 1, B: 1, '\u00e9': 1, A: 1, z: 1 } });
    const got = suggestionsOf({ X: { v: 0 } }, {}, table, P);
    expect(short(got)).toEqual(['A 1 <X', 'B 1 <X', 'Z 1 <X', 'a 1 <X', 'b 1 <X']);
    expect(got).toEqual(suggestionsBySorting({ X: { v: 0 } }, {}, table, P));
  });

  it('ties by the rounded score: scores that differ below `decimals` tie and go by productId', () => {
    const table = tableOf({ X: { a: 1 }, Y: { b: 1 } });
    // X was viewed 10 s before Y: a scores 2^(-10 s / 7 days) = 0.99998854, b exactly 1.
    const history = { X: { v: 0 }, Y: { v: 10_000 } };
    expect(short(suggestionsOf(history, {}, table, P))).toEqual(['a 1 <X', 'b 1 <Y']); // 4 decimals: a tie, a < b
    expect(short(suggestionsOf(history, {}, table, { ...P, decimals: 10 }))).toEqual(['b 1 <Y', 'a 0.9999885393 <X']);
  });

  it('returns every candidate, ranked, when there are fewer than N; none when nothing scores above 0', () => {
    const table = tableOf({ X: { C: 1, B: 3 }, Y: { D: 2 } });
    expect(short(suggestionsOf({ X: { v: 0 }, Y: { c: 0 } }, {}, table, P))).toEqual(['D 4 <Y', 'B 3 <X', 'C 1 <X']);
    expect(suggestionsOf({}, {}, table, P)).toEqual([]);
    expect(suggestionsOf({ Q: { v: 0 } }, {}, table, P)).toEqual([]); // Q has no pairs
    expect(suggestionsOf({ X: { v: 0 } }, {}, table, { ...P, weights: { ...P.weights, viewed: 0 } })).toEqual([]);
    expect(suggestionsOf({ X: { v: 0 } }, { B: 0, C: 0 }, table, P)).toEqual([]); // all bought
    expect(short(suggestionsOf({ X: { v: 0 } }, {}, table, { ...P, topN: 1 }))).toEqual(['B 3 <X']);
  });

  it('excludes only what the customer bought: a productId named like an Object.prototype member is suggested', () => {
    const table = tableOf({ X: { constructor: 2, toString: 1, B: 1 } });
    expect(short(suggestionsOf({ X: { v: 0 } }, { B: 0 }, table, P))).toEqual(['constructor 2 <X', 'toString 1 <X']);
  });

  it('moves a candidate into and out of the top N as the history, the table and the purchases change', () => {
    const rows: Record<string, Record<string, number>> = { X: { A: 5, B: 4, C: 3, D: 2, E: 1 }, Y: { F: 1 } };
    const table = tableOf(rows);
    const h: Record<string, Interest> = { X: { v: 0 } };
    const run = (bought: Record<string, number> = {}) => {
      const got = suggestionsOf(h, bought, table, P);
      expect(got).toEqual(suggestionsBySorting(h, bought, table, P));
      return short(got);
    };
    expect(run()).toEqual(['A 5 <X', 'B 4 <X', 'C 3 <X', 'D 2 <X', 'E 1 <X']);
    h.Y = { v: 0 }; // F ties E at 1 and loses the tie: stays out
    expect(run()).toEqual(['A 5 <X', 'B 4 <X', 'C 3 <X', 'D 2 <X', 'E 1 <X']);
    h.Y = { c: 0 }; // carted: F at 2 ties D, wins over E, enters; E drops out
    expect(run()).toEqual(['A 5 <X', 'B 4 <X', 'C 3 <X', 'D 2 <X', 'F 2 <Y']);
    rows.Y = { F: 3, A: 1 }; // the table moves F up past D; A gets a second source, X still adds most
    expect(run()).toEqual(['A 7 <X', 'F 6 <Y', 'B 4 <X', 'C 3 <X', 'D 2 <X']);
    expect(run({ A: 0 })).toEqual(['F 6 <Y', 'B 4 <X', 'C 3 <X', 'D 2 <X', 'E 1 <X']); // A bought: out, E back in
    rows.Y = { A: 10 }; // the reason of A changes to Y; F leaves the table
    expect(run()).toEqual(['A 25 <Y', 'B 4 <X', 'C 3 <X', 'D 2 <X', 'E 1 <X']);
    delete h.X; // X leaves the history: only Y's list is left, fewer than N
    expect(run()).toEqual(['A 20 <Y']);
  });

  it('matches sorting every candidate, byte for byte, on random histories, tables and parameters', () => {
    let seed = 12_345;
    const rnd = (k: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return Math.floor(seed / 65_536) % k;
    };
    const pid = () => `p${rnd(40)}`;
    let cut = 0; // rounds with more candidates than topN
    let tied = 0; // rounds with equal scores in the output
    for (let round = 0; round < 300; round++) {
      const rows: Record<string, Record<string, number>> = {};
      for (let x = 0; x < 40; x++) {
        const row: Record<string, number> = {};
        for (let k = rnd(11); k > 0; k--) row[pid()] = 1 + rnd(4);
        rows[`p${x}`] = row;
      }
      const history: Record<string, Interest> = {};
      for (let k = rnd(21); k > 0; k--) {
        const i: Interest = {};
        if (rnd(2) === 0) i.v = rnd(20) * 86_400_000 + rnd(1000);
        if (rnd(3) === 0) i.c = rnd(20) * 86_400_000;
        if (rnd(4) === 0) i.b = rnd(20) * 86_400_000;
        if (i.v === undefined && i.c === undefined && i.b === undefined) i.v = 0;
        history[pid()] = i;
      }
      const bought: Record<string, number> = {};
      for (let k = rnd(6); k > 0; k--) bought[pid()] = 0;
      const params: RecommendationParams = { ...P, topN: 1 + rnd(12), decimals: rnd(4), halfLifeMs: (1 + rnd(10)) * 86_400_000 };
      const table = tableOf(rows);
      const want = suggestionsBySorting(history, bought, table, params);
      expect(JSON.stringify(suggestionsOf(history, bought, table, params))).toBe(JSON.stringify(want));
      if (suggestionsBySorting(history, bought, table, { ...params, topN: 1000 }).length > params.topN) cut++;
      if (want.some((i, k) => k > 0 && i.score === want[k - 1]!.score)) tied++;
    }
    expect(cut).toBeGreaterThan(100);
    expect(tied).toBeGreaterThan(50);
  });
});

describe('TopN: the n best of the items offered', () => {
  const byScore = (a: { id: string; score: number }, b: { id: string; score: number }) => b.score - a.score;
  const item = (id: string, score: number) => ({ id, score });
  const ids = (xs: ReadonlyArray<{ id: string }>) => xs.map((x) => x.id);

  it('keeps every item, ranked, when fewer than n are offered; none when n is 0', () => {
    const top = new TopN(5, byScore);
    expect(ids(top.sorted())).toEqual([]);
    for (const [id, score] of [['a', 1], ['b', 3], ['c', 2]] as const) expect(top.offer(item(id, score))).toBe(true);
    expect(top.size).toBe(3);
    expect(ids(top.sorted())).toEqual(['b', 'c', 'a']);
    const none = new TopN(0, byScore);
    expect(none.offer(item('a', 1))).toBe(false);
    expect(none.sorted()).toEqual([]);
  });

  it('ranks equal items in the order offered: at the cut, an equal item offered later stays out', () => {
    const top = new TopN(3, byScore);
    for (const [id, score] of [['a', 1], ['b', 2], ['c', 1], ['d', 2]] as const) top.offer(item(id, score));
    expect(ids(top.sorted())).toEqual(['b', 'd', 'a']);
    expect(top.offer(item('e', 1))).toBe(false); // ties with a, offered later
    expect(top.offer(item('f', 2))).toBe(true); // beats a: a drops out
    expect(ids(top.sorted())).toEqual(['b', 'd', 'f']);
    expect(top.offer(item('g', 2))).toBe(false);
  });

  it('lets an item in and out as better ones arrive; reads NaN from compare as equal', () => {
    const top = new TopN(2, byScore);
    expect(top.offer(item('a', 5))).toBe(true);
    expect(top.offer(item('b', 1))).toBe(true);
    expect(top.offer(item('c', 3))).toBe(true); // in, b out
    expect(ids(top.sorted())).toEqual(['a', 'c']);
    expect(top.offer(item('d', 0))).toBe(false);
    expect(top.offer(item('e', 9))).toBe(true); // in, c out
    expect(ids(top.sorted())).toEqual(['e', 'a']);
    expect(top.offer(item('n', NaN))).toBe(false); // equal to the worst kept, offered later
    expect(ids(top.sorted())).toEqual(['e', 'a']);
  });

  it('gives what a stable sort of every item, cut at n, gives, for any n and many ties', () => {
    let seed = 99;
    const rnd = (k: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return Math.floor(seed / 65_536) % k;
    };
    for (let round = 0; round < 500; round++) {
      const xs = Array.from({ length: rnd(40) }, (_, i) => item(`i${i}`, rnd(8)));
      const n = rnd(12);
      const top = new TopN(n, byScore);
      for (const x of xs) top.offer(x);
      expect(ids(top.sorted())).toEqual(ids([...xs].sort(byScore).slice(0, n)));
      expect(top.size).toBe(Math.min(n, xs.length));
    }
  });
});
