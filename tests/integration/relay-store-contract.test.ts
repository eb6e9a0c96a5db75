/**
 * The EnvelopeStore contract, run against every store (real SQLite file; real PostgreSQL when the stores helper can
 * start one): asynchronous dedupe check, per-recipient sequences independent of other recipients' traffic, order,
 * dedupe by (sender, id), acknowledgement and deletion, TTL sweep, and the SQLite migration of pre-rseq data folders.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../relay/protocol/index.js';
import { SqliteEnvelopeStore } from '../../relay/server/store/sqlite.js';
import type { EnvelopeStore } from '../../relay/server/store/types.js';
import { removeDir, tempDir } from '../helpers/relay.js';
import { storeKinds, type StoreKind } from '../helpers/stores.js';

const FP = (c: string) => c.repeat(43);
const A = FP('a');
const B = FP('b');
const C = FP('c');

function env(from: string, id: string, to: string[]): Envelope {
  return { v: 1, from, to, id, ts: 1, nonce: 'n', ct: 'c', keys: to.map((r) => ({ to: r, epk: 'e', wrapped: 'w' })), sig: 's' } as unknown as Envelope;
}

function enqueue(store: EnvelopeStore, e: Envelope, now = Date.now(), ttl = 60_000) {
  const body = JSON.stringify(e);
  return store.enqueue({ envelope: e, body, size: body.length, receivedAt: now, expiresAt: now + ttl });
}

describe.each(storeKinds())('EnvelopeStore contract: $name', (kind: StoreKind) => {
  let store: EnvelopeStore;
  beforeAll(async () => {
    store = await kind.open();
  });
  afterAll(async () => {
    await store.close();
    await kind.cleanup();
  });

  it('answers hasEnvelope with a promise, true only once (from, id) is committed', async () => {
    const check = store.hasEnvelope(A, 'h1');
    expect(check).toBeInstanceOf(Promise);
    expect(await check).toBe(false);
    await enqueue(store, env(A, 'h1', [B]));
    expect(await store.hasEnvelope(A, 'h1')).toBe(true);
    expect(await store.hasEnvelope(C, 'h1')).toBe(false);
  });

  it('numbers each recipient\'s envelopes with its own sequence, untouched by traffic to others', async () => {
    const r1 = await enqueue(store, env(A, 's1', [C]));
    const r2 = await enqueue(store, env(A, 's2', [B, C]));
    const r3 = await enqueue(store, env(B, 's3', [C]));
    expect(r1.seqs![C]).toBeGreaterThan(0);
    expect(r2.seqs![C]).toBe(r1.seqs![C]! + 1);
    expect(r3.seqs![C]).toBe(r2.seqs![C]! + 1);
    const pend = await store.pending(C, 0, 10);
    expect(pend.map((p) => p.envelope.id)).toEqual(['s1', 's2', 's3']);
    expect(pend.map((p) => p.seq)).toEqual([r1.seqs![C], r2.seqs![C], r3.seqs![C]]);
    // the cursor is the recipient's own seq: after s1 comes s2, whatever B's numbers are
    expect((await store.pending(C, r1.seqs![C]!, 10)).map((p) => p.envelope.id)).toEqual(['s2', 's3']);
  });

  it('keeps per-recipient order under concurrent enqueues and dedupes by (sender, id)', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `c${i}`);
    const results = await Promise.all(ids.map((id, i) => enqueue(store, env(i % 2 ? A : C, id, [B]))));
    expect(results.every((r) => !r.duplicate)).toBe(true);
    const again = await enqueue(store, env(A, 'c1', [B]));
    expect(again.duplicate).toBe(true);
    const pend = await store.pending(B, 0, 500);
    const seqs = pend.map((p) => p.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    // each enqueue's seq is the one its pending row carries
    for (const [i, id] of ids.entries()) expect(pend.find((p) => p.envelope.id === id)!.seq).toBe(results[i]!.seqs![B]);
  });

  it('acknowledges per recipient, refuses foreign acks, and sweeps expired envelopes', async () => {
    await enqueue(store, env(A, 'k1', [B, C]));
    await expect(store.ack(A, [{ from: A, id: 'k1' }])).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await store.ack(B, [{ from: A, id: 'k1' }])).removed).toBe(1);
    expect((await store.ack(B, [{ from: A, id: 'k1' }])).removed).toBe(0);
    expect((await store.pending(C, 0, 500)).some((p) => p.envelope.id === 'k1')).toBe(true);
    expect((await store.ack(C, [{ from: A, id: 'k1' }])).removed).toBe(1);
    expect(await store.hasEnvelope(A, 'k1')).toBe(true); // tombstone keeps dedupe until the TTL
    const before = (await store.usage(C)).count;
    await enqueue(store, env(A, 'old', [C]), Date.now() - 10_000, 1_000);
    expect((await store.usage(C)).count).toBe(before + 1);
    expect(await store.sweep(Date.now())).toBe(1);
    expect((await store.usage(C)).count).toBe(before);
    expect(await store.hasEnvelope(A, 'old')).toBe(false);
    // a swept recipient's counter keeps going: a connected client's cursor never meets a reused seq
    const last = (await enqueue(store, env(A, 'after-sweep', [C]))).seqs![C]!;
    const all = await store.pending(C, 0, 500);
    expect(last).toBeGreaterThan(Math.max(...all.filter((p) => p.envelope.id !== 'after-sweep').map((p) => p.seq)));
  });
});

describe('SQLite store migration to per-recipient sequences', () => {
  const dir = tempDir('parley-store-migrate-');
  afterAll(() => removeDir(dir));

  it('keeps a pre-rseq data folder\'s queue in order and continues each recipient\'s counter after it', async () => {
    const db = new Database(path.join(dir, 'relay.sqlite'));
    db.exec(`
      CREATE TABLE identities (fingerprint TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, enc TEXT NOT NULL,
        sig TEXT NOT NULL, registered_at INTEGER NOT NULL, rot_from TEXT, rot_sig TEXT);
      CREATE TABLE envelopes (seq INTEGER PRIMARY KEY AUTOINCREMENT, sender TEXT NOT NULL, id TEXT NOT NULL, body TEXT,
        size INTEGER NOT NULL, received_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, UNIQUE (sender, id));
      CREATE TABLE deliveries (recipient TEXT NOT NULL, seq INTEGER NOT NULL REFERENCES envelopes (seq) ON DELETE CASCADE,
        acked_at INTEGER, PRIMARY KEY (recipient, seq)) WITHOUT ROWID;
      CREATE INDEX deliveries_pending ON deliveries (recipient, seq) WHERE acked_at IS NULL;`);
    const far = Date.now() + 3_600_000;
    for (const [i, id] of ['o1', 'o2', 'o3'].entries()) {
      db.prepare('INSERT INTO envelopes (seq, sender, id, body, size, received_at, expires_at) VALUES (?, ?, ?, ?, 1, 1, ?)')
        .run(10 + i * 5, A, id, JSON.stringify(env(A, id, [B])), far);
      db.prepare('INSERT INTO deliveries (recipient, seq) VALUES (?, ?)').run(B, 10 + i * 5);
    }
    db.close();
    const store = new SqliteEnvelopeStore(dir, { writer: 'inline' });
    try {
      const pend = await store.pending(B, 0, 10);
      expect(pend.map((p) => [p.envelope.id, p.seq])).toEqual([['o1', 10], ['o2', 15], ['o3', 20]]);
      const r = await enqueue(store, env(A, 'n1', [B, C]));
      expect(r.seqs).toEqual({ [B]: 21, [C]: 1 });
      expect((await store.pending(B, 15, 10)).map((p) => p.envelope.id)).toEqual(['o3', 'n1']);
      // the old global-seq index is replaced by the per-recipient one
      const indexes = new Database(path.join(dir, 'relay.sqlite'), { readonly: true });
      try {
        const names = (indexes.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries'").all() as Array<{ name: string }>).map((r) => r.name);
        expect(names).toContain('deliveries_pending_rseq');
        expect(names).not.toContain('deliveries_pending');
      } finally {
        indexes.close();
      }
    } finally {
      await store.close();
    }
  });
});
