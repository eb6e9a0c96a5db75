/**
 * The PostgreSQL store when the server ends a connection in the same read as that connection's startup: the race a
 * PostgreSQL restart under load produces now and then (a new connection completes just as the shutdown terminates
 * every backend). node-postgres emits 'error' on that client after the pool handed it out and before the store's own
 * listener is on it; unhandled, that 'error' killed the relay process (seen in relay-cluster-load's PostgreSQL phase:
 * "relay ... exited (code 1 ...): error: terminating connection due to administrator command ... Emitted 'error' event
 * on Client instance"). Real PostgreSQL, real sockets; a TCP proxy (tests/helpers/pg-proxy.ts) makes the race certain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Envelope } from '../../relay/protocol/index.js';
import { PgEnvelopeStore } from '../../relay/server/store/pg.js';
import { startPgProxy, type PgProxy } from '../helpers/pg-proxy.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

const A = 'a'.repeat(43);
const B = 'b'.repeat(43);
const env = (id: string) => ({ v: 1, from: A, to: [B], id, ts: 1, nonce: 'n', ct: 'c', keys: [], sig: 's' }) as unknown as Envelope;
function enqueue(store: PgEnvelopeStore, e: Envelope) {
  const body = JSON.stringify(e);
  return store.enqueue({ envelope: e, body, size: body.length, receivedAt: Date.now(), expiresAt: Date.now() + 60_000 });
}

let server: TestPostgres;
let admin: pg.Client;
let proxy: PgProxy;
let store: PgEnvelopeStore | null = null;
const uncaught: unknown[] = [];
const onUncaught = (e: unknown) => void uncaught.push(e);

beforeAll(async () => {
  server = await startPostgres();
  await server.createDatabase('fatal');
  admin = new pg.Client({ connectionString: server.url('fatal') }); // straight to the server, not through the proxy
  await admin.connect();
  proxy = await startPgProxy(server.port, async (pid) => void (await admin.query('SELECT pg_terminate_backend($1)', [pid])));
  process.on('uncaughtException', onUncaught);
});

afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await store?.close().catch(() => undefined);
  await proxy?.close();
  await admin?.end().catch(() => undefined);
  server?.stop();
});

describe('PostgreSQL store: a connection terminated right after its startup', () => {
  it('fails the write it was for with INTERNAL instead of an uncaught error; the retry commits it once', async () => {
    store = new PgEnvelopeStore(proxy.url('fatal'), { maxInFlight: 1, readConnections: 1 });
    await store.ready();
    // the migration's write connection is idle in the pool: end it, so that the next write opens a new one
    const idle = proxy.pids();
    expect(idle.length).toBeGreaterThan(0);
    for (const pid of idle) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const deadline = Date.now() + 10_000;
    while (proxy.pids().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(proxy.pids()).toEqual([]);

    const trapped = proxy.trapNext();
    const first = await enqueue(store, env('m1')).then(() => null, (e: unknown) => e);
    const pid = await trapped;
    expect(pid).toBeGreaterThan(0);
    await new Promise((r) => setImmediate(r)); // anything the client emitted while reading that chunk has surfaced
    expect(uncaught).toEqual([]);
    expect(first).toMatchObject({ code: 'INTERNAL' });

    // the sender's retry (same id) goes through a fresh connection and is stored once
    expect(await enqueue(store, env('m1'))).toMatchObject({ duplicate: false });
    expect((await store.pending(B, 0, 10)).map((p) => p.envelope.id)).toEqual(['m1']);
  });
});
