/**
 * Story: Alice sends Bob a file. Its blob is completed on the relay naming Bob's key of that moment; right then Bob
 * rotates his key, so Alice's message (sealed for the old key) is refused by the relay and held until she decides.
 * When she accepts Bob's new key, the held message is sealed again for it, and its blob must be re-shared with the
 * new key first (blob-complete again, same SHA-256): Bob, under his new identity, downloads the file byte for byte.
 * Old code: the relay answered Bob's download NOT_FOUND (the blob named only his old key).
 *
 * The group variant: Alice sends a file to a group with Bob and Carol; the blob names both; Bob rotates before the
 * files message is sealed, so its envelope to Bob is held (Carol's is not). After Alice accepts, the blob is re-shared
 * with Carol and Bob's new key: both download it.
 *
 * Real relay over real sockets, real SQLite profiles, real blob store. The one seam: the relay's answer to Alice's
 * blob-complete waits until Bob's rotation is registered (a slow answer), so the rotation falls deterministically
 * between the blob's completion and the message's send.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import type { ParleyService } from '../../electron/core/service.js';
import { fingerprint } from '../../relay/protocol/index.js';
import { BlobStore } from '../../relay/server/blobs/store.js';
import { aliceAndBob, cleanupAll, collect, fixtureService, startTestRelay, tmpDir, waitUntil, type TestRelay } from '../helpers/core.js';
import { fixtureIdentity } from '../helpers/identities.js';

let relay: TestRelay;
let alice: ParleyService;
let bob: ParleyService;
const files = tmpDir('held-files-reshare');
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(async () => {
  relay = await startTestRelay();
  ({ alice, bob } = await aliceAndBob(relay.url));
}, 120_000);

afterEach(() => vi.restoreAllMocks());
afterAll(cleanupAll);

/** The relay's answer to the next blob-complete waits for `meanwhile` (run after the blob is complete). */
function slowNextCompletion(meanwhile: () => Promise<void>): { done: Promise<void> } {
  const real = BlobStore.prototype.complete;
  let done!: Promise<void>;
  const spy = vi.spyOn(BlobStore.prototype, 'complete').mockImplementationOnce(async function (this: BlobStore, ...args) {
    const r = await real.apply(this, args);
    spy.mockRestore();
    done = meanwhile();
    await done;
    return r;
  });
  return {
    get done() {
      return done;
    },
  };
}

describe('a held message with a file completed for the old key, after the new key is accepted', () => {
  test('re-shares the blob with the new key: Bob downloads it byte for byte', async () => {
    const next = await fixtureIdentity(3);
    const newFp = await fingerprint(next.public);
    const oldFp = bob.whoami().fingerprint;
    const rotation = slowNextCompletion(async () => {
      await bob.rotateIdentity({ identity: next });
    });

    const file = path.join(files, 'report.bin');
    writeFileSync(file, randomBytes(300_000));
    const sent = await alice.sendFiles({ conversation: 'd:bob', paths: [file], caption: 'the report' });
    // The blob completes (for Bob's old key), Bob rotates, the send is refused: Alice's client sees the new key and holds the message.
    const bobAtAlice = async () => (await alice.listContacts()).find((c) => c.username === 'bob')!;
    await waitUntil(async () => (await bobAtAlice()).keyChangePending, 30_000, 'Alice sees the pending key');
    await rotation.done;
    await alice.flushOutbox();
    const held = (await alice.loadMessages({ conversation: 'd:bob' })).messages.find((m) => m.id === sent.id)!;
    expect(held.state).toBe('sending');
    expect(held.attachments?.map((a) => a.state)).toEqual(['complete']);
    expect((await bobAtAlice()).fingerprint).toBe(oldFp);

    await bob.waitOnline();
    const got = collect(bob, 'message-received');
    await alice.acceptKeyChange({ username: 'bob', fingerprint: newFp });
    await waitUntil(() => got.some((m) => m.id === sent.id), 30_000, 'Bob receives the held message');
    const m = got.find((x) => x.id === sent.id)!;
    expect(m).toMatchObject({ body: 'the report', direction: 'in', contact: 'alice' });
    const out = path.join(files, 'saved-report.bin');
    await bob.saveAttachment({ messageId: m.id, index: 0, path: out });
    expect(sha(out)).toBe(sha(file));
    // Bob, its only recipient now, has it: the relay deleted the blob. A download the relay answers NOT_FOUND says so
    // in its own words (not the generic NOT_FOUND, which is about usernames).
    await expect(alice.saveAttachment({ messageId: sent.id, index: 0, path: path.join(files, 'again.bin') })).rejects.toMatchObject({
      code: 'RELAY',
      message: expect.stringContaining('no longer on the relay, or was not shared with this key (BLOB_UNAVAILABLE)'),
    });
    await waitUntil(
      async () => (await alice.loadMessages({ conversation: 'd:bob' })).messages.find((x) => x.id === sent.id)?.state === 'delivered',
      30_000,
      'delivered (receipt from Bob)',
    );
  });
});

describe('a group files message held for one member whose key changed after the blob was completed', () => {
  test('re-shares the blob with the other members and the new key: Carol and Bob both download it', { timeout: 120_000 }, async () => {
    const r = await startTestRelay();
    const ann = await fixtureService(0, 'ann', r.url);
    const ben = await fixtureService(1, 'ben', r.url);
    const cat = await fixtureService(2, 'cat', r.url);
    await Promise.all([ann, ben, cat].map((s) => s.waitOnline()));
    for (const u of ['ben', 'cat']) await ann.addContact({ username: u });
    const g = await (await ann.groups()).create('team', ['ben', 'cat']);
    const knows = async (svc: ParleyService) => (await svc.groups()).list().some((x) => x.id === g.id);
    await waitUntil(async () => (await knows(ben)) && (await knows(cat)), 30_000, 'the group reaches ben and cat');

    const next = await fixtureIdentity(4);
    const newFp = await fingerprint(next.public);
    // The blob completes naming ben's old key and cat; then ben rotates and ann's client sees it before it seals.
    const rotation = slowNextCompletion(async () => {
      await ben.rotateIdentity({ identity: next });
      expect(await ann.checkContactKey({ username: 'ben' })).toMatchObject({ keyChangePending: true });
    });
    const file = path.join(files, 'plan.bin');
    writeFileSync(file, randomBytes(250_000));
    const got = { ben: collect(ben, 'message-received'), cat: collect(cat, 'message-received') };
    const sent = await ann.sendFiles({ conversation: g.conversation, paths: [file], caption: 'the plan' });
    await waitUntil(() => got.cat.some((m) => m.id === sent.id), 30_000, 'cat receives the file at once');
    await rotation.done;
    await (await ann.groups()).flush();
    expect((await ann.groups()).info(g.id).held).toEqual(['ben']);
    expect(got.ben.some((m) => m.id === sent.id)).toBe(false);

    await ben.waitOnline();
    await ann.acceptKeyChange({ username: 'ben', fingerprint: newFp });
    await waitUntil(() => got.ben.some((m) => m.id === sent.id), 30_000, 'ben receives the held message');
    for (const [who, svc] of [['ben', ben], ['cat', cat]] as const) {
      const out = path.join(files, `${who}-plan.bin`);
      await svc.saveAttachment({ messageId: sent.id, index: 0, path: out });
      expect(sha(out), who).toBe(sha(file));
    }
  });
});
