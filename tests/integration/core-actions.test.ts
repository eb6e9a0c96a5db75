/**
 * Acting on messages end to end: two in-process ParleyServices on real encrypted SQLite files and a real relay over
 * real sockets. Reply, react, edit, delete for everyone, delete for me, message info and read receipts (and the
 * setting that turns them off).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../electron/contract/api.js';
import type { ParleyService } from '../../electron/core/service.js';
import { aliceAndBob, cleanupAll, startTestRelay, waitUntil } from '../helpers/core.js';

afterAll(cleanupAll);

async function find(svc: ParleyService, peer: string, id: string): Promise<MessageView | undefined> {
  const page = await svc.loadMessages({ conversation: `d:${peer}`, limit: 50 });
  return page.messages.find((m) => m.id === id);
}

describe('message actions over a real relay', () => {
  it('reply, react, edit, delete for everyone, info and read receipts reach the other side', async () => {
    const relay = await startTestRelay();
    const { alice, bob } = await aliceAndBob(relay.url);

    const question = await alice.sendMessage({ conversation: 'd:bob', text: 'Are you coming tonight?' });
    await waitUntil(() => find(bob, 'alice', question.id), 20_000, 'bob receives the question');

    // Bob replies with a quote and reacts; Alice sees both.
    const reply = await bob.sendMessage({ conversation: 'd:alice', text: 'Yes!', replyTo: question.id });
    expect(reply.replyTo).toEqual({ id: question.id, author: 'alice', excerpt: 'Are you coming tonight?' });
    await bob.reactToMessage({ id: question.id, emoji: '👍' });
    const seenReply = await waitUntil(() => find(alice, 'bob', reply.id), 20_000, 'alice receives the reply');
    expect(seenReply?.replyTo).toEqual({ id: question.id, author: 'alice', excerpt: 'Are you coming tonight?' });
    await waitUntil(async () => (await find(alice, 'bob', question.id))?.reactions?.['👍']?.includes('bob'), 20_000, 'alice sees the reaction');

    // Alice edits her question; Bob sees the new text marked edited, and the versions in info.
    const edited = await alice.editMessage({ id: question.id, text: 'Are you coming tonight at 8?' });
    expect(edited).toMatchObject({ body: 'Are you coming tonight at 8?', edited: true });
    await waitUntil(async () => (await find(bob, 'alice', question.id))?.body === 'Are you coming tonight at 8?', 20_000, 'bob sees the edit');
    const info = await bob.messageInfo({ id: question.id, conversation: 'd:alice' });
    expect(info.message.edited).toBe(true);
    expect(info.versions.map((v) => v.body)).toEqual(['Are you coming tonight?', 'Are you coming tonight at 8?']);

    // Bob cannot edit or delete Alice's message; the typed error says why.
    await expect(bob.editMessage({ id: question.id, text: 'hijacked' })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(bob.deleteMessage({ id: question.id, everyone: true })).rejects.toMatchObject({ code: 'INVALID' });

    // Bob reads the conversation: Alice's message shows a read time (info too).
    await bob.markRead({ conversation: 'd:alice' });
    await waitUntil(async () => typeof (await find(alice, 'bob', question.id))?.readAt === 'number', 20_000, 'alice sees it read');
    const aliceInfo = await alice.messageInfo({ id: question.id });
    expect(aliceInfo.receipts).toEqual([{ member: 'bob', deliveredAt: expect.any(Number), readAt: expect.any(Number) }]);

    // Alice deletes it for everyone: Bob keeps a tombstone without text or reactions.
    await alice.deleteMessage({ id: question.id, everyone: true });
    const gone = await waitUntil(async () => {
      const m = await find(bob, 'alice', question.id);
      return m?.deleted ? m : undefined;
    }, 20_000, 'bob sees the delete');
    expect(gone).toMatchObject({ body: null, deleted: true, reactions: {} });

    // Delete for me is local: Bob's reply disappears for Bob only.
    await bob.deleteMessage({ id: reply.id });
    expect(await find(bob, 'alice', reply.id)).toBeUndefined();
    expect((await find(alice, 'bob', reply.id))?.body).toBe('Yes!');
  });
});
