/**
 * Generates tests/fixtures/group-identities.json: public identities for the 256-member group test
 * (tests/integration/core-group-fanout.test.ts), made once and committed because RSA-4096 generation costs seconds
 * per key. Public keys only: these members never open anything, so their private keys are discarded here.
 *   npx tsx scripts/make-group-identities.ts [count]      (default 247: 256 members minus the sender and 8 openers)
 * Uses the app's own generateIdentity(), so the keys are exactly what real clients publish.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateIdentity } from '../electron/core/crypto/index.js';
import { fingerprint, type PublicIdentity } from '../relay/protocol/index.js';

const count = Number(process.argv[2] ?? 247);
if (!Number.isInteger(count) || count < 1 || count > 1000) throw new Error('count: an integer in 1..1000');
const OUT = path.join(import.meta.dirname, '..', 'tests', 'fixtures', 'group-identities.json');
// Two at a time: key generation runs on libuv's thread pool, and the machine is shared.
const PARALLEL = 2;

const out: Array<{ username: string; identity: PublicIdentity; fingerprint: string }> = new Array(count);
let next = 0;
async function worker(): Promise<void> {
  while (next < count) {
    const i = next++;
    const secret = await generateIdentity();
    out[i] = { username: `member-${String(i).padStart(3, '0')}`, identity: secret.public, fingerprint: await fingerprint(secret.public) };
    if ((i + 1) % 10 === 0) process.stdout.write(`${i + 1}/${count}\n`);
  }
}
async function main(): Promise<void> {
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  // One member per line: readable, and a diff shows which members changed.
  const note = 'Public identities of group members that never open (made by scripts/make-group-identities.ts). Public keys only; the private keys were discarded.';
  writeFileSync(OUT, `{"note": ${JSON.stringify(note)},\n "members": [\n${out.map((m) => `  ${JSON.stringify(m)}`).join(',\n')}\n]}\n`);
  process.stdout.write(`wrote ${count} identities to ${OUT}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exitCode = 1;
});
