/**
 * Test fixture builder (run with tsx as a child process): a profile "carol" with a contact "dave" and a long
 * conversation, written through the real core (registration on the real relay) and the real encrypted history
 * store. Usage: tsx tests/e2e/seed-history.ts <root> <relayUrl> <count> <passphrase>
 * Prints `SEEDED {"profile":…}` when done.
 */
import path from 'node:path';
import { ParleyService } from '../../electron/core/service.js';
import { openProfile } from '../../electron/core/profile.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import { openVault } from '../../electron/core/vault/index.js';
import { fixtureIdentity } from '../helpers/identities.js';

async function main(): Promise<void> {
  const [root, relayUrl, countArg, passphrase] = process.argv.slice(2);
  if (!root || !relayUrl || !countArg || !passphrase) throw new Error('usage: seed-history <root> <relayUrl> <count> <passphrase>');
  const count = Number(countArg);
  const carolDir = path.join(root, 'carol');
  const daveDir = path.join(root, 'dave');

  const dave = new ParleyService({ profileDir: daveDir, vault: 'file', passphrase, relayUrl, connect: false });
  await dave.createIdentityFrom(await fixtureIdentity(2), { username: 'dave', relayUrl, vault: 'file', passphrase });
  await dave.close();

  const carol = new ParleyService({ profileDir: carolDir, vault: 'file', passphrase, relayUrl, connect: true });
  await carol.createIdentityFrom(await fixtureIdentity(1), { username: 'carol', relayUrl, vault: 'file', passphrase });
  await carol.waitOnline(20_000);
  const daveView = await carol.addContact({ username: 'dave' });
  const me = carol.whoami().fingerprint;
  await carol.close();

  // Bulk history straight into the store (there is no API for sending 100 000 messages in a test's time).
  const profile = openProfile(carolDir);
  const { dbKey } = await openVault(profile, { kind: 'file', passphrase }).load();
  const store = openHistoryStore({ path: profile.paths.db, key: dbKey });
  const start = Date.now() - count * 60_000;
  const words = ['sure', 'on my way', 'did you see the build?', 'lunch?', 'ok', 'the relay is up again', 'ship it', 'tomorrow then'];
  store.transaction(() => {
    for (let i = 0; i < count; i++) {
      const out = i % 3 !== 0;
      store.insertMessage({
        id: `seed${String(i).padStart(18, '0')}`,
        contact: 'dave',
        direction: out ? 'out' : 'in',
        senderFingerprint: out ? me : daveView.fingerprint,
        body: `#${i} ${words[i % words.length]}${i % 17 === 0 ? '\nwith a second line' : ''}`,
        sentAt: start + i * 60_000,
        receivedAt: start + i * 60_000 + 500,
        state: out ? 'delivered' : 'delivered',
        unread: false,
      });
    }
  });
  const total = store.countMessages('dave');
  store.close();
  process.stdout.write(`SEEDED ${JSON.stringify({ profile: carolDir, total })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`seed-history: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
