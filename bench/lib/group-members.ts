/**
 * The public identities of a 256-member group for the group benchmarks: the 247 committed public-only members of
 * tests/fixtures/group-identities.json (scripts/make-group-identities.ts) plus cached fixture identities 1..8.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PublicIdentity } from '../../relay/protocol/index.js';
import { ROOT } from './common.js';
import { fixture } from './ids.js';

/** Every member but the sender (fixture 0), in a stable order: 255 identities. */
export async function groupMembers(): Promise<Array<{ public: PublicIdentity; fingerprint: string }>> {
  const file = path.join(ROOT, 'tests', 'fixtures', 'group-identities.json');
  const silent = (JSON.parse(readFileSync(file, 'utf8')) as { members: Array<{ identity: PublicIdentity; fingerprint: string }> }).members;
  const openers = await Promise.all(Array.from({ length: 8 }, (_, i) => fixture(1 + i)));
  return [...openers.map((o) => ({ public: o.public, fingerprint: o.fingerprint })), ...silent.map((m) => ({ public: m.identity, fingerprint: m.fingerprint }))];
}
