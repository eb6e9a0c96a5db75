/**
 * Outbox test fixtures (messenger-outbox*.test.ts): alice and bob over the in-memory relay, alice with an injected
 * clock and a fixed retry backoff, so pauses and retry delays pass without waiting.
 */
import type { MessengerOptions } from '../../electron/core/messenger/types.js';
import { groupUser, next, type GroupUser } from './group-users.js';
import { MemoryRelay } from './memory-relay.js';

/**
 * A clock that stands still until pushed (a day ahead of real time, so that everything enqueued at real time is
 * due): how long the test itself takes on a loaded machine cannot end a pause early.
 */
export function manualClock() {
  let t = Date.now() + 86_400_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/**
 * Alice (clock injected; retries after exactly `retryMs` unless `alice.retry` says otherwise; her log lines in
 * `log`) and bob, both connected, bob in alice's contacts.
 */
export async function pair(retryMs = 1000, o: { log?: string[]; alice?: Partial<MessengerOptions> } = {}) {
  const relay = new MemoryRelay();
  const clock = manualClock();
  const log = o.log ?? [];
  // No jitter, a fixed delay: the test knows exactly when a retry is due.
  const alice = await groupUser(relay, 'alice', 0, {
    now: clock.now,
    retry: { baseMs: retryMs, maxMs: retryMs, jitter: 0 },
    log: (m: string) => log.push(m),
    ...o.alice,
  });
  const bob = await groupUser(relay, 'bob', 1);
  await alice.connect();
  await bob.connect();
  await alice.messenger.addContact('bob');
  return { relay, clock, alice, bob, log };
}

export const inbox = (u: GroupUser, from: string) => (u.store.getContact(from) ? u.messenger.loadMessages(from).messages.map((m) => m.body) : []);
export const states = (u: GroupUser, to: string) => u.messenger.loadMessages(to).messages.map((m) => [m.body, m.state]);
export const attemptsOf = (relay: MemoryRelay, id: string) => relay.sendAttempts.filter((a) => a.id === id).length;
export const sendsBy = (relay: MemoryRelay, u: GroupUser) => relay.sendAttempts.filter((a) => a.from === u.keys.fingerprint).length;

export async function arrived(bob: GroupUser, from: string, n: number): Promise<void> {
  while (inbox(bob, from).length < n) await next(bob.messenger, 'batch-stored', () => true);
}

/** A promise the test settles by hand (a send held in flight), and one that tells when it was reached. */
export function hold() {
  let open!: () => void;
  let fail!: (err: unknown) => void;
  let reach!: () => void;
  const released = new Promise<void>((resolve, reject) => ((open = resolve), (fail = reject)));
  const reached = new Promise<void>((resolve) => (reach = resolve));
  return { released, reached, reach, open, fail };
}

/**
 * Holds alice's next send at the relay until the test opens or fails it; later sends pass. `at`: 'send' holds it
 * before the relay takes the envelope, 'answer' after the relay queued it, before alice hears the answer.
 */
export function holdNextSend(relay: MemoryRelay, alice: GroupUser, at: 'send' | 'answer' = 'send') {
  const gate = at === 'send' ? 'sendGate' : 'answerGate';
  const h = hold();
  relay[gate] = async (from) => {
    if (from !== alice.keys.fingerprint) return;
    relay[gate] = null;
    h.reach();
    await h.released;
  };
  return h;
}

/** One turn of the event loop: every microtask queued so far (and those they queue) has run. */
export const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
