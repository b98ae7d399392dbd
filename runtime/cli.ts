/**
 * The `scenestream` command.
 *
 *   scenestream run        the main job; embedded by default (no Kafka, no Redis), or on Kafka and
 *                          Redis with SCENESTREAM_MODE=kafka
 *   scenestream replay     the retail pipelines over a JSONL file, outputs to a directory
 *   scenestream simulate   the event simulator
 *   scenestream datasets   the shared public datasets as replay input
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openCampaign, staticCampaign, type CampaignHandle, type CampaignSource } from '../pipelines/campaign.js';
import { DEFAULT_PARAMS } from '../pipelines/params.js';
import type { SceneSummary } from '../pipelines/attribution.js';
import { MEASURED_SEGMENTS, type MeasuredSummary, type MeasureReport } from '../pipelines/measurement.js';
import { RETAIL_SINKS } from '../pipelines/retail.js';
import { SCENES, type Offer, type RecommendationUpdate, type Trigger } from '../schemas/index.js';
import { formatEffects, formatResponses, main as simulatorMain, onOff, parseEffects } from './simulateCli.js';
import { DEFAULT_RESPONSE_EFFECTS, type ResponseEffects } from '../simulator/respond.js';
import { generateWorld } from '../simulator/world.js';
import { catalogueProducts } from '../simulator/catalogue.js';
import { convertDataset, DATASET_NAMES } from '../simulator/datasets/convert.js';
import { rejectedTotal } from '../simulator/datasets/report.js';
import { isValidTimeZone } from '../pipelines/localTime.js';
import { LiveProducts } from '../pipelines/products.js';
import { ScreenHub } from './channels/screens.js';
import type { Executor } from '../engine/executor.js';
import { runEmbedded } from './embedded.js';
import { isScenestreamError, ssError } from '../schemas/errors.js';
import { startServer } from './http/server.js';
import { quietKafkajsTimerWarning } from './kafka/logging.js';
import { loadApiTokens } from './http/profileApi.js';
import { MemoryProfileStore } from './profileStore.js';
import type { LiveProfile } from '../pipelines/profile.js';
import { Metrics, setMeasurementSettings } from './metrics.js';
import { replayFiles } from './replay.js';
import { RetailMetrics } from './retailMetrics.js';
import { segmentSeries, SegmentTally } from './segmentSizes.js';

/** Each command's usage, shown by `scenestream <command> --help` and after a bad flag. */
const COMMAND_USAGE: Readonly<Record<string, string>> = {
  run: `usage: scenestream run [--customers N] [--days D] [--seed S] [--speed X] [--config campaign.json] [--exit] [--quiet]
                        [--history on|off] [--respond on|off] [--effects SCENE=PP,...]
       SCENESTREAM_MODE=kafka scenestream run [--config campaign.json] [--instances N]
  The main job. Embedded (default): a simulated city through the retail pipelines, with offers
  printed as they happen (in each customer's local time, the zone named), metrics on /metrics and
  store screens on /stores/<id>.
    --customers N (200)  --days D (2)  --seed S
    --speed X            simulated ms per real ms (default 3600; 0 = flat out)
    --config FILE        a campaign file, reloaded when it changes
    --exit               stop when the simulation ends   --quiet   no offer lines
    --history on|off     a year of purchases before the start, every RFM segment (default on)
    --respond on|off     customers respond to offers (default on)
    --effects S=PP,...   conversion points an offer adds, per scene (default ${formatEffects(DEFAULT_RESPONSE_EFFECTS)})
  With SCENESTREAM_MODE=kafka: consumes clickstream, pos and location from KAFKA_BROKERS with state
  in REDIS_URL (see README).
    --instances N (1)    N instances of the Kafka job, one process each, in one consumer group;
                         instance i serves HTTP on HTTP_PORT + i; logs tagged [instance i]`,
  replay: `usage: scenestream replay --input events.jsonl --out DIR [--stores stores.json] [--profiles profiles.jsonl]
                         [--products products.json] [--config campaign.json] [--compare other.json]
  Replays recorded events through the retail pipelines in event time and writes the outputs
  (triggers, decisions, offers, recommendations, bought_together, summary, dead_letters) to DIR.
    --compare FILE       backtest a campaign change: replays the same input under FILE too (outputs
                         in DIR/compare/) and prints, per scene, triggers, sends, suppressions by
                         reason and projected incremental conversions of --config (or the defaults)
                         against FILE side by side, also written to DIR/compare.json`,
  'load-reference': `usage: scenestream load-reference [--stores stores.json] [--profiles profiles.jsonl] [--products products.json [--products-to redis|topic]]
  Puts stores (a GEO set), customer profiles (redis-om HASHes) and the product catalogue into
  REDIS_URL for production mode; --stores and --products replace the whole catalogue, which running
  jobs apply within STORES_REFRESH_MS / PRODUCTS_REFRESH_MS. --products-to topic writes the products
  to the compacted topic <TOPICS_PREFIX>products instead (for PRODUCTS_FROM=topic).`,
  datasets: `usage: scenestream datasets --out DIR [--dataset NAME|all] [--max-events N] [--from DIR] [--timezone ZONE]
                           [--stay-radius M] [--stay-minutes N]
  Converts the shared public datasets into replay input, one folder DIR/<dataset> each:
  events.jsonl (for replay --input), stores.json, profiles.jsonl (consent on every channel),
  products.json, and report.json (rows read and rejected, by reason). GeoLife's stores stand at the
  places where its users stayed; REES46's and Online Retail's catalogues hold the products seen.
    --dataset NAME       ${DATASET_NAMES.join(', ')} or all (default all)
    --max-events N       the first N events of each dataset
    --from DIR           the datasets folder (default $SCENESTREAM_DATASETS, else ../shared/datasets)
    --timezone ZONE      every profile's and store's zone, instead of the dataset's
    --stay-radius M      GeoLife: a stay keeps within M metres of where it began (default 200)
    --stay-minutes N     GeoLife: and lasts N minutes or more (default 20)`,
  topics: `usage: scenestream topics create|check [--prefix P] [--partitions N] [--replication-factor R]
  Creates the production job's topics that are missing in KAFKA_BROKERS (inputs and dead letters
  kept forever, outputs 7 days), or checks them; see TOPICS_* in the README.`,
};

const USAGE = `usage: scenestream <command> [options]

commands:
  run             the main job (embedded by default; SCENESTREAM_MODE=kafka for production)
  replay          recorded events through the pipelines, outputs to files
  load-reference  stores, profiles and products into Redis (or products to a topic)
  topics          create or check the production job's topics
  datasets        the shared public datasets as replay input, with stores, profiles and products
  simulate        the event simulator

\`scenestream <command> --help\` describes a command; --verbose shows the stack of an unexpected error.
`;

/** A command line that does not parse: exit 2 with the message and the command's usage. */
class UsageError extends Error {}

/** `parseArgs` with its errors as {@link UsageError}s (one line, naming the flag). */
function parseCommand<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof TypeError && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw new UsageError(e.message.replace(/\s*\n\s*/g, ' '));
    throw e;
  }
}

const stampFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * `Mon 2025-03-03 04:07 America/Los_Angeles`: an instant in a zone, the zone named, so that a
 * console line never leaves the reader guessing whose clock it is (a push at 01:00 is a quiet-hours
 * breach only in the customer's own zone).
 */
export function localStamp(ts: number, timeZone: string): string {
  let f = stampFormats.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', weekday: 'short', hourCycle: 'h23' });
    stampFormats.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(ts).map((x) => [x.type, x.value]));
  return `${p['weekday']} ${p['year']}-${p['month']}-${p['day']} ${p['hour']}:${p['minute']} ${timeZone}`;
}

/** A trigger as a console line, its time in `timeZone` (the customer's). */
export function formatTrigger(t: Trigger, timeZone: string): string {
  const where = t.storeId !== null ? ` at ${t.storeId}` : '';
  const what = t.productIds.length > 0 ? ` products ${t.productIds.join(',')}` : t.category !== null ? ` category ${t.category}` : '';
  return `${localStamp(t.ts, timeZone)}  ${t.scene.padEnd(20)} ${t.customerId}${where}${what}`;
}

/** An offer as a console line, its time in `timeZone` (the customer's). */
export function formatOffer(o: Offer, timeZone: string): string {
  const where = o.storeId !== null ? ` at ${o.storeId}` : '';
  return `${localStamp(o.ts, timeZone)}  offer ${o.channel.padEnd(8)} ${o.customerId}${where}  "${o.title}" (${o.discountPct}% off, ${o.scene})`;
}

/** The RFM segment sizes at the end of a run, one line (segments with nobody left out), and the customers without one. */
export function formatSegments(sizes: Readonly<Record<string, number>>, known?: number): string {
  const parts = Object.entries(sizes).filter(([, n]) => n > 0).map(([s, n]) => `${s.replace(/_/g, ' ')} ${n}`);
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  return `RFM segments (${total} customers with a purchase in the horizon${known !== undefined ? ` of ${known}` : ''}): ${parts.length > 0 ? parts.join(', ') : 'none yet'}`;
}

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const pp = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
const money = (x: number | null): string => (x === null ? '-' : x.toFixed(2));
const signed = (x: number | null, digits: number): string => (x === null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`);

/** Rates of both arms with their sizes, and the uplift with its interval or "not enough data". */
function rateCells(r: MeasureReport, minPerArm: number): string {
  const rates = `${pct(r.sent.rate).padStart(7)} of ${String(r.sent.decisions).padEnd(5)}${pct(r.holdout.rate).padStart(7)} of ${String(r.holdout.decisions).padEnd(5)}`;
  const uplift = r.enoughData ? `${pp(r.upliftPp!)} pp [${pp(r.upliftPpLow!)}, ${pp(r.upliftPpHigh!)}]` : `not enough data (< ${minPerArm} per group)`;
  return `${rates}  ${uplift}`;
}

/** Relative uplift, incremental conversions and revenue, discount cost and ROI of one row (dashes without enough data). */
function valueCells(r: MeasureReport): string {
  return `${(r.relativeUplift === null ? '-' : `${r.relativeUplift >= 0 ? '+' : ''}${(100 * r.relativeUplift).toFixed(0)}%`).padStart(10)}${signed(r.incrementalConversions, 1).padStart(12)}${signed(r.incrementalRevenue, 2).padStart(14)}${money(r.discountCost).padStart(12)}${(r.roi === null ? '-' : `${(100 * r.roi).toFixed(0)}%`).padStart(9)}`;
}

/**
 * The tables printed at the end of a run, from `summary.json`'s figures:
 *
 * 1. per scene and for the whole campaign: triggers, sends and suppressions (`segment` only for a
 *    campaign with targeting), the conversion rates of the sent and holdout groups with their
 *    sizes, and the uplift in percentage points with its 95 % interval (Newcombe's hybrid score
 *    interval, `pipelines/uplift.ts`), or "not enough data" while either group has fewer than the
 *    campaign's `measurement.minPerArm` decisions;
 * 2. per scene and for the whole campaign: relative uplift, incremental conversions and revenue,
 *    the discount cost and the ROI, amounts in the campaign's currency;
 * 3. per RFM segment at decision time (segments with decisions only): rates and uplift.
 */
export function formatSummary(s: MeasuredSummary): string {
  const m = s.measurement;
  // The segment column only for a campaign with targeting (its summary counts them).
  const withSegment = SCENES.some((scene) => s.scenes[scene].suppressed.segment !== undefined);
  const counts = (name: string, x: Pick<SceneSummary, 'triggers' | 'sent' | 'suppressed'>, r: MeasureReport) => {
    const sup = x.suppressed;
    const segment = withSegment ? String(sup.segment ?? 0).padStart(8) : '';
    return `${name.padEnd(21)}${String(x.triggers).padStart(9)}${String(x.sent).padStart(6)}${segment}${String(sup.holdout).padStart(9)}${String(sup.no_consent).padStart(8)}${String(sup.quiet_hours).padStart(7)}${String(sup.frequency_cap).padStart(5)}  ${rateCells(r, m.minPerArm)}`;
  };
  const all = Object.values(s.scenes).reduce(
    (a, x) => ({
      triggers: a.triggers + x.triggers,
      sent: a.sent + x.sent,
      suppressed: {
        holdout: a.suppressed.holdout + x.suppressed.holdout,
        no_consent: a.suppressed.no_consent + x.suppressed.no_consent,
        quiet_hours: a.suppressed.quiet_hours + x.suppressed.quiet_hours,
        frequency_cap: a.suppressed.frequency_cap + x.suppressed.frequency_cap,
        ...(withSegment ? { segment: (a.suppressed.segment ?? 0) + (x.suppressed.segment ?? 0) } : {}),
      },
    }),
    { triggers: 0, sent: 0, suppressed: { holdout: 0, no_consent: 0, quiet_hours: 0, frequency_cap: 0 } } as Pick<SceneSummary, 'triggers' | 'sent' | 'suppressed'>,
  );
  const rows = [...SCENES.map((scene) => counts(scene, s.scenes[scene], m.scenes[scene])), counts('campaign (all scenes)', all, m.campaign)];
  const head = `${'scene'.padEnd(21)}${'triggers'.padStart(9)}${'sent'.padStart(6)}${withSegment ? 'segment'.padStart(8) : ''}${'holdout'.padStart(9)}${'consent'.padStart(8)}${'quiet'.padStart(7)}${'cap'.padStart(5)}  ${'converted: sent'.padStart(16)}${'holdout'.padStart(14)}  uplift, 95% interval`;
  const valueHead = `${`value (${m.currency})`.padEnd(21)}${'relative'.padStart(10)}${'incr. conv.'.padStart(12)}${'incr. revenue'.padStart(14)}${'discount'.padStart(12)}${'ROI'.padStart(9)}`;
  const valueRows = [...SCENES.map((scene) => `${scene.padEnd(21)}${valueCells(m.scenes[scene])}`), `${'campaign (all scenes)'.padEnd(21)}${valueCells(m.campaign)}`];
  const segments = MEASURED_SEGMENTS.filter((g) => m.segments[g].sent.decisions + m.segments[g].holdout.decisions > 0);
  const segmentHead = `${'RFM segment'.padEnd(21)}${'converted: sent'.padStart(16)}${'holdout'.padStart(14)}  uplift, 95% interval`;
  const segmentRows = segments.map((g) => `${g.padEnd(21)}${rateCells(m.segments[g], m.minPerArm)}`);
  const notes = `ROI = (incremental revenue - discount cost) / discount cost; attribution window ${m.attributionWindowMs / 3_600_000} h`;
  return [head, ...rows, '', valueHead, ...valueRows, ...(segmentRows.length > 0 ? ['', segmentHead, ...segmentRows] : []), '', notes].join('\n');
}

function count(flag: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${flag} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** The main job's simulator flags (`--history`, `--respond`, `--effects`), as `scenestream simulate` reads them. */
function simulatorFlags(values: { history?: string | undefined; respond?: string | undefined; effects?: string | undefined }): { history: boolean; respond: boolean; effects: ResponseEffects } {
  try {
    const respond = onOff('respond', values.respond) ?? true;
    if (!respond && values.effects !== undefined) throw new UsageError('--effects applies to --respond on only');
    return { history: onOff('history', values.history) ?? true, respond, effects: values.effects === undefined ? DEFAULT_RESPONSE_EFFECTS : parseEffects(values.effects) };
  } catch (e) {
    throw isScenestreamError(e, 'SS_ERR_CONFIG') ? new UsageError(e.message.replace(/^SS_ERR_CONFIG: /, '')) : e;
  }
}

function campaignFrom(path: string | undefined, metrics: Metrics): { source: CampaignSource; reload?: CampaignHandle['reload']; close(): void } {
  if (path === undefined) return { source: staticCampaign(), close: () => {} };
  const handle = openCampaign(path, {
    reloads: metrics.campaignReloads,
    log: { info: (_o, msg) => console.error(`campaign: ${msg}`), error: (_o, msg) => console.error(`campaign error: ${msg}`) },
  });
  handle.watch();
  return { source: handle, reload: () => handle.reload(), close: () => handle.close() };
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseCommand(() =>
    parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean', short: 'h' },
      seed: { type: 'string' },
      customers: { type: 'string' },
      days: { type: 'string' },
      speed: { type: 'string' },
      config: { type: 'string' },
      exit: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      instances: { type: 'string' },
      history: { type: 'string' },
      respond: { type: 'string' },
      effects: { type: 'string' },
    },
  }),
  );
  if (values.help === true) return help('run');
  const instances = count('instances', values.instances) ?? 1;
  const kafkaMode = (process.env['SCENESTREAM_MODE'] ?? 'embedded') === 'kafka';
  if (instances > 1) {
    // The embedded main job is one simulated city whose bought-together counts span all customers:
    // split over processes its result would change (docs/runtime.md).
    if (!kafkaMode) throw ssError('SS_ERR_CONFIG', '--instances above 1 needs SCENESTREAM_MODE=kafka (the embedded main job runs in one process)', { field: 'instances' });
    const { startInstances } = await import('./instances.js');
    const children = startInstances({ instances, entry: fileURLToPath(import.meta.url), args: ['run', ...(values.config !== undefined ? ['--config', values.config] : [])] });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => children.signal(signal));
    return children.exited;
  }
  if (kafkaMode) {
    const { runKafkaMode } = await import('./production.js');
    return runKafkaMode({ ...(values.config !== undefined ? { config: values.config } : {}) });
  }
  const customers = count('customers', values.customers);
  const days = count('days', values.days);
  const speed = count('speed', values.speed, 0) ?? 3600;
  const { history, respond, effects } = simulatorFlags(values);
  const world = generateWorld({ ...(values.seed !== undefined ? { seed: values.seed } : {}), ...(customers !== undefined ? { customers } : {}) });
  const metrics = new Metrics();
  const retail = new RetailMetrics(metrics);
  const products = new LiveProducts(catalogueProducts(world.catalogue));
  const zones = new Map(world.profiles.map((p) => [p.customerId, p.timezone]));
  const hub = new ScreenHub({ stores: world.stores, products });
  const campaign = campaignFrom(values.config, metrics);
  const profiles = new MemoryProfileStore();
  const tally = new SegmentTally();
  metrics.readSegmentSizes(async () => segmentSeries(await profiles.segmentSizes(), tally.sizes(campaign.source.current().segments)));
  // Per-step counters (records, late records, timers...) copied from the executor at each scrape;
  // outputs are counted as they are delivered (below), not again here.
  let executor: Executor | undefined;
  const server = await startServer({
    metrics,
    screens: hub,
    beforeScrape: () => {
      if (executor !== undefined) metrics.recordExecutorStats(executor, 'retail', { sinkOutputs: false });
      setMeasurementSettings(metrics, campaign.source.current().measurement);
    },
    profiles: { store: profiles, tokens: loadApiTokens(), campaign: () => campaign.source.current(), ...(campaign.reload !== undefined ? { reload: campaign.reload } : {}) },
  });
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  console.log(
    `scenestream: ${world.customers.length} simulated customers, ${world.stores.length} stores, ${days ?? 2} days at ${speed === 0 ? 'full speed' : `${speed}x`}; embedded in-memory state\n` +
      `  metrics  ${server.url}/metrics\n  screens  ${server.url}/stores/${world.stores[0]?.storeId ?? '<storeId>'}\n`,
  );
  const result = await runEmbedded({
    world,
    products,
    onWorld: (_world, exec) => {
      executor = exec;
    },
    ...(days !== undefined ? { days } : {}),
    history,
    ...(respond ? { respond: { effects, campaign: campaign.source } } : {}),
    speed,
    campaign: campaign.source,
    signal: abort.signal,
    metrics,
    onOutput: (sink, v, atEnd) => {
      retail.observe(sink, v); // every sink's outputs, profiles included (one latency observation each)
      // Profiles as the city stands when the simulation ends, not after the end fired a year of expiries.
      if (sink === RETAIL_SINKS.profiles) {
        if (atEnd) return;
        profiles.put(v as LiveProfile);
        return tally.observe(v as LiveProfile);
      }
      if (sink === RETAIL_SINKS.offers) hub.publishOffer(v as Offer);
      if (sink === RETAIL_SINKS.offers && !values.quiet) console.log(formatOffer(v as Offer, zones.get((v as Offer).customerId) ?? DEFAULT_PARAMS.defaultTimezone));
      if (sink === RETAIL_SINKS.recommendations && (v as RecommendationUpdate).storeId !== null) hub.publish(v as RecommendationUpdate);
    },
    onDeadLetter: (d) => {
      metrics.countDeadLetter(d.source, d.error.code);
      console.error(`dead letter from ${d.source}: ${d.error.message}`);
    },
  });
  const events = Object.entries(result.events).map(([k, v]) => `${k} ${v}`).join(', ');
  const responded = result.responses === null ? '' : `\n\n${formatResponses(result.responses)}`;
  console.log(`\nprocessed ${events} in ${result.seconds.toFixed(1)} s; dead letters: ${result.deadLetters}\n\n${formatSummary(result.summary)}${responded}\n\n${formatSegments(await profiles.segmentSizes())}\n`);
  if (!values.exit && !abort.signal.aborted) {
    console.log(`still serving ${server.url} (Ctrl-C to stop)`);
    await new Promise<void>((res) => abort.signal.addEventListener('abort', () => res(), { once: true }));
  }
  campaign.close();
  await server.close();
  return 0;
}

async function replay(argv: string[]): Promise<number> {
  const { values } = parseCommand(() =>
    parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean', short: 'h' },
        input: { type: 'string' },
        out: { type: 'string' },
        stores: { type: 'string' },
        profiles: { type: 'string' },
        products: { type: 'string' },
        config: { type: 'string' },
        compare: { type: 'string' },
      },
    }),
  );
  if (values.help === true) return help('replay');
  if (values.input === undefined || values.out === undefined) throw new UsageError(`missing ${values.input === undefined ? '--input FILE' : '--out DIR'}`);
  const options = {
    input: values.input,
    out: values.out,
    ...(values.stores !== undefined ? { stores: values.stores } : {}),
    ...(values.profiles !== undefined ? { profiles: values.profiles } : {}),
    ...(values.products !== undefined ? { products: values.products } : {}),
    ...(values.config !== undefined ? { config: values.config } : {}),
  };
  if (values.compare !== undefined) {
    const { backtestFiles, formatBacktest } = await import('./backtest.js');
    const b = await backtestFiles({ ...options, compare: values.compare });
    console.log(`replayed ${b.baseline.events} events under both campaigns: ${values.out} (baseline), ${join(values.out, 'compare')} (candidate)\n\n${formatBacktest(b.backtest)}\n\n  ${b.file}`);
    return 0;
  }
  const r = await replayFiles(options);
  console.log(`replayed ${r.events} events (${r.rejected.length} rejected lines, ${r.deadLetters.length} dead letters) into ${values.out}:`);
  for (const f of r.files) console.log(`  ${f}`);
  console.log(`\n${formatSummary(r.summary)}`);
  if (r.warnings.length > 0) console.log(`\n${r.warnings.map((w) => `warning: ${w}`).join('\n')}`);
  return 0;
}

async function loadReference(argv: string[]): Promise<number> {
  const { values } = parseCommand(() =>
    parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, stores: { type: 'string' }, profiles: { type: 'string' }, products: { type: 'string' }, 'products-to': { type: 'string' } } }),
  );
  if (values.help === true) return help('load-reference');
  if (values.stores === undefined && values.profiles === undefined && values.products === undefined) throw new UsageError('nothing to load: give --stores FILE, --profiles FILE and/or --products FILE');
  const productsTo = values['products-to'] ?? 'redis';
  if (productsTo !== 'redis' && productsTo !== 'topic') throw new UsageError(`--products-to must be redis or topic, got ${JSON.stringify(productsTo)}`);
  const { loadServiceConfig } = await import('./config.js');
  const { readProducts, readProfiles, readStores } = await import('./replay.js');
  // Read (and validate) every file before writing anything.
  const stores = values.stores !== undefined ? await readStores(values.stores) : undefined;
  const profiles = values.profiles !== undefined ? await readProfiles(values.profiles) : undefined;
  const products = values.products !== undefined ? await readProducts(values.products) : undefined;
  const svc = loadServiceConfig();
  if (products !== undefined && productsTo === 'topic') {
    const { Kafka, logLevel } = await import('kafkajs');
    const { loadTopicsConfig } = await import('./config.js');
    const { prepareTopics } = await import('./kafka/topics.js');
    const { produceProducts, productsTopic } = await import('./kafka/productsTopic.js');
    const kafka = new Kafka({ clientId: 'scenestream-load-reference', brokers: svc.kafkaBrokers, logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    const topic = productsTopic(process.env['TOPICS_PREFIX'] ?? '');
    await reach('Kafka', svc.kafkaBrokers.join(','), () => prepareTopics(kafka, [], [], loadTopicsConfig(), (level, msg) => console.error(`${level}: ${msg}`), [topic]));
    await produceProducts(kafka, topic, products);
    console.log(`${products.length} products written to ${topic} (running jobs with PRODUCTS_FROM=topic apply them at once)`);
  }
  if (stores === undefined && profiles === undefined && (products === undefined || productsTo === 'topic')) return 0;
  const { createClient } = await import('@redis/client');
  const { RedisProducts, RedisProfiles, RedisStores } = await import('./redis/reference.js');
  const { redactUrl } = await import('./dependencies.js');
  // No reconnecting: a Redis that is not there is one line and exit 1, not a retry loop.
  const redis = createClient({ url: svc.redisUrl, socket: { reconnectStrategy: false, connectTimeout: 5_000 } });
  redis.on('error', () => {});
  await reach('Redis', redactUrl(svc.redisUrl), () => redis.connect());
  try {
    if (stores !== undefined) {
      await new RedisStores(redis).replaceAll(stores);
      console.log(`${stores.length} stores loaded (the whole catalogue; running jobs apply it within STORES_REFRESH_MS)`);
    }
    if (profiles !== undefined) {
      const repo = new RedisProfiles(redis);
      for (const p of profiles) await repo.save(p);
      console.log(`${profiles.length} profiles loaded`);
    }
    if (products !== undefined && productsTo === 'redis') {
      await new RedisProducts(redis).replaceAll(products);
      console.log(`${products.length} products loaded (the whole catalogue; running jobs apply it within PRODUCTS_REFRESH_MS)`);
    }
  } finally {
    await redis.quit();
  }
  return 0;
}

async function topics(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(() =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, prefix: { type: 'string' }, partitions: { type: 'string' }, 'replication-factor': { type: 'string' } },
    }),
  );
  if (values.help === true) return help('topics');
  const action = positionals[0];
  if ((action !== 'create' && action !== 'check') || positionals.length > 1) throw new UsageError(`expected create or check, got ${JSON.stringify(positionals.join(' '))}`);
  const { Kafka, logLevel } = await import('kafkajs');
  const { loadServiceConfig, loadTopicsConfig } = await import('./config.js');
  const { ensureTopics, formatTopics } = await import('./kafka/topics.js');
  const { retailTopics } = await import('./retailJob.js');
  const env = {
    ...process.env,
    ...(values.partitions !== undefined ? { TOPICS_PARTITIONS: values.partitions } : {}),
    ...(values['replication-factor'] !== undefined ? { TOPICS_REPLICATION_FACTOR: values['replication-factor'] } : {}),
  };
  const config = loadTopicsConfig(env);
  const { inputs, outputs, repartitions, changelogs } = retailTopics(values.prefix ?? process.env['TOPICS_PREFIX'] ?? '');
  const brokers = loadServiceConfig().kafkaBrokers;
  const admin = new Kafka({ clientId: 'scenestream-topics', brokers, logLevel: logLevel.NOTHING, retry: { retries: 3 } }).admin();
  await reach('Kafka', brokers.join(','), () => admin.connect());
  try {
    const result = await ensureTopics(admin, [...inputs, ...repartitions], outputs, config, action, changelogs);
    console.log(formatTopics(result));
    return result.problems.length > 0 ? 1 : 0;
  } finally {
    await admin.disconnect();
  }
}

async function datasets(argv: string[]): Promise<number> {
  const { values } = parseCommand(() =>
    parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean', short: 'h' }, out: { type: 'string' }, dataset: { type: 'string' }, 'max-events': { type: 'string' }, from: { type: 'string' },
        timezone: { type: 'string' }, 'stay-radius': { type: 'string' }, 'stay-minutes': { type: 'string' },
      },
    }),
  );
  if (values.help === true) return help('datasets');
  if (values.out === undefined) throw new UsageError('missing --out DIR');
  const which = values.dataset ?? 'all';
  const names = which === 'all' ? DATASET_NAMES : DATASET_NAMES.filter((n) => n === which);
  if (names.length === 0) throw new UsageError(`--dataset must be one of ${DATASET_NAMES.join(', ')} or all, got ${JSON.stringify(which)}`);
  if (values.timezone !== undefined && !isValidTimeZone(values.timezone)) throw new UsageError(`--timezone must be an IANA zone such as Asia/Shanghai, got ${JSON.stringify(values.timezone)}`);
  const maxEvents = count('max-events', values['max-events']);
  const radiusM = count('stay-radius', values['stay-radius']);
  const minutes = count('stay-minutes', values['stay-minutes']);
  for (const dataset of names) {
    const dir = join(values.out, dataset);
    const r = await convertDataset({
      dataset,
      out: dir,
      ...(values.from !== undefined ? { from: values.from } : {}),
      ...(maxEvents !== undefined ? { maxEvents } : {}),
      ...(values.timezone !== undefined ? { timezone: values.timezone } : {}),
      stays: { ...(radiusM !== undefined ? { radiusM } : {}), ...(minutes !== undefined ? { minDurationMs: minutes * 60_000 } : {}) },
    });
    const stays = r.stays !== undefined ? ` (at ${r.stays} stays)` : '';
    console.log(`${dataset}: ${r.events} events, ${r.stores} stores${stays}, ${r.profiles} profiles, ${r.products} products; ${rejectedTotal(r.report)} rows rejected (report.json) -> ${dir}`);
    console.log(`  scenestream replay --input ${r.files.events} --stores ${r.files.stores} --profiles ${r.files.profiles} --products ${r.files.products} --out ${join(dir, 'replay')}`);
  }
  return 0;
}

/** `connect`, with a failure as one `SS_ERR_SERVICE_UNAVAILABLE` line naming the service and where it was looked for. */
async function reach<T>(service: string, where: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (e) {
    const why = isSystemError(e) && e.code !== undefined && /^E[A-Z]+$/.test(e.code) ? e.code : e instanceof Error ? e.message : String(e);
    throw ssError('SS_ERR_SERVICE_UNAVAILABLE', `cannot reach ${service} at ${where}: ${why}`, { cause: e });
  }
}

/** Prints a command's usage (stdout, exit 0). */
function help(command: string): number {
  process.stdout.write(`${COMMAND_USAGE[command] ?? USAGE}\n`);
  return 0;
}

/** Node's system errors (a missing file, a refused connection) carry a code and, for files, a path. */
interface SystemError extends Error {
  readonly code?: string;
  readonly path?: string;
  readonly address?: string;
  readonly port?: number;
}

const isSystemError = (e: unknown): e is SystemError => e instanceof Error && typeof (e as { code?: unknown }).code === 'string';

/**
 * One line for an error a user can act on, or undefined for an unexpected one: a file that cannot
 * be read, a service that cannot be reached (Redis or Kafka), our own errors.
 */
function explain(e: unknown): string | undefined {
  if (isScenestreamError(e)) return e.message;
  if (isSystemError(e)) {
    if (e.path !== undefined && (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR' || e.code === 'ENOTDIR')) {
      const why = { ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'not a directory' }[e.code];
      return `cannot read ${e.path}: ${why}`;
    }
    if (e.code === 'ECONNREFUSED' || e.code === 'ETIMEDOUT' || e.code === 'EHOSTUNREACH' || e.code === 'ENOTFOUND') {
      const where = e.address !== undefined ? ` ${e.address}${e.port !== undefined ? `:${e.port}` : ''}` : '';
      return `cannot connect to${where}: ${e.code}`;
    }
  }
  if (e instanceof Error && e.name.startsWith('KafkaJS')) return `Kafka: ${e.message}`;
  return undefined;
}

/**
 * The CLI. Exit codes: 0 done; 2 a command line that does not parse or a configuration that is
 * invalid (one line naming the flag or field, then the command's usage); 1 a failure: a file that
 * cannot be read, a service that cannot be reached, a fatal error of the job (one line; the stack
 * only with `--verbose`).
 */
export async function main(argv: string[]): Promise<number> {
  quietKafkajsTimerWarning();
  const verbose = argv.includes('--verbose');
  const [command, ...rest] = argv.filter((a) => a !== '--verbose');
  const name = command === undefined || command.startsWith('-') ? 'scenestream' : `scenestream ${command}`;
  try {
    switch (command) {
      case 'run':
      case undefined:
        return await run(rest);
      case 'replay':
        return await replay(rest);
      case 'simulate':
        return await simulatorMain(rest);
      case 'load-reference':
        return await loadReference(rest);
      case 'topics':
        return await topics(rest);
      case 'datasets':
        return await datasets(rest);
      case '--help':
      case '-h':
      case 'help':
        if (rest[0] !== undefined && COMMAND_USAGE[rest[0]] !== undefined) return help(rest[0]);
        process.stdout.write(USAGE);
        return 0;
      default:
        process.stderr.write(`scenestream: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      const usage = COMMAND_USAGE[command ?? 'run'] ?? USAGE;
      process.stderr.write(`${name}: ${e.message}\n${usage.split('\n')[0]}\n(${name} --help for more)\n`);
      return 2;
    }
    if (isScenestreamError(e) && e.code === 'SS_ERR_CONFIG') {
      process.stderr.write(`${name}: ${e.message}\n`);
      return 2;
    }
    const line = explain(e);
    const message = line ?? (e instanceof Error ? e.message : String(e));
    if (verbose) {
      process.stderr.write(`${name}: ${message}\n${e instanceof Error && e.stack !== undefined ? `${e.stack}\n` : ''}`);
      return 1;
    }
    if (line === undefined) {
      process.stderr.write(`${name}: ${message.split('\n')[0]}\n(an unexpected error: run again with --verbose for its stack, and report it)\n`);
      return 1;
    }
    process.stderr.write(`${name}: ${line}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
