import { describe, expect, it } from 'vitest';
import { BoughtTogetherTable } from '../pipelines/boughtTogetherTable.js';
import { buildServer } from './http/server.js';
import { planTopics, DEFAULT_TOPICS_CONFIG } from './kafka/topics.js';
import { Metrics } from './metrics.js';
import { boughtTogetherRoutes } from './boughtTogetherView.js';
import { retailTopics } from './retailJob.js';

describe('GET /bought-together', () => {
  it('serves the whole table and one product (an unknown one: no list, ts null)', async () => {
    const table = new BoughtTogetherTable();
    const app = await buildServer({ metrics: new Metrics({ processMetrics: false }), json: boughtTogetherRoutes(table) });
    expect((await app.inject({ method: 'GET', url: '/bought-together' })).json()).toEqual({ products: 0, ts: null, table: [] });
    table.apply({ productId: 'a b', ts: 5, items: [{ productId: 'c', count: 2 }] });
    table.apply({ productId: 'c', ts: 7, items: [{ productId: 'a b', count: 2 }] });
    const all = await app.inject({ method: 'GET', url: '/bought-together' });
    expect(all.statusCode).toBe(200);
    expect(all.headers['cache-control']).toBe('no-store');
    expect(all.json()).toEqual({
      products: 2,
      ts: 7,
      table: [
        { productId: 'a b', items: [{ productId: 'c', count: 2 }] },
        { productId: 'c', items: [{ productId: 'a b', count: 2 }] },
      ],
    });
    expect((await app.inject({ method: 'GET', url: '/bought-together/a%20b' })).json()).toEqual({ productId: 'a b', ts: 5, items: [{ productId: 'c', count: 2 }] });
    expect((await app.inject({ method: 'GET', url: '/bought-together/zzz' })).json()).toEqual({ productId: 'zzz', ts: null, items: [] });
    await app.close();
  });
});

describe('the global bought-together topics', () => {
  it('the repartition topic is an input (co-partitioned, kept forever, with a dlq); the changelog is compacted', () => {
    const t = retailTopics('x.');
    expect(t.repartitions).toEqual(['x.retail-basket-members']);
    expect(t.changelogs).toEqual(['x.retail-bought-together']);
    const plan = planTopics([...t.inputs, ...t.repartitions], t.outputs, { ...DEFAULT_TOPICS_CONFIG, partitions: 4 }, 6, t.changelogs);
    const of = (topic: string) => plan.find((s) => s.topic === topic);
    expect(of('x.retail-basket-members')).toMatchObject({ role: 'input', partitions: 6, retentionMs: -1 });
    expect(of('x.retail-basket-members.dlq')).toMatchObject({ role: 'dead-letter' });
    expect(of('x.retail-bought-together')).toMatchObject({ role: 'changelog', partitions: 6, retentionMs: -1 });
    expect(plan.filter((s) => s.topic === 'x.retail-bought-together')).toHaveLength(1);
  });
});
