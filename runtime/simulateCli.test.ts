import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromJson } from '../schemas/index.js';
import { loadServiceConfig } from './config.js';
import { DEFAULT_RESPONSE_EFFECTS } from '../simulator/respond.js';
import { formatEffects, main, parseCli, parseEffects } from './simulateCli.js';

/** What the command adds to every simulation by default: histories, and customers who respond. */
const PRODUCT_DEFAULTS = { history: true, respond: { effects: DEFAULT_RESPONSE_EFFECTS, campaign: expect.anything() } };

describe('parseCli', () => {
  it('maps the flags onto simulate() options', () => {
    expect(parseCli(['--seed', '7', '--customers', '50', '--stores', '4', '--days', '3', '--start', '2025-06-02', '--dir', 'out'])).toEqual({
      seed: '7',
      customers: 50,
      stores: 4,
      days: 3,
      start: '2025-06-02',
      dir: 'out',
      ...PRODUCT_DEFAULTS,
    });
    const brokers = loadServiceConfig().kafkaBrokers;
    expect(parseCli(['--kafka', '--rate', '250', '--topics-prefix', 'sim.'])).toEqual({ kafka: { brokers, rate: 250, topicsPrefix: 'sim.', prepare: expect.any(Function) }, ...PRODUCT_DEFAULTS });
    expect(parseCli(['--kafka'])).toEqual({ kafka: { brokers, rate: 1000, topicsPrefix: '', prepare: expect.any(Function) }, ...PRODUCT_DEFAULTS });
  });

  it('writes to stdout when no sink is given, and --help is null', () => {
    expect(parseCli([])).toEqual({ out: '-', ...PRODUCT_DEFAULTS });
    expect(parseCli(['--help'])).toBeNull();
  });

  it('turns histories and responses off, and takes effects in points per scene', () => {
    expect(parseCli(['--history', 'off', '--respond', 'off'])).toEqual({ out: '-', history: false });
    const opts = parseCli(['--effects', 'cart_abandonment=12.5,commute=0']);
    expect(opts?.respond?.effects).toEqual({ ...DEFAULT_RESPONSE_EFFECTS, cart_abandonment: 0.125, commute: 0 });
    expect(parseEffects(formatEffects(DEFAULT_RESPONSE_EFFECTS))).toEqual(DEFAULT_RESPONSE_EFFECTS);
  });

  it('rejects bad flags with SS_ERR_CONFIG', () => {
    const bad = [['--history', 'yes'], ['--effects', 'cart=5'], ['--effects', 'commute=101'], ['--effects', 'commute'], ['--respond', 'off', '--effects', 'commute=1'], ['--config', '/nonexistent/campaign.json']];
    for (const argv of [['--customers', 'ten'], ['--days', '0'], ['--rate', '5'], ['--kafka', '--rate', 'fast'], ['--what'], ['stray'], ...bad]) {
      expect(() => parseCli(argv)).toThrow(/SS_ERR_CONFIG/);
    }
  });
});

describe('main --dir', () => {
  it('writes events.jsonl, stores.json and profiles.jsonl that read back as valid records', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scenestream-sim-'));
    try {
      expect(await main(['--customers', '10', '--stores', '3', '--days', '1', '--dir', dir])).toBe(0);
      const stores = JSON.parse(await readFile(join(dir, 'stores.json'), 'utf8')) as unknown[];
      expect(stores).toHaveLength(3);
      for (const s of stores) expect(fromJson('Store', s).ok).toBe(true);
      const profiles = (await readFile(join(dir, 'profiles.jsonl'), 'utf8')).trimEnd().split('\n');
      expect(profiles).toHaveLength(10);
      for (const p of profiles) expect(fromJson('CustomerProfile', p).ok).toBe(true);
      const events = (await readFile(join(dir, 'events.jsonl'), 'utf8')).trimEnd().split('\n');
      expect(events.length).toBeGreaterThan(100);
      const names = { clickstream: 'ClickEvent', pos: 'PosEvent', location: 'LocationEvent' } as const;
      for (const line of events) {
        const { topic, value } = JSON.parse(line) as { topic: keyof typeof names; value: unknown };
        expect(fromJson(names[topic], value).ok).toBe(true);
      }
      expect(await main(['--days', 'x'])).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
