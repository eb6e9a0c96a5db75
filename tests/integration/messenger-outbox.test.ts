/**
 * The outbox's answers to each kind of relay refusal (electron/core/messenger/outbox.ts), deterministic: the
 * in-memory relay refuses chosen sends (fault injection) and the sender's clock is injected, so pauses and retry
 * delays pass without waiting. Real encrypted SQLite, real crypto workers, real Messenger; only the relay is in
 * memory. What a user must be able to rely on: nothing is lost, nothing overtakes an earlier message to the same
 * contact, a refusal that cannot heal fails that one message with the relay's reason, and a rate limit or an
 * outage only delays.
 */
import { describe, expect, it } from 'vitest';
import { TransportError } from '../../electron/core/transport/errors.js';
import { loadIdentity } from '../../electron/core/crypto/index.js';
import { fixtureIdentity } from '../helpers/identities.js';
import { groupUser, next, type GroupUser } from '../helpers/group-users.js';
import { MemoryRelay } from '../helpers/memory-relay.js';

/**
 * A clock that stands still until pushed (a day ahead of real time, so that everything enqueued at real time is
 * due): how long the test itself takes on a loaded machine cannot end a pause early.
 */
function manualClock() {
  let t = Date.now() + 86_400_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function pair(retryMs = 1000) {
  const relay = new MemoryRelay();
  const clock = manualClock();
  // No jitter, a fixed delay: the test knows exactly when a retry is due.
  const alice = await groupUser(relay, 'alice', 0, { now: clock.now, retry: { baseMs: retryMs, maxMs: retryMs, jitter: 0 } });
  const bob = await groupUser(relay, 'bob', 1);
  await alice.connect();
  await bob.connect();
  await alice.messenger.addContact('bob');
  return { relay, clock, alice, bob };
}

const inbox = (u: GroupUser, from: string) => (u.store.getContact(from) ? u.messenger.loadMessages(from).messages.map((m) => m.body) : []);
const states = (u: GroupUser, to: string) => u.messenger.loadMessages(to).messages.map((m) => [m.body, m.state]);
const attemptsOf = (relay: MemoryRelay, id: string) => relay.sendAttempts.filter((a) => a.id === id).length;
const sendsBy = (relay: MemoryRelay, u: GroupUser) => relay.sendAttempts.filter((a) => a.from === u.keys.fingerprint).length;

async function arrived(bob: GroupUser, from: string, n: number): Promise<void> {
  while (inbox(bob, from).length < n) await next(bob.messenger, 'batch-stored', () => true);
}

describe('outbox: how each relay refusal is handled', () => {
  it('a rate limit pauses the whole outbox (at least 2 s, or as long as the relay asks), then everything goes in order', async () => {
    const { relay, clock, alice, bob } = await pair();
    let refuse = true;
    relay.sendFault = (from) => (refuse && from === alice.keys.fingerprint ? new TransportError('RATE_LIMITED', 'slow down', 5000) : null);
    const m1 = await alice.messenger.sendText('bob', 'one');
    const m2 = await alice.messenger.sendText('bob', 'two');
    await alice.messenger.flushOutbox();
    // One refused attempt, and the second message was not even tried: the pause covers the whole outbox.
    expect(attemptsOf(relay, m1.id)).toBe(1);
    expect(attemptsOf(relay, m2.id)).toBe(0);
    // Not the message's fault: no attempt or error is recorded against it.
    expect(alice.store.getOutbox(m1.id)).toMatchObject({ attempts: 0, lastError: null });
    refuse = false;
    clock.advance(4000); // still inside the 5 s the relay asked for
    await alice.messenger.flushOutbox();
    expect(attemptsOf(relay, m1.id)).toBe(1);
    clock.advance(1100);
    await alice.messenger.flushOutbox();
    await arrived(bob, 'alice', 2);
    expect(inbox(bob, 'alice')).toEqual(['one', 'two']);
    expect(states(alice, 'bob').map(([, s]) => s)).not.toContain('sending');
    expect(alice.store.listOutbox('bob').filter((i) => i.kind === 'message')).toEqual([]);
  });

  it('a rate limit without a hint still pauses 2 s, so a long backlog costs the relay at most one refusal per pause', async () => {
    const { relay, clock, alice, bob } = await pair();
    let refusals = 0;
    relay.sendFault = (from) => (from === alice.keys.fingerprint && refusals++ < 1 ? new TransportError('RATE_LIMITED', 'slow down') : null);
    for (const t of ['a', 'b', 'c']) await alice.messenger.sendText('bob', t);
    await alice.messenger.flushOutbox();
    clock.advance(1900);
    await alice.messenger.flushOutbox();
    expect(sendsBy(relay, alice)).toBe(1);
    clock.advance(200);
    await alice.messenger.flushOutbox();
    await arrived(bob, 'alice', 3);
    expect(inbox(bob, 'alice')).toEqual(['a', 'b', 'c']);
    expect(sendsBy(relay, alice)).toBe(4);
  });

  it('a retryable failure records the attempt and its error, backs off, and the later message does not overtake it', async () => {
    const { relay, clock, alice, bob } = await pair(1000);
    let failures = 2;
    relay.sendFault = (from) => (from === alice.keys.fingerprint && failures > 0 ? (failures--, new TransportError('INTERNAL', 'relay hiccup')) : null);
    const m1 = await alice.messenger.sendText('bob', 'first');
    await alice.messenger.flushOutbox();
    const m2 = await alice.messenger.sendText('bob', 'second');
    await alice.messenger.flushOutbox();
    // Failed once: recorded with the relay's words, due again after the backoff; the second waits behind it.
    expect(alice.store.getOutbox(m1.id)).toMatchObject({ attempts: 1, lastError: expect.stringContaining('relay hiccup') as unknown });
    expect(alice.store.getOutbox(m1.id)!.nextAttemptAt).toBe(clock.now() + 1000);
    expect(attemptsOf(relay, m2.id)).toBe(0);
    clock.advance(1000);
    await alice.messenger.flushOutbox(); // fails again
    expect(alice.store.getOutbox(m1.id)).toMatchObject({ attempts: 2 });
    expect(attemptsOf(relay, m2.id)).toBe(0);
    clock.advance(1000);
    await alice.messenger.flushOutbox();
    await arrived(bob, 'alice', 2);
    expect(inbox(bob, 'alice')).toEqual(['first', 'second']);
    expect([attemptsOf(relay, m1.id), attemptsOf(relay, m2.id)]).toEqual([3, 1]);
  });

  it('a refusal that cannot heal fails that message with the relay’s reason; the next one still goes', async () => {
    const { relay, alice, bob } = await pair();
    // The first envelope alice sends is refused for good (whatever it retries of it, too).
    let refusedId: string | null = null;
    relay.sendFault = (from, env) => {
      if (from !== alice.keys.fingerprint) return null;
      refusedId ??= env.id;
      return env.id === refusedId ? new TransportError('TOO_LARGE', 'envelope is 99999 bytes; limit 16384') : null;
    };
    const failed = next(alice.messenger, 'message-state', (s) => s.state === 'failed');
    const m1 = await alice.messenger.sendText('bob', 'too big for this relay');
    expect(await failed).toMatchObject({ id: m1.id, conversation: 'd:bob', state: 'failed' });
    const m2 = await alice.messenger.sendText('bob', 'fits');
    await arrived(bob, 'alice', 1);
    expect(inbox(bob, 'alice')).toEqual(['fits']);
    const view = alice.messenger.loadMessages('bob').messages.find((m) => m.id === m1.id)!;
    expect(view.state).toBe('failed');
    expect(view.error).toBe('The relay refused the message (TOO_LARGE): envelope is 99999 bytes; limit 16384');
    expect(alice.store.getOutbox(m1.id)).toBeNull(); // not retried forever
    expect(attemptsOf(relay, m1.id)).toBe(1);
    expect(attemptsOf(relay, m2.id)).toBe(1);
  });

  it('NOT_FOUND: if the recipient’s key changed the message is held for the user’s decision; if not, it fails', async () => {
    const { relay, alice } = await pair();
    const newBob = await loadIdentity(await fixtureIdentity(5));
    // Between alice's key check before sending and the send, bob registered a new key (a rotation the relay cannot
    // prove) and his old one is gone: the relay refuses the envelope sealed to the old key.
    relay.sendFault = (from) => {
      if (from !== alice.keys.fingerprint) return null;
      relay.register({ username: 'bob', identity: newBob.public, fingerprint: newBob.fingerprint });
      return new TransportError('NOT_FOUND', 'unknown recipient');
    };
    const held = await alice.messenger.sendText('bob', 'to the old key');
    await alice.messenger.flushOutbox();
    const c = alice.store.getContact('bob')!;
    expect(c.pendingFingerprint).toBe(newBob.fingerprint);
    expect(alice.store.getOutbox(held.id)).toMatchObject({ held: true });
    expect(states(alice, 'bob')).toEqual([['to the old key', 'sending']]);
    expect(attemptsOf(relay, held.id)).toBe(1);

    // Carol is refused the same way, but the relay still serves her pinned key: nothing to wait for, it fails.
    const carol = await groupUser(relay, 'carol', 2);
    await carol.connect();
    await alice.messenger.addContact('carol');
    const failed = next(alice.messenger, 'message-state', (s) => s.conversation === 'd:carol' && s.state === 'failed');
    const m = await alice.messenger.sendText('carol', 'to a key the relay lost');
    expect(await failed).toMatchObject({ id: m.id });
    expect(alice.store.getContact('carol')!.pendingFingerprint).toBeNull();
    expect(alice.store.getOutbox(m.id)).toBeNull();
  });

  it('going offline mid-flush stops the pass; reconnecting sends the rest in order', async () => {
    const { relay, clock, alice, bob } = await pair(1000);
    let sends = 0;
    relay.sendFault = (from) => {
      if (from === alice.keys.fingerprint && ++sends === 2) {
        alice.disconnect(); // the connection drops between the first and the second send
        return new TransportError('OFFLINE', 'not connected');
      }
      return null;
    };
    alice.disconnect();
    for (const t of ['1', '2', '3']) await alice.messenger.sendText('bob', t);
    await alice.connect(); // flushes on authentication: '1' goes, the drop stops the pass at '2'
    await alice.messenger.flushOutbox();
    expect(alice.store.listOutbox('bob').filter((i) => i.kind === 'message')).toHaveLength(2);
    // The drop counted as one attempt of '2' (retryable, backed off); nothing of it reached bob.
    expect(alice.store.listOutbox('bob').filter((i) => i.kind === 'message').map((i) => i.attempts)).toEqual([1, 0]);
    relay.sendFault = null;
    await alice.connect();
    clock.advance(1000);
    await alice.messenger.flushOutbox();
    await arrived(bob, 'alice', 3);
    expect(inbox(bob, 'alice')).toEqual(['1', '2', '3']);
  });
});
