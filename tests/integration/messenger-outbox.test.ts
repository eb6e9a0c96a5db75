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
import { CryptoPool, loadIdentity } from '../../electron/core/crypto/index.js';
import { onCleanup } from '../helpers/core.js';
import { fixtureIdentity } from '../helpers/identities.js';
import { groupOfThree, groupUser, next, until } from '../helpers/group-users.js';
import { arrived, attemptsOf, holdNextSend, inbox, pair, sendsBy, states } from '../helpers/outbox.js';
import type { MemoryRelay } from '../helpers/memory-relay.js';

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
    // Written offline, so that one pass finds all three due: the refusal of the first ends it.
    alice.disconnect();
    for (const t of ['a', 'b', 'c']) await alice.messenger.sendText('bob', t);
    await alice.connect();
    await alice.messenger.flushOutbox();
    expect(sendsBy(relay, alice)).toBe(1);
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
    // Alice's key lookups between the refusal and the message's failure (sending looks the key up too, before).
    let refusing = false;
    let lookups = 0;
    relay.lookupGate = async (asker) => {
      if (refusing && asker === alice.keys.fingerprint) lookups++;
    };
    alice.messenger.on('message-state', (s) => {
      if (s.state === 'failed') refusing = false;
    });
    // The first envelope alice sends is refused for good (whatever it retries of it, too).
    let refusedId: string | null = null;
    relay.sendFault = (from, env) => {
      if (from !== alice.keys.fingerprint) return null;
      refusedId ??= env.id;
      refusing = env.id === refusedId;
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
    expect(lookups).toBe(0); // only NOT_FOUND makes the outbox look the recipient's key up again
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
    // Two messages, written offline so that one pass finds both due: the second must not follow the first.
    alice.disconnect();
    const held = await alice.messenger.sendText('bob', 'to the old key');
    const behind = await alice.messenger.sendText('bob', 'right behind it');
    await alice.connect();
    await alice.messenger.flushOutbox();
    const c = alice.store.getContact('bob')!;
    expect(c.pendingFingerprint).toBe(newBob.fingerprint);
    expect(alice.store.getOutbox(held.id)).toMatchObject({ held: true, attempts: 0 });
    expect(alice.store.getOutbox(behind.id)).toMatchObject({ held: true, attempts: 0 });
    expect(states(alice, 'bob')).toEqual([
      ['to the old key', 'sending'],
      ['right behind it', 'sending'],
    ]);
    expect(attemptsOf(relay, held.id)).toBe(1);
    expect(attemptsOf(relay, behind.id)).toBe(0);

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

describe('outbox: what a finished send tells', () => {
  it('a message that cannot be sealed is refused with CRYPTO and the reason, and nothing is queued', async () => {
    const { alice } = await pair();
    await alice.pool.close();
    await expect(alice.messenger.sendText('bob', 'no crypto')).rejects.toMatchObject({
      name: 'CoreError',
      code: 'CRYPTO',
      message: 'Could not seal the message: CryptoPool is closed',
      cause: expect.objectContaining({ message: 'CryptoPool is closed' }) as unknown,
    });
    expect(alice.store.listOutbox('bob').filter((i) => i.kind === 'message')).toEqual([]);
  });

  it('a delivery receipt that overtakes the relay’s answer keeps the message delivered (never back to sent)', async () => {
    const { relay, alice, bob } = await pair();
    await bob.messenger.addContact('alice');
    // The relay takes the envelope and bob receives it, but alice hears the relay's answer only after bob's receipt.
    const slowAnswer = holdNextSend(relay, alice, 'answer');
    const seen: string[] = [];
    alice.messenger.on('message-state', (s) => seen.push(s.state));
    const m = await alice.messenger.sendText('bob', 'receipt first');
    await slowAnswer.reached;
    const stateOf = () => alice.messenger.loadMessages('bob').messages.find((x) => x.id === m.id)!.state;
    await until([alice.messenger], () => stateOf() === 'delivered', () => `state ${stateOf()}`);
    slowAnswer.open();
    await alice.messenger.flushOutbox();
    expect(stateOf()).toBe('delivered');
    expect(seen).toEqual(['delivered']);
    expect(alice.store.getOutbox(m.id)).toBeNull();
  });

  it('a group message: its envelope’s outcome moves every member’s delivery and the message (sent, or failed with the reason)', async () => {
    const { relay, alice, g } = await groupOfThree('outbox', { mutual: true });
    const members = (id: string) => alice.messenger.groups.deliveries(id).members.map((d) => [d.username, d.state]);
    const stateOf = (id: string) => alice.messenger.groups.loadPage(g).messages.find((x) => x.id === id)!;
    const ok = await alice.messenger.groups.sendText(g, 'goes');
    // Bounded well below the test timeout (a broken outcome leaves it 'sending' for good); it takes < 1 s.
    await until([alice.messenger], () => stateOf(ok.id).state !== 'sending', () => JSON.stringify(members(ok.id)), 15_000);
    expect(stateOf(ok.id)).toMatchObject({ state: 'sent', error: null });
    expect(members(ok.id).map(([, s]) => s).every((s) => s === 'sent' || s === 'delivered')).toBe(true);

    relay.sendFault = (from) => (from === alice.keys.fingerprint ? new TransportError('TOO_LARGE', 'too big') : null);
    const refused = await alice.messenger.groups.sendText(g, 'refused');
    await until([alice.messenger], () => stateOf(refused.id).state !== 'sending', () => JSON.stringify(members(refused.id)), 15_000);
    expect(stateOf(refused.id)).toMatchObject({ state: 'failed', error: 'The relay refused the message (TOO_LARGE): too big' });
    expect(members(refused.id)).toEqual([
      ['bob', 'failed'],
      ['carol', 'failed'],
    ]);
    expect(alice.store.listOutbox().filter((i) => i.kind !== 'receipt')).toEqual([]);
  });
});

describe('outbox: a held message after the user accepts the new key', () => {
  /** Alice's message to bob is refused (NOT_FOUND: bob registered a new key) and held; his new key. */
  async function held() {
    const p = await pair();
    const newBob = await loadIdentity(await fixtureIdentity(5));
    p.relay.sendFault = (from) => {
      if (from !== p.alice.keys.fingerprint) return null;
      p.relay.register({ username: 'bob', identity: newBob.public, fingerprint: newBob.fingerprint });
      return new TransportError('NOT_FOUND', 'unknown recipient');
    };
    const m = await p.alice.messenger.sendText('bob', 'to the old key');
    await p.alice.messenger.flushOutbox();
    expect(p.alice.store.getOutbox(m.id)).toMatchObject({ held: true });
    p.relay.sendFault = null;
    return { ...p, newBob, m };
  }
  const toNewKey = (relay: MemoryRelay, fp: string) => relay.queueOf(fp).map((d) => (d.envelope as { id: string }).id);

  it('sealing it again fails (the crypto workers are gone): tried again 1 s later, in order, then sent to the new key', async () => {
    const { relay, clock, alice, newBob, m } = await held();
    const m2 = await alice.messenger.sendText('bob', 'also held');
    await alice.pool.close();
    await alice.messenger.acceptKeyChange('bob', newBob.fingerprint);
    await alice.messenger.flushOutbox();
    expect(alice.store.getOutbox(m.id)).toMatchObject({ held: false, attempts: 1, lastError: 'could not seal again: CryptoPool is closed' });
    expect(alice.store.getOutbox(m.id)!.nextAttemptAt).toBe(clock.now() + 1000);
    expect(alice.store.getOutbox(m2.id)).toMatchObject({ attempts: 0 }); // not tried past the first
    expect(attemptsOf(relay, m.id)).toBe(1); // the refused send only
    const pool = new CryptoPool({ secret: await fixtureIdentity(0), size: 1 });
    onCleanup(() => pool.close());
    alice.messenger.setIdentity(alice.messenger.identity, pool);
    clock.advance(1000);
    await alice.messenger.flushOutbox();
    expect(toNewKey(relay, newBob.fingerprint)).toEqual([m.id, m2.id]);
    expect(states(alice, 'bob')).toEqual([
      ['to the old key', 'sent'],
      ['also held', 'sent'],
    ]);
  });

  it('it cannot be sealed again (the contact is blocked now): it fails with that reason instead of going to the old key', async () => {
    const { relay, alice, newBob, m } = await held();
    alice.messenger.setBlocked('bob', true);
    const failed = next(alice.messenger, 'message-state', (s) => s.id === m.id);
    await alice.messenger.acceptKeyChange('bob', newBob.fingerprint);
    expect(await failed).toEqual({
      id: m.id,
      conversation: 'd:bob',
      contact: 'bob',
      state: 'failed',
      error: 'Written for a key that was replaced since, and it could not be sealed again for the new key',
    });
    await alice.messenger.flushOutbox();
    expect(alice.store.getOutbox(m.id)).toBeNull();
    expect(attemptsOf(relay, m.id)).toBe(1);
    expect(toNewKey(relay, newBob.fingerprint)).toEqual([]);
  });
});
