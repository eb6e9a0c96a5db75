/**
 * Story, in-process on the real core: a first contact arrives as a message request, receipts move a message
 * through sending → sent → delivered, a blocked contact's messages never land, a message the relay refuses for good
 * is marked failed with the reason and can be retried, and history can be paged and deleted locally.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ParleyService } from '../../electron/core/service.js';
import {
  aliceAndBob,
  cleanupAll,
  collect,
  startTestRelay,
  unackedFor,
  waitUntil,
  type TestRelay,
} from '../helpers/core.js';

let relay: TestRelay;
let alice: ParleyService;
let bob: ParleyService;

beforeAll(async () => {
  relay = await startTestRelay();
  ({ alice, bob } = await aliceAndBob(relay.url, { contacts: 'none' }));
}, 120_000);

afterAll(cleanupAll);

describe('messenger behaviour', () => {
  test('first contact is a message request; receipts mark the message delivered', async () => {
    await alice.addContact({ username: 'bob' });
    const states = collect(alice, 'message-state');
    const got = collect(bob, 'message-received');
    const m = await alice.sendMessage({ conversation: 'd:bob', text: 'hello, stranger' });
    expect(m).toMatchObject({ state: 'sending', direction: 'out', contact: 'bob', body: 'hello, stranger' });
    await waitUntil(() => got.length === 1, 20_000, 'bob receives');
    expect(got[0]).toMatchObject({ id: m.id, contact: 'alice', body: 'hello, stranger', direction: 'in' });
    await waitUntil(() => states.some((s) => s.id === m.id && s.state === 'delivered'), 20_000, 'receipt');
    expect(states.filter((s) => s.id === m.id).map((s) => s.state)).toEqual(['sent', 'delivered']);

    const convs = await bob.listConversations({});
    expect(convs).toHaveLength(1);
    expect(convs[0]).toMatchObject({ kind: 'direct', contact: { username: 'alice', request: true } });
    expect(convs[0]!.unread).toBe(1);
    await bob.markRead({ conversation: 'd:alice' });
    expect((await bob.listConversations({}))[0]!.unread).toBe(0);
    expect(await bob.acceptRequest({ username: 'alice' })).toMatchObject({ request: false });
  });

  test('bad input gets clear typed errors', async () => {
    await expect(alice.sendMessage({ conversation: 'd:bob', text: '   ' })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.sendMessage({ conversation: 'd:bob', text: 'x'.repeat(64 * 1024 + 1) })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.sendMessage({ conversation: 'd:nobody', text: 'hi' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Conversation ids: a bare username or a malformed id is INVALID; an unknown group is NOT_FOUND.
    await expect(alice.sendMessage({ conversation: 'bob' as `d:${string}`, text: 'hi' })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.loadMessages({ conversation: 'g:xyz' })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.markRead({ conversation: `g:${'ab'.repeat(16)}` })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice.addContact({ username: 'Not A Name!' })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.addContact({ username: 'alice' })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.addContact({ username: 'ghost' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice.acceptKeyChange({ username: 'bob', fingerprint: 'ab'.repeat(32) })).rejects.toMatchObject({ code: 'NO_KEY_CHANGE' });
    await expect(alice.deleteMessage({ id: 'AAAAAAAAAAAAAAAAAAAAAA' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice.createIdentity({ username: 'again', relayUrl: relay.url, vault: 'file', passphrase: 'long enough' })).rejects.toMatchObject({ code: 'EXISTS' });
  });

  test("a blocked contact's messages are acknowledged but never stored", async () => {
    await bob.setBlocked({ username: 'alice', blocked: true });
    const got = collect(bob, 'message-received');
    const sent = collect(alice, 'message-state');
    const m = await alice.sendMessage({ conversation: 'd:bob', text: 'can you hear me?' });
    await waitUntil(() => sent.some((s) => s.id === m.id && s.state === 'sent'), 20_000, 'sent');
    await waitUntil(() => unackedFor(relay, 'bob') === 0, 20_000, 'bob acks it');
    await bob.idle();
    expect(got).toHaveLength(0);
    await expect(bob.sendMessage({ conversation: 'd:alice', text: 'x' })).rejects.toMatchObject({ code: 'BLOCKED' });
    expect(await bob.listConversations({})).toEqual([]); // blocked conversations are hidden

    await bob.setBlocked({ username: 'alice', blocked: false });
    await alice.sendMessage({ conversation: 'd:bob', text: 'and now?' });
    await waitUntil(() => got.length === 1, 20_000, 'unblocked message');
    expect(got[0]!.body).toBe('and now?');
  });

  test('a message the relay refuses for good is failed with the reason, and can be retried', async () => {
    // The relay comes back on the same address and data folder with a small envelope limit, so this message is
    // refused for good (TOO_LARGE, not retryable); then back with the default limit, where a retry goes through.
    const { dataDir } = relay;
    const port = relay.relay.port;
    const restartWith = async (limits?: { maxEnvelopeBytes: number }): Promise<void> => {
      await relay.close();
      relay = await startTestRelay({ dataDir, port, ...(limits ? { limits } : {}) });
      await Promise.all([alice.waitOnline(30_000), bob.waitOnline(30_000)]);
    };
    await restartWith({ maxEnvelopeBytes: 4096 });
    const states = collect(alice, 'message-state');
    const m = await alice.sendMessage({ conversation: 'd:bob', text: `are you registered? ${'x'.repeat(3000)}` });
    await waitUntil(() => states.some((s) => s.id === m.id && s.state === 'failed'), 20_000, 'failed');
    const failed = states.find((s) => s.state === 'failed')!;
    expect(failed.error).toMatch(/refused the message \(TOO_LARGE\)/);

    await restartWith();
    const got = collect(bob, 'message-received');
    const again = await alice.retryMessage({ id: m.id });
    expect(again).toMatchObject({ id: m.id, state: 'sending', error: null });
    await waitUntil(() => got.some((x) => x.id === m.id), 20_000, 'bob receives the retried message');
  });

  test('history pages from the newest, and deletes stay local', async () => {
    const texts = ['p1', 'p2', 'p3', 'p4', 'p5'];
    const got = collect(bob, 'message-received');
    for (const t of texts) await alice.sendMessage({ conversation: 'd:bob', text: t });
    await waitUntil(() => got.length === texts.length, 20_000, 'all five');
    const first = await bob.loadMessages({ conversation: 'd:alice', limit: 2 });
    expect(first.messages.map((m) => m.body)).toEqual(['p4', 'p5']);
    expect(first.nextCursor).not.toBeNull();
    const second = await bob.loadMessages({ conversation: 'd:alice', limit: 2, before: first.nextCursor });
    expect(second.messages.map((m) => m.body)).toEqual(['p2', 'p3']);

    const total = first.total;
    await bob.deleteMessage({ id: first.messages[1]!.id });
    const after = await bob.loadMessages({ conversation: 'd:alice', limit: 2 });
    expect(after.messages.map((m) => m.body)).toEqual(['p3', 'p4']);
    expect(after.total).toBe(total - 1);
    // Alice still has her copy: deleting is local.
    expect((await alice.loadMessages({ conversation: 'd:bob', limit: 1 })).messages[0]!.body).toBe('p5');

    await bob.deleteConversation({ conversation: 'd:alice' });
    expect((await bob.loadMessages({ conversation: 'd:alice' })).messages).toEqual([]);
    expect((await bob.getContact({ username: 'alice' })).username).toBe('alice');
  });
});
