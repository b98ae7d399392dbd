/**
 * The `scenestream` command.
 *
 *   scenestream run [--seed S] [--customers N] [--days D]   the main job (embedded default: no Kafka, no Redis)
 *   scenestream simulate [simulator options]                 the event simulator (see --help)
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Trigger } from '../schemas/index.js';
import { main as simulatorMain } from '../simulator/main.js';
import { runEmbedded } from './embedded.js';
import { isScenestreamError, ssError } from './errors.js';

const USAGE = `usage: scenestream <command> [options]

commands:
  run        the main job: simulated retail life through the retail pipelines, printing what they detect
             --seed S  --customers N (default 200)  --days D (default 2)  --quiet
  simulate   the event simulator (scenestream simulate --help)
`;

const localTime = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
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

function count(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw ssError('SS_ERR_CONFIG', `--${flag} must be an integer >= 1, got ${JSON.stringify(v)}`, { field: flag });
  return Number(v);
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { seed: { type: 'string' }, customers: { type: 'string' }, days: { type: 'string' }, quiet: { type: 'boolean', default: false } },
  });
  const customers = count('customers', values.customers);
  const days = count('days', values.days);
  console.log(`scenestream: simulated city${values.seed !== undefined ? ` (seed ${values.seed})` : ''} -> retail pipelines, embedded in-memory state\n`);
  const summary = runEmbedded({
    ...(values.seed !== undefined ? { seed: values.seed } : {}),
    ...(customers !== undefined ? { customers } : {}),
    ...(days !== undefined ? { days } : {}),
    onTrigger: values.quiet ? undefined : (t) => console.log(formatTrigger(t)),
    onDeadLetter: (d) => console.error(`dead letter from ${d.source}: ${d.error.message}`),
  });
  const events = Object.entries(summary.events).map(([k, v]) => `${k} ${v}`).join(', ');
  const triggers = Object.entries(summary.triggers).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  console.log(`\nprocessed ${events} in ${summary.seconds.toFixed(1)} s; triggers: ${triggers}; dead letters: ${summary.deadLetters}`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
      case undefined:
        return await run(rest);
      case 'simulate':
        return await simulatorMain(rest);
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
