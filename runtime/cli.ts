/**
 * The `scenestream` command.
 *
 *   scenestream run        the main job; embedded by default (no Kafka, no Redis), or on Kafka and
 *                          Redis with SCENESTREAM_MODE=kafka
 *   scenestream replay     the retail pipelines over a JSONL file, outputs to a directory
 *   scenestream simulate   the event simulator
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Summary } from '../pipelines/attribution.js';
import { openCampaign, staticCampaign, type CampaignHandle, type CampaignSource } from '../pipelines/campaign.js';
import { RETAIL_SINKS } from '../pipelines/retail.js';
import { SCENES, type Offer, type RecommendationUpdate, type Trigger } from '../schemas/index.js';
import { main as simulatorMain } from './simulateCli.js';
import { generateWorld } from '../simulator/world.js';
import { ScreenHub } from './channels/screens.js';
import { runEmbedded } from './embedded.js';
import { isScenestreamError, ssError } from '../schemas/errors.js';
import { startServer } from './http/server.js';
import { loadApiTokens } from './http/profileApi.js';
import { MemoryProfileStore } from './profileStore.js';
import type { LiveProfile } from '../pipelines/profile.js';
import { Metrics } from './metrics.js';
import { replayFiles } from './replay.js';
import { RetailMetrics } from './retailMetrics.js';

const USAGE = `usage: scenestream <command> [options]

commands:
  run        the main job. Embedded (default): a simulated city through the retail pipelines, with
             offers printed as they happen, metrics on /metrics and store screens on /stores/<id>.
               --customers N (200)  --days D (2)  --seed S  --speed X (simulated ms per real ms; 0 = flat out; default 3600)
               --config campaign.json  --exit (stop when the simulation ends)  --quiet
             With SCENESTREAM_MODE=kafka: consumes clickstream, pos and location from KAFKA_BROKERS
             with state in REDIS_URL (see README).
               --instances N (1): N instances of the Kafka job, one process each, in one consumer
               group; instance i serves HTTP on HTTP_PORT + i; logs tagged [instance i]
  replay     --input events.jsonl --out DIR [--stores stores.json] [--profiles profiles.jsonl] [--config campaign.json]
  load-reference --stores stores.json --profiles profiles.jsonl
             puts stores (a GEO set) and customer profiles (redis-om HASHes) into REDIS_URL for production mode;
             --stores replaces the whole store catalogue, which running jobs apply within STORES_REFRESH_MS
  topics     create|check [--prefix P] [--partitions N] [--replication-factor R]
             creates the production job's topics that are missing in KAFKA_BROKERS (inputs and
             dead letters kept forever, outputs 7 days), or checks them; see TOPICS_* in the README
  simulate   the event simulator (scenestream simulate --help)
`;

const localTime = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Shanghai',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  weekday: 'short',
  hourCycle: 'h23',
});

export function formatTrigger(t: Trigger): string {
  const where = t.storeId !== null ? ` at ${t.storeId}` : '';
  const what = t.productIds.length > 0 ? ` products ${t.productIds.join(',')}` : t.category !== null ? ` category ${t.category}` : '';
  return `${localTime.format(t.ts)}  ${t.scene.padEnd(20)} ${t.customerId}${where}${what}`;
}

export function formatOffer(o: Offer): string {
  const where = o.storeId !== null ? ` at ${o.storeId}` : '';
  return `${localTime.format(o.ts)}  offer ${o.channel.padEnd(8)} ${o.customerId}${where}  "${o.title}" (${o.discountPct}% off, ${o.scene})`;
}

/** The per-scene table printed at the end of a run. */
export function formatSummary(s: Summary): string {
  const rows = SCENES.map((scene) => {
    const x = s.scenes[scene];
    const sup = x.suppressed;
    const a = x.attribution;
    return `${scene.padEnd(21)}${String(x.triggers).padStart(9)}${String(x.sent).padStart(6)}${String(sup.holdout).padStart(9)}${String(sup.no_consent).padStart(8)}${String(sup.quiet_hours).padStart(7)}${String(sup.frequency_cap).padStart(5)}   ${(a.uplift * 100).toFixed(1).padStart(6)} pp`;
  });
  return [`${'scene'.padEnd(21)}${'triggers'.padStart(9)}${'sent'.padStart(6)}${'holdout'.padStart(9)}${'consent'.padStart(8)}${'quiet'.padStart(7)}${'cap'.padStart(5)}   uplift`, ...rows].join('\n');
}

function count(flag: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw ssError('SS_ERR_CONFIG', `--${flag} must be an integer >= ${min}, got ${JSON.stringify(v)}`, { field: flag });
  return Number(v);
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
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      customers: { type: 'string' },
      days: { type: 'string' },
      speed: { type: 'string' },
      config: { type: 'string' },
      exit: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      instances: { type: 'string' },
    },
  });
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
  const world = generateWorld({ ...(values.seed !== undefined ? { seed: values.seed } : {}), ...(customers !== undefined ? { customers } : {}) });
  const metrics = new Metrics();
  const retail = new RetailMetrics(metrics);
  const hub = new ScreenHub({ stores: world.stores });
  const campaign = campaignFrom(values.config, metrics);
  const profiles = new MemoryProfileStore();
  const server = await startServer({
    metrics,
    screens: hub,
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
    ...(days !== undefined ? { days } : {}),
    speed,
    campaign: campaign.source,
    signal: abort.signal,
    metrics,
    onOutput: (sink, v) => {
      if (sink === RETAIL_SINKS.profiles) return profiles.put(v as LiveProfile);
      retail.observe(sink, v);
      if (sink === RETAIL_SINKS.offers && !values.quiet) console.log(formatOffer(v as Offer));
      if (sink === RETAIL_SINKS.recommendations && (v as RecommendationUpdate).storeId !== null) hub.publish(v as RecommendationUpdate);
    },
    onDeadLetter: (d) => {
      metrics.countDeadLetter(d.source, d.error.code);
      console.error(`dead letter from ${d.source}: ${d.error.message}`);
    },
  });
  const events = Object.entries(result.events).map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`\nprocessed ${events} in ${result.seconds.toFixed(1)} s; dead letters: ${result.deadLetters}\n\n${formatSummary(result.summary)}\n`);
  if (!values.exit && !abort.signal.aborted) {
    console.log(`still serving ${server.url} (Ctrl-C to stop)`);
    await new Promise<void>((res) => abort.signal.addEventListener('abort', () => res(), { once: true }));
  }
  campaign.close();
  await server.close();
  return 0;
}

async function replay(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { input: { type: 'string' }, out: { type: 'string' }, stores: { type: 'string' }, profiles: { type: 'string' }, config: { type: 'string' } },
  });
  if (values.input === undefined || values.out === undefined) throw ssError('SS_ERR_CONFIG', 'replay needs --input FILE and --out DIR', { field: values.input === undefined ? 'input' : 'out' });
  const r = await replayFiles({
    input: values.input,
    out: values.out,
    ...(values.stores !== undefined ? { stores: values.stores } : {}),
    ...(values.profiles !== undefined ? { profiles: values.profiles } : {}),
    ...(values.config !== undefined ? { config: values.config } : {}),
  });
  console.log(`replayed ${r.events} events (${r.rejected.length} rejected lines, ${r.deadLetters.length} dead letters) into ${values.out}:`);
  for (const f of r.files) console.log(`  ${f}`);
  console.log(`\n${formatSummary(r.summary)}`);
  return 0;
}

async function loadReference(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { stores: { type: 'string' }, profiles: { type: 'string' } } });
  if (values.stores === undefined && values.profiles === undefined) throw ssError('SS_ERR_CONFIG', 'load-reference needs --stores FILE and/or --profiles FILE', { field: 'stores' });
  const { createClient } = await import('@redis/client');
  const { loadServiceConfig } = await import('./config.js');
  const { RedisProfiles, RedisStores } = await import('./redis/reference.js');
  const { readProfiles, readStores } = await import('./replay.js');
  const redis = createClient({ url: loadServiceConfig().redisUrl });
  await redis.connect();
  try {
    if (values.stores !== undefined) {
      const stores = await readStores(values.stores);
      await new RedisStores(redis).replaceAll(stores);
      console.log(`${stores.length} stores loaded (the whole catalogue; running jobs apply it within STORES_REFRESH_MS)`);
    }
    if (values.profiles !== undefined) {
      const profiles = await readProfiles(values.profiles);
      const repo = new RedisProfiles(redis);
      for (const p of profiles) await repo.save(p);
      console.log(`${profiles.length} profiles loaded`);
    }
  } finally {
    await redis.quit();
  }
  return 0;
}

async function topics(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { prefix: { type: 'string' }, partitions: { type: 'string' }, 'replication-factor': { type: 'string' } },
  });
  const action = positionals[0];
  if ((action !== 'create' && action !== 'check') || positionals.length > 1) {
    throw ssError('SS_ERR_CONFIG', `topics: expected create or check, got ${JSON.stringify(positionals.join(' '))}\n\n${USAGE}`, { field: 'topics' });
  }
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
  const admin = new Kafka({ clientId: 'scenestream-topics', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const result = await ensureTopics(admin, [...inputs, ...repartitions], outputs, config, action, changelogs);
    console.log(formatTopics(result));
    return result.problems.length > 0 ? 1 : 0;
  } finally {
    await admin.disconnect();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
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
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE);
        return 0;
      default:
        process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (isScenestreamError(e) && e.code === 'SS_ERR_CONFIG') {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    if (isScenestreamError(e) && (e.code === 'SS_ERR_TOPICS' || e.code === 'SS_ERR_SERVICE_UNAVAILABLE' || e.code === 'SS_ERR_INPUT_GAP')) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    // node:util parseArgs: an unknown option, or one without its value; its message spans lines.
    if (e instanceof TypeError && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return 2;
    }
    throw e;
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
