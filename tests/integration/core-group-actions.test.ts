/**
 * Acting on messages in a GROUP end to end: three in-process ParleyServices (alice, bob, carol) on real encrypted
 * SQLite files and a real relay over real sockets. Reply with a quote, reactions from every member, edit and delete
 * for everyone by the author only, read receipts per member (info), and the read-receipts setting of one member.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ConversationId, MessageView } from '../../electron/contract/api.js';
import type { ParleyService } from '../../electron/core/service.js';
import { cleanupAll, fixtureService, startTestRelay, waitUntil } from '../helpers/core.js';

afterAll(cleanupAll);

async function find(svc: ParleyService, conversation: ConversationId, id: string): Promise<MessageView | undefined> {
  return (await svc.loadMessages({ conversation, limit: 50 })).messages.find((m) => m.id === id);
}

describe('message actions in a group over a real relay', () => {
  it('three members: reply, react, edit, delete for everyone, per-member read receipts', async () => {
    const relay = await startTestRelay();
    const alice = await fixtureService(0, 'alice', relay.url);
    const bob = await fixtureService(1, 'bob', relay.url);
    const carol = await fixtureService(2, 'carol', relay.url);
    await Promise.all([alice.waitOnline(), bob.waitOnline(), carol.waitOnline()]);
    await alice.addContact({ username: 'bob' });
    await alice.addContact({ username: 'carol' });
    const info = await (await alice.groups()).create('team', ['bob', 'carol']);
    const g = info.conversation;
    await waitUntil(async () => (await bob.groups()).list().length === 1 && (await carol.groups()).list().length === 1, 30_000, 'bob and carol join');

    const question = await alice.sendMessage({ conversation: g, text: 'Pizza on Friday?' });
    await waitUntil(() => find(bob, g, question.id), 30_000, 'bob receives it');
    await waitUntil(() => find(carol, g, question.id), 30_000, 'carol receives it');

    // Bob replies with a quote; the others see the quote with its author.
    const reply = await bob.sendMessage({ conversation: g, text: 'Yes please', replyTo: question.id });
    expect(reply.replyTo).toEqual({ id: question.id, author: 'alice', excerpt: 'Pizza on Friday?' });
    for (const u of [alice, carol]) {
      const seen = await waitUntil(() => find(u, g, reply.id), 30_000, 'the reply arrives');
      expect(seen?.replyTo).toEqual({ id: question.id, author: 'alice', excerpt: 'Pizza on Friday?' });
    }

    // Reactions from any member reach everyone.
    await bob.reactToMessage({ id: question.id, emoji: '👍', conversation: g });
    await carol.reactToMessage({ id: question.id, emoji: '🍕', conversation: g });
    for (const u of [alice, bob, carol]) {
      await waitUntil(async () => {
        const r = (await find(u, g, question.id))?.reactions;
        return r?.['👍']?.includes('bob') && r?.['🍕']?.includes('carol');
      }, 30_000, 'every member sees both reactions');
    }

    // Only the author edits or deletes: Carol is refused on Alice's message and on Bob's reply.
    await expect(carol.editMessage({ id: question.id, text: 'hijacked', conversation: g })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(carol.deleteMessage({ id: reply.id, everyone: true, conversation: g })).rejects.toMatchObject({ code: 'INVALID' });
    await alice.editMessage({ id: question.id, text: 'Pizza on Friday at 7?', conversation: g });
    for (const u of [bob, carol]) {
      await waitUntil(async () => (await find(u, g, question.id))?.body === 'Pizza on Friday at 7?', 30_000, 'the edit arrives');
      expect((await find(u, g, question.id))?.edited).toBe(true);
    }
    await bob.deleteMessage({ id: reply.id, everyone: true, conversation: g });
    for (const u of [alice, carol]) {
      const gone = await waitUntil(async () => {
        const m = await find(u, g, reply.id);
        return m?.deleted ? m : undefined;
      }, 30_000, 'the delete arrives');
      expect(gone).toMatchObject({ body: null, deleted: true });
    }

    // Read receipts per member: Bob reads first (not yet read by all), then Carol.
    await bob.markRead({ conversation: g });
    const afterBob = await waitUntil(async () => {
      const i = await alice.messageInfo({ id: question.id, conversation: g });
      return i.receipts.find((r) => r.member === 'bob')?.readAt ? i : undefined;
    }, 30_000, 'alice sees bob read it');
    expect(afterBob!.receipts).toEqual([
      { member: 'bob', deliveredAt: expect.any(Number), readAt: expect.any(Number) },
      { member: 'carol', deliveredAt: expect.any(Number), readAt: null },
    ]);
    expect(afterBob!.message.readAt).toBeNull();
    await carol.markRead({ conversation: g });
    await waitUntil(async () => typeof (await find(alice, g, question.id))?.readAt === 'number', 30_000, 'read by all');
    // Bob's read receipt went to Alice only (the author): Carol learns nothing about what Bob read.
    const carolsReply = await carol.messageInfo({ id: question.id, conversation: g });
    expect(carolsReply.receipts).toEqual([]);
  }, 180_000);
});
