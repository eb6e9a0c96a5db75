/**
 * The relay's plain HTTP surface beside socket.io (relay/server/http.ts): what a monitoring probe or a stray request
 * gets back. Every answer is JSON with `ok` and is never cached; only GET is served; a store that cannot answer makes
 * /metrics a 500, not a hang or a crash. A real relay in this process (so mutation testing reaches it) with a real
 * SQLite store; the store's one fault is injected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, type RunningRelay } from '../../relay/server/index.js';
import { SqliteEnvelopeStore } from '../../relay/server/store/sqlite.js';
import { cleanupAll, onCleanup, tmpDir } from '../helpers/core.js';

afterEach(cleanupAll);

async function relayWith(store?: SqliteEnvelopeStore): Promise<RunningRelay> {
  const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir: tmpDir('relay-http'), logger: false, ...(store ? { store } : {}) });
  onCleanup(() => relay.close());
  return relay;
}

async function get(relay: RunningRelay, path: string, method = 'GET'): Promise<{ status: number; body: unknown; cache: string | null; type: string | null }> {
  const res = await fetch(`${relay.url}${path}`, { method });
  return { status: res.status, body: await res.json(), cache: res.headers.get('cache-control'), type: res.headers.get('content-type') };
}

describe('the HTTP surface', () => {
  it('health and metrics answer GET (a query string is ignored); anything else is a JSON 404 or 405, never cached', async () => {
    const relay = await relayWith();
    expect(await get(relay, '/healthz')).toEqual({
      status: 200,
      body: { ok: true, version: expect.any(String), protocol: 1, fingerprint: relay.fingerprint },
      cache: 'no-store',
      type: 'application/json',
    });
    const metrics = await get(relay, '/metrics?verbose=1');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatchObject({ node: 'local', connections: 0, authenticated: 0, queuedEnvelopes: 0, identities: 0 });
    expect(await get(relay, '/nothing-here')).toEqual({ status: 404, body: { ok: false, error: 'not found' }, cache: 'no-store', type: 'application/json' });
    expect(await get(relay, '/metrics', 'POST')).toEqual({
      status: 405,
      body: { ok: false, error: 'method not allowed' },
      cache: 'no-store',
      type: 'application/json',
    });
  });

  it('a store that cannot give its counts makes /metrics a 500 with ok: false, and the relay answers again once it can', async () => {
    const store = new SqliteEnvelopeStore(tmpDir('relay-http-store'), {});
    await store.ready();
    let failing = false;
    const stats = store.stats.bind(store);
    store.stats = async () => {
      if (failing) throw new Error('disk I/O error');
      return stats();
    };
    const relay = await relayWith(store);
    failing = true;
    expect(await get(relay, '/metrics')).toEqual({ status: 500, body: { ok: false }, cache: 'no-store', type: 'application/json' });
    failing = false;
    expect((await get(relay, '/metrics')).status).toBe(200);
    expect((await get(relay, '/healthz')).body).toMatchObject({ ok: true });
  });
});
