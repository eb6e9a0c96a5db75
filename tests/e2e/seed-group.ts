/**
 * Test fixture builder (run with tsx as a child process): profiles for the named people (cached fixture identities,
 * so no RSA-4096 key generation in the test), registered on the real relay, each with every other one as a contact;
 * the first creates a group with the others through the real core. With `count` > 0, the first one's real encrypted
 * store also gets a long history in that group (bulk: there is no API for sending thousands of messages in a test's
 * time), every third message from the second person.
 * Usage: tsx tests/e2e/seed-group.ts <root> <relayUrl> <passphrase> <group name> <count> <name>...
 * Prints `SEEDED {"conversation":…,"total":…}` when done.
 */
import path from 'node:path';
import { ParleyService } from '../../electron/core/service.js';
import { openProfile } from '../../electron/core/profile.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import { openVault } from '../../electron/core/vault/index.js';
import { fixtureIdentity } from '../helpers/identities.js';

/** The first fixture identity these people use (the other e2e seeders use 1–3). */
const FIRST_IDENTITY = 4;

async function main(): Promise<void> {
  const [root, relayUrl, passphrase, groupName, countArg, ...names] = process.argv.slice(2);
  if (!root || !relayUrl || !passphrase || !groupName || !countArg || names.length < 2) {
    throw new Error('usage: seed-group <root> <relayUrl> <passphrase> <group name> <count> <name> <name>...');
  }
  const count = Number(countArg);
  const services: ParleyService[] = [];
  for (const [i, username] of names.entries()) {
    const s = new ParleyService({ profileDir: path.join(root, username), vault: 'file', passphrase, relayUrl, connect: true });
    await s.createIdentityFrom(await fixtureIdentity(FIRST_IDENTITY + i), { username, relayUrl, vault: 'file', passphrase });
    await s.waitOnline(20_000);
    services.push(s);
  }
  for (const [i, s] of services.entries()) {
    for (const other of names) if (other !== names[i]) await s.addContact({ username: other });
  }
  const founder = services[0]!;
  const group = await founder.createGroup({ name: groupName, members: names.slice(1) });
  const second = (await founder.getContact({ username: names[1]! })).fingerprint;
  const me = founder.whoami().fingerprint;
  for (const s of services) await s.close();

  const profile = openProfile(path.join(root, names[0]!));
  const { dbKey } = await openVault(profile, { kind: 'file', passphrase }).load();
  const store = openHistoryStore({ path: profile.paths.db, key: dbKey });
  const start = Date.now() - count * 60_000;
  const words = ['chapter one was slow', 'who brings tea?', 'the ending!', 'next month then', 'ok', 'page 212 is wild'];
  store.transaction(() => {
    for (let i = 0; i < count; i++) {
      const out = i % 3 !== 0;
      store.groups.insertMessage({
        id: `gseed${String(i).padStart(17, '0')}`,
        group: group.id,
        direction: out ? 'out' : 'in',
        sender: out ? null : names[1]!,
        senderFingerprint: out ? me : second,
        body: `#${i} ${words[i % words.length]}`,
        sentAt: start + i * 60_000,
        receivedAt: start + i * 60_000 + 500,
        state: 'delivered',
      });
    }
  });
  const total = store.groups.counts(group.id).total;
  store.close();
  process.stdout.write(`SEEDED ${JSON.stringify({ conversation: group.conversation, total })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`seed-group: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
