import { describe, expect, it } from 'vitest';
import { generateEvents, worldStartMs } from '../simulator/life.js';
import { respondingEvents } from '../simulator/respond.js';
import { generateWorld } from '../simulator/world.js';
import { runEmbedded } from './embedded.js';

describe('runEmbedded', () => {
  const world = generateWorld({ seed: 'embedded', customers: 40 });

  it('runs the city as the simulator makes it: histories first, then the days with responses merged in', { timeout: 60_000 }, async () => {
    const expected = [...respondingEvents(world, { days: 1, history: true }, {}).events()];
    const result = await runEmbedded({ world, days: 1, history: true, respond: {} });
    expect(result.responses).not.toBeNull();
    expect(Object.values(result.events).reduce((a, b) => a + b, 0)).toBe(expected.length);
    expect(expected.filter((r) => r.value.ts < worldStartMs(world)).length).toBeGreaterThan(0);
    expect(expected.filter((r) => r.value.eventId.includes('-r')).length).toBe(result.responses!.responses.length);
  });

  it('without them, runs the plain life and reports no responses', { timeout: 60_000 }, async () => {
    const result = await runEmbedded({ world, days: 1 });
    expect(result.responses).toBeNull();
    expect(Object.values(result.events).reduce((a, b) => a + b, 0)).toBe([...generateEvents(world, { days: 1 })].length);
  });
});
