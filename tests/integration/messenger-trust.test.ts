/**
 * Trust on first use (electron/core/messenger/trust.ts), branch by branch: who signed an incoming envelope when the
 * relay cannot vouch for the sender (unknown, an invalid identity, an identity that hashes to someone else, our own
 * name, a failing lookup), key checks against the relay (same key, invalid identity, a new key raised once, a
 * rejected key not raised again, rotation signatures), and how often keys are checked (on send, and a pass over all
 * contacts). Real Messenger, encrypted SQLite, crypto workers and RelayClient against the scriptable relay of
 * tests/helpers/fake-relay.ts, with real sealed envelopes and real identities. Nothing is mocked; the messenger's
 * clock is a test clock only where the check interval is under test.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadIdentity, signLabeled, type IdentityKeys } from '../../electron/core/crypto/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import type { MessengerOptions } from '../../electron/core/messenger/types.js';
import { LABELS, rotationInput, toB64u } from '../../relay/protocol/index.js';
import { cleanupAll, waitUntil } from '../helpers/core.js';
import { deliverAndSettle, FakeRelay, receiver, sealFrom } from '../helpers/fake-relay.js';
import { fixtureIdentity, fixtureKeys } from '../helpers/identities.js';

let alice: IdentityKeys;
let alice2: IdentityKeys;
let alice3: IdentityKeys;
let carol: IdentityKeys;
let dave: IdentityKeys;
let erin: IdentityKeys;
let bobSecret: IdentitySecret;
let bobKeys: IdentityKeys;

beforeAll(async () => {
  alice = await fixtureKeys(0);
  bobSecret = await fixtureIdentity(1);
  bobKeys = await loadIdentity(bobSecret);
  alice2 = await fixtureKeys(3);
  alice3 = await fixtureKeys(6);
  carol = await fixtureKeys(2);
  dave = await fixtureKeys(5);
  erin = await fixtureKeys(7);
}, 180_000);

afterAll(cleanupAll);

type Bob = Awaited<ReturnType<typeof receiver>>;

/** Bob (the real client) with Alice as a contact, his log lines and the events trust raises. */
async function bobWithAlice(o: Partial<MessengerOptions> = {}): Promise<{ relay: FakeRelay; bob: Bob; logs: string[]; keyChanges: unknown[]; contactsChanged: string[] }> {
  const relay = await FakeRelay.start();
  relay.publish('alice', alice);
  const logs: string[] = [];
  const bob = await receiver(relay.url, bobSecret, { messenger: { log: (m) => logs.push(m), ...o } });
  await bob.messenger.addContact('alice');
  const keyChanges: unknown[] = [];
  const contactsChanged: string[] = [];
  bob.messenger.on('contact-key-changed', (c) => keyChanges.push(c));
  bob.messenger.on('contacts-changed', (c) => contactsChanged.push(c.username));
  return { relay, bob, logs, keyChanges, contactsChanged };
}

const contactNames = (bob: Bob): string[] => bob.messenger.listContacts().map((c) => c.username).sort();
/** A lookup answer for `username` with `identity` (what a hostile or broken relay can serve). */
const answer = (username: string, identity: unknown, fingerprint: string, rotation: { from: string; sig: string } | null = null) => ({
  ok: true,
  username,
  identity,
  fingerprint,
  rotation,
});

describe('a sender the relay cannot vouch for is dropped and acknowledged, never a contact', () => {
  test('unknown to the relay', async () => {
    const { relay, bob, logs } = await bobWithAlice();
    const shown: string[] = [];
    bob.messenger.on('message-received', (m) => shown.push(m.id));
    const env = await sealFrom(carol, bobKeys.public, 'who am I?');
    await deliverAndSettle(relay, bob, [env]);
    expect(logs).toContain('dropped an envelope from a sender the relay does not know');
    expect(contactNames(bob)).toEqual(['alice']);
    expect(shown).toEqual([]);
    expect(bob.messenger.diagnostics()).toMatchObject({ quarantined: 0, deferredBatches: 0 });
  });

  test('an invalid identity, an identity that hashes to someone else, and our own name', async () => {
    const { relay, bob, logs, contactsChanged } = await bobWithAlice();
    const shown: string[] = [];
    bob.messenger.on('message-received', (m) => shown.push(m.id));
    relay.hooks.lookup = (q) => {
      // Passes the transport's schema (base64url of the right shape) but is not an RSA key.
      if (q.fingerprint === carol.fingerprint) return answer('carol', { ...carol.public, enc: 'AAAA' }, carol.fingerprint);
      // A valid identity, but Erin's: it does not hash to the fingerprint that signed the envelope.
      if (q.fingerprint === dave.fingerprint) return answer('dave', erin.public, dave.fingerprint);
      // Erin's real identity under our own username.
      if (q.fingerprint === erin.fingerprint) return answer('bob', erin.public, erin.fingerprint);
      return undefined;
    };
    const envs = [await sealFrom(carol, bobKeys.public, 'c'), await sealFrom(dave, bobKeys.public, 'd'), await sealFrom(erin, bobKeys.public, 'e')];
    await deliverAndSettle(relay, bob, envs);
    expect(logs).toContain('dropped an envelope: the relay served an invalid identity for its sender');
    expect(logs).toContain('dropped an envelope: the identity the relay served does not hash to the sender fingerprint');
    expect(contactNames(bob)).toEqual(['alice']);
    expect(contactsChanged).toEqual([]);
    expect(shown).toEqual([]);
    expect(bob.messenger.diagnostics()).toMatchObject({ quarantined: 0, deferredBatches: 0 });
  });

  test('a lookup that fails for another reason defers the batch, unacknowledged; it arrives once the relay answers', async () => {
    const { relay, bob, logs, contactsChanged } = await bobWithAlice();
    relay.publish('carol', carol);
    let failures = 0;
    relay.hooks.lookup = (q) => {
      if (q.fingerprint !== carol.fingerprint || failures >= 2) return undefined;
      failures++;
      return { ok: false, error: { code: 'INTERNAL', message: 'directory unavailable' } };
    };
    const env = await sealFrom(carol, bobKeys.public, 'hello from a stranger');
    relay.deliver([env]);
    // The next try comes a refetch delay (200 ms here) after a failure: the batch is still unacknowledged.
    await waitUntil(() => failures >= 1, 20_000, 'a failed lookup');
    expect(relay.isAcked(env.from, env.id)).toBe(false);
    await relay.waitAcks(() => relay.allAcked([env]));
    await bob.messenger.idle();
    expect(logs.some((l) => l.startsWith('batch deferred: sender lookup failed: ') && l.includes('directory unavailable'))).toBe(true);
    expect(bob.messenger.diagnostics().deferredBatches).toBeGreaterThanOrEqual(2);
    // A first contact: a message request, announced once, with the message shown once.
    expect(contactNames(bob)).toEqual(['alice', 'carol']);
    expect(bob.messenger.listContacts().find((c) => c.username === 'carol')).toMatchObject({ request: true, fingerprint: carol.fingerprint });
    expect(contactsChanged).toEqual(['carol']);
    expect(bob.messenger.loadMessages('carol', null, 10).messages.map((m) => m.body)).toEqual(['hello from a stranger']);
  });
});

describe('key checks against the relay', () => {
  test('same key: nothing; invalid identity: a RELAY error naming the contact; a new key: raised once; a rejected key: not raised again', async () => {
    const { relay, bob, keyChanges, contactsChanged } = await bobWithAlice();
    const same = await bob.messenger.checkContactKey('alice');
    expect(same).toMatchObject({ username: 'alice', fingerprint: alice.fingerprint, keyChangePending: false });
    expect(keyChanges).toEqual([]);

    relay.hooks.lookup = (q) => (q.username === 'alice' ? answer('alice', { ...alice.public, enc: 'AAAA' }, alice.fingerprint) : undefined);
    const invalid = await bob.messenger.checkContactKey('alice').catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: 'RELAY' });
    expect((invalid as Error).message).toMatch(/^The relay served an invalid identity for alice: \S/);
    expect(keyChanges).toEqual([]);

    relay.hooks.lookup = undefined;
    relay.publish('alice', alice2);
    const pending = await bob.messenger.checkContactKey('alice');
    expect(pending).toMatchObject({ fingerprint: alice.fingerprint, keyChangePending: true });
    expect(keyChanges).toEqual([
      { username: 'alice', change: { at: expect.any(Number), oldFingerprint: alice.fingerprint, newFingerprint: alice2.fingerprint, signedByOld: false, resolution: 'pending' } },
    ]);
    expect(contactsChanged).toEqual(['alice']);
    // Checking again (the relay still serves the pending key) raises nothing more.
    await bob.messenger.checkContactKey('alice');
    expect(keyChanges).toHaveLength(1);
    expect(bob.store.listKeyChanges('alice')).toHaveLength(1);

    const rejected = await bob.messenger.rejectKeyChange('alice');
    expect(rejected).toMatchObject({ fingerprint: alice.fingerprint, keyChangePending: false });
    await bob.messenger.checkContactKey('alice');
    expect(keyChanges).toHaveLength(1);
    expect(bob.store.listKeyChanges('alice').map((k) => k.resolution)).toEqual(['rejected']);

    await expect(bob.messenger.rejectKeyChange('alice')).rejects.toMatchObject({ code: 'NO_KEY_CHANGE', message: 'alice has no pending key change' });
    await expect(bob.messenger.acceptKeyChange('alice', alice2.fingerprint)).rejects.toMatchObject({ code: 'NO_KEY_CHANGE', message: 'alice has no pending key change' });
    await expect(bob.messenger.checkContactKey('nobody')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'No contact named nobody' });
  });

  test("a rotation signature counts only when it is the old key's, over this username, old and new key", async () => {
    const { relay, bob, keyChanges } = await bobWithAlice();
    const rotationBy = async (signer: IdentityKeys, oldFp: string, next: IdentityKeys): Promise<string> =>
      toB64u(await signLabeled(signer, LABELS.rotate, ...rotationInput('alice', oldFp, next.public)));
    const serve = (next: IdentityKeys, rotation: { from: string; sig: string }): void => {
      relay.hooks.lookup = (q) => (q.username === 'alice' ? answer('alice', next.public, next.fingerprint, rotation) : undefined);
    };
    const signedByOld = (): unknown[] => keyChanges.map((c) => (c as { change: { signedByOld: boolean } }).change.signedByOld);

    // Alice's valid signature, but the rotation claims to come from another key: not counted.
    serve(alice2, { from: alice3.fingerprint, sig: await rotationBy(alice, alice.fingerprint, alice2) });
    await bob.messenger.checkContactKey('alice');
    // From Alice's key, but signed by the new key itself: not counted.
    serve(alice3, { from: alice.fingerprint, sig: await rotationBy(alice3, alice.fingerprint, alice3) });
    await bob.messenger.checkContactKey('alice');
    // Not a signature at all (4 bytes): not counted, and no error.
    serve(alice2, { from: alice.fingerprint, sig: 'AAAAAA' });
    await bob.messenger.checkContactKey('alice');
    expect(signedByOld()).toEqual([false, false, false]);

    // The real thing: Alice's old key signed the move to alice3.
    await bob.messenger.rejectKeyChange('alice');
    const erinAsAlice = erin;
    serve(erinAsAlice, { from: alice.fingerprint, sig: await rotationBy(alice, alice.fingerprint, erinAsAlice) });
    await bob.messenger.checkContactKey('alice');
    expect(signedByOld()).toEqual([false, false, false, true]);
    expect(keyChanges.at(-1)).toMatchObject({ change: { newFingerprint: erin.fingerprint, oldFingerprint: alice.fingerprint } });
  });

  test('on send, a key is checked at most once per keyCheckOnSendMs; a failing check is logged and the send goes on', async () => {
    let clock = Date.now(); // the outbox stamps items with the wall clock: the test clock starts there
    const { relay, bob, logs } = await bobWithAlice({ keyCheckOnSendMs: 60_000, now: () => clock });
    const lookups: string[] = [];
    let invalid = false;
    relay.hooks.lookup = (q) => {
      if (q.username) lookups.push(q.username);
      return invalid && q.username === 'alice' ? answer('alice', { ...alice.public, enc: 'AAAA' }, alice.fingerprint) : undefined;
    };
    // Adding the contact just checked its key.
    await bob.messenger.sendText('alice', 'one');
    expect(lookups).toEqual([]);
    clock += 59_000;
    await bob.messenger.sendText('alice', 'two');
    expect(lookups).toEqual([]);
    clock += 2_000;
    await bob.messenger.sendText('alice', 'three');
    expect(lookups).toEqual(['alice']);
    await bob.messenger.sendText('alice', 'four');
    expect(lookups).toEqual(['alice']);

    invalid = true;
    clock += 61_000;
    const sent = await bob.messenger.sendText('alice', 'five');
    expect(lookups).toEqual(['alice', 'alice']);
    expect(sent.body).toBe('five');
    expect(logs.some((l) => /^key check of alice skipped: The relay served an invalid identity for alice: \S/.test(l))).toBe(true);
    await waitUntil(() => relay.sent.length === 5, 20_000, 'all five sent');
  });

  test('checking every contact: one pass at a time, contacts checked recently are skipped, a failure is logged and the pass goes on', async () => {
    let clock = Date.now(); // the outbox stamps items with the wall clock: the test clock starts there
    const { relay, bob, logs } = await bobWithAlice({ keyCheckOnSendMs: 60_000, now: () => clock, keyChecksPerSecond: 1000 });
    relay.publish('carol', carol);
    relay.publish('dave', dave);
    await bob.messenger.addContact('carol');
    await bob.messenger.addContact('dave');
    const lookups: string[] = [];
    relay.hooks.lookup = (q) => {
      if (q.username) lookups.push(q.username);
      return q.username === 'carol' ? { ok: false, error: { code: 'INTERNAL', message: 'directory unavailable' } } : undefined;
    };
    await bob.messenger.checkAllContacts();
    expect(lookups).toEqual([]);

    clock += 61_000;
    await bob.messenger.checkContactKey('dave'); // dave is fresh again
    lookups.length = 0;
    const first = bob.messenger.checkAllContacts();
    const second = bob.messenger.checkAllContacts();
    expect(second).toBe(first);
    await first;
    expect(lookups.sort()).toEqual(['alice', 'carol']);
    expect(logs.some((l) => l.startsWith('key check of carol failed: ') && l.includes('directory unavailable'))).toBe(true);

    // A new pass once the last one ended: alice was just checked, carol's lookup failed, so only carol again.
    const third = bob.messenger.checkAllContacts();
    expect(third).not.toBe(first);
    await third;
    expect(lookups.sort()).toEqual(['alice', 'carol', 'carol']);
  });
});

describe('what the first run of mutation testing found (trust.ts survivors)', () => {
  test('a known contact is resolved without asking the relay; a second envelope of a pending key is held', async () => {
    const { relay, bob } = await bobWithAlice();
    const byFingerprint: string[] = [];
    relay.hooks.lookup = (q) => {
      if (q.fingerprint) byFingerprint.push(q.fingerprint);
      return q.fingerprint ? { ok: false, error: { code: 'INTERNAL', message: 'directory unavailable' } } : undefined;
    };
    const fromAlice = await sealFrom(alice, bobKeys.public, 'no lookup needed');
    await deliverAndSettle(relay, bob, [fromAlice]);
    expect(byFingerprint).toEqual([]);
    expect(bob.messenger.loadMessages('alice', null, 10).messages.map((m) => m.body)).toEqual(['no lookup needed']);

    // Alice's new key arrives by lookup first (a key check), then its envelopes: held, not opened with the old key.
    relay.hooks.lookup = undefined;
    relay.publish('alice', alice2);
    await bob.messenger.checkContactKey('alice');
    const held = await sealFrom(alice2, bobKeys.public, 'from the new key');
    await deliverAndSettle(relay, bob, [held]);
    expect(bob.store.countPendingEnvelopes('alice')).toBe(1);
    expect(bob.messenger.loadMessages('alice', null, 10).messages.map((m) => m.body)).toEqual(['no lookup needed']);
  });

  test('the first envelope of a new key, found by lookup, is held too; accepting shows it and announces the contact', async () => {
    const { relay, bob, keyChanges, contactsChanged } = await bobWithAlice();
    relay.publish('alice', alice2);
    const first = await sealFrom(alice2, bobKeys.public, 'new key, first word');
    await deliverAndSettle(relay, bob, [first]);
    expect(keyChanges).toHaveLength(1);
    expect(bob.store.countPendingEnvelopes('alice')).toBe(1);
    contactsChanged.length = 0;
    await expect(bob.messenger.acceptKeyChange('alice', alice3.fingerprint)).rejects.toMatchObject({
      code: 'KEY_MISMATCH',
      message: "alice's pending key is not the one you reviewed; review the new key first",
    });
    await bob.messenger.acceptKeyChange('alice', alice2.fingerprint);
    await bob.messenger.idle();
    expect(contactsChanged).toContain('alice');
    expect(bob.messenger.loadMessages('alice', null, 10).messages.map((m) => m.body)).toEqual(['new key, first word']);
  });

  test('an unknown sender while another contact has key changes on record is a new contact, not a stale key', async () => {
    const { relay, bob, contactsChanged } = await bobWithAlice();
    relay.publish('alice', alice2);
    await bob.messenger.checkContactKey('alice');
    await bob.messenger.rejectKeyChange('alice');
    expect(contactsChanged).toEqual(['alice', 'alice']);
    relay.publish('carol', carol);
    await deliverAndSettle(relay, bob, [await sealFrom(carol, bobKeys.public, 'hi, I am new here')]);
    expect(bob.messenger.loadMessages('carol', null, 10).messages.map((m) => [m.body, m.state])).toEqual([['hi, I am new here', 'delivered']]);
  });

  test('a contact added while the lookup of its first envelope was in flight is a current sender: the message shows', async () => {
    const { relay, bob } = await bobWithAlice();
    relay.publish('carol', carol);
    relay.hooks.lookup = async (q) => {
      if (q.fingerprint !== carol.fingerprint) return undefined;
      relay.hooks.lookup = undefined;
      await bob.messenger.addContact('carol'); // the user adds Carol meanwhile (a username lookup of its own)
      return undefined;
    };
    await deliverAndSettle(relay, bob, [await sealFrom(carol, bobKeys.public, 'while you were adding me')]);
    expect(bob.store.countPendingEnvelopes('carol')).toBe(0);
    expect(bob.messenger.listContacts().find((c) => c.username === 'carol')).toMatchObject({ keyChangePending: false, request: false });
    expect(bob.messenger.loadMessages('carol', null, 10).messages.map((m) => m.body)).toEqual(['while you were adding me']);
  });

  test('two key checks at once raise one key change', async () => {
    const { relay, bob, keyChanges } = await bobWithAlice();
    relay.publish('alice', alice2);
    await Promise.all([bob.messenger.checkContactKey('alice'), bob.messenger.checkContactKey('alice')]);
    expect(keyChanges).toHaveLength(1);
    expect(bob.store.listKeyChanges('alice')).toHaveLength(1);
  });

  test('offline: a key check is OFFLINE, an unknown sender defers its batch, a pass over all contacts stops', async () => {
    const { relay, bob, logs } = await bobWithAlice();
    relay.publish('carol', carol);
    bob.client.close();
    await waitUntil(() => !bob.client.online, 10_000, 'offline');
    await expect(bob.messenger.checkContactKey('alice')).rejects.toMatchObject({ code: 'OFFLINE', message: 'The relay is not reachable' });
    const env = await sealFrom(carol, bobKeys.public, 'while offline');
    await bob.messenger.enqueueBatch([{ envelope: env, receivedAt: Date.now() }]).catch(() => 0);
    expect(logs).toContain('batch deferred: offline while resolving a sender');
    expect(bob.messenger.diagnostics().deferredBatches).toBe(1);
    expect(bob.messenger.listContacts().map((c) => c.username)).toEqual(['alice']);
  });

  test('never-checked contacts are checked on send and in a pass; "recently" ends exactly at the interval; the pass is paced', async () => {
    let clock = Date.now();
    const { relay, bob } = await bobWithAlice({ keyCheckOnSendMs: 60_000, now: () => clock, keyChecksPerSecond: 5 });
    relay.publish('carol', carol);
    relay.publish('dave', dave);
    // Carol and Dave arrive as message requests: their keys were never checked.
    await deliverAndSettle(relay, bob, [await sealFrom(carol, bobKeys.public, 'c'), await sealFrom(dave, bobKeys.public, 'd')]);
    const lookups: Array<{ who: string; at: number }> = [];
    relay.hooks.lookup = (q) => {
      if (q.username) lookups.push({ who: q.username, at: Date.now() });
      return undefined;
    };
    await bob.messenger.sendText('carol', 'hello Carol');
    expect(lookups.map((l) => l.who)).toEqual(['carol']);
    lookups.length = 0;
    // Alice was checked when added, Carol just now: a pass checks only Dave.
    await bob.messenger.checkAllContacts();
    expect(lookups.map((l) => l.who)).toEqual(['dave']);

    // 31 s later nothing is due (the interval is this messenger's 60 s, not the 30 s default) ...
    clock += 31_000;
    lookups.length = 0;
    await bob.messenger.checkAllContacts();
    expect(lookups).toEqual([]);
    // ... and exactly 60 s after Alice's check (and Carol's and Dave's, within the same clock tick) all are due again.
    clock += 29_000;
    await bob.messenger.checkAllContacts();
    expect(lookups.map((l) => l.who).sort()).toEqual(['alice', 'carol', 'dave']);
    // 5 lookups a second: 200 ms from the start of one check to the start of the next (never less; more on a busy
    // machine). Seen at the relay, each lookup also carries its own trip, so the bound leaves 100 ms for that.
    expect(lookups[2]!.at - lookups[0]!.at).toBeGreaterThanOrEqual(300);
    // And a send exactly at the interval checks too.
    clock += 60_000;
    lookups.length = 0;
    await bob.messenger.sendText('alice', 'exactly a minute');
    expect(lookups.map((l) => l.who)).toEqual(['alice']);
  });

  test('a pass over all contacts stops when the connection goes', async () => {
    const { relay, bob, logs } = await bobWithAlice({ keyChecksPerSecond: 2 });
    for (const [name, keys] of [['carol', carol], ['dave', dave], ['erin', erin]] as const) {
      relay.publish(name, keys);
      await bob.messenger.addContact(name);
    }
    const lookups: string[] = [];
    relay.hooks.lookup = (q) => {
      if (q.username) lookups.push(q.username);
      if (lookups.length === 1) bob.client.close(); // gone during the first check of the pass
      return undefined;
    };
    await bob.messenger.checkAllContacts();
    expect(lookups).toHaveLength(1);
    // It stopped rather than trying (and failing) the others one by one: only the check in flight failed.
    expect(logs.filter((l) => l.startsWith('key check of') && !l.startsWith(`key check of ${lookups[0]} failed: `))).toEqual([]);
  });
});
