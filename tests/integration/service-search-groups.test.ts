/**
 * Opening a conversation at a search result, direct and group, through ParleyService (what the bridge and the
 * Electron main process call): a real relay on 127.0.0.1, real services on encrypted SQLite files, real crypto
 * workers. The window around a hit must show each message exactly as loadMessages does (its reactions, reply quote,
 * read state, and for a group our own messages with no contact), or a chat opened from a search result draws
 * different bubbles than the same chat opened from the list.
 */
import { afterAll, describe, expect, test } from 'vitest';
import type { ConversationId, MessageView } from '../../electron/contract/api.js';
import type { ParleyService } from '../../electron/core/service.js';
import { cleanupAll, fixtureService, startTestRelay, waitUntil } from '../helpers/core.js';

afterAll(cleanupAll);

const T = 30_000;

async function pageOf(s: ParleyService, conversation: ConversationId): Promise<MessageView[]> {
  return (await s.loadMessages({ conversation, limit: 200 })).messages;
}

/** The hit for `query` (exactly one) and the window around it, by the hit's seq as the app asks. */
async function around(s: ParleyService, conversation: ConversationId, query: string) {
  const { hits } = await s.searchMessages({ query, conversation });
  expect(hits).toHaveLength(1);
  const hit = hits[0]!;
  expect(hit.conversation).toBe(conversation);
  return { hit, window: await s.loadMessagesAround({ conversation, seq: hit.seq, context: 3 }) };
}

describe('search results open at the message, direct and group', () => {
  test('the window around a hit carries the same message views as the loaded page', { timeout: 120_000 }, async () => {
    const relay = await startTestRelay();
    const alice = await fixtureService(0, 'alice', relay.url);
    const bob = await fixtureService(1, 'bob', relay.url);
    await Promise.all([alice.waitOnline(), bob.waitOnline()]);
    await alice.addContact({ username: 'bob' });
    await bob.addContact({ username: 'alice' });

    const g = await alice.createGroup({ name: 'Search team', members: ['bob'] });
    await waitUntil(async () => (await bob.listConversations({})).some((c) => c.id === g.conversation), T, 'the group at bob');
    const direct: ConversationId = 'd:bob';
    for (const [conversation, label] of [[g.conversation, 'group'], [direct, 'direct']] as const) {
      for (let i = 0; i < 8; i++) await alice.sendMessage({ conversation, text: `${label} line ${i} marker${label}${i}` });
      // Bob answers one of them and reacts to another, so the views have what only the messenger adds.
      await waitUntil(async () => (await pageOf(bob, conversation === direct ? 'd:alice' : conversation)).length === 8, T, `${label} at bob`);
      const atBob = await pageOf(bob, conversation === direct ? 'd:alice' : conversation);
      await bob.reactToMessage({ id: atBob[4]!.id, emoji: '👍', conversation: conversation === direct ? 'd:alice' : conversation });
      await bob.sendMessage({ conversation: conversation === direct ? 'd:alice' : conversation, text: `${label} reply markerreply${label}`, replyTo: atBob[3]!.id });
      await waitUntil(async () => {
        const page = await pageOf(alice, conversation);
        return page.length === 9 && Object.keys(page[4]!.reactions ?? {}).length === 1;
      }, T, `${label}: the reaction and the reply at alice`);
    }

    for (const [conversation, label] of [[g.conversation, 'group'], [direct, 'direct']] as const) {
      const page = await pageOf(alice, conversation);
      const { hit, window } = await around(alice, conversation, `marker${label}4`);
      expect(window.anchorSeq).toBe(hit.seq);
      expect(window.messages.map((m) => m.body)).toEqual(page.slice(1, 8).map((m) => m.body));
      // Message for message, the same view as the page: reactions, reply, read state, files, contact.
      expect(window.messages).toEqual(page.slice(1, 8));
      const reacted = window.messages.find((m) => m.seq === hit.seq)!;
      expect(reacted.reactions).toEqual({ '👍': ['bob'] });
      // Our own group messages have no single contact (not the text "null").
      if (label === 'group') expect(window.messages.filter((m) => m.direction === 'out').every((m) => m.contact === '')).toBe(true);

      // The reply, found by its text: the window around it quotes the original.
      const r = await around(alice, conversation, `markerreply${label}`);
      const reply = r.window.messages.find((m) => m.seq === r.hit.seq)!;
      expect(reply.replyTo).toMatchObject({ id: page[3]!.id });
      expect(reply).toEqual(page[8]);
    }
  });
});
