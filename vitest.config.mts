import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'],
    exclude: [...configDefaults.exclude],
    environment: 'node',
    pool: 'forks',
    // Generous: on 2 busy cores a test that starts several crypto workers (3–4 users, each a worker thread that
    // loads its keys) was seen taking 40 s; a hang still fails, and the group tests' until() says where it stood.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // 2 cores here; integration tests spawn relays and clients of their own.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
    // PARLEY_TEST_STORE=postgres: the relay suites run against a private PostgreSQL store instead of SQLite.
    globalSetup: process.env.PARLEY_TEST_STORE === 'postgres' ? ['tests/helpers/pg-global-setup.ts'] : [],
  },
});
