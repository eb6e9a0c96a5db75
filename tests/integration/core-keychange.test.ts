/**
 * Story: Bob has verified Alice. While Bob is offline Alice rotates her identity (the new key signed by the old
 * one, registered with the relay) and writes to him three times. When Bob comes back his client sees envelopes
 * signed by a key it does not trust: it keeps them pending (acknowledged to the relay only once stored), clears the
 * verified flag and reports the key change. Bob's reply is held. When he accepts the new key, the three messages
 * open, in order, nothing lost, and his held reply is re-sealed for Alice's new key and reaches her.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ParleyService } from '../../electron/core/service.js';
import { fingerprint } from '../../relay/protocol/index.js';
import {
  aliceAndBob,
  cleanupAll,
  collect,
  fixtureService,
  reopenService,
  startTestRelay,
  unackedFor,
  waitUntil,
  type TestRelay,
} from '../helpers/core.js';
import { fixtureIdentity } from '../helpers/identities.js';

let relay: TestRelay;
let alice: ParleyService;
let bob: ParleyService;

beforeAll(async () => {
  relay = await startTestRelay();
  ({ alice, bob } = await aliceAndBob(relay.url));
  await bob.setVerified({ username: 'alice', verified: true });
}, 120_000);

afterAll(cleanupAll);

describe('key change end to end', () => {
  test('pending envelopes re-open after accept, nothing is lost, verified was cleared', async () => {
    const bobDir = bob.profile.dir;
    const oldFp = (await bob.getContact({ username: 'alice' })).fingerprint;
    await bob.close();

    const next = await fixtureIdentity(3);
    const newFp = await fingerprint(next.public);
    const rotated = await alice.rotateIdentity({ identity: next });
    expect(rotated.fingerprint).toBe(newFp);
    await alice.waitOnline();

    const states = collect(alice, 'message-state');
    const texts = ['new key, same me', 'second', 'third'];
    for (const t of texts) await alice.sendMessage({ conversation: 'd:bob', text: t });
    await waitUntil(() => states.filter((s) => s.state === 'sent').length === 3, 20_000, 'three sent');

    let changes: ReturnType<typeof collect<'contact-key-changed'>> = [];
    bob = await reopenService(bobDir, {}, (svc) => (changes = collect(svc, 'contact-key-changed')));
    await waitUntil(() => changes.length > 0, 20_000, 'contact-key-changed');
    await waitUntil(() => unackedFor(relay, 'bob') === 0, 20_000, 'pending envelopes acknowledged after storing');
    await bob.idle();

    expect(changes[0]).toMatchObject({
      username: 'alice',
      change: { oldFingerprint: oldFp, newFingerprint: newFp, signedByOld: true, resolution: 'pending' },
    });
    const pending = await bob.getContact({ username: 'alice' });
    expect(pending).toMatchObject({ verified: false, keyChangePending: true, fingerprint: oldFp });
    // The review banner says how many wait: the count comes from the core.
    expect(pending.heldMessages).toBe(3);
    // Not shown yet: they are signed by a key Bob has not accepted.
    const before = await bob.loadMessages({ conversation: 'd:alice' });
    expect(before.messages.map((m) => m.body)).not.toContain(texts[0]);

    // Bob's reply waits for his decision.
    const reply = await bob.sendMessage({ conversation: 'd:alice', text: 'is this really you?' });
    expect(reply.state).toBe('sending');

    const aliceGot = collect(alice, 'message-received');
    const accepted = await bob.acceptKeyChange({ username: 'alice', fingerprint: newFp });
    expect(accepted).toMatchObject({ fingerprint: newFp, keyChangePending: false, verified: false });
    await bob.idle();

    const after = await bob.loadMessages({ conversation: 'd:alice' });
    const incoming = after.messages.filter((m) => m.direction === 'in');
    expect(incoming.map((m) => m.body)).toEqual(texts);
    expect(incoming.every((m) => m.state === 'delivered')).toBe(true);
    const detail = await bob.getContact({ username: 'alice' });
    expect(detail.heldMessages).toBe(0);
    expect(detail.keyChanges).toHaveLength(1);
    expect(detail.keyChanges[0]).toMatchObject({ oldFingerprint: oldFp, newFingerprint: newFp, resolution: 'accepted' });

    // The held reply was re-sealed for the new key and Alice (now on that key) opens it.
    await waitUntil(() => aliceGot.some((m) => m.body === 'is this really you?'), 20_000, 'Alice receives the held reply');
    const bobView = await bob.loadMessages({ conversation: 'd:alice' });
    await waitUntil(
      async () => (await bob.loadMessages({ conversation: 'd:alice' })).messages.find((m) => m.id === reply.id)?.state === 'delivered',
      20_000,
      'reply delivered (receipt from Alice)',
    );
    expect(bobView.total).toBe(after.total);
  });

  test('a send racing a rotation is held for the new key, not failed', async () => {
    const relay2 = await startTestRelay();
    const ann = await fixtureService(4, 'ann', relay2.url);
    // Ben checked Ann's key moments ago, so his next send does not look it up again.
    const ben = await fixtureService(5, 'ben', relay2.url, { messenger: { keyCheckOnSendMs: 3_600_000, keyCheckIntervalMs: 0 } });
    await Promise.all([ann.waitOnline(), ben.waitOnline()]);
    await ben.addContact({ username: 'ann' });
    const annNext = await fixtureIdentity(6);
    await ann.rotateIdentity({ identity: annNext });

    const changes = collect(ben, 'contact-key-changed');
    const m = await ben.sendMessage({ conversation: 'd:ann', text: 'hello after your rotation?' });
    await waitUntil(() => changes.length === 1, 20_000, 'the relay refusing the old key leads to a key check');
    await ben.flushOutbox();
    const page = await ben.loadMessages({ conversation: 'd:ann' });
    expect(page.messages.find((x) => x.id === m.id)?.state).toBe('sending');
    expect((await ben.getContact({ username: 'ann' })).keyChangePending).toBe(true);

    const annGot = collect(ann, 'message-received');
    await ben.acceptKeyChange({ username: 'ann', fingerprint: await fingerprint(annNext.public) });
    await waitUntil(() => annGot.some((x) => x.body === 'hello after your rotation?'), 20_000, 'Ann receives it');
  });
});
