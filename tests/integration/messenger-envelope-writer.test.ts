/**
 * What one opened envelope becomes (electron/core/messenger/envelope-writer.ts), beside what core-receive and
 * core-trust cover: the counted failure row (its wording, a summary the user deleted, the next hour, an id we also
 * used), receipts (only a message still sending or sent becomes delivered, once; recorded per contact), the display
 * name a contact sends inside their messages, actions (reactions announced once, a read receipt ahead of the
 * delivery receipt, a group the sender is not in, refusals logged), and store faults (one in a message's savepoint
 * is quarantined; one that ends the whole transaction is not). Real Messenger, encrypted SQLite, crypto workers and
 * RelayClient against the scriptable relay of tests/helpers/fake-relay.ts with real sealed envelopes. The
 * messenger's clock is a test clock where the hour matters; the store faults are injected into the real store
 * (withInsertFault); nothing is mocked.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadIdentity, newMessageId, type IdentityKeys } from '../../electron/core/crypto/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import { FAILURE_ROWS_PER_HOUR } from '../../electron/core/messenger/envelope-writer.js';
import type { MessengerOptions } from '../../electron/core/messenger/types.js';
import { StoreError, type HistoryStore } from '../../electron/core/store/types.js';
import type { Payload } from '../../electron/core/crypto/payload.js';
import type { Envelope } from '../../relay/protocol/index.js';
import { cleanupAll, waitUntil } from '../helpers/core.js';
import { deliverAndSettle, FakeRelay, interceptStore, NO_ANSWER, receiver, sealFrom } from '../helpers/fake-relay.js';
import { fixtureIdentity, fixtureKeys } from '../helpers/identities.js';

const HOUR = 3_600_000;
let alice: IdentityKeys;
let bobSecret: IdentitySecret;
let bobKeys: IdentityKeys;

beforeAll(async () => {
  alice = await fixtureKeys(0);
  bobSecret = await fixtureIdentity(1);
  bobKeys = await loadIdentity(bobSecret);
}, 120_000);

afterAll(cleanupAll);

async function bobWithAlice(o: Partial<MessengerOptions> = {}) {
  const relay = await FakeRelay.start();
  relay.publish('alice', alice);
  const bob = await receiver(relay.url, bobSecret, { messenger: o });
  await bob.messenger.addContact('alice');
  const contactsChanged: string[] = [];
  bob.messenger.on('contacts-changed', (c) => contactsChanged.push(c.username));
  return { relay, bob, contactsChanged };
}

/** Envelopes that cannot be opened: a fresh id under a genuine envelope's signature, which no longer verifies. */
async function forged(n: number): Promise<Envelope[]> {
  const base = await sealFrom(alice, bobKeys.public, 'genuine');
  return Array.from({ length: n }, () => ({ ...base, id: newMessageId() }));
}

/**
 * The one injected store fault of a test: a real store whose insertMessage first runs `fault` (which may throw), with
 * the store's SQLite connection at hand for faults that end the transaction the way SQLite itself does.
 */
function withInsertFault(fault: (m: Parameters<HistoryStore['insertMessage']>[0], db: { exec(sql: string): void }) => void) {
  return (real: HistoryStore): HistoryStore =>
    interceptStore(real, {
      insertMessage: (target) => (m) => {
        fault(m, (target as unknown as { db: { exec(sql: string): void } }).db);
        return target.insertMessage(m);
      },
    });
}

describe('failure rows', () => {
  test('one more than the budget is counted in the singular with its reason; a deleted summary is replaced; the next hour shows rows again', async () => {
    let clock = Math.floor(Date.now() / HOUR) * HOUR + 60_000; // a minute into the hour
    const { relay, bob } = await bobWithAlice({ now: () => clock });
    const first = await forged(FAILURE_ROWS_PER_HOUR + 1);
    await deliverAndSettle(relay, bob, first);
    let rows = bob.messenger.loadMessages('alice', null, 50).messages;
    expect(rows).toHaveLength(FAILURE_ROWS_PER_HOUR + 1);
    const reason = rows[0]!.error!.split(':')[0]!;
    expect(reason.length).toBeGreaterThan(0);
    const summary = rows.at(-1)!;
    expect(summary).toMatchObject({ state: 'undecryptable', body: null });
    expect(summary.error).toBe(`1 more envelope from alice could not be opened or stored in this hour (last: ${reason})`);
    expect(first.map((e) => e.id)).not.toContain(summary.id);

    // The user deletes the summary row: the next failure of the hour starts a new counted row, counting on.
    bob.messenger.deleteMessage(summary.id);
    clock += 60_000;
    await deliverAndSettle(relay, bob, await forged(1));
    rows = bob.messenger.loadMessages('alice', null, 50).messages;
    expect(rows).toHaveLength(FAILURE_ROWS_PER_HOUR + 1);
    expect(rows.at(-1)!.id).not.toBe(summary.id);
    expect(rows.at(-1)!.error).toBe(`2 more envelopes from alice could not be opened or stored in this hour (last: ${reason})`);
    // And one more updates that row in place.
    await deliverAndSettle(relay, bob, await forged(1));
    rows = bob.messenger.loadMessages('alice', null, 50).messages;
    expect(rows).toHaveLength(FAILURE_ROWS_PER_HOUR + 1);
    expect(rows.at(-1)!.error).toMatch(/^3 more envelopes from alice /);
    expect(bob.messenger.diagnostics().collapsedFailures).toBe(3);

    // The next hour has its own budget: the envelope gets its own row, under its own id.
    clock += HOUR;
    const nextHour = await forged(1);
    await deliverAndSettle(relay, bob, nextHour);
    rows = bob.messenger.loadMessages('alice', null, 50).messages;
    expect(rows).toHaveLength(FAILURE_ROWS_PER_HOUR + 2);
    expect(rows.at(-1)).toMatchObject({ id: nextHour[0]!.id, state: 'undecryptable' });
    expect(rows.at(-1)!.error!.split(':')[0]).toBe(reason);
  });
});

describe('receipts', () => {
  test('a receipt marks a sent message delivered once; a repeated or unknown receipt changes nothing', async () => {
    const { relay, bob } = await bobWithAlice();
    const states: Array<{ id: string; state: string }> = [];
    bob.messenger.on('message-state', (s) => states.push({ id: s.id, state: s.state }));
    const sent = await bob.messenger.sendText('alice', 'did you get this?');
    await waitUntil(() => states.some((s) => s.id === sent.id && s.state === 'sent'), 20_000, 'sent');
    expect(bob.store.listOutbox('alice')).toHaveLength(0);

    const receipt = () => sealFrom(alice, bobKeys.public, { v: 1, type: 'receipt', ts: Date.now(), ids: [sent.id, newMessageId()] });
    await deliverAndSettle(relay, bob, [await receipt()]);
    expect(states.filter((s) => s.id === sent.id)).toEqual([
      { id: sent.id, state: 'sent' },
      { id: sent.id, state: 'delivered' },
    ]);
    expect(bob.messenger.loadMessages('alice', null, 10).messages).toEqual([expect.objectContaining({ id: sent.id, state: 'delivered' })]);
    expect(bob.messenger.messageInfo(sent.id).receipts).toEqual([{ member: 'alice', deliveredAt: expect.any(Number), readAt: null }]);

    await deliverAndSettle(relay, bob, [await receipt()]);
    expect(states.filter((s) => s.id === sent.id)).toHaveLength(2);
    // A receipt adds no row, and names no message of ours that does not exist.
    expect(bob.messenger.loadMessages('alice', null, 10).messages.map((m) => m.id)).toEqual([sent.id]);
  });

  test('a receipt for a message still in the outbox (its relay answer not back yet) delivers it and takes it out', async () => {
    const { relay, bob } = await bobWithAlice();
    // The relay takes the send but never answers it: the message stays 'sending', in the outbox.
    let sends = 0;
    relay.hooks.send = () => {
      sends++;
      return NO_ANSWER;
    };
    const states: string[] = [];
    const m = await bob.messenger.sendText('alice', 'racing the answer');
    bob.messenger.on('message-state', (s) => s.id === m.id && states.push(s.state));
    await waitUntil(() => sends === 1, 20_000, 'send in flight');
    expect(bob.store.listOutbox('alice').map((o) => o.envelopeId)).toEqual([m.id]);

    relay.deliver([await sealFrom(alice, bobKeys.public, { v: 1, type: 'receipt', ts: Date.now(), ids: [m.id] })]);
    await waitUntil(() => states.includes('delivered'), 20_000, 'delivered by the receipt');
    expect(bob.store.listOutbox('alice')).toHaveLength(0);
    expect(bob.messenger.loadMessages('alice', null, 10).messages[0]).toMatchObject({ id: m.id, state: 'delivered' });
  });
});

describe('display names from inside messages', () => {
  test('the latest name a contact sends wins; the same name again or a message without one changes nothing', async () => {
    const { relay, bob, contactsChanged } = await bobWithAlice();
    const text = (body: string, name?: string) => sealFrom(alice, bobKeys.public, { v: 1, type: 'text', ts: Date.now(), body, ...(name === undefined ? {} : { name }) });
    const displayName = () => bob.messenger.listContacts().find((c) => c.username === 'alice')!.displayName;

    await deliverAndSettle(relay, bob, [await text('hi', 'Alice A.')]);
    expect(displayName()).toBe('Alice A.');
    expect(contactsChanged).toEqual(['alice']);

    await deliverAndSettle(relay, bob, [await text('again', 'Alice A.'), await text('no name')]);
    expect(displayName()).toBe('Alice A.');
    expect(contactsChanged).toEqual(['alice']);

    await deliverAndSettle(relay, bob, [await text('renamed', 'Alice B.')]);
    expect(displayName()).toBe('Alice B.');
    expect(contactsChanged).toEqual(['alice', 'alice']);
    expect(bob.messenger.loadMessages('alice', null, 10).messages.map((m) => m.body)).toEqual(['hi', 'again', 'no name', 'renamed']);
  });
});

describe('actions on messages', () => {
  /** Bob with Alice, a log, the 'message-updated' events, and one message Bob sent her (the relay took it). */
  async function withSentMessage() {
    const logs: string[] = [];
    const { relay, bob, contactsChanged } = await bobWithAlice({ log: (msg) => logs.push(msg) });
    const updated: string[] = [];
    bob.messenger.on('message-updated', (m) => updated.push(m.id));
    const states: Array<{ id: string; contact: string; conversation: string; state: string }> = [];
    bob.messenger.on('message-state', (e) => states.push({ id: e.id, contact: e.contact, conversation: e.conversation, state: e.state }));
    const sent = await bob.messenger.sendText('alice', 'react to this');
    await waitUntil(() => states.some((e) => e.id === sent.id && e.state === 'sent'), 20_000, 'sent');
    return { relay, bob, contactsChanged, logs, updated, states, sent };
  }
  const action = (p: Record<string, unknown>) => sealFrom(alice, bobKeys.public, { v: 1, ts: Date.now(), ...p } as Payload);

  test('a reaction is applied and announced once with its message; one to a message not here yet announces nothing, and holds up nothing', async () => {
    const { relay, bob, contactsChanged, updated, states, sent } = await withSentMessage();
    await deliverAndSettle(relay, bob, [await action({ type: 'reaction', target: sent.id, author: 'bob', emoji: '👍' })]);
    expect(updated).toEqual([sent.id]);
    expect(bob.messenger.messageInfo(sent.id).message.reactions).toEqual({ '👍': ['alice'] });
    // A reaction to a message of Bob's that is not here (yet): kept for later, nothing to announce; the receipt
    // beside it in the same batch is still announced.
    await deliverAndSettle(relay, bob, [
      await action({ type: 'reaction', target: newMessageId(), author: 'bob', emoji: '🎉' }),
      await action({ type: 'receipt', ids: [sent.id] }),
    ]);
    expect(updated).toEqual([sent.id]);
    expect(states.at(-1)).toEqual({ id: sent.id, contact: 'alice', conversation: 'd:alice', state: 'delivered' });
    expect(contactsChanged).toEqual([]); // no display name travelled, so no contact changed
    expect(states.every((e) => e.id === sent.id && e.contact === 'alice')).toBe(true); // and no other message moved
    expect(bob.messenger.loadMessages('alice', null, 10).messages.map((m) => m.id)).toEqual([sent.id]);
  });

  test('a read receipt that arrives before the delivery receipt delivers our message, announced in its conversation', async () => {
    const { relay, bob, states, sent } = await withSentMessage();
    await deliverAndSettle(relay, bob, [await action({ type: 'read', ids: [sent.id] })]);
    expect(states.filter((e) => e.id === sent.id).at(-1)).toEqual({ id: sent.id, contact: 'alice', conversation: 'd:alice', state: 'delivered' });
    expect(bob.messenger.messageInfo(sent.id).receipts).toEqual([{ member: 'alice', deliveredAt: expect.any(Number), readAt: expect.any(Number) }]);
    expect(bob.store.listOutbox('alice')).toHaveLength(0);
  });

  test('an action naming a group the sender is not in is refused and logged; it changes nothing and is not quarantined', async () => {
    const { relay, bob, logs, updated, sent } = await withSentMessage();
    const group = 'ab'.repeat(16);
    await deliverAndSettle(relay, bob, [
      await action({ type: 'reaction', g: group, target: sent.id, author: 'bob', emoji: '👍' }),
      await action({ type: 'read', g: group, ids: [sent.id] }),
    ]);
    expect(logs.filter((l) => l.includes('not a member of that group'))).toEqual([
      'refused a reaction from alice: not a member of that group',
      'refused a read from alice: not a member of that group',
    ]);
    expect(updated).toEqual([]);
    expect(bob.messenger.messageInfo(sent.id)).toMatchObject({ message: { reactions: {} }, receipts: [] });
    expect(bob.messenger.diagnostics().quarantined).toBe(0);
  });

  test("a refusal inside the action rules is logged (a reaction to a message that could not be opened)", async () => {
    const { relay, bob, logs, updated } = await withSentMessage();
    const [bad] = await forged(1);
    await deliverAndSettle(relay, bob, [bad!]);
    await deliverAndSettle(relay, bob, [await action({ type: 'reaction', target: bad!.id, author: 'alice', emoji: '👍' })]);
    expect(logs).toContain('refused a reaction from alice: the message has no text');
    expect(updated).toEqual([]);
  });
});

describe('failure rows and our own ids', () => {
  test('an envelope that fails under the id of a message we sent keeps that id: ids are per author and direction', async () => {
    const { relay, bob } = await bobWithAlice();
    const sent = await bob.messenger.sendText('alice', 'mine');
    const base = await sealFrom(alice, bobKeys.public, 'genuine');
    await deliverAndSettle(relay, bob, [{ ...base, id: sent.id }]); // Alice's envelope, re-labelled: it fails to verify
    const rows = bob.messenger.loadMessages('alice', null, 10).messages;
    expect(rows).toHaveLength(2);
    expect(rows.find((m) => m.direction === 'in')).toMatchObject({ id: sent.id, state: 'undecryptable' });
    expect(rows.find((m) => m.direction === 'out')).toMatchObject({ id: sent.id, body: 'mine' });
  });
});

describe('a fault that ends the whole transaction', () => {
  test('an insert whose error rolled back the whole chunk is not quarantined: the chunk fails unacknowledged and all arrive later', async () => {
    const relay = await FakeRelay.start();
    relay.publish('alice', alice);
    let faults = 1;
    // Injected store fault on a real store: on SQLITE_FULL or an I/O error SQLite rolls the whole transaction back
    // itself, savepoints and all; this insert does the same (ROLLBACK, then the error).
    const wrapStore = withInsertFault((m, db) => {
      if (m.body === 'b' && faults > 0) {
        faults--;
        db.exec('ROLLBACK');
        throw new StoreError('IO', 'injected: disk I/O error');
      }
    });
    const bob = await receiver(relay.url, bobSecret, { wrapStore });
    await bob.messenger.addContact('alice');
    const envs = [await sealFrom(alice, bobKeys.public, 'a'), await sealFrom(alice, bobKeys.public, 'b'), await sealFrom(alice, bobKeys.public, 'c')];
    await deliverAndSettle(relay, bob, envs);
    expect(faults).toBe(0);
    expect(bob.messenger.diagnostics()).toMatchObject({ quarantined: 0, failedCommits: 1 });
    expect(bob.messenger.loadMessages('alice', null, 10).messages.map((m) => [m.body, m.state])).toEqual([
      ['a', 'delivered'],
      ['b', 'delivered'],
      ['c', 'delivered'],
    ]);
  });
});

describe('quarantine', () => {
  test('a message that cannot be stored (its savepoint fails) is quarantined, logged and shown as a failure row; the batch goes on', async () => {
    const relay = await FakeRelay.start();
    relay.publish('alice', alice);
    // Injected store fault inside the message's savepoint only (the transaction goes on), e.g. a constraint error.
    const wrapStore = withInsertFault((m) => {
      if (m.body === 'cannot be stored') throw new StoreError('INVALID', 'injected: constraint failed');
    });
    const logs: string[] = [];
    const bob = await receiver(relay.url, bobSecret, { wrapStore, messenger: { log: (msg) => logs.push(msg) } });
    await bob.messenger.addContact('alice');
    const envs = [await sealFrom(alice, bobKeys.public, 'cannot be stored'), await sealFrom(alice, bobKeys.public, 'fine')];
    await deliverAndSettle(relay, bob, envs);
    expect(bob.messenger.diagnostics().quarantined).toBe(1);
    const reason = 'not-stored: injected: constraint failed';
    expect(logs.filter((l) => l.startsWith('quarantined '))).toEqual([`quarantined an envelope from alice: ${reason}`]);
    expect(bob.messenger.loadMessages('alice', null, 10).messages.map((m) => [m.body, m.state, m.error ?? null])).toEqual([
      [null, 'undecryptable', reason],
      ['fine', 'delivered', null],
    ]);
  });
});

