/**
 * Story: while Bob is offline Alice rotates her key and sends him a text and a message with a file. Bob's client holds
 * both (signed by a key he has not accepted). When he accepts, both open, and Alice's client learns that both were
 * delivered: the held message with files gets its delivery receipt like the text does (it used to stay "sent"
 * forever: only held text messages were acknowledged). Real relay over real sockets, real SQLite profiles, real
 * blob store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ParleyService } from '../../electron/core/service.js';
import { fingerprint } from '../../relay/protocol/index.js';
import { aliceAndBob, cleanupAll, collect, reopenService, startTestRelay, tmpDir, unackedFor, waitUntil, type TestRelay } from '../helpers/core.js';
import { fixtureIdentity } from '../helpers/identities.js';

let relay: TestRelay;
let alice: ParleyService;
let bob: ParleyService;
const files = tmpDir('held-incoming-files');
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(async () => {
  relay = await startTestRelay();
  ({ alice, bob } = await aliceAndBob(relay.url));
}, 120_000);

afterAll(cleanupAll);

describe('held incoming messages after a key change is accepted', () => {
  test('a held message with files opens with its file and is acknowledged to the sender, like a held text', async () => {
    const bobDir = bob.profile.dir;
    await bob.close();
    const next = await fixtureIdentity(3);
    const newFp = await fingerprint(next.public);
    await alice.rotateIdentity({ identity: next });
    await alice.waitOnline();

    const photo = path.join(files, 'photo.bin');
    writeFileSync(photo, randomBytes(50_000));
    const text = await alice.sendMessage({ conversation: 'd:bob', text: 'a text while you were away' });
    const withFile = await alice.sendFiles({ conversation: 'd:bob', paths: [photo], caption: 'and a file' });
    const stateOf = async (id: string) => (await alice.loadMessages({ conversation: 'd:bob' })).messages.find((m) => m.id === id)?.state;
    await waitUntil(async () => (await stateOf(text.id)) === 'sent' && (await stateOf(withFile.id)) === 'sent', 30_000, 'both sent');

    let changes: ReturnType<typeof collect<'contact-key-changed'>> = [];
    bob = await reopenService(bobDir, {}, (svc) => (changes = collect(svc, 'contact-key-changed')));
    await waitUntil(() => changes.length > 0, 20_000, 'contact-key-changed');
    await waitUntil(() => unackedFor(relay, 'bob') === 0, 20_000, 'held envelopes acknowledged after storing');
    await bob.idle();
    expect((await bob.getContact({ username: 'alice' })).heldMessages).toBe(2);
    expect([await stateOf(text.id), await stateOf(withFile.id)]).toEqual(['sent', 'sent']); // held: no receipt yet

    await bob.acceptKeyChange({ username: 'alice', fingerprint: newFp });
    await bob.idle();
    const incoming = (await bob.loadMessages({ conversation: 'd:alice' })).messages.filter((m) => m.direction === 'in');
    expect(incoming.map((m) => [m.id, m.body])).toEqual([
      [text.id, 'a text while you were away'],
      [withFile.id, 'and a file'],
    ]);
    expect(incoming[1]!.attachments?.map((a) => [a.name, a.size])).toEqual([['photo.bin', 50_000]]);
    const saved = path.join(files, 'saved.bin');
    await bob.saveAttachment({ messageId: withFile.id, index: 0, path: saved });
    expect(sha(saved)).toBe(sha(photo));

    await waitUntil(
      async () => (await stateOf(text.id)) === 'delivered' && (await stateOf(withFile.id)) === 'delivered',
      20_000,
      'both delivered (receipts from Bob)',
    );
  });
});
