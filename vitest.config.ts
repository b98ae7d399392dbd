import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const exclude = [...configDefaults.exclude, '**/node_modules/**', 'dist/**', '.services/**'];

// The package's own entry points (package.json `exports`) resolve to their TypeScript sources, as the
// `source` export condition does for tsc and for `node --conditions=source --import tsx`.
const root = fileURLToPath(new URL('.', import.meta.url));
const entries = { 'scenestream/testkit': 'testkit/index.ts', 'scenestream/runtime': 'runtime/index.ts', 'scenestream/retail': 'pipelines/index.ts', scenestream: 'stream/index.ts' };

export default defineConfig({
  resolve: {
    alias: Object.entries(entries).map(([name, file]) => ({ find: new RegExp(`^${name}$`), replacement: `${root}${file}` })),
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...exclude, '**/*.real.test.ts'],
          typecheck: { enabled: true, include: ['**/*.test-d.ts'] },
        },
      },
      {
        // Against a real Kafka and Redis, which testkit/services.setup.ts brings up (or fails the run).
        extends: true,
        test: {
          name: 'real',
          include: ['**/*.real.test.ts'],
          exclude,
          globalSetup: ['testkit/services.setup.ts'],
          // The files share one broker and one Redis: one fork runs them one after another, so their
          // timing stays independent (fileParallelism is a root-only option in vitest 3.2).
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
