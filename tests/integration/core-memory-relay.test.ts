/**
 * The messenger against the in-memory relay (Transport seam): real encrypted SQLite, real crypto workers, real
 * Messenger; only the relay is in memory. Checks the seam carries a whole conversation: add, send, receive, receipt,
 * and a message queued while the recipient was offline.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CryptoPool, loadIdentity } from '../../electron/core/crypto/index.js';
import { Messenger } from '../../electron/core/messenger/messenger.js';
import type { MessengerEvents } from '../../electron/core/messenger/types.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import { onCleanup, tmpDir } from '../helpers/core.js';
import { fixtureIdentity } from '../helpers/identities.js';
import { MemoryRelay } from '../helpers/memory-relay.js';

async function user(relay: MemoryRelay, username: string, n: number) {
  const secret = await fixtureIdentity(n);
  const keys = await loadIdentity(secret);
  relay.register({ username, identity: keys.public, fingerprint: keys.fingerprint });
  const store = openHistoryStore({ path: path.join(tmpDir(`mem-${username}`), 'history.db'), key: randomBytes(32).toString('hex') });
  const pool = new CryptoPool({ secret, size: 1 });
  const messenger = new Messenger({
    store,
    crypto: pool,
    me: { username, identity: keys.public, fingerprint: keys.fingerprint },
    keyCheckIntervalMs: 0,
    keyCheckOnSendMs: 0,
  });
  onCleanup(async () => {
    await messenger.close();
    await pool.close();
    store.close();
  });
  const connect = async () => {
    const t = relay.connect(keys.fingerprint);
    messenger.attach(t);
    await new Promise<void>((r) => t.on('authenticated', () => r()));
  };
  return { messenger, store, keys, connect };
}

function next<E extends keyof MessengerEvents & string>(m: Messenger, event: E, pred: (p: MessengerEvents[E]) => boolean) {
  return new Promise<MessengerEvents[E]>((resolve) => {
    const off = m.on(event, (p) => {
      if (pred(p)) {
        off();
        resolve(p);
      }
    });
  });
}

describe('messenger over the in-memory relay (Transport seam)', () => {
  it('carries a conversation: add, send, receive, receipt, and offline catch-up', async () => {
    const relay = new MemoryRelay();
    const alice = await user(relay, 'alice', 0);
    const bob = await user(relay, 'bob', 1);
    await alice.connect();
    await alice.messenger.addContact('bob');

    // Bob is offline: the message waits in his queue and arrives when he connects.
    const sent = await alice.messenger.sendText('bob', 'queued while you were away');
    const received = next(bob.messenger, 'message-received', (m) => m.id === sent.id);
    const delivered = next(alice.messenger, 'message-state', (s) => s.id === sent.id && s.state === 'delivered');
    await bob.connect();
    expect(await received).toMatchObject({ conversation: 'd:alice', sender: 'alice', body: 'queued while you were away' });
    expect(await delivered).toMatchObject({ conversation: 'd:bob', contact: 'bob' });
    await bob.messenger.idle();
    expect(relay.queueOf(bob.keys.fingerprint)).toEqual([]); // acknowledged after storing

    // Online both ways: a reply arrives pushed.
    const replyIn = next(alice.messenger, 'message-received', (m) => m.body === 'back now');
    await bob.messenger.sendText('alice', 'back now');
    expect(await replyIn).toMatchObject({ conversation: 'd:bob', sender: 'bob', direction: 'in' });
    expect(bob.messenger.loadMessages('alice').messages.map((m) => [m.direction, m.body])).toEqual([
      ['in', 'queued while you were away'],
      ['out', 'back now'],
    ]);
  });
});
