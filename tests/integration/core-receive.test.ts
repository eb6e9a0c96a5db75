/**
 * Story: Bob's client (the real Messenger on a real encrypted SQLite file, real crypto workers, a real RelayClient)
 * talks to a scriptable relay (tests/helpers/fake-relay.ts) that delivers REAL sealed envelopes from Alice and Carol
 * as often and in whatever order the test says. Each message is shown exactly once however often it is delivered
 * (in one batch, in a later batch, after a restart, after a dropped ack); an ack goes out only after the commit, so
 * a failed transaction loses nothing; one envelope that cannot be stored never holds back the others; and one
 * sender's messages are stored in the order the relay delivered them even when a sender lookup fails.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadIdentity, type IdentityKeys } from '../../electron/core/crypto/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import { StoreError, type HistoryStore } from '../../electron/core/store/types.js';
import type { Envelope } from '../../relay/protocol/index.js';
import { cleanupAll, waitUntil } from '../helpers/core.js';
import { FakeRelay, interceptStore, receiver, sealFrom, type Receiver } from '../helpers/fake-relay.js';
import { fixtureIdentity, fixtureKeys } from '../helpers/identities.js';

let alice: IdentityKeys;
let carol: IdentityKeys;
let bobSecret: IdentitySecret;
let bobKeys: IdentityKeys;

beforeAll(async () => {
  alice = await fixtureKeys(0);
  bobSecret = await fixtureIdentity(1);
  bobKeys = await loadIdentity(bobSecret);
  carol = await fixtureKeys(2);
}, 120_000);

afterAll(cleanupAll);

async function relayWithContacts(): Promise<FakeRelay> {
  const relay = await FakeRelay.start();
  relay.publish('alice', alice);
  relay.publish('carol', carol);
  return relay;
}

/** Incoming rows of a conversation, oldest first. */
function incoming(bob: Receiver, contact: string): Array<{ id: string; body: string | null; state: string; error: string | null }> {
  return bob.messenger
    .loadMessages(contact, null, 500)
    .messages.filter((m) => m.direction === 'in')
    .map((m) => ({ id: m.id, body: m.body, state: m.state, error: m.error }));
}

describe('redelivery is shown once', () => {
  test('the same text in one batch, in a later batch and after a restart is stored and shown exactly once', async () => {
    const relay = await relayWithContacts();
    let bob = await receiver(relay.url, bobSecret);
    await bob.messenger.addContact('alice');
    const shown: string[] = [];
    bob.messenger.on('message-received', (m) => shown.push(m.id));
    const envs = [await sealFrom(alice, bobKeys.public, 'one'), await sealFrom(alice, bobKeys.public, 'two'), await sealFrom(alice, bobKeys.public, 'three')];
    const [e1, e2, e3] = envs as [Envelope, Envelope, Envelope];

    // Duplicates inside one batch.
    relay.deliver([e1, e2, e1, e3, e2]);
    await relay.waitAcks(() => relay.allAcked(envs));
    await bob.messenger.idle();
    expect(incoming(bob, 'alice').map((m) => m.body)).toEqual(['one', 'two', 'three']);

    // The committed ones again, in a later batch.
    const before = relay.acked.length;
    relay.redeliver(envs.map((envelope) => ({ envelope, receivedAt: Date.now() })));
    await relay.waitAcks(() => relay.acked.length >= before + 3);
    await bob.messenger.idle();
    expect(incoming(bob, 'alice').map((m) => m.body)).toEqual(['one', 'two', 'three']);
    expect(shown).toEqual([e1.id, e2.id, e3.id]);

    // After a restart of the client (a fresh process state, only the database remains).
    await bob.stop();
    bob = await receiver(relay.url, bobSecret, { dbPath: bob.dbPath, dbKey: bob.dbKey });
    const shownAfter: string[] = [];
    bob.messenger.on('message-received', (m) => shownAfter.push(m.id));
    const again = relay.acked.length;
    relay.redeliver(envs.map((envelope) => ({ envelope, receivedAt: Date.now() })));
    await relay.waitAcks(() => relay.acked.length >= again + 3);
    await bob.messenger.idle();
    expect(incoming(bob, 'alice').map((m) => m.body)).toEqual(['one', 'two', 'three']);
    expect(incoming(bob, 'alice').every((m) => m.state === 'delivered')).toBe(true);
    expect(shownAfter).toEqual([]);
    expect(bob.messenger.diagnostics()).toMatchObject({ quarantined: 0, quarantineStored: 0 });
  });

  test('a relay that drops an ack redelivers on the next connection; each message is still shown once', async () => {
    const relay = await relayWithContacts();
    const bob = await receiver(relay.url, bobSecret);
    await bob.messenger.addContact('alice');
    const shown: string[] = [];
    bob.messenger.on('message-received', (m) => shown.push(m.id));
    let dropped = 0;
    relay.hooks.ack = () => {
      if (dropped > 0) return true;
      dropped++;
      // The relay "crashes" before applying the ack: the connection goes, the envelopes stay queued.
      setImmediate(() => relay.disconnectAll());
      return false;
    };
    const envs = [await sealFrom(alice, bobKeys.public, 'first'), await sealFrom(alice, bobKeys.public, 'second')];
    relay.deliver(envs);
    // The reconnect gets the queue pushed again; the client recognises both and acks them.
    await relay.waitAcks(() => relay.allAcked(envs));
    await bob.messenger.idle();
    expect(dropped).toBe(1);
    expect(relay.queue).toHaveLength(0);
    expect(incoming(bob, 'alice').map((m) => m.body)).toEqual(['first', 'second']);
    expect(shown).toEqual(envs.map((e) => e.id));
    expect(bob.messenger.diagnostics().quarantined).toBe(0);
  });
});

describe('ack only after commit', () => {
  test('a receive transaction that fails acknowledges nothing, and everything arrives later', async () => {
    const relay = await relayWithContacts();
    let faults = 0;
    let ackedAtFault = -1;
    // Injected store fault: the chunk's whole transaction runs and is then rolled back, as if COMMIT hit a disk error.
    let depth = 0;
    const wrapStore = (real: HistoryStore): HistoryStore =>
      interceptStore(real, {
        transaction:
          (target) =>
          <T>(fn: () => T): T => {
            const inject = depth === 0 && faults > 0;
            depth++;
            try {
              if (!inject) return target.transaction(fn);
              faults--;
              return target.transaction(() => {
                fn();
                ackedAtFault = relay.acked.length;
                throw new StoreError('IO', 'injected: disk I/O error at commit');
              });
            } finally {
              depth--;
            }
          },
      });
    const bob = await receiver(relay.url, bobSecret, { wrapStore });
    await bob.messenger.addContact('alice');
    const shown: string[] = [];
    bob.messenger.on('message-received', (m) => shown.push(m.body ?? ''));
    const envs = [await sealFrom(alice, bobKeys.public, 'a'), await sealFrom(alice, bobKeys.public, 'b'), await sealFrom(alice, bobKeys.public, 'c')];

    faults = 1;
    relay.deliver(envs);
    // The refetch after the failed commit stores them; only then are they acknowledged.
    await relay.waitAcks(() => relay.allAcked(envs));
    await bob.messenger.idle();
    expect(faults).toBe(0);
    expect(ackedAtFault).toBe(0);
    expect(bob.messenger.diagnostics().failedCommits).toBe(1);
    expect(incoming(bob, 'alice').map((m) => m.body)).toEqual(['a', 'b', 'c']);
    expect(shown).toEqual(['a', 'b', 'c']);
    expect(relay.acked.filter((a) => envs.some((e) => e.id === a.id))).toHaveLength(3);
  });
});

describe('one envelope that cannot be stored never holds back the others', () => {
  test('an id reused by a new key of a contact is quarantined on accept and in a batch; the rest commits', async () => {
    const relay = await relayWithContacts();
    const bob = await receiver(relay.url, bobSecret);
    await bob.messenger.addContact('alice');
    await bob.messenger.addContact('carol');
    const old = await sealFrom(alice, bobKeys.public, 'from the old key');
    const old2 = await sealFrom(alice, bobKeys.public, 'old key again');
    relay.deliver([old, old2]);
    await relay.waitAcks(() => relay.allAcked([old, old2]));

    // Alice's new key: its envelopes are held until Bob accepts it. One reuses the id of her earlier message.
    const alice2 = await fixtureKeys(3);
    relay.publish('alice', alice2);
    const reused = await sealFrom(alice2, bobKeys.public, 'same id, new key', old.id);
    const fresh = await sealFrom(alice2, bobKeys.public, 'new key, new id');
    relay.deliver([reused, fresh]);
    await relay.waitAcks(() => relay.allAcked([reused, fresh]));
    await bob.messenger.idle();
    expect(bob.messenger.listContacts().find((c) => c.username === 'alice')?.keyChangePending).toBe(true);

    const accepted = await bob.messenger.acceptKeyChange('alice', alice2.fingerprint);
    expect(accepted).toMatchObject({ fingerprint: alice2.fingerprint, keyChangePending: false });
    let rows = incoming(bob, 'alice');
    expect(rows.map((m) => m.body)).toEqual(['from the old key', 'old key again', null, 'new key, new id']);
    expect(rows[2]).toMatchObject({ state: 'undecryptable' });
    expect(rows[2]!.error).toMatch(/^not-stored: .*already exists/);
    expect(bob.messenger.diagnostics()).toMatchObject({ quarantined: 1, quarantineStored: 1 });

    // In a live batch: the colliding envelope sits between messages from two contacts; they are stored and acked.
    const collide = await sealFrom(alice2, bobKeys.public, 'collides again', old2.id);
    const fromCarol = await sealFrom(carol, bobKeys.public, 'carol, same id as alice', fresh.id);
    const after = await sealFrom(alice2, bobKeys.public, 'after the collision');
    relay.deliver([fromCarol, collide, after]);
    await relay.waitAcks(() => relay.allAcked([fromCarol, collide, after]));
    await bob.messenger.idle();
    rows = incoming(bob, 'alice');
    expect(rows.map((m) => m.body)).toEqual(['from the old key', 'old key again', null, 'new key, new id', null, 'after the collision']);
    expect(incoming(bob, 'carol').map((m) => m.body)).toEqual(['carol, same id as alice']);
    expect(bob.messenger.diagnostics()).toMatchObject({ quarantined: 2, quarantineStored: 2, failedCommits: 0 });
    const q = bob.store.listQuarantined();
    expect(q.map((x) => [x.contact, x.envelopeId])).toEqual([
      ['alice', old2.id],
      ['alice', old.id],
    ]);
    expect(q.map((x) => x.envelope)).toEqual([collide, reused]);
    // A redelivery of the quarantined envelope is recognised, not quarantined twice.
    relay.redeliver([{ envelope: collide, receivedAt: Date.now() }]);
    const n = relay.acked.length;
    await relay.waitAcks(() => relay.acked.length > n);
    await bob.messenger.idle();
    expect(bob.messenger.diagnostics().quarantined).toBe(2);
  });
});

describe('one sender, relay order', () => {
  test('a batch deferred by a failed sender lookup is not overtaken by a later batch', async () => {
    const relay = await relayWithContacts();
    const bob = await receiver(relay.url, bobSecret);
    // Alice is a first contact: her first envelope needs a lookup. The first lookup waits for the test, then fails.
    let release: (() => void) | null = null;
    let lookups = 0;
    relay.hooks.lookup = async () => {
      lookups++;
      if (lookups > 1) return undefined;
      await new Promise<void>((r) => (release = r));
      return { ok: false, error: { code: 'INTERNAL', message: 'lookup failed once' } };
    };
    const m1 = await sealFrom(alice, bobKeys.public, 'first');
    const m2 = await sealFrom(alice, bobKeys.public, 'second');
    relay.deliver([m1]);
    await waitUntil(() => release !== null, 10_000, 'the first lookup');
    relay.deliver([m2]);
    // A round trip on the same connection: the second push has reached the client before this answer.
    await bob.client.fetch(1);
    release!();
    await relay.waitAcks(() => relay.allAcked([m1, m2]));
    await bob.messenger.idle();
    expect(incoming(bob, 'alice').map((m) => m.body)).toEqual(['first', 'second']);
    expect(lookups).toBeGreaterThanOrEqual(2);
  });
});
