/**
 * Test fixture builder (run with tsx as a child process): a profile "erin" (registered on the real relay) whose
 * real encrypted history store holds `count` contacts with one message each, the newest first in the list.
 * The contacts' identities are made-up public keys (never used to seal: the test only looks at the list).
 * Usage: tsx tests/e2e/seed-conversations.ts <root> <relayUrl> <count> <passphrase>
 * Prints `SEEDED {"profile":…,"conversations":…}` when done.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { ParleyService } from '../../electron/core/service.js';
import { openProfile } from '../../electron/core/profile.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import { openVault } from '../../electron/core/vault/index.js';
import { fixtureIdentity } from '../helpers/identities.js';

/** "contact0000" … : zero-padded, so the names sort the way they were added. */
export const contactName = (i: number): string => `contact${String(i).padStart(4, '0')}`;

async function main(): Promise<void> {
  const [root, relayUrl, countArg, passphrase] = process.argv.slice(2);
  if (!root || !relayUrl || !countArg || !passphrase) throw new Error('usage: seed-conversations <root> <relayUrl> <count> <passphrase>');
  const count = Number(countArg);
  const dir = path.join(root, 'erin');
  const erin = new ParleyService({ profileDir: dir, vault: 'file', passphrase, relayUrl, connect: false });
  await erin.createIdentityFrom(await fixtureIdentity(3), { username: 'erin', relayUrl, vault: 'file', passphrase });
  await erin.close();

  const profile = openProfile(dir);
  const { dbKey } = await openVault(profile, { kind: 'file', passphrase }).load();
  const store = openHistoryStore({ path: profile.paths.db, key: dbKey });
  const start = Date.now() - count * 60_000;
  store.transaction(() => {
    // The list is ordered by the newest message's seq: insert from the last contact down, so contact0000 heads it.
    for (let i = count - 1; i >= 0; i--) {
      const username = contactName(i);
      const h = (s: string): string => createHash('sha256').update(`${s}${i}`).digest('base64url');
      store.addContact({
        username,
        identity: { v: 1, enc: h('enc').repeat(20), sig: h('sig') },
        fingerprint: createHash('sha256').update(username).digest('hex'),
      });
      store.insertMessage({
        id: `seed${String(i).padStart(18, '0')}`,
        contact: username,
        direction: 'out',
        senderFingerprint: null,
        body: `hello ${username}`,
        sentAt: start + (count - i) * 60_000,
        receivedAt: null,
        state: 'delivered',
        unread: false,
      });
    }
  });
  const conversations = store.listConversations().length;
  store.close();
  process.stdout.write(`SEEDED ${JSON.stringify({ profile: dir, conversations })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`seed-conversations: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
