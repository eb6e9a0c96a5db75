/**
 * A 256-member group over the in-memory relay (real SQLite, real crypto workers, real Messenger; only the relay is in
 * memory): one message is sealed into 8 envelopes of at most 32 recipients, all carrying the same group message id
 * `m`, and a member in each envelope opens it and shows it once.
 *
 * 247 members never open anything: their public identities come from tests/fixtures/group-identities.json (made once
 * by scripts/make-group-identities.ts; RSA-4096 generation is too slow for a test). The sender and the 8 members
 * that open are real users with the cached fixture identities of tests/helpers/identities.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMITS, type Envelope, type PublicIdentity } from '../../relay/protocol/index.js';
import { MemoryRelay } from '../helpers/memory-relay.js';
import { groupUser, until, type GroupUser } from '../helpers/group-users.js';

interface FixtureMember {
  username: string;
  identity: PublicIdentity;
  fingerprint: string;
}

const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, '../fixtures/group-identities.json'), 'utf8')) as { members: FixtureMember[] };

/** Records every envelope the relay accepts, by sender. */
class RecordingRelay extends MemoryRelay {
  readonly accepted: Array<{ from: string; envelope: Envelope }> = [];

  override accept(from: string, envelope: Envelope): { id: string; duplicate: boolean } {
    this.accepted.push({ from, envelope });
    return super.accept(from, envelope);
  }
}

const OPENERS = 8;

describe('a 256-member group', () => {
  it('seals one message into 8 envelopes of ≤ 32 recipients with one message id; a member in each opens it once', async () => {
    const relay = new RecordingRelay();
    const silent = fixture.members.slice(0, 256 - 1 - OPENERS);
    expect(silent).toHaveLength(247);
    for (const m of silent) relay.register(m);
    const alice = await groupUser(relay, 'alice', 0);
    // Opener k sorts right after member-(31k), i.e. at index 32k + 1 of the members but alice: in envelope k.
    const openers: GroupUser[] = [];
    for (let k = 0; k < OPENERS; k++) openers.push(await groupUser(relay, `member-${String(31 * k).padStart(3, '0')}-o`, k + 1));
    for (const u of [alice, ...openers]) await u.connect();
    for (const m of [...silent, ...openers]) await alice.messenger.addContact(m.username);
    for (const o of openers) await o.messenger.addContact('alice');

    const info = await alice.messenger.groups.create('all hands', [...silent, ...openers].map((m) => m.username));
    const g = info.id;
    expect(info.members).toHaveLength(256);
    await until([alice.messenger, ...openers.map((o) => o.messenger)], () => openers.every((o) => o.store.groups.getGroup(g)?.active) && alice.store.listOutbox().length === 0);
    for (const o of openers) expect(o.messenger.groups.info(g)).toMatchObject({ name: 'all hands', version: 1, request: false });

    relay.accepted.length = 0;
    const sent = await alice.messenger.groups.sendText(g, 'hello, all 255 of you');
    const shown = (o: GroupUser) => o.messenger.groups.loadPage(g).messages.filter((m) => m.body === 'hello, all 255 of you');
    await until([alice.messenger, ...openers.map((o) => o.messenger)], () => openers.every((o) => shown(o).length > 0) && alice.store.listOutbox().length === 0);

    // 8 envelopes from alice, each with its own envelope id, to the members in username order, 32 at a time.
    const envelopes = relay.accepted.filter((a) => a.from === alice.keys.fingerprint).map((a) => a.envelope);
    expect(envelopes).toHaveLength(8);
    expect(new Set(envelopes.map((e) => e.id)).size).toBe(8);
    const others = info.members.filter((m) => m.username !== 'alice');
    const batches: string[][] = [];
    for (let i = 0; i < others.length; i += LIMITS.maxRecipients) batches.push(others.slice(i, i + LIMITS.maxRecipients).map((m) => m.fingerprint).sort());
    expect(batches.map((b) => b.length)).toEqual([32, 32, 32, 32, 32, 32, 32, 31]);
    expect(envelopes.map((e) => e.to)).toEqual(batches);
    // The sender's own copy is wrapped too: one key per recipient plus alice's.
    for (const e of envelopes) expect(e.keys.map((k) => k.to).sort()).toEqual([...e.to, alice.keys.fingerprint].sort());

    // A member in each envelope opens it and shows it once, under the one group message id `m` alice returned.
    for (let k = 0; k < OPENERS; k++) {
      expect(envelopes[k]!.to).toContain(openers[k]!.keys.fingerprint);
      const lines = shown(openers[k]!);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ id: sent.id, sender: 'alice', conversation: `g:${g}` });
    }
    // Each opener's receipt names `m`: delivered to 8 of 255 (the other 247 never come online).
    await until([alice.messenger], () => alice.messenger.groups.deliveries(sent.id).delivered === OPENERS);
    expect(alice.messenger.groups.deliveries(sent.id)).toMatchObject({ delivered: OPENERS, total: 255 });
  }, 300_000);
});
