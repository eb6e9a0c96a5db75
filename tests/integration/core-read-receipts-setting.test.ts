/**
 * The readReceipts setting end to end: two in-process ParleyServices on real encrypted SQLite files and a real relay
 * over real sockets. On by default; off sends none (the peer never learns a read time) and shows none (our messages
 * show no read time even when the peer reports one); it is kept across a restart.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { MessageView } from '../../electron/contract/api.js';
import type { ParleyService } from '../../electron/core/service.js';
import { applySettingsPatch, DEFAULT_SETTINGS } from '../../electron/core/settings.js';
import { IPC_SCHEMAS } from '../../electron/main/ipc-schemas.js';
import { aliceAndBob, cleanupAll, reopenService, startTestRelay, waitUntil } from '../helpers/core.js';

afterAll(cleanupAll);

async function find(svc: ParleyService, peer: string, id: string): Promise<MessageView | undefined> {
  return (await svc.loadMessages({ conversation: `d:${peer}`, limit: 50 })).messages.find((m) => m.id === id);
}

describe('the readReceipts setting', () => {
  it('is on by default, validated, and accepted over IPC only as a boolean', () => {
    expect(DEFAULT_SETTINGS.readReceipts).toBe(true);
    expect(applySettingsPatch(DEFAULT_SETTINGS, { readReceipts: false }).readReceipts).toBe(false);
    expect(() => applySettingsPatch(DEFAULT_SETTINGS, { readReceipts: 'no' as unknown as boolean })).toThrow(/readReceipts/);
    expect(IPC_SCHEMAS.updateSettings.safeParse([{ readReceipts: false }]).success).toBe(true);
    expect(IPC_SCHEMAS.updateSettings.safeParse([{ readReceipts: 1 }]).success).toBe(false);
  });

  it('off sends none and shows none; kept across a restart', async () => {
    const relay = await startTestRelay();
    const { alice, bob } = await aliceAndBob(relay.url);
    expect((await bob.getState()).settings.readReceipts).toBe(true);

    // Bob turns them off and reads: Alice never sees a read time. Bob's next message travels after any receipt
    // he would have queued (the outbox keeps per-contact order), so once it is here nothing else is coming.
    await bob.updateSettings({ readReceipts: false });
    const first = await alice.sendMessage({ conversation: 'd:bob', text: 'first' });
    await waitUntil(() => find(bob, 'alice', first.id), 20_000, 'bob receives the first');
    await bob.markRead({ conversation: 'd:alice' });
    const marker = await bob.sendMessage({ conversation: 'd:alice', text: 'marker' });
    await waitUntil(() => find(alice, 'bob', marker.id), 20_000, 'alice receives the marker');
    expect((await find(alice, 'bob', first.id))?.readAt).toBeNull();
    expect((await alice.messageInfo({ id: first.id })).receipts).toEqual([{ member: 'bob', deliveredAt: expect.any(Number), readAt: null }]);

    // Alice turns them off; Bob turns his back on and reads a new message: Alice shows no read time while hers are
    // off, and shows it once she turns them on again.
    await alice.updateSettings({ readReceipts: false });
    await bob.updateSettings({ readReceipts: true });
    const second = await alice.sendMessage({ conversation: 'd:bob', text: 'second' });
    await waitUntil(() => find(bob, 'alice', second.id), 20_000, 'bob receives the second');
    await bob.markRead({ conversation: 'd:alice' });
    const marker2 = await bob.sendMessage({ conversation: 'd:alice', text: 'marker 2' });
    await waitUntil(() => find(alice, 'bob', marker2.id), 20_000, 'alice receives the second marker');
    expect((await find(alice, 'bob', second.id))?.readAt).toBeNull();
    expect((await alice.messageInfo({ id: second.id })).receipts[0]?.readAt).toBeNull();
    await alice.updateSettings({ readReceipts: true });
    expect(typeof (await find(alice, 'bob', second.id))?.readAt).toBe('number');

    // The choice survives a restart.
    await alice.updateSettings({ readReceipts: false });
    const dir = alice.profile.dir;
    await alice.close();
    const again = await reopenService(dir, { connect: false });
    expect((await again.getState()).settings.readReceipts).toBe(false);
    expect((await find(again, 'bob', second.id))?.readAt).toBeNull();
  }, 120_000);
});
