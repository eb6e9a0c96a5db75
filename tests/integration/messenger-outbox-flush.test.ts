/**
 * The outbox's flush and retry timer (electron/core/messenger/outbox.ts), deterministic: alice's clock is injected,
 * the retry timer runs on vitest's fake setTimeout (nothing else is faked), and a send can be held in flight at the
 * in-memory relay. Real encrypted SQLite, real crypto workers, real Messenger. What a user relies on: a message that
 * could not go is sent again on its own exactly when it is due (or when a rate-limit pause ends), one flush at a
 * time, with nothing sent twice at once; a request to send while a flush runs is not lost; closing waits for the
 * send in flight and leaves nothing armed; going offline between two sends is no error.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TransportError } from '../../electron/core/transport/errors.js';
import { cleanupAll } from '../helpers/core.js';
import { groupUser, next, until } from '../helpers/group-users.js';
import type { MemoryRelay } from '../helpers/memory-relay.js';
import { attemptsOf, holdNextSend, pair, states, turn } from '../helpers/outbox.js';

const bobFp = (relay: MemoryRelay) => relay.directory.get('bob')!.fingerprint;
const fakeTimers = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
const flushLog = (log: string[]) => log.filter((l) => l.startsWith('outbox flush stopped'));

// Each test's users are closed after it: a messenger left running could arm its timers on the next test's fake ones.
afterEach(async () => {
  vi.useRealTimers();
  await cleanupAll();
});

describe('outbox: the retry timer', () => {
  it('a failed send arms one timer for when it is due (+10 ms), which sends it on its own; nothing armed once empty', async () => {
    const { relay, clock, alice } = await pair(1000);
    fakeTimers();
    let fail = true;
    relay.sendFault = (from) => (fail && from === alice.keys.fingerprint ? new TransportError('INTERNAL', 'relay hiccup') : null);
    const m = await alice.messenger.sendText('bob', 'later');
    await alice.messenger.flushOutbox();
    await alice.messenger.flushOutbox(); // every flush arms the timer again: still one
    expect(attemptsOf(relay, m.id)).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    fail = false;
    clock.advance(1000); // due now; only the timer may send it
    const sent = next(alice.messenger, 'message-state', (s) => s.id === m.id);
    vi.advanceTimersByTime(1009);
    expect(attemptsOf(relay, m.id)).toBe(1);
    vi.advanceTimersByTime(1);
    expect(attemptsOf(relay, m.id)).toBe(2);
    expect(await sent).toEqual({ id: m.id, conversation: 'd:bob', contact: 'bob', state: 'sent', error: null });
    await alice.messenger.flushOutbox();
    expect(alice.store.getOutbox(m.id)).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a retry further away than a timer can count (2^31−1 ms, ~24.8 days) is armed for that longest delay', async () => {
    const day = 86_400_000;
    const { relay, clock, alice } = await pair(40 * day);
    fakeTimers();
    let fail = true;
    relay.sendFault = (from) => (fail && from === alice.keys.fingerprint ? new TransportError('TIMEOUT', 'no answer') : null);
    const m = await alice.messenger.sendText('bob', 'much later');
    await alice.messenger.flushOutbox();
    expect(alice.store.getOutbox(m.id)!.nextAttemptAt).toBe(clock.now() + 40 * day);
    fail = false;
    clock.advance(40 * day);
    vi.advanceTimersByTime(2 ** 31 - 2);
    expect(attemptsOf(relay, m.id)).toBe(1);
    vi.advanceTimersByTime(1);
    expect(attemptsOf(relay, m.id)).toBe(2);
  });

  it('a rate-limit pause arms the timer for the end of the pause, and at that very instant the outbox goes again', async () => {
    const { relay, clock, alice } = await pair();
    fakeTimers();
    let refuse = true;
    relay.sendFault = (from) => (refuse && from === alice.keys.fingerprint ? new TransportError('RATE_LIMITED', 'slow down', 5000) : null);
    const m = await alice.messenger.sendText('bob', 'paused');
    await alice.messenger.flushOutbox();
    expect(attemptsOf(relay, m.id)).toBe(1);
    refuse = false;
    // The clock is at the end of the pause already, so a timer armed for the item (due since it was written) would
    // send at once: it must wait for the pause's end as it was when the timer was armed.
    clock.advance(5000);
    vi.advanceTimersByTime(5009);
    expect(attemptsOf(relay, m.id)).toBe(1);
    vi.advanceTimersByTime(1); // now === the pause's end: sent
    expect(attemptsOf(relay, m.id)).toBe(2);
  });

  it('the default backoff: 1 s, doubling, at most 60 s (only the jitter is configured here)', async () => {
    const { relay, clock, alice } = await pair(1000, { alice: { retry: { jitter: 0 } } });
    relay.sendFault = (from) => (from === alice.keys.fingerprint ? new TransportError('UNAUTHENTICATED', 'not yet') : null);
    const m = await alice.messenger.sendText('bob', 'stubborn');
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      await alice.messenger.flushOutbox();
      const item = alice.store.getOutbox(m.id)!;
      expect(item.attempts).toBe(i + 1);
      delays.push(item.nextAttemptAt - clock.now());
      clock.advance(item.nextAttemptAt - clock.now());
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000]);
    expect(alice.store.getOutbox(m.id)!.lastError).toBe('not yet');
  });
});

describe('outbox: flushes', () => {
  it('a flush asked for while one runs joins it: one send of an item at a time, and one more pass for what came meanwhile', async () => {
    const { relay, alice } = await pair();
    const carol = await groupUser(relay, 'carol', 2);
    await carol.connect();
    await alice.messenger.addContact('carol');
    const inFlight = holdNextSend(relay, alice);
    const m1 = await alice.messenger.sendText('bob', 'first');
    await inFlight.reached;
    const joined = alice.messenger.flushOutbox();
    expect(alice.messenger.flushOutbox()).toBe(joined);
    const m2 = await alice.messenger.sendText('bob', 'second');
    const c1 = await alice.messenger.sendText('carol', 'to carol'); // written after the pass fetched what was due
    inFlight.fail(new TransportError('INTERNAL', 'connection reset'));
    await joined;
    expect(attemptsOf(relay, m1.id)).toBe(1); // never twice at once
    expect(attemptsOf(relay, m2.id)).toBe(0); // waits behind bob's first, which backs off
    // The first pass ended at bob's refusal; the flush asked for meanwhile ran a second pass, which sent carol's.
    expect(attemptsOf(relay, c1.id)).toBe(1);
    expect(alice.store.getOutbox(c1.id)).toBeNull();
    expect(states(alice, 'carol')).toEqual([['to carol', 'sent']]);
  });

  it('one pass sends everything due, in order; a send that fails with something other than a relay error is retried', async () => {
    const { relay, alice } = await pair();
    fakeTimers(); // no retry timer may help: one flush must do it
    alice.disconnect();
    const ms = [];
    for (const t of ['a', 'b', 'c']) ms.push(await alice.messenger.sendText('bob', t));
    const inFlight = holdNextSend(relay, alice);
    await alice.connect();
    await inFlight.reached;
    inFlight.fail(new Error('socket hang up')); // a bug or a socket error, not a TransportError
    await alice.messenger.flushOutbox();
    expect(alice.store.getOutbox(ms[0]!.id)).toMatchObject({ attempts: 1, lastError: 'Error: socket hang up' });
    expect(ms.map((m) => attemptsOf(relay, m.id))).toEqual([1, 0, 0]);
    alice.store.recordOutboxAttempt(ms[0]!.id, { nextAttemptAt: 0, error: null }); // due again (as "retry now" does)
    await alice.messenger.flushOutbox();
    expect(ms.map((m) => attemptsOf(relay, m.id))).toEqual([2, 1, 1]);
    expect(relay.sendAttempts.filter((a) => a.from === alice.keys.fingerprint).map((a) => a.id)).toEqual([ms[0]!.id, ms[0]!.id, ms[1]!.id, ms[2]!.id]);
    expect(alice.store.listOutbox('bob').filter((i) => i.kind === 'message')).toEqual([]);
  });

  it('a retryable failure ends the pass: a due message to someone else waits for the timer (10 ms), not sent in that pass', async () => {
    const { relay, alice } = await pair();
    const carol = await groupUser(relay, 'carol', 2);
    await carol.connect();
    await alice.messenger.addContact('carol');
    fakeTimers();
    let fail = true;
    relay.sendFault = (from, env) => (fail && from === alice.keys.fingerprint && env.to.includes(bobFp(relay)) ? new TransportError('TIMEOUT', 'no answer') : null);
    alice.disconnect();
    const b = await alice.messenger.sendText('bob', 'to bob');
    const c = await alice.messenger.sendText('carol', 'to carol');
    await alice.connect(); // flushes on authentication; asking for another flush now would add a pass
    await until([alice.messenger], () => alice.store.getOutbox(b.id)?.attempts === 1);
    await turn(); // the pass ends right after recording the failure
    expect([attemptsOf(relay, b.id), attemptsOf(relay, c.id)]).toEqual([1, 0]);
    fail = false;
    vi.advanceTimersByTime(9);
    expect(attemptsOf(relay, c.id)).toBe(0);
    vi.advanceTimersByTime(1);
    expect(attemptsOf(relay, c.id)).toBe(1);
    expect(attemptsOf(relay, b.id)).toBe(1); // still backing off
  });

  it('going offline between two sends, or sending while offline, stops the pass without an error or an attempt', async () => {
    const log: string[] = [];
    const { relay, alice } = await pair(1000, { log });
    alice.disconnect();
    const m0 = await alice.messenger.sendText('bob', 'while offline');
    await alice.messenger.flushOutbox();
    expect(attemptsOf(relay, m0.id)).toBe(0);
    // The connection drops (still attached, no longer online) right after the first send of the next pass.
    const off = alice.messenger.on('message-state', (s) => {
      if (s.state === 'sent') alice.transport()!.online = false;
    });
    const ms = [];
    for (const t of ['1', '2']) ms.push(await alice.messenger.sendText('bob', t));
    await alice.connect();
    await alice.messenger.flushOutbox();
    off();
    expect(attemptsOf(relay, m0.id)).toBe(1);
    expect(ms.map((m) => alice.store.getOutbox(m.id))).toEqual([
      expect.objectContaining({ attempts: 0, lastError: null }),
      expect.objectContaining({ attempts: 0, lastError: null }),
    ]);
    // Detached between two sends of a pass: the same.
    const off2 = alice.messenger.on('message-state', (s) => {
      if (s.state === 'sent') alice.disconnect();
    });
    await alice.connect();
    await alice.messenger.flushOutbox();
    off2();
    expect(ms.map((m) => attemptsOf(relay, m.id))).toEqual([1, 0]);
    expect(alice.store.getOutbox(ms[1]!.id)).toMatchObject({ attempts: 0, lastError: null });
    expect(flushLog(log)).toEqual([]);
  });

  it('a flush that cannot go on (the store closed under it) stops and says why in the log', async () => {
    const log: string[] = [];
    const { relay, alice } = await pair(1000, { log });
    const inFlight = holdNextSend(relay, alice);
    await alice.messenger.sendText('bob', 'into a closed store');
    await inFlight.reached;
    alice.store.close();
    inFlight.open();
    await alice.messenger.flushOutbox();
    expect(flushLog(log)).toEqual([expect.stringMatching(/^outbox flush stopped: \w+: the history store is closed$/)]);
  });
});

describe('outbox: close', () => {
  it('close waits for the send in flight to record its outcome, sends nothing more and arms no timer', async () => {
    const { relay, alice } = await pair();
    fakeTimers();
    const inFlight = holdNextSend(relay, alice);
    const m1 = await alice.messenger.sendText('bob', 'in flight');
    await inFlight.reached;
    const m2 = await alice.messenger.sendText('bob', 'queued behind');
    let closed = false;
    const closing = alice.messenger.close().then(() => (closed = true));
    await turn();
    expect(closed).toBe(false); // still waiting for the relay's answer
    inFlight.open();
    await closing;
    expect(states(alice, 'bob')).toEqual([
      ['in flight', 'sent'],
      ['queued behind', 'sending'],
    ]);
    expect(alice.store.getOutbox(m1.id)).toBeNull();
    expect(attemptsOf(relay, m2.id)).toBe(0);
    expect(alice.store.getOutbox(m2.id)).not.toBeNull(); // kept for the next start
    expect(vi.getTimerCount()).toBe(0);
  });
});
