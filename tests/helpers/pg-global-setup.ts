/**
 * Vitest global setup for PARLEY_TEST_STORE=postgres: one private PostgreSQL for the run (tests/helpers/postgres.ts);
 * spawnRelay() then gives each relay data folder its own database on it (tests/helpers/relay.ts).
 */
import { startPostgres, type TestPostgres } from './postgres.js';

let server: TestPostgres | null = null;

export async function setup(): Promise<void> {
  server = await startPostgres();
  process.env.PARLEY_TEST_PG_URL = server.url('postgres'); // inherited by the test workers, forked after this
  process.env.PARLEY_TEST_PG_DIR = server.dir; // the blindness test scans the server's files
}

export function teardown(): void {
  server?.stop();
}
