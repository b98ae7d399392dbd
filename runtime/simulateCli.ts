/**
 * Command line of the simulator:
 *
 *   scenestream simulate [--seed S] [--customers N] [--stores M] [--days D] [--start YYYY-MM-DD]
 *                         [--history on|off] [--respond on|off] [--effects SCENE=PP,...] [--config campaign.json]
 *                         [--out FILE.jsonl|-] [--dir DIR] [--kafka [--rate EV_PER_S] [--topics-prefix P]]
 *
 * The command's defaults are the product's: purchase histories on, customers responding to offers
 * with the default effects (`simulator/respond.ts`). The library's `simulate()` has both off unless
 * asked, so that recorded goldens keep their input.
 *
 * With no sink given, events go to stdout as JSON lines. Exit codes: 0 done, 2 bad arguments or
 * configuration, 1 anything else (e.g. Kafka unreachable).
 */

import { parseArgs } from 'node:util';
import { isScenestreamError, ssError } from '../schemas/errors.js';
import { simulate, type SimulateOptions } from '../simulator/simulate.js';
import { DEFAULT_RESPONSE_EFFECTS, resolveEffects, type ResponseEffects, type ResponsePlan } from '../simulator/respond.js';
import { readCampaignFile, staticCampaign } from '../pipelines/campaign.js';
import { SCENES, type Scene } from '../schemas/index.js';
import type { Kafka } from 'kafkajs';
import { loadServiceConfig, loadTopicsConfig } from './config.js';
import { prepareTopics } from './kafka/topics.js';
import { retailTopics } from './retailJob.js';

export const USAGE = `usage: simulator [options]
  --seed S             seed of every random choice (default scenestream)
  --customers N        number of customers (default 200)
  --stores M           number of stores (default 12)
  --days D             simulated days (default 2)
  --start YYYY-MM-DD   first simulated local date (default 2025-03-03, a Monday)
  --history on|off     each customer's purchases in the year before the start, so that profiles
                       spread over every RFM segment (default on)
  --respond on|off     customers respond to the offers the engine makes them (default on): the
                       simulator runs the retail pipelines over the city to learn who got an offer
  --effects S=PP,...   per scene, the conversion points an offer adds (default ${formatEffects(DEFAULT_RESPONSE_EFFECTS)})
  --config FILE        the campaign the job will run (holdout, caps, attribution window), for --respond
  --out FILE|-         events as JSON lines to FILE, or - for stdout (the default when no sink is given)
  --dir DIR            write DIR/events.jsonl, DIR/stores.json, DIR/profiles.jsonl
  --kafka              produce to Kafka (brokers from KAFKA_BROKERS, default 127.0.0.1:9092); the topics
                       are created first if missing, as "scenestream topics create" does (TOPICS_*)
  --rate R             Kafka only: target events per second, 0 for unpaced (default 1000)
  --topics-prefix P    Kafka only: prefix of the topics clickstream, pos, location (e.g. "sim.";
                       default TOPICS_PREFIX, as the job's)
  --help               this text`;

/** Effects as the command line writes them: `scene=points` pairs, comma-separated. */
export function formatEffects(effects: ResponseEffects): string {
  return SCENES.map((s) => `${s}=${Number((effects[s] * 100).toFixed(2))}`).join(',');
}

/**
 * `--effects cart_abandonment=8,commute=2.5`: conversion points per scene (0-100), scenes not
 * named keep their default. Throws SS_ERR_CONFIG naming the flag.
 */
export function parseEffects(text: string): ResponseEffects {
  const effects: Partial<Record<Scene, number>> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([a-z_]+)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (m === null) throw ssError('SS_ERR_CONFIG', `--effects must be scene=points pairs, comma-separated (e.g. cart_abandonment=8), got ${JSON.stringify(part)}`, { field: 'effects' });
    const scene = m[1] as string;
    if (!(SCENES as readonly string[]).includes(scene)) throw ssError('SS_ERR_CONFIG', `--effects: unknown scene ${scene} (one of ${SCENES.join(', ')})`, { field: 'effects' });
    const points = Number(m[2]);
    if (points > 100) throw ssError('SS_ERR_CONFIG', `--effects: ${scene} must be at most 100 points, got ${points}`, { field: 'effects' });
    effects[scene as Scene] = points / 100;
  }
  return resolveEffects(effects);
}

/** An `on|off` flag; `undefined` when absent. Throws SS_ERR_CONFIG. */
export function onOff(flag: string, text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  if (text !== 'on' && text !== 'off') throw ssError('SS_ERR_CONFIG', `--${flag} must be on or off, got ${JSON.stringify(text)}`, { field: flag });
  return text === 'on';
}

/** One line per scene: the effect asked for and the one realised among the sent decisions. */
export function formatResponses(plan: ResponsePlan): string {
  const rows = SCENES.map((s) => {
    const r = plan.scenes[s];
    return `  ${s.padEnd(21)} asked +${(100 * r.effect).toFixed(1)} pp, realised +${(100 * r.realised).toFixed(1)} pp (${r.responded} of ${r.sent} sent decisions converted by responses, ${r.organic} on their own)`;
  });
  return [`customers responded to offers with ${plan.responses.length} purchases:`, ...rows].join('\n');
}

function integer(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min) throw ssError('SS_ERR_CONFIG', `--${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}`, { field: flag });
  return Number(text);
}

/** Parse the command line into simulate() options; null means `--help`. Throws SS_ERR_CONFIG. */
export function parseCli(argv: readonly string[]): SimulateOptions | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: 'string' },
        customers: { type: 'string' },
        stores: { type: 'string' },
        days: { type: 'string' },
        start: { type: 'string' },
        history: { type: 'string' },
        respond: { type: 'string' },
        effects: { type: 'string' },
        config: { type: 'string' },
        out: { type: 'string' },
        dir: { type: 'string' },
        kafka: { type: 'boolean' },
        rate: { type: 'string' },
        'topics-prefix': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (cause) {
    throw ssError('SS_ERR_CONFIG', cause instanceof Error ? cause.message : String(cause), { cause });
  }
  if (values.help === true) return null;
  const rateText = values.rate;
  if (rateText !== undefined && !(/^\d+(\.\d+)?$/.test(rateText))) {
    throw ssError('SS_ERR_CONFIG', `--rate must be a number >= 0, got ${JSON.stringify(rateText)}`, { field: 'rate' });
  }
  if (values.kafka !== true && (rateText !== undefined || values['topics-prefix'] !== undefined)) {
    throw ssError('SS_ERR_CONFIG', '--rate and --topics-prefix apply to --kafka only', { field: rateText !== undefined ? 'rate' : 'topics-prefix' });
  }
  const opts: SimulateOptions = {};
  if (values.seed !== undefined) opts.seed = values.seed;
  const customers = integer('customers', values.customers, 1);
  if (customers !== undefined) opts.customers = customers;
  const stores = integer('stores', values.stores, 1);
  if (stores !== undefined) opts.stores = stores;
  const days = integer('days', values.days, 1);
  if (days !== undefined) opts.days = days;
  if (values.start !== undefined) opts.start = values.start;
  opts.history = onOff('history', values.history) ?? true;
  const respond = onOff('respond', values.respond) ?? true;
  if (!respond && (values.effects !== undefined || values.config !== undefined)) {
    throw ssError('SS_ERR_CONFIG', '--effects and --config apply to --respond on only', { field: values.effects !== undefined ? 'effects' : 'config' });
  }
  if (respond) {
    const effects = values.effects === undefined ? DEFAULT_RESPONSE_EFFECTS : parseEffects(values.effects);
    let campaign = staticCampaign();
    if (values.config !== undefined) {
      const c = readCampaignFile(values.config);
      if (!c.ok) throw c.error;
      campaign = staticCampaign(c.value);
    }
    opts.respond = { effects, campaign };
  }
  if (values.out !== undefined) opts.out = values.out;
  if (values.dir !== undefined) opts.dir = values.dir;
  if (values.kafka === true) {
    const topicsPrefix = values['topics-prefix'] ?? process.env['TOPICS_PREFIX'] ?? '';
    const topics = loadTopicsConfig();
    const { inputs, outputs, repartitions, changelogs } = retailTopics(topicsPrefix);
    const prepare = (kafka: Kafka) => prepareTopics(kafka, [...inputs, ...repartitions], outputs, topics, (_level, msg) => process.stderr.write(`simulator: ${msg}\n`), changelogs);
    opts.kafka = { brokers: loadServiceConfig().kafkaBrokers, rate: rateText === undefined ? 1000 : Number(rateText), topicsPrefix, prepare };
  }
  if (opts.out === undefined && opts.dir === undefined && opts.kafka === undefined) opts.out = '-';
  return opts;
}

export async function main(argv: readonly string[]): Promise<number> {
  let opts: SimulateOptions | null;
  try {
    opts = parseCli(argv);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
    return 2;
  }
  if (opts === null) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const result = await simulate(opts);
    for (const [path, n] of Object.entries(result.written)) {
      if (path !== '-') process.stderr.write(`simulator: wrote ${n} events to ${path}\n`);
    }
    if (result.responses !== null) process.stderr.write(`simulator: ${formatResponses(result.responses)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`simulator: ${e instanceof Error ? e.message : String(e)}\n`);
    return isScenestreamError(e, 'SS_ERR_CONFIG') ? 2 : 1;
  }
}
