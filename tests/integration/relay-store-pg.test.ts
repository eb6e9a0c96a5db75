/**
 * PostgreSQL store specifics, on a private PostgreSQL 15 (tests/helpers/postgres.ts): two stores on one database
 * behave as two relay nodes. Per-recipient order and uniqueness hold across them, quotas are enforced in the
 * inserting transaction across nodes, the TTL sweep runs on one node at a time, and a database restart fails the
 * writes in flight with a typed error while later writes succeed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../relay/protocol/index.js';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PgEnvelopeStore } from '../../relay/server/store/pg.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

const FP = (c: string) => c.repeat(43);
const A = FP('a');
const B = FP('b');
const C = FP('c');

function env(from: string, id: string, to: string[]): Envelope {
  return { v: 1, from, to, id, ts: 1, nonce: 'n', ct: 'c', keys: [], sig: 's' } as unknown as Envelope;
}
function enqueue(store: PgEnvelopeStore, e: Envelope, now = Date.now(), ttl = 60_000) {
  const body = JSON.stringify(e);
  return store.enqueue({ envelope: e, body, size: body.length, receivedAt: now, expiresAt: now + ttl });
}

let server: TestPostgres;
const stores: PgEnvelopeStore[] = [];
async function open(db: string, opts: ConstructorParameters<typeof PgEnvelopeStore>[1] = {}): Promise<PgEnvelopeStore> {
  const s = new PgEnvelopeStore(server.url(db), opts);
  stores.push(s);
  await s.ready();
  return s;
}

beforeAll(async () => {
  server = await startPostgres();
  for (const db of ['nodes', 'quota', 'sweep', 'restart', 'inline']) await server.createDatabase(db);
});
afterAll(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  server?.stop();
});

describe('PostgreSQL store', () => {
  it('two nodes enqueueing for one recipient at once: gap-free per-recipient seqs in commit order, each once', async () => {
    const [n1, n2] = [await open('nodes', { maxInFlight: 4, commitMaxBatch: 8 }), await open('nodes', { maxInFlight: 4, commitMaxBatch: 8 })];
    const jobs: Array<Promise<{ duplicate: boolean; seqs?: Record<string, number> }>> = [];
    for (let i = 0; i < 200; i++) jobs.push(enqueue(i % 2 ? n1 : n2, env(i % 3 ? A : C, `m${i}`, i % 4 ? [B] : [B, C])));
    // the same (sender, id) through both nodes: stored once
    jobs.push(enqueue(n1, env(A, 'twice', [B])), enqueue(n2, env(A, 'twice', [B])));
    const res = await Promise.all(jobs);
    expect(res.filter((r) => r.duplicate)).toHaveLength(1);
    const pend = await n1.pending(B, 0, 1000);
    expect(pend).toHaveLength(201);
    expect(pend.map((p) => p.seq)).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
    const bySeq = new Map(pend.map((p) => [p.envelope.id, p.seq]));
    for (const [i, r] of res.slice(0, 200).entries()) expect(r.seqs![B]).toBe(bySeq.get(`m${i}`));
  });

  it('keeps one sender\'s pipelined envelopes in send order with several batches in flight', async () => {
    const s = stores[0]!;
    const ids = Array.from({ length: 100 }, (_, i) => `p${i}`);
    await Promise.all(ids.map((id) => enqueue(s, env(C, id, [A]))));
    expect((await s.pending(A, 0, 1000)).map((p) => p.envelope.id)).toEqual(ids);
  });

  it('enforces a recipient quota in the inserting transaction, across nodes', async () => {
    const q = { quota: { count: 5, bytes: 1 << 20 } };
    const [n1, n2] = [await open('quota', q), await open('quota', q)];
    const res = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => enqueue(i % 2 ? n1 : n2, env(A, `q${i}`, [B]))));
    expect(res.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of res.filter((x) => x.status === 'rejected')) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect((await n1.usage(B)).count).toBe(5);
    const first = (await n1.pending(B, 0, 1))[0]!.envelope;
    expect((await n2.ack(B, [{ from: first.from, id: first.id }])).removed).toBe(1);
    expect((await enqueue(n1, env(A, 'after-ack', [B]))).duplicate).toBe(false);
  });

  it('sweeps expired envelopes on one node at a time, dropping each once', async () => {
    const [n1, n2] = [await open('sweep'), await open('sweep')];
    const past = Date.now() - 10_000;
    await Promise.all(Array.from({ length: 30 }, (_, i) => enqueue(n1, env(A, `x${i}`, [B, C]), past, 1_000)));
    await enqueue(n1, env(A, 'fresh', [B]));
    const dropped = await Promise.all([n1.sweep(Date.now()), n2.sweep(Date.now()), n1.sweep(Date.now())]);
    expect(dropped.reduce((a, b) => a + b, 0)).toBe(60);
    expect((await n2.pending(B, 0, 100)).map((p) => p.envelope.id)).toEqual(['fresh']);
  });

  it('keeps a sealed envelope of ~2 KB and up to a page inline: no TOAST row (and no pglz attempt) per enqueue', async () => {
    const s = await open('inline');
    // the size of a real one-recipient envelope (two RSA-4096 wrapped keys are most of it), and one near a page
    for (const [id, n] of [['two-kb', 2_300], ['seven-kb', 7_000]] as const) {
      // ciphertext: incompressible
      const e = { ...env(A, id, [B]), ct: randomBytes(n).toString('base64url').slice(0, n) } as unknown as Envelope;
      expect((await enqueue(s, e)).duplicate).toBe(false);
    }
    const c = new pg.Client({ connectionString: server.url('inline') });
    await c.connect();
    try {
      const toast = (await c.query<{ t: string }>(`SELECT reltoastrelid::regclass::text AS t FROM pg_class WHERE relname = 'envelopes'`)).rows[0]!.t;
      expect(Number((await c.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${toast}`)).rows[0]!.n)).toBe(0);
    } finally {
      await c.end();
    }
    expect((await s.pending(B, 0, 10)).map((p) => p.envelope.id)).toEqual(['two-kb', 'seven-kb']);
  });

  it('a database restart fails the writes it interrupts with a typed error; later writes succeed, nothing duplicated', async () => {
    const s = await open('restart');
    expect((await enqueue(s, env(A, 'r0', [B]))).duplicate).toBe(false);
    await server.restart();
    // the pool's idle connections died with the server: the first write may fail (INTERNAL), a retry succeeds
    let ok = false;
    for (let i = 0; i < 5 && !ok; i++) {
      try {
        await enqueue(s, env(A, 'r1', [B]));
        ok = true;
      } catch (e) {
        expect(e).toMatchObject({ code: 'INTERNAL' });
      }
    }
    expect(ok).toBe(true);
    expect((await s.pending(B, 0, 10)).map((p) => p.envelope.id)).toEqual(['r0', 'r1']);
  });
});
