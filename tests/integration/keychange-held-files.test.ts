/**
 * Story: Alice rotates her key. Bob's client sees the new key (pending his decision) and Bob sends her two files
 * with a caption: the message is held. When Bob accepts the new key, the held message is sealed again for it and
 * reaches Alice as what it was, a message with files (not a bare caption), and she downloads both files intact.
 * Real relay over real sockets, real SQLite profiles, real blob store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ParleyService } from '../../electron/core/service.js';
import { fingerprint } from '../../relay/protocol/index.js';
import { aliceAndBob, cleanupAll, collect, startTestRelay, tmpDir, waitUntil, type TestRelay } from '../helpers/core.js';
import { fixtureIdentity } from '../helpers/identities.js';

let relay: TestRelay;
let alice: ParleyService;
let bob: ParleyService;
const files = tmpDir('held-files');
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(async () => {
  relay = await startTestRelay();
  ({ alice, bob } = await aliceAndBob(relay.url));
}, 120_000);

afterAll(cleanupAll);

describe('a held message with files, after the key is accepted', () => {
  test('arrives with its files, and both download byte for byte', async () => {
    const next = await fixtureIdentity(3);
    const newFp = await fingerprint(next.public);
    await alice.rotateIdentity({ identity: next });
    await alice.waitOnline();
    expect(await bob.checkContactKey({ username: 'alice' })).toMatchObject({ keyChangePending: true });

    const one = path.join(files, 'photo.bin');
    const two = path.join(files, 'notes.txt');
    writeFileSync(one, randomBytes(200_000));
    writeFileSync(two, 'held while the key was reviewed\n');
    const states = collect(bob, 'message-state');
    const sent = await bob.sendFiles({ conversation: 'd:alice', paths: [one, two], caption: 'two files, held' });
    // The uploads finish; the message itself waits for Bob's decision.
    await waitUntil(
      async () => (await bob.loadMessages({ conversation: 'd:alice' })).messages.find((m) => m.id === sent.id)?.attachments?.every((a) => a.state === 'complete') ?? false,
      30_000,
      'both uploads complete',
    );
    await bob.flushOutbox();
    const held = (await bob.loadMessages({ conversation: 'd:alice' })).messages.find((m) => m.id === sent.id)!;
    expect(held.state).toBe('sending');
    expect(states.find((s) => s.id === sent.id && s.state === 'failed')).toBeUndefined();

    const got = collect(alice, 'message-received');
    await bob.acceptKeyChange({ username: 'alice', fingerprint: newFp });
    await waitUntil(() => got.some((m) => m.id === sent.id), 30_000, 'Alice receives the held message');
    const m = got.find((x) => x.id === sent.id)!;
    expect(m).toMatchObject({ body: 'two files, held', direction: 'in', contact: 'bob' });
    expect(m.attachments?.map((a) => [a.name, a.size])).toEqual([
      ['photo.bin', 200_000],
      ['notes.txt', 32],
    ]);
    const outOne = path.join(files, 'saved-photo.bin');
    const outTwo = path.join(files, 'saved-notes.txt');
    await alice.saveAttachment({ messageId: m.id, index: 0, path: outOne });
    await alice.saveAttachment({ messageId: m.id, index: 1, path: outTwo });
    expect(sha(outOne)).toBe(sha(one));
    expect(sha(outTwo)).toBe(sha(two));
    await waitUntil(
      async () => (await bob.loadMessages({ conversation: 'd:alice' })).messages.find((x) => x.id === sent.id)?.state === 'delivered',
      30_000,
      'delivered (receipt from Alice)',
    );
  });
});
