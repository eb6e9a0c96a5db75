/**
 * The relay's SQLite store (relay/server/store/sqlite.ts and its write operations, sqlite-ops.ts) through its own
 * interface, on real database files: registration and key rotation with every refusal, enqueue with and without the
 * caller's JSON, acknowledgement (bytes given back, the body dropped once everyone has it, a foreign item refusing the
 * whole call), acknowledgements folded into an enqueue that is still collecting, the TTL sweep, the counters, group
 * commit (batch size, two batches in flight, a caller's next write not waiting out the delay), a storage fault that
 * rolls a batch back, a writer thread that fails, close, the commit-hold test hook and the migrations.
 * Most stores here run their writer inline: a mutation test switches code on only in this thread, never in the
 * writer worker (the worker-mode tests use the real writer-worker.ts, or a small stand-in script where the writer must
 * misbehave). The contract every store meets, SQLite and PostgreSQL alike, is relay-store-contract.
 */
import Database from 'better-sqlite3';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope, PublicIdentity } from '../../relay/protocol/index.js';
import { openDatabase } from '../../relay/server/store/sqlite-ops.js';
import { SqliteEnvelopeStore, type SqliteStoreOptions } from '../../relay/server/store/sqlite.js';
import { cleanupAll, onCleanup, tmpDir } from '../helpers/core.js';

const FP = (c: string) => c.repeat(43);
const A = FP('a');
const B = FP('b');
const C = FP('c');
const D = FP('d');
const ID = (c: string): PublicIdentity => ({ v: 1, enc: `enc-${c}`, sig: `sig-${c}` }) as PublicIdentity;
const FAR = Date.now() + 3_600_000;

afterEach(cleanupAll);

function env(from: string, id: string, to: string[]): Envelope {
  return { v: 1, from, to, id, ts: 1, nonce: 'n', ct: `ct-${id}`, keys: to.map((r) => ({ to: r, epk: 'e', wrapped: 'w' })), sig: 's' } as unknown as Envelope;
}

async function open(opts: SqliteStoreOptions = {}, dir = tmpDir('relay-sqlite')): Promise<{ store: SqliteEnvelopeStore; dir: string }> {
  const store = new SqliteEnvelopeStore(dir, { writer: 'inline', ...opts });
  onCleanup(() => store.close());
  await store.ready();
  return { store, dir };
}

interface EnqueueOpts {
  receivedAt?: number;
  expiresAt?: number;
  unique?: boolean;
  /** false: the store serializes the envelope itself (no caller JSON). */
  withBody?: boolean;
  size?: number;
}

function enqueue(store: SqliteEnvelopeStore, e: Envelope, o: EnqueueOpts = {}) {
  const body = JSON.stringify(e);
  return store.enqueue({
    envelope: e,
    body: o.withBody === false ? undefined : body,
    size: o.size ?? body.length,
    receivedAt: o.receivedAt ?? Date.now(),
    expiresAt: o.expiresAt ?? FAR,
    unique: o.unique,
  });
}

/** Reads the store's file on a connection of its own (what is committed, as another process would see it). */
function query<T>(dir: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path.join(dir, 'relay.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

const bodyOf = (dir: string, from: string, id: string) =>
  query<{ body: string | null }>(dir, 'SELECT body FROM envelopes WHERE sender = ? AND id = ?', from, id)[0]?.body;
const deliveriesOf = (dir: string, from: string, id: string) =>
  query<{ recipient: string; rseq: number; acked_at: number | null }>(
    dir,
    'SELECT d.recipient, d.rseq, d.acked_at FROM deliveries d JOIN envelopes e ON e.seq = d.seq WHERE e.sender = ? AND e.id = ? ORDER BY d.recipient',
    from,
    id,
  );
const ids = async (store: SqliteEnvelopeStore, recipient: string) => (await store.pending(recipient, 0, 100)).map((p) => p.envelope.id);

describe('the database file', () => {
  it('lives in the data folder (created private), with WAL, the chosen synchronous level, foreign keys and a busy timeout', async () => {
    const dir = path.join(tmpDir('relay-sqlite'), 'nested', 'data');
    const { store } = await open({}, dir);
    expect(store.file).toBe(path.join(dir, 'relay.sqlite'));
    expect(store.writerMode).toBe('inline');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const normal = openDatabase(store.file, 'NORMAL');
    onCleanup(() => void normal.close());
    expect(normal.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(normal.pragma('synchronous', { simple: true })).toBe(1);
    expect(normal.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(normal.pragma('busy_timeout', { simple: true })).toBe(5000);
    const full = openDatabase(store.file, 'FULL');
    onCleanup(() => void full.close());
    expect(full.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('opens read-only without touching the journal mode', () => {
    const file = path.join(tmpDir('relay-sqlite'), 'plain.sqlite');
    const plain = new Database(file);
    plain.exec('CREATE TABLE t (x)');
    plain.close();
    const ro = openDatabase(file, 'FULL', true);
    onCleanup(() => void ro.close());
    expect(ro.readonly).toBe(true);
    expect(ro.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(() => ro.exec('INSERT INTO t VALUES (1)')).toThrow(/readonly/);
  });
});

describe('register and rotate', () => {
  it('registers, answers by name and by fingerprint with every field, and is idempotent for the same pair', async () => {
    const { store } = await open();
    expect(await store.register({ username: 'alice', identity: ID('a'), fingerprint: A, now: 1000 })).toEqual({ rotated: false, previous: null });
    const alice = { username: 'alice', identity: { v: 1, enc: 'enc-a', sig: 'sig-a' }, fingerprint: A, registeredAt: 1000, rotation: null };
    expect(await store.identityByUsername('alice')).toEqual(alice);
    expect(await store.identityByFingerprint(A)).toEqual(alice);
    expect(await store.identityByUsername('bob')).toBeNull();
    expect(await store.identityByFingerprint(B)).toBeNull();
    // the same pair again: nothing changes, not even the registration time
    expect(await store.register({ username: 'alice', identity: ID('a'), fingerprint: A, now: 2000 })).toEqual({ rotated: false, previous: null });
    expect(await store.identityByUsername('alice')).toEqual(alice);
    expect((await store.stats()).identities).toBe(1);
  });

  it('refuses a second name for an identity and a taken name, each alone in its batch, changing nothing', async () => {
    const { store } = await open();
    await store.register({ username: 'alice', identity: ID('a'), fingerprint: A, now: 1000 });
    const commits = (await store.stats()).commits;
    // three registrations collect into one batch: the two refusals fail alone, the third commits
    const [other, taken, wrongReplace, bob] = await Promise.allSettled([
      store.register({ username: 'alice2', identity: ID('a'), fingerprint: A, now: 2000 }),
      store.register({ username: 'alice', identity: ID('c'), fingerprint: C, now: 2000 }),
      store.register({ username: 'alice', identity: ID('c'), fingerprint: C, replaces: D, rotationSig: 'x', now: 2000 }),
      store.register({ username: 'bob', identity: ID('b'), fingerprint: B, now: 2000 }),
    ]);
    expect(other).toMatchObject({ status: 'rejected', reason: { code: 'IDENTITY_TAKEN', message: 'this identity is registered under another username' } });
    expect(taken).toMatchObject({ status: 'rejected', reason: { code: 'USERNAME_TAKEN', message: 'username registered to a different identity' } });
    expect(wrongReplace).toMatchObject({ status: 'rejected', reason: { code: 'USERNAME_TAKEN' } });
    expect(bob).toEqual({ status: 'fulfilled', value: { rotated: false, previous: null } });
    expect((await store.stats()).commits).toBe(commits + 1);
    expect(await store.identityByUsername('alice2')).toBeNull();
    expect(await store.identityByFingerprint(C)).toBeNull();
    expect((await store.identityByUsername('alice'))?.fingerprint).toBe(A);
    expect((await store.stats()).identities).toBe(2);
  });

  it('rotates a name to a new identity, keeping the old fingerprint and its signature; without a signature no rotation is shown', async () => {
    const { store, dir } = await open();
    await store.register({ username: 'alice', identity: ID('a'), fingerprint: A, now: 1000 });
    expect(await store.register({ username: 'alice', identity: ID('c'), fingerprint: C, replaces: A, rotationSig: 'rot-sig', now: 3000 })).toEqual({
      rotated: true,
      previous: A,
    });
    expect(await store.identityByUsername('alice')).toEqual({
      username: 'alice',
      identity: { v: 1, enc: 'enc-c', sig: 'sig-c' },
      fingerprint: C,
      registeredAt: 3000,
      rotation: { from: A, sig: 'rot-sig' },
    });
    expect(await store.identityByFingerprint(A)).toBeNull();
    // a rotation the caller did not sign: the old fingerprint is kept, but no half rotation is shown
    expect(await store.register({ username: 'alice', identity: ID('d'), fingerprint: D, replaces: C, now: 4000 })).toEqual({ rotated: true, previous: C });
    expect((await store.identityByUsername('alice'))?.rotation).toBeNull();
    expect(query(dir, 'SELECT rot_from, rot_sig FROM identities WHERE username = ?', 'alice')).toEqual([{ rot_from: C, rot_sig: null }]);
    // a first registration never records a rotation, even when the caller passes a signature
    await store.register({ username: 'bob', identity: ID('b'), fingerprint: B, rotationSig: 'stray', now: 5000 });
    expect(query(dir, 'SELECT rot_from, rot_sig FROM identities WHERE username = ?', 'bob')).toEqual([{ rot_from: null, rot_sig: null }]);
    // a rotation naming a key for a name nobody holds: registered as new (there is nothing to replace)
    expect(await store.register({ username: 'carol', identity: ID('e'), fingerprint: FP('e'), replaces: B, rotationSig: 'x', now: 6000 })).toEqual({
      rotated: false,
      previous: null,
    });
    expect((await store.stats()).identities).toBe(3);
  });
});

describe('enqueue, pending and usage', () => {
  it('stores the caller’s JSON as is, or serializes the envelope itself; answers order, cursor, limit and receive time', async () => {
    const { store, dir } = await open();
    const e1 = env(A, 'm1', [B]);
    const e2 = env(C, 'm2', [B, D]);
    const r1 = await enqueue(store, e1, { receivedAt: 111 });
    const r2 = await enqueue(store, e2, { receivedAt: 222, withBody: false });
    expect(r1).toEqual({ duplicate: false, seqs: { [B]: 1 } });
    expect(r2).toEqual({ duplicate: false, seqs: { [B]: 2, [D]: 1 } });
    expect(await store.pending(B, 0, 10)).toEqual([
      { seq: 1, envelope: e1, receivedAt: 111 },
      { seq: 2, envelope: e2, receivedAt: 222 },
    ]);
    expect(await store.pending(B, 1, 10)).toEqual([{ seq: 2, envelope: e2, receivedAt: 222 }]);
    expect((await store.pending(B, 0, 1)).map((p) => p.seq)).toEqual([1]);
    expect(await store.pending(D, 0, 10)).toEqual([{ seq: 1, envelope: e2, receivedAt: 222 }]);
    expect(await store.pending(A, 0, 10)).toEqual([]);
    // the caller's JSON is stored byte for byte, even when it is not how the store would have written it
    const e3 = env(A, 'm3', [B]);
    const spaced = JSON.stringify(e3, null, 1);
    await store.enqueue({ envelope: e3, body: spaced, size: spaced.length, receivedAt: 333, expiresAt: FAR });
    expect(bodyOf(dir, A, 'm3')).toBe(spaced);
    expect(bodyOf(dir, C, 'm2')).toBe(JSON.stringify(e2));
  });

  it('answers a duplicate (sender, id) as such and stores nothing; counts and sizes per recipient and per sender', async () => {
    const { store } = await open();
    await enqueue(store, env(A, 'u1', [B]), { size: 100 });
    await enqueue(store, env(A, 'u2', [B, C]), { size: 30 });
    await enqueue(store, env(C, 'u3', [B]), { size: 7 });
    expect(await enqueue(store, env(A, 'u1', [B, C]), { size: 999 })).toEqual({ duplicate: true });
    expect(await store.usage(B)).toEqual({ count: 3, bytes: 137 });
    expect(await store.usage(C)).toEqual({ count: 1, bytes: 30 });
    expect(await store.usage(D)).toEqual({ count: 0, bytes: 0 });
    expect(await store.pendingBySender(B)).toEqual(new Map([[A, 2], [C, 1]]));
    expect(await store.pendingBySender(D)).toEqual(new Map());
    expect(await store.hasEnvelope(A, 'u1')).toBe(true);
    expect(await store.hasEnvelope(B, 'u1')).toBe(false);
    const stats = await store.stats();
    expect([stats.envelopes, stats.queued]).toEqual([3, 4]);
    await store.ack(B, [{ from: A, id: 'u1' }]);
    expect(await store.usage(B)).toEqual({ count: 2, bytes: 37 });
    expect(await store.pendingBySender(B)).toEqual(new Map([[A, 1], [C, 1]]));
  });
});

describe('acknowledgement', () => {
  it('answers what it removed and the bytes given back; repeated and unknown items remove nothing', async () => {
    const { store } = await open();
    await enqueue(store, env(A, 'k1', [B]), { size: 10 });
    await enqueue(store, env(C, 'k2', [B]), { size: 20 });
    expect(await store.ack(B, [{ from: A, id: 'k1' }, { from: C, id: 'k2' }, { from: A, id: 'never' }])).toEqual({ removed: 2, bytes: 30 });
    expect(await store.ack(B, [{ from: A, id: 'k1' }])).toEqual({ removed: 0, bytes: 0 });
    expect(await store.ack(B, [])).toEqual({ removed: 0, bytes: 0 });
    expect(await store.pending(B, 0, 10)).toEqual([]);
  });

  it('keeps the body until every recipient has acknowledged, then keeps a tombstone for dedupe', async () => {
    const { store, dir } = await open();
    const before = Date.now();
    await enqueue(store, env(A, 't1', [B, C]), { receivedAt: 5 });
    await store.ack(B, [{ from: A, id: 't1' }]);
    expect(bodyOf(dir, A, 't1')).toBe(JSON.stringify(env(A, 't1', [B, C])));
    const [b, c] = deliveriesOf(dir, A, 't1');
    expect(b!.acked_at).toBeGreaterThanOrEqual(before);
    expect(c!.acked_at).toBeNull();
    await store.ack(C, [{ from: A, id: 't1' }]);
    expect(bodyOf(dir, A, 't1')).toBeNull();
    expect(await store.hasEnvelope(A, 't1')).toBe(true);
    expect(await enqueue(store, env(A, 't1', [B]))).toEqual({ duplicate: true });
    expect((await store.stats()).queued).toBe(0);
  });

  it('refuses the whole call when one item was never addressed to the caller, changing nothing', async () => {
    const { store } = await open();
    await enqueue(store, env(A, 'f1', [B]));
    await enqueue(store, env(A, 'f2', [C]));
    await expect(store.ack(B, [{ from: A, id: 'f1' }, { from: A, id: 'f2' }])).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'envelope is not addressed to you',
    });
    expect(await ids(store, B)).toEqual(['f1']);
    expect(await ids(store, C)).toEqual(['f2']);
  });
});

describe('acknowledgements folded into an enqueue still collecting', () => {
  it('writes an envelope everyone acknowledged before its commit as a tombstone, in the enqueue’s own commit', async () => {
    const { store, dir } = await open({ commitDelayMs: 50 });
    const before = Date.now();
    const written = enqueue(store, env(A, 'live', [B]), { unique: true, size: 40, receivedAt: 5 });
    // the folded ack settles with the commit that writes the enqueue, not before it
    const acked = store.ack(B, [{ from: A, id: 'live' }]).then(async (r) => ({ ...r, committed: await store.hasEnvelope(A, 'live') }));
    expect(await written).toEqual({ duplicate: false, seqs: { [B]: 1 } });
    expect(await acked).toEqual({ removed: 1, bytes: 40, committed: true });
    const stats = await store.stats();
    expect([stats.foldedAcks, stats.commits, stats.committedWrites, stats.queued, stats.envelopes]).toEqual([1, 1, 1, 0, 1]);
    expect(bodyOf(dir, A, 'live')).toBeNull();
    expect(deliveriesOf(dir, A, 'live')).toEqual([{ recipient: B, rseq: 1, acked_at: expect.any(Number) }]);
    expect(deliveriesOf(dir, A, 'live')[0]!.acked_at).toBeGreaterThanOrEqual(before);
    expect(await store.hasEnvelope(A, 'live')).toBe(true);
  });

  it('folds one recipient of several: the body stays for the others', async () => {
    const { store, dir } = await open({ commitDelayMs: 50 });
    const written = enqueue(store, env(A, 'group', [B, C]), { unique: true, withBody: false });
    const acked = store.ack(C, [{ from: A, id: 'group' }]);
    await written;
    expect(await acked).toMatchObject({ removed: 1 });
    expect((await store.stats()).foldedAcks).toBe(1);
    expect(bodyOf(dir, A, 'group')).toBe(JSON.stringify(env(A, 'group', [B, C])));
    expect(await ids(store, B)).toEqual(['group']);
    expect(await ids(store, C)).toEqual([]);
  });

  it('writes the acknowledgement instead when any item is not a collecting enqueue for the caller', async () => {
    const { store, dir } = await open({ commitDelayMs: 50 });
    await enqueue(store, env(A, 'old', [B]), { unique: true });
    // committed: the batch that wrote it took it out of the collecting set; an ack now must be written
    expect(await store.ack(B, [{ from: A, id: 'old' }])).toEqual({ removed: 1, bytes: expect.any(Number) });
    expect(await ids(store, B)).toEqual([]);
    expect(deliveriesOf(dir, A, 'old')[0]!.acked_at).not.toBeNull();

    await enqueue(store, env(A, 'committed', [B]), { unique: true });
    const fresh = enqueue(store, env(A, 'new2', [B]), { unique: true });
    const plain = enqueue(store, env(A, 'plain', [B])); // not checked unique: never folded
    const acks = Promise.all([
      store.ack(B, [{ from: A, id: 'new2' }, { from: A, id: 'committed' }]), // one item already written
      store.ack(B, [{ from: A, id: 'plain' }]),
      store.ack(C, [{ from: A, id: 'new2' }]), // not addressed to C
    ].map((p) => p.then((v) => v, (e: { code: string }) => e.code)));
    await Promise.all([fresh, plain]);
    expect(await acks).toEqual([{ removed: 2, bytes: expect.any(Number) }, { removed: 1, bytes: expect.any(Number) }, 'FORBIDDEN']);
    expect((await store.stats()).foldedAcks).toBe(0);
    expect(await ids(store, B)).toEqual([]);
  });

  it('folds an item once: the same item twice in one call is written instead, and a second call after a fold is too', async () => {
    const { store } = await open({ commitDelayMs: 50 });
    const sizeOf = (id: string) => JSON.stringify(env(A, id, [B])).length;
    const written = enqueue(store, env(A, 'twice', [B]), { unique: true });
    const both = store.ack(B, [{ from: A, id: 'twice' }, { from: A, id: 'twice' }]);
    await written;
    expect(await both).toEqual({ removed: 1, bytes: sizeOf('twice') });
    expect((await store.stats()).foldedAcks).toBe(0);

    const written2 = enqueue(store, env(A, 'once', [B]), { unique: true });
    const first = store.ack(B, [{ from: A, id: 'once' }]);
    const second = store.ack(B, [{ from: A, id: 'once' }]);
    await written2;
    expect([await first, await second]).toEqual([{ removed: 1, bytes: sizeOf('once') }, { removed: 0, bytes: 0 }]);
    expect((await store.stats()).foldedAcks).toBe(1);
    expect(await ids(store, B)).toEqual([]);
  });

  it('applies a folded acknowledgement to the stored row when the enqueue turns out a duplicate, at the ack’s time', async () => {
    const { store, dir } = await open({ commitDelayMs: 50 });
    await enqueue(store, env(A, 'dup', [B]), { receivedAt: 5 });
    const before = Date.now();
    // the relay would not do this (it checked the envelope unique), so the store must still end up consistent
    const again = enqueue(store, env(A, 'dup', [B, C]), { unique: true, receivedAt: 6 });
    const ackB = store.ack(B, [{ from: A, id: 'dup' }]);
    const ackC = store.ack(C, [{ from: A, id: 'dup' }]); // C is not a recipient of the stored row: ignored
    const other = enqueue(store, env(A, 'same-batch', [B]));
    expect(await again).toEqual({ duplicate: true });
    await Promise.all([ackB, ackC]);
    expect((await other).duplicate).toBe(false);
    const [row] = deliveriesOf(dir, A, 'dup');
    expect(row).toMatchObject({ recipient: B });
    expect(row!.acked_at).toBeGreaterThanOrEqual(before);
    expect(deliveriesOf(dir, A, 'dup')).toHaveLength(1);
    expect(bodyOf(dir, A, 'dup')).toBeNull();
    expect(await ids(store, B)).toEqual(['same-batch']);
  });
});

describe('TTL sweep', () => {
  it('deletes what expired by now (inclusive) with its acknowledged rows, and counts only the deliveries still owed', async () => {
    const { store, dir } = await open();
    const now = 10_000;
    await enqueue(store, env(A, 'gone', [B, C]), { receivedAt: 1, expiresAt: now });
    await enqueue(store, env(A, 'stays', [B]), { receivedAt: 1, expiresAt: now + 1 });
    await store.ack(B, [{ from: A, id: 'gone' }]);
    expect(await store.sweep(now)).toBe(1); // C's delivery; B's acknowledged row goes with the envelope
    expect(query(dir, 'SELECT COUNT(*) AS n FROM deliveries WHERE recipient = ?', B)).toEqual([{ n: 1 }]);
    expect(await store.hasEnvelope(A, 'gone')).toBe(false);
    expect(await ids(store, B)).toEqual(['stays']);
    expect(await store.sweep(now)).toBe(0);
    expect(await store.sweep(now + 1)).toBe(1);
    const stats = await store.stats();
    expect([stats.envelopes, stats.queued]).toEqual([0, 0]);
  });
});

describe('group commit', () => {
  it('commits a full batch at once and the rest after the delay; counts commits and committed writes', async () => {
    const { store } = await open({ commitMaxBatch: 3, commitDelayMs: 20 });
    const results = await Promise.all(['g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7'].map((id) => enqueue(store, env(A, id, [B]))));
    expect(results.map((r) => r.seqs![B])).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const stats = await store.stats();
    expect([stats.commits, stats.committedWrites]).toEqual([3, 7]);
  });

  it('sends a resumed caller’s next write without waiting out the commit delay', async () => {
    const { store } = await open({ commitMaxBatch: 2, commitDelayMs: 60_000 });
    const next = Promise.all([enqueue(store, env(A, 'n1', [B])), enqueue(store, env(A, 'n2', [B]))]).then(() =>
      enqueue(store, env(A, 'n3', [B])),
    );
    expect(await next).toEqual({ duplicate: false, seqs: { [B]: 3 } });
    expect((await store.stats()).commits).toBe(2);
  }, 20_000);

  it('with a writer thread: two batches in flight once the collecting one is full; ops already sent take no folded ack', async () => {
    const dir = tmpDir('relay-sqlite');
    const store = new SqliteEnvelopeStore(dir, { commitMaxBatch: 2, commitDelayMs: 60_000 });
    onCleanup(() => store.close());
    await store.ready();
    expect(store.writerMode).toBe('worker');
    const writes = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7'].map((id) => enqueue(store, env(A, id, [B]), { unique: true, size: 10 }));
    // x1-x2 and x3-x4 go at once; x5-x7 collect. When x1-x2 commits, x5-x6 go (the collecting batch is full) and x7
    // waits: an ack of x5 now must be written, an ack of x7 folds into its enqueue.
    const acks = writes[0]!.then(() => Promise.all([store.ack(B, [{ from: A, id: 'x5' }]), store.ack(B, [{ from: A, id: 'x7' }])]));
    expect((await Promise.all(writes)).map((r) => r.seqs![B])).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await acks).toEqual([{ removed: 1, bytes: 10 }, { removed: 1, bytes: 10 }]);
    const stats = await store.stats();
    expect([stats.commits, stats.committedWrites, stats.foldedAcks]).toEqual([4, 8, 1]);
    expect(await ids(store, B)).toEqual(['x1', 'x2', 'x3', 'x4', 'x6']);
  }, 20_000);
});

describe('failures', () => {
  const FAULT = `CREATE TRIGGER fault BEFORE INSERT ON envelopes WHEN NEW.id = 'boom' BEGIN SELECT RAISE(ABORT, 'injected fault'); END`;

  function injectFault(dir: string): () => void {
    const db = new Database(path.join(dir, 'relay.sqlite'));
    db.exec(FAULT);
    return () => {
      db.exec('DROP TRIGGER fault');
      db.close();
    };
  }

  for (const writer of ['inline', 'worker'] as const) {
    it(`a storage fault rolls the whole batch back and fails each write in it; later batches commit (${writer} writer)`, async () => {
      const dir = tmpDir('relay-sqlite');
      const store = new SqliteEnvelopeStore(dir, { writer, commitDelayMs: 20 });
      onCleanup(() => store.close());
      await store.ready();
      await enqueue(store, env(A, 'first', [B]));
      const commits = (await store.stats()).commits;
      const heal = injectFault(dir);
      const batch = await Promise.allSettled([enqueue(store, env(A, 'fine', [B])), enqueue(store, env(A, 'boom', [B])), store.ack(B, [{ from: A, id: 'first' }])]);
      for (const r of batch) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'INTERNAL', message: 'store write failed: injected fault' } });
      expect((await store.stats()).commits).toBe(commits);
      expect(await store.hasEnvelope(A, 'fine')).toBe(false);
      expect(await ids(store, B)).toEqual(['first']); // the ack in the failed batch did not happen either
      heal();
      expect((await enqueue(store, env(A, 'fine', [B]))).duplicate).toBe(false);
      expect(await ids(store, B)).toEqual(['first', 'fine']);
    });
  }

  /** A stand-in writer thread script that misbehaves as `onWrite` says (plain CommonJS, no build step). */
  function fakeWriter(name: string, onWrite: string, atStart = ''): string {
    const file = path.join(tmpDir('relay-fake-writer'), `${name}.js`);
    writeFileSync(
      file,
      `const { parentPort } = require('node:worker_threads');\n${atStart}\nparentPort.postMessage({ ready: true });\n` +
        `parentPort.on('message', (m) => { if (m.close) { parentPort.postMessage({ closed: true }); return; } ${onWrite} });\n`,
    );
    return file;
  }

  async function withWriter(script: string): Promise<SqliteEnvelopeStore> {
    const store = new SqliteEnvelopeStore(tmpDir('relay-sqlite'), { workerEntry: script, commitDelayMs: 1 });
    onCleanup(() => store.close());
    return store;
  }

  it('fails the batch with the writer’s own error, or “no result” when it answers with neither', async () => {
    // the writer is told its database file and synchronous level (FULL unless the caller picks another)
    const refusing = await withWriter(
      fakeWriter('refusing', `parentPort.postMessage({ id: m.id, error: 'disk on fire: ' + path.basename(workerData.file) + ' ' + workerData.synchronous });`, `const path = require('node:path'); const { workerData } = require('node:worker_threads');`),
    );
    await refusing.ready();
    expect(refusing.writerMode).toBe('worker');
    await expect(enqueue(refusing, env(A, 'w1', [B]))).rejects.toMatchObject({ code: 'INTERNAL', message: 'store write failed: disk on fire: relay.sqlite FULL' });
    const mute = await withWriter(fakeWriter('mute', `parentPort.postMessage({ id: m.id });`));
    await mute.ready();
    await expect(enqueue(mute, env(A, 'w2', [B]))).rejects.toMatchObject({ code: 'INTERNAL', message: 'store write failed: no result' });
    // a stray answer for a batch it never sent changes nothing
    const stray = await withWriter(fakeWriter('stray', `parentPort.postMessage({ id: m.id + 100, results: { values: [], errors: [] } }); parentPort.postMessage({ id: m.id, error: 'real' });`));
    await stray.ready();
    await expect(enqueue(stray, env(A, 'w3', [B]))).rejects.toMatchObject({ message: 'store write failed: real' });
    expect((await stray.stats()).commits).toBe(0);
  });

  it('fails every write in flight when the writer crashes or exits, and every later one; close still returns', async () => {
    const crashing = await withWriter(fakeWriter('crashing', `setTimeout(() => { throw new Error('writer crashed'); });`));
    await crashing.ready();
    await expect(enqueue(crashing, env(A, 'c1', [B]))).rejects.toMatchObject({ code: 'INTERNAL', message: 'store writer failed: writer crashed' });

    const exiting = await withWriter(fakeWriter('exiting', `process.exit(0);`));
    await exiting.ready();
    const inFlight = enqueue(exiting, env(A, 'e1', [B]));
    await expect(inFlight).rejects.toMatchObject({ code: 'INTERNAL', message: 'store writer exited' });
    await expect(enqueue(exiting, env(A, 'e2', [B]))).rejects.toMatchObject({ code: 'INTERNAL', message: 'store write failed: store writer is gone' });
    await exiting.close();
    await expect(enqueue(exiting, env(A, 'e3', [B]))).rejects.toMatchObject({ code: 'INTERNAL', message: 'store closed' });
  });

  it('rejects ready() when the writer cannot start', async () => {
    const broken = await withWriter(fakeWriter('broken', '', `throw new Error('cannot start the writer');`));
    await expect(broken.ready()).rejects.toThrow('cannot start the writer');
  });
});

describe('writer selection and close', () => {
  it('runs the TypeScript writer named explicitly (through tsx) and the one next to the module by default', async () => {
    const explicit = new SqliteEnvelopeStore(tmpDir('relay-sqlite'), {
      workerEntry: path.resolve('relay/server/store/writer-worker.ts'),
    });
    onCleanup(() => explicit.close());
    await explicit.ready();
    expect(explicit.writerMode).toBe('worker');
    expect((await enqueue(explicit, env(A, 'ts', [B]), { withBody: false })).seqs).toEqual({ [B]: 1 });
    expect(await ids(explicit, B)).toEqual(['ts']);
  });

  for (const writer of ['inline', 'worker'] as const) {
    it(`close commits every accepted write, then refuses writes; a second close is harmless (${writer} writer)`, async () => {
      const dir = tmpDir('relay-sqlite');
      const store = new SqliteEnvelopeStore(dir, { writer, commitDelayMs: 60_000, commitMaxBatch: 3 });
      onCleanup(() => store.close());
      await store.ready();
      const accepted = ['a1', 'a2', 'a3'].map((id) => enqueue(store, env(A, id, [B]))); // a full batch: at once
      await Promise.all(accepted);
      await new Promise((r) => setTimeout(r, 10));
      // a4 comes alone, after the writer went idle: it waits out the commit delay (a minute), so it is not committed
      accepted.push(enqueue(store, env(A, 'a4', [B])));
      await new Promise((r) => setTimeout(r, 30));
      expect(await store.hasEnvelope(A, 'a4')).toBe(false);
      await store.close();
      expect((await Promise.all(accepted)).map((r) => r.seqs![B])).toEqual([1, 2, 3, 4]);
      await expect(store.enqueue({ envelope: env(A, 'late', [B]), size: 1, receivedAt: 1, expiresAt: FAR })).rejects.toMatchObject({
        code: 'INTERNAL',
        message: 'store closed',
      });
      await expect(store.ack(B, [{ from: A, id: 'a1' }])).rejects.toMatchObject({ message: 'store closed' });
      await store.close();
      const reopened = (await open({}, dir)).store;
      expect(await ids(reopened, B)).toEqual(['a1', 'a2', 'a3', 'a4']);
    }, 20_000);
  }
});

describe('the commit-hold test hook', () => {
  it('is off unless named; named, each signal toggles a hold on commits, and close commits what it held', async () => {
    const signal = 'SIGUSR2';
    const listeners = process.listenerCount(signal);
    await open();
    expect(process.listenerCount(signal)).toBe(listeners);
    process.env.PARLEY_TEST_HOLD_COMMITS_SIGNAL = signal;
    let held: SqliteEnvelopeStore;
    try {
      held = (await open({ commitDelayMs: 1 })).store;
    } finally {
      delete process.env.PARLEY_TEST_HOLD_COMMITS_SIGNAL;
    }
    expect(process.listenerCount(signal)).toBe(listeners + 1);
    const toggled = () => new Promise<void>((resolve) => {
      process.once(signal, () => resolve());
      process.kill(process.pid, signal);
    });
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await toggled(); // hold on
      let committed = false;
      const w = enqueue(held, env(A, 'h1', [B])).then((r) => ((committed = true), r));
      await new Promise((r) => setTimeout(r, 30)); // many commit delays: held, it must still be waiting
      expect(committed).toBe(false);
      expect(await held.hasEnvelope(A, 'h1')).toBe(false);
      await toggled(); // hold off: commits
      expect((await w).duplicate).toBe(false);
      await toggled(); // on again
      const w2 = enqueue(held, env(A, 'h2', [B]));
      await new Promise((r) => setTimeout(r, 10));
      await held.close();
      expect((await w2).duplicate).toBe(false);
    } finally {
      process.stderr.write = write;
    }
    expect(process.listenerCount(signal)).toBe(listeners);
    const reports = lines.filter((l) => l.includes('test hook: commit hold')).map((l) => JSON.parse(l) as { held: boolean; heldEnqueues: number });
    expect(reports[0]).toEqual({ msg: 'test hook: commit hold', held: true, heldEnqueues: 0 });
    expect(reports).toContainEqual({ msg: 'test hook: commit hold', held: true, heldEnqueues: 1 });
    expect(reports).toContainEqual({ msg: 'test hook: commit hold', held: false, heldEnqueues: 0 });
  });
});

describe('migration', () => {
  it('adds the rotation columns to a data folder from before key rotation, keeping its identities', async () => {
    const dir = tmpDir('relay-sqlite');
    const old = new Database(path.join(dir, 'relay.sqlite'));
    old.exec(`CREATE TABLE identities (fingerprint TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, enc TEXT NOT NULL,
      sig TEXT NOT NULL, registered_at INTEGER NOT NULL)`);
    old.prepare('INSERT INTO identities VALUES (?, ?, ?, ?, ?)').run(A, 'alice', 'enc-a', 'sig-a', 1000);
    old.close();
    const { store } = await open({}, dir);
    expect(await store.identityByUsername('alice')).toEqual({
      username: 'alice', identity: { v: 1, enc: 'enc-a', sig: 'sig-a' }, fingerprint: A, registeredAt: 1000, rotation: null,
    });
    await store.register({ username: 'alice', identity: ID('c'), fingerprint: C, replaces: A, rotationSig: 'r', now: 2000 });
    expect((await store.identityByUsername('alice'))?.rotation).toEqual({ from: A, sig: 'r' });
  });
});
