/**
 * Story: the relay is hostile. First it alters a queued envelope before Bob fetches it: Bob's client stores it as
 * undecryptable with the reason (never drops it silently) and acknowledges it, and the messages around it arrive
 * intact. Then it serves a different public key for Alice: Bob's next send to her is held (nothing leaves for the
 * substituted key), his verified flag is cleared and 'contact-key-changed' fires.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ParleyService } from '../../electron/core/service.js';
import { fingerprint } from '../../relay/protocol/index.js';
import {
  aliceAndBob,
  cleanupAll,
  collect,
  reopenService,
  startTestRelay,
  waitUntil,
  type TestRelay,
} from '../helpers/core.js';
import { fixtureIdentity } from '../helpers/identities.js';

let relay: TestRelay;
let alice: ParleyService;
let bob: ParleyService;
let bobDir: string;

function relayDb(): Database.Database {
  const db = new Database(relay.dbFile, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

beforeAll(async () => {
  relay = await startTestRelay();
  ({ alice, bob } = await aliceAndBob(relay.url));
  bobDir = bob.profile.dir;
}, 120_000);

afterAll(cleanupAll);

describe('a tampering relay', () => {
  test('a modified queued envelope is stored as undecryptable with its reason, and acknowledged', async () => {
    await bob.close(); // Bob is offline: Alice's envelopes wait in the relay's queue
    const sent = collect(alice, 'message-state');
    const texts = ['before the tampering', 'this one gets modified', 'after the tampering'];
    const ids: string[] = [];
    for (const t of texts) ids.push((await alice.sendMessage({ conversation: 'd:bob', text: t })).id);
    await waitUntil(() => sent.filter((s) => s.state === 'sent').length === 3, 20_000, 'three sent');

    const db = relayDb();
    try {
      const row = db.prepare('SELECT seq, body FROM envelopes WHERE id = ?').get(ids[1]) as { seq: number; body: string };
      const env = JSON.parse(row.body) as { ct: string };
      env.ct = (env.ct[0] === 'A' ? 'B' : 'A') + env.ct.slice(1); // one flipped ciphertext bit
      db.prepare('UPDATE envelopes SET body = ? WHERE seq = ?').run(JSON.stringify(env), row.seq);
    } finally {
      db.close();
    }

    let received: unknown[] = [];
    bob = await reopenService(bobDir, {}, (svc) => (received = collect(svc, 'message-received')));
    await waitUntil(() => received.length >= 3, 20_000, 'three envelopes stored');
    await bob.idle();
    const page = await bob.loadMessages({ conversation: 'd:alice' });
    const byId = new Map(page.messages.map((m) => [m.id, m]));
    expect(byId.get(ids[0]!)).toMatchObject({ body: texts[0], state: 'delivered' });
    expect(byId.get(ids[2]!)).toMatchObject({ body: texts[2], state: 'delivered' });
    const bad = byId.get(ids[1]!);
    expect(bad).toMatchObject({ body: null, state: 'undecryptable' });
    expect(bad?.error).toMatch(/^bad-signature: /);

    // Acknowledged after storing: nothing waits in the relay's queue for Bob any more.
    const check = relayDb();
    try {
      const n = check
        .prepare('SELECT COUNT(*) AS n FROM deliveries d JOIN identities i ON i.fingerprint = d.recipient WHERE i.username = ? AND d.acked_at IS NULL')
        .get('bob') as { n: number };
      expect(n.n).toBe(0);
    } finally {
      check.close();
    }
  });

  test('a substituted public key holds sending, clears verified and raises contact-key-changed', async () => {
    await bob.waitOnline();
    await bob.setVerified({ username: 'alice', verified: true });
    const aliceFp = (await bob.getContact({ username: 'alice' })).fingerprint;

    // The relay now answers lookups for "alice" with Mallory's key.
    const mallory = (await fixtureIdentity(2)).public;
    const malloryFp = await fingerprint(mallory);
    const db = relayDb();
    try {
      db.prepare('UPDATE identities SET fingerprint = ?, enc = ?, sig = ? WHERE username = ?').run(malloryFp, mallory.enc, mallory.sig, 'alice');
    } finally {
      db.close();
    }

    const changes = collect(bob, 'contact-key-changed');
    const msg = await bob.sendMessage({ conversation: 'd:alice', text: 'are you still you?' });
    expect(msg.state).toBe('sending');
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      username: 'alice',
      change: { oldFingerprint: aliceFp, newFingerprint: malloryFp, signedByOld: false, resolution: 'pending' },
    });

    const detail = await bob.getContact({ username: 'alice' });
    expect(detail.verified).toBe(false);
    expect(detail.keyChangePending).toBe(true);
    expect(detail.fingerprint).toBe(aliceFp); // the pinned key is unchanged until Bob accepts
    expect(detail.pendingSafetyNumber).toMatch(/^\d{60}$/);
    expect(detail.pendingSafetyNumber).not.toBe(detail.safetyNumber);

    // A full outbox pass while online (flushOutbox resolves when the pass ends): the held message must not go out.
    await bob.waitOnline();
    const connectionChanges = collect(bob, 'connection-changed');
    await bob.flushOutbox();
    expect(connectionChanges).toEqual([]); // still online throughout the pass
    const page = await bob.loadMessages({ conversation: 'd:alice' });
    expect(page.messages.find((m) => m.id === msg.id)?.state).toBe('sending');
    const check = relayDb();
    try {
      const n = check.prepare('SELECT COUNT(*) AS n FROM envelopes WHERE id = ?').get(msg.id) as { n: number };
      expect(n.n).toBe(0); // nothing left Bob's machine
    } finally {
      check.close();
    }

    // Rejecting keeps sending blocked.
    const rejected = await bob.rejectKeyChange({ username: 'alice' });
    expect(rejected.keyChangePending).toBe(false);
    await expect(bob.sendMessage({ conversation: 'd:alice', text: 'still blocked?' })).rejects.toMatchObject({ code: 'KEY_REJECTED' });
    const after = await bob.getContact({ username: 'alice' });
    expect(after.keyChanges.map((k) => k.resolution)).toEqual(['rejected']);
  });
});
