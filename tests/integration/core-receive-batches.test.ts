/**
 * Story: how Bob's receive path treats each envelope of a delivered batch, checked envelope by envelope: what is
 * stored, what is acknowledged (and how often), what the batch reports, which receipts go back, and that relay order
 * holds while the path is stalled. Written against the survivors of a mutation run over ingest.ts
 * (docs/mutation.md). Real Messenger on a real encrypted SQLite file, real crypto workers and RelayClient, against
 * the scriptable relay of tests/helpers/fake-relay.ts with real sealed envelopes. Nothing is mocked.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomBytes } from 'node:crypto';
import { MIN_CHUNK_BYTES } from '../../electron/core/attachments/stream.js';
import { loadIdentity, open, type IdentityKeys } from '../../electron/core/crypto/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import { StoreError, type HistoryStore } from '../../electron/core/store/types.js';
import { toB64u } from '../../relay/protocol/index.js';
import { cleanupAll, waitUntil } from '../helpers/core.js';
import { FakeRelay, interceptStore, receiver, sealFrom, type Receiver } from '../helpers/fake-relay.js';
import { next } from '../helpers/group-users.js';
import { fixtureIdentity, fixtureKeys } from '../helpers/identities.js';

let alice: IdentityKeys;
let alice2: IdentityKeys;
let carol: IdentityKeys;
let stranger: IdentityKeys;
let bobSecret: IdentitySecret;
let bobKeys: IdentityKeys;

beforeAll(async () => {
  alice = await fixtureKeys(0);
  bobSecret = await fixtureIdentity(1);
  bobKeys = await loadIdentity(bobSecret);
  carol = await fixtureKeys(2);
  alice2 = await fixtureKeys(3);
  stranger = await fixtureKeys(6);
}, 120_000);

afterAll(cleanupAll);

const now = (): number => Date.now();
const delivered = (envs: unknown[]): Array<{ envelope: unknown; receivedAt: number }> => envs.map((envelope) => ({ envelope, receivedAt: now() }));

/** Incoming rows of a conversation, oldest first. */
function incoming(bob: Receiver, contact: string): Array<{ id: string; body: string | null; state: string; error: string | null }> {
  return bob.messenger
    .loadMessages(contact, null, 500)
    .messages.filter((m) => m.direction === 'in')
    .map((m) => ({ id: m.id, body: m.body, state: m.state, error: m.error }));
}

/** The ids in each receipt Bob sent to `to` (opened with `to`'s keys), in the order sent. */
async function receiptsTo(relay: FakeRelay, to: IdentityKeys): Promise<string[][]> {
  const out: string[][] = [];
  for (const e of relay.sent) {
    if (!e.to.includes(to.fingerprint)) continue;
    const { payload } = await open({ envelope: e, me: to, sender: bobKeys.public });
    if (payload.type === 'receipt') out.push(payload.ids);
  }
  return out;
}

describe('each envelope of a batch', () => {
  test('is stored, acknowledged and receipted once, chunk by chunk; a redelivery is acknowledged again and nothing more', async () => {
    const relay = await FakeRelay.start();
    relay.publish('alice', alice); // the stranger is not in the directory: its lookup answers NOT_FOUND
    const logs: string[] = [];
    const bob = await receiver(relay.url, bobSecret, { messenger: { commitChunk: 2, log: (line) => logs.push(line) } });
    await bob.messenger.addContact('alice');
    const batches: Array<{ stored: number; acked: number }> = [];
    bob.messenger.on('batch-stored', (b) => batches.push(b));
    // The third is a message with a file: receipted like a text.
    const file = { blob: toB64u(randomBytes(16)), key: toB64u(randomBytes(32)), size: 5, chunk: MIN_CHUNK_BYTES, sha256: toB64u(randomBytes(32)), name: 'a.txt', type: 'text/plain' };
    const [e1, e2, e3] = [
      await sealFrom(alice, bobKeys.public, 'one'),
      await sealFrom(alice, bobKeys.public, 'two'),
      await sealFrom(alice, bobKeys.public, { v: 1, type: 'files', ts: now(), body: 'three', attachments: [file] }),
    ];
    const unknown = await sealFrom(stranger, bobKeys.public, 'who am I');
    const headerless = { v: 1, note: 'no sender, no id' };

    // Chunks of two: [e1, e2] [e1 again, headerless] [e3, unknown].
    const n = await bob.messenger.enqueueBatch(delivered([e1, e2, e1, headerless, e3, unknown]));
    await bob.messenger.idle();
    // Acknowledged: the three messages once each, and the unknown sender's envelope (dropped: the relay does not know
    // its sender). Not the headerless one: it names nothing to acknowledge.
    expect(n).toBe(4);
    expect(relay.acked.map((a) => a.id).sort()).toEqual([e1.id, e2.id, e3.id, unknown.id].sort());
    expect(incoming(bob, 'alice').map((m) => [m.id, m.body])).toEqual([
      [e1.id, 'one'],
      [e2.id, 'two'],
      [e3.id, 'three'],
    ]);
    expect(bob.messenger.listContacts().map((c) => c.username)).toEqual(['alice']);
    // The relay validated every envelope it queued: one without a sender or id is its defect, and says so.
    expect(logs.filter((l) => l.startsWith('dropped an envelope'))).toEqual([
      'dropped an envelope without a valid sender/id',
      'dropped an envelope from a sender the relay does not know',
    ]);
    const byChunk = (bs: typeof batches): string[] => bs.map((b) => `${b.stored}/${b.acked}`).sort();
    expect(byChunk(batches)).toEqual(['0/0', '1/2', '2/2']);
    // One receipt per committed chunk, naming its stored messages, sent on its own (queued with the chunk's commit).
    await waitUntil(async () => (await receiptsTo(relay, alice)).length === 2, 20_000, 'the receipts');
    expect(await receiptsTo(relay, alice)).toEqual([[e1.id, e2.id], [e3.id]]);

    // The same envelopes again: each is recognised and acknowledged, nothing is stored, opened or receipted again.
    relay.acked.length = 0;
    batches.length = 0;
    const again = await bob.messenger.enqueueBatch(delivered([e1, e2, e3]));
    await bob.messenger.idle();
    await bob.messenger.flushOutbox();
    expect(again).toBe(3);
    expect(relay.acked.map((a) => a.id)).toEqual([e1.id, e2.id, e3.id]);
    expect(byChunk(batches)).toEqual(['0/1', '0/2']);
    expect(incoming(bob, 'alice')).toHaveLength(3);
    expect(await receiptsTo(relay, alice)).toEqual([[e1.id, e2.id], [e3.id]]);
    expect(bob.messenger.diagnostics()).toMatchObject({ quarantined: 0, failedCommits: 0, deferredBatches: 0 });
  });
});

describe('who signed it decides what is stored', () => {
  test('a blocked contact is acknowledged and dropped; a malformed envelope of a pending key and an old key after accept become failure rows', async () => {
    const relay = await FakeRelay.start();
    relay.publish('alice', alice);
    relay.publish('carol', carol);
    const bob = await receiver(relay.url, bobSecret);
    await bob.messenger.addContact('alice');
    await bob.messenger.addContact('carol');
    bob.messenger.setBlocked('carol', true);

    const fromCarol = await sealFrom(carol, bobKeys.public, 'you blocked me');
    const fromOld = await sealFrom(alice, bobKeys.public, 'old key, before the change');
    const stored = next(bob.messenger, 'message-received', (m) => m.id === fromOld.id);
    relay.deliver([fromCarol, fromOld]);
    // Announced right after the commit, when the ack has just gone out: idle() also waits for the relay's answer.
    await stored;
    await bob.messenger.idle();
    expect(relay.allAcked([fromCarol, fromOld])).toBe(true);
    await bob.messenger.flushOutbox();
    expect(incoming(bob, 'carol')).toEqual([]);
    expect(await receiptsTo(relay, carol)).toEqual([]);
    expect(incoming(bob, 'alice').map((m) => m.body)).toEqual(['old key, before the change']);

    // Alice's new key: a well-formed envelope is held, one without its ciphertext can never open and is shown failed.
    relay.publish('alice', alice2);
    const held = await sealFrom(alice2, bobKeys.public, 'new key');
    const { ct: _dropped, ...broken } = await sealFrom(alice2, bobKeys.public, 'never opens');
    relay.deliver([held, broken]);
    await relay.waitAcks(() => relay.isAcked(held.from, held.id) && relay.isAcked(broken.from, broken.id));
    await bob.messenger.idle();
    expect(bob.store.listPendingEnvelopes('alice').map((p) => p.envelopeId)).toEqual([held.id]);
    expect(incoming(bob, 'alice').slice(1)).toEqual([
      { id: broken.id, body: null, state: 'undecryptable', error: 'malformed: not a well-formed envelope' },
    ]);

    // Accepted: the held one opens; an envelope signed by the replaced key is shown as such, never as a key change.
    await bob.messenger.acceptKeyChange('alice', alice2.fingerprint);
    const late = await sealFrom(alice, bobKeys.public, 'old key, after the change');
    relay.deliver([late]);
    await relay.waitAcks(() => relay.allAcked([late]));
    await bob.messenger.idle();
    const rows = incoming(bob, 'alice');
    expect(rows.map((m) => m.body)).toEqual(['old key, before the change', null, 'new key', null]);
    expect(rows[3]).toEqual({
      id: late.id,
      body: null,
      state: 'undecryptable',
      error: 'wrong-sender: signed by a previous key of alice that has since been replaced',
    });
    expect(bob.messenger.listContacts().find((c) => c.username === 'alice')).toMatchObject({ fingerprint: alice2.fingerprint, keyChangePending: false });
  });
});

describe('relay order while stalled', () => {
  test('a push that arrives while a batch waits for its sender is held back until the refetch, which stores all in order', async () => {
    const relay = await FakeRelay.start();
    relay.publish('alice', alice);
    relay.publish('carol', carol);
    let lookupsFail = false;
    relay.hooks.lookup = () => (lookupsFail ? { ok: false, error: { code: 'INTERNAL', message: 'directory down' } } : undefined);
    // No timed refetch in this test: the test fetches when it has checked the stalled state.
    const bob = await receiver(relay.url, bobSecret, { messenger: { refetchDelayMs: 600_000 } });
    await bob.messenger.addContact('carol');
    lookupsFail = true;
    const m0 = await sealFrom(carol, bobKeys.public, 'carol first');
    const m1 = await sealFrom(alice, bobKeys.public, 'first'); // Alice is a first contact: her sender needs a lookup
    const m2 = await sealFrom(alice, bobKeys.public, 'second');
    // Carol's envelope is resolved (a contact) before Alice's lookup fails and defers the whole batch.
    relay.deliver([m0, m1]);
    await waitUntil(() => bob.messenger.diagnostics().deferredBatches === 1, 20_000, 'the deferred batch');

    lookupsFail = false;
    relay.deliver([m2]);
    await bob.client.fetch(1); // a round trip on the same connection: the push has reached the client
    await bob.messenger.idle();
    expect(bob.messenger.listContacts().map((c) => c.username)).toEqual(['carol']);
    expect(incoming(bob, 'carol')).toEqual([]);
    expect(relay.acked).toEqual([]);

    await bob.messenger.drain();
    await bob.messenger.idle();
    expect(incoming(bob, 'carol').map((m) => m.body)).toEqual(['carol first']);
    expect(incoming(bob, 'alice').map((m) => m.body)).toEqual(['first', 'second']);
    expect(relay.allAcked([m0, m1, m2])).toBe(true);
    expect(bob.messenger.diagnostics()).toMatchObject({ deferredBatches: 1, failedCommits: 0 });
  });

  test('a batch prepared before an earlier one failed to commit is not stored ahead of it', async () => {
    const relay = await FakeRelay.start();
    relay.publish('alice', alice);
    let faults = 0;
    let marks = 0;
    let depth = 0;
    // Injected store fault: the next receive transaction (one that marks envelopes seen; not an outbox update) runs
    // and is then rolled back, as if COMMIT hit a disk error.
    const wrapStore = (real: HistoryStore): HistoryStore =>
      interceptStore(real, {
        markSeen:
          (target) =>
          (...a) => {
            marks++;
            return target.markSeen(...a);
          },
        transaction:
          (target) =>
          <T>(fn: () => T): T => {
            if (depth > 0) return target.transaction(fn); // a savepoint inside the receive transaction
            depth++;
            try {
              return target.transaction(() => {
                const before = marks;
                const r = fn();
                if (faults > 0 && marks > before) {
                  faults--;
                  throw new StoreError('IO', 'injected: disk I/O error at commit');
                }
                return r;
              });
            } finally {
              depth--;
            }
          },
      });
    const bob = await receiver(relay.url, bobSecret, { wrapStore });
    await bob.messenger.addContact('alice');
    const a = await sealFrom(alice, bobKeys.public, 'a');
    const b = await sealFrom(alice, bobKeys.public, 'b');
    faults = 1;
    // Two pushes back to back: b's batch is prepared (its sender is known) while a's is still opening.
    relay.deliver([a]);
    relay.deliver([b]);
    await relay.waitAcks(() => relay.allAcked([a, b]));
    await bob.messenger.idle();
    expect(faults).toBe(0);
    expect(incoming(bob, 'alice').map((m) => m.body)).toEqual(['a', 'b']);
    expect(bob.messenger.diagnostics().failedCommits).toBe(1);

    // A batch whose commit fails reports nothing acknowledged.
    faults = 1;
    const c = await sealFrom(alice, bobKeys.public, 'c');
    expect(await bob.messenger.enqueueBatch(delivered([c]))).toBe(0);
    expect(relay.isAcked(c.from, c.id)).toBe(false);
    expect(bob.messenger.diagnostics().failedCommits).toBe(2);
  });
});

describe('closing', () => {
  test('a batch still queued when the messenger closes is neither stored nor acknowledged: the relay keeps it', async () => {
    const relay = await FakeRelay.start();
    relay.publish('alice', alice);
    const bob = await receiver(relay.url, bobSecret);
    await bob.messenger.addContact('alice');
    const x = await sealFrom(alice, bobKeys.public, 'too late');
    const n = bob.messenger.enqueueBatch(delivered([x]));
    await bob.messenger.close();
    expect(await n).toBe(0);
    expect(incoming(bob, 'alice')).toEqual([]);
    expect(bob.store.hasSeen(x.from, x.id)).toBe(false);
    expect(relay.acked).toEqual([]);
  });
});
