// Part of `npm run build`: copies the files the compiled code reads at run time (the Avro schemas,
// the one source of truth of the contracts) beside it in dist/.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';

mkdirSync('dist/schemas', { recursive: true });
for (const name of readdirSync('schemas')) {
  if (name.endsWith('.avsc')) copyFileSync(`schemas/${name}`, `dist/schemas/${name}`);
}
