/**
 * "Read by n of m" under our group messages (groupDeliveries' read counts), through ParleyService on a real relay,
 * real encrypted stores and real crypto workers: a member who reads sends a receipt and is counted; a member with
 * read receipts off is never counted; and while our own read receipts are off nobody is (off shows none).
 */
import { afterAll, describe, expect, test } from 'vitest';
import type { ConversationId } from '../../electron/contract/api.js';
import type { ParleyService } from '../../electron/core/service.js';
import { cleanupAll, fixtureService, startTestRelay, waitUntil } from '../helpers/core.js';

afterAll(cleanupAll);

const T = 30_000;

async function received(s: ParleyService, conversation: ConversationId, text: string): Promise<void> {
  // Until the group itself has arrived, loading its messages is NOT_FOUND.
  const has = async (): Promise<boolean> => (await s.loadMessages({ conversation })).messages.some((m) => m.body === text);
  await waitUntil(() => has().catch(() => false), T, `"${text}" received`);
}

describe('group read counts', () => {
  test('read by the members who send receipts; none counted while ours are off', { timeout: 120_000 }, async () => {
    const relay = await startTestRelay();
    const [alice, bob, carol] = await Promise.all([
      fixtureService(0, 'alice', relay.url),
      fixtureService(1, 'bob', relay.url),
      fixtureService(2, 'carol', relay.url),
    ]);
    await Promise.all([alice.waitOnline(), bob.waitOnline(), carol.waitOnline()]);
    await alice.addContact({ username: 'bob' });
    await alice.addContact({ username: 'carol' });
    await bob.addContact({ username: 'alice' });
    await carol.addContact({ username: 'alice' });
    const g = await alice.createGroup({ name: 'Readers', members: ['bob', 'carol'] });
    await carol.updateSettings({ readReceipts: false });

    const m = await alice.sendMessage({ conversation: g.conversation, text: 'read me' });
    await Promise.all([received(bob, g.conversation, 'read me'), received(carol, g.conversation, 'read me')]);
    await waitUntil(async () => (await alice.groupDeliveries({ id: m.id })).delivered === 2, T, 'delivered to both');
    expect(await alice.groupDeliveries({ id: m.id })).toMatchObject({ delivered: 2, total: 2, read: 0 });

    await carol.markRead({ conversation: g.conversation });
    await bob.markRead({ conversation: g.conversation });
    await waitUntil(async () => (await alice.groupDeliveries({ id: m.id })).read === 1, T, 'read by bob');
    // Carol's receipt would have left before her next message: once that is here, she is still not counted.
    await carol.sendMessage({ conversation: g.conversation, text: 'carol after reading' });
    await received(alice, g.conversation, 'carol after reading');
    const d = await alice.groupDeliveries({ id: m.id });
    expect(d).toMatchObject({ delivered: 2, total: 2, read: 1 });
    expect(d.members.map((x) => [x.username, x.state, x.read])).toEqual([
      ['bob', 'delivered', true],
      ['carol', 'delivered', false],
    ]);

    // Our own receipts off: we see no one's reads (and on again, they are back).
    await alice.updateSettings({ readReceipts: false });
    expect(await alice.groupDeliveries({ id: m.id })).toMatchObject({ read: 0 });
    expect((await alice.groupDeliveries({ id: m.id })).members.every((x) => x.read === false)).toBe(true);
    await alice.updateSettings({ readReceipts: true });
    expect(await alice.groupDeliveries({ id: m.id })).toMatchObject({ read: 1 });
  });
});
