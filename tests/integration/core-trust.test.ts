/**
 * Story: the user decides about a contact's new key, and a relay cannot wear that decision down. Accepting names
 * the key the user reviewed (another pending key by then is refused with a typed error); a rejected key stays
 * rejected when more envelopes signed by it arrive; and a stream of envelopes that cannot be opened shows a few
 * rows per contact and hour, then one row that counts the rest. Real Messenger, SQLite, crypto workers and
 * RelayClient against the scriptable relay of tests/helpers/fake-relay.ts with real sealed envelopes.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadIdentity, newMessageId, type IdentityKeys } from '../../electron/core/crypto/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import { FAILURE_ROWS_PER_HOUR } from '../../electron/core/messenger/envelope-writer.js';
import type { Envelope } from '../../relay/protocol/index.js';
import { cleanupAll } from '../helpers/core.js';
import { FakeRelay, receiver, sealFrom } from '../helpers/fake-relay.js';
import { fixtureIdentity, fixtureKeys } from '../helpers/identities.js';

let alice: IdentityKeys;
let alice2: IdentityKeys;
let alice3: IdentityKeys;
let bobSecret: IdentitySecret;
let bobKeys: IdentityKeys;

beforeAll(async () => {
  alice = await fixtureKeys(0);
  bobSecret = await fixtureIdentity(1);
  bobKeys = await loadIdentity(bobSecret);
  alice2 = await fixtureKeys(3);
  alice3 = await fixtureKeys(6);
}, 120_000);

afterAll(cleanupAll);

async function bobWithAlice(): Promise<{ relay: FakeRelay; bob: Awaited<ReturnType<typeof receiver>> }> {
  const relay = await FakeRelay.start();
  relay.publish('alice', alice);
  const bob = await receiver(relay.url, bobSecret);
  await bob.messenger.addContact('alice');
  return { relay, bob };
}

describe('key decisions', () => {
  test('accepting names the reviewed key: a different pending key is refused with KEY_MISMATCH', async () => {
    const { relay, bob } = await bobWithAlice();
    relay.publish('alice', alice2);
    const held = await sealFrom(alice2, bobKeys.public, 'new key here');
    relay.deliver([held]);
    await relay.waitAcks(() => relay.allAcked([held]));
    await bob.messenger.idle();

    await expect(bob.messenger.acceptKeyChange('alice', alice3.fingerprint)).rejects.toMatchObject({ code: 'KEY_MISMATCH' });
    expect(bob.messenger.listContacts()[0]).toMatchObject({ fingerprint: alice.fingerprint, keyChangePending: true });
    expect(bob.messenger.loadMessages('alice').messages).toHaveLength(0);

    await expect(bob.messenger.acceptKeyChange('alice', alice2.fingerprint)).resolves.toMatchObject({ fingerprint: alice2.fingerprint });
    expect(bob.messenger.loadMessages('alice').messages.map((m) => m.body)).toEqual(['new key here']);
  });

  test('a rejected key stays rejected: its next envelope raises no new pending change and shows as key-rejected', async () => {
    const { relay, bob } = await bobWithAlice();
    const changes: unknown[] = [];
    bob.messenger.on('contact-key-changed', (c) => changes.push(c));
    relay.publish('alice', alice2);
    const first = await sealFrom(alice2, bobKeys.public, 'trust me');
    relay.deliver([first]);
    await relay.waitAcks(() => relay.allAcked([first]));
    await bob.messenger.idle();
    expect(changes).toHaveLength(1);
    await bob.messenger.rejectKeyChange('alice');

    const again = await sealFrom(alice2, bobKeys.public, 'trust me now?');
    relay.deliver([again]);
    await relay.waitAcks(() => relay.allAcked([again]));
    await bob.messenger.idle();
    expect(changes).toHaveLength(1);
    expect(bob.messenger.listContacts()[0]).toMatchObject({ fingerprint: alice.fingerprint, keyChangePending: false });
    expect(bob.store.listKeyChanges('alice').map((k) => k.resolution)).toEqual(['rejected']);
    const rows = bob.messenger.loadMessages('alice').messages;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: again.id, body: null, state: 'undecryptable' });
    expect(rows[0]!.error).toMatch(/^key-rejected:/);
  });
});

describe('held envelopes are bounded', () => {
  test('past maxHeldPerContact, envelopes of a pending key are shown as failed instead of held', async () => {
    const relay = await FakeRelay.start();
    relay.publish('alice', alice);
    const bob = await receiver(relay.url, bobSecret, { messenger: { maxHeldPerContact: 3 } });
    await bob.messenger.addContact('alice');
    relay.publish('alice', alice2);
    const envs: Envelope[] = [];
    for (let i = 0; i < 5; i++) envs.push(await sealFrom(alice2, bobKeys.public, `held ${i}`));
    relay.deliver(envs);
    await relay.waitAcks(() => relay.allAcked(envs));
    await bob.messenger.idle();
    expect(bob.store.listPendingEnvelopes('alice').map((p) => p.envelopeId)).toEqual(envs.slice(0, 3).map((e) => e.id));
    const failed = bob.messenger.loadMessages('alice').messages;
    expect(failed.map((m) => m.id)).toEqual(envs.slice(3).map((e) => e.id));
    expect(failed.every((m) => m.state === 'undecryptable' && /^held-limit:/.test(m.error ?? ''))).toBe(true);

    await bob.messenger.acceptKeyChange('alice', alice2.fingerprint);
    const bodies = bob.messenger.loadMessages('alice').messages.map((m) => m.body);
    expect(bodies).toEqual([null, null, 'held 0', 'held 1', 'held 2']);
  });
});

describe('failure rows are bounded', () => {
  test(`at most ${FAILURE_ROWS_PER_HOUR} undecryptable rows per contact and hour; the rest become one counted row`, async () => {
    const { relay, bob } = await bobWithAlice();
    const base = await sealFrom(alice, bobKeys.public, 'genuine');
    // A fresh id under the old signature: the signature no longer verifies, so none of these opens.
    const forged = Array.from({ length: 12 }, () => ({ ...base, id: newMessageId() }));
    relay.deliver(forged);
    await relay.waitAcks(() => relay.allAcked(forged));
    await bob.messenger.idle();
    const rows = bob.messenger.loadMessages('alice').messages;
    expect(rows).toHaveLength(FAILURE_ROWS_PER_HOUR + 1);
    expect(rows.every((m) => m.state === 'undecryptable' && m.body === null)).toBe(true);
    expect(rows.slice(0, FAILURE_ROWS_PER_HOUR).map((m) => m.id)).toEqual(forged.slice(0, FAILURE_ROWS_PER_HOUR).map((e) => e.id));
    expect(rows.at(-1)!.error).toMatch(/^7 more envelopes from alice could not be opened or stored in this hour/);
    expect(bob.messenger.diagnostics().collapsedFailures).toBe(7);

    // A genuine message still shows as itself.
    relay.deliver([base]);
    await relay.waitAcks(() => relay.allAcked([base]));
    await bob.messenger.idle();
    expect(bob.messenger.loadMessages('alice').messages.at(-1)).toMatchObject({ id: base.id, body: 'genuine', state: 'delivered' });
  });
});
