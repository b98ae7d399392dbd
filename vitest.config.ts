import { configDefaults, defineConfig } from 'vitest/config';

const exclude = [...configDefaults.exclude, '**/node_modules/**', 'dist/**', '.services/**'];

export default defineConfig({
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
