/**
 * Test fixture builder (run with tsx as a child process): a profile "carol" in a group "Big group" with her contact
 * "dave", holding a long group history with system lines, written through the real core (registration on the real
 * relay, the group created by the core) and the real encrypted history store.
 * Usage: tsx tests/e2e/seed-group-history.ts <root> <relayUrl> <count> <passphrase>
 * Prints `SEEDED {"profile":…,"group":…,"total":…}` when done.
 */
import path from 'node:path';
import { ParleyService } from '../../electron/core/service.js';
import { openProfile } from '../../electron/core/profile.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import { openVault } from '../../electron/core/vault/index.js';
import { fixtureIdentity } from '../helpers/identities.js';

async function main(): Promise<void> {
  const [root, relayUrl, countArg, passphrase] = process.argv.slice(2);
  if (!root || !relayUrl || !countArg || !passphrase) throw new Error('usage: seed-group-history <root> <relayUrl> <count> <passphrase>');
  const count = Number(countArg);
  const carolDir = path.join(root, 'carol');

  const dave = new ParleyService({ profileDir: path.join(root, 'dave'), vault: 'file', passphrase, relayUrl, connect: false });
  await dave.createIdentityFrom(await fixtureIdentity(2), { username: 'dave', relayUrl, vault: 'file', passphrase });
  await dave.close();

  const carol = new ParleyService({ profileDir: carolDir, vault: 'file', passphrase, relayUrl, connect: true });
  await carol.createIdentityFrom(await fixtureIdentity(1), { username: 'carol', relayUrl, vault: 'file', passphrase });
  await carol.waitOnline(20_000);
  const daveView = await carol.addContact({ username: 'dave' });
  const group = await carol.createGroup({ name: 'Big group', members: ['dave'] });
  const me = carol.whoami().fingerprint;
  await carol.close();

  // Bulk history straight into the store (there is no API for sending 10 000 messages in a test's time). The
  // system lines are placed among the messages: one near the newest (seen on opening), one a few pages back.
  const profile = openProfile(carolDir);
  const { dbKey } = await openVault(profile, { kind: 'file', passphrase }).load();
  const store = openHistoryStore({ path: profile.paths.db, key: dbKey });
  const start = Date.now() - (count + 10) * 60_000;
  const at = (i: number): number => start + i * 60_000;
  const lines = new Map([
    [count - 350, 'carol made dave admin'],
    [count - 5, 'carol added erin'],
  ]);
  const words = ['sure', 'on my way', 'did you see the build?', 'lunch?', 'ok', 'the relay is up again', 'ship it', 'tomorrow then'];
  store.transaction(() => {
    for (let i = 0; i < count; i++) {
      const line = lines.get(i);
      if (line) store.groups.addEvent(group.id, at(i) - 1000, 'change', line);
      const out = i % 3 !== 0;
      store.groups.insertMessage({
        id: `gseed${String(i).padStart(17, '0')}`,
        group: group.id,
        direction: out ? 'out' : 'in',
        sender: out ? null : 'dave',
        senderFingerprint: out ? me : daveView.fingerprint,
        body: `#${i} ${words[i % words.length]}${i % 17 === 0 ? '\nwith a second line' : ''}`,
        sentAt: at(i),
        receivedAt: at(i) + 500,
        state: 'delivered',
      });
    }
  });
  const total = store.groups.counts(group.id).total;
  store.close();
  process.stdout.write(`SEEDED ${JSON.stringify({ profile: carolDir, group: group.id, total })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`seed-group-history: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
