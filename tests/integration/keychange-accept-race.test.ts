/**
 * The accept race, made deterministic over the in-memory relay (real encrypted SQLite, real crypto workers, real
 * Messenger; only the relay is in memory, and Alice's sealing passes through a gate the test opens).
 *
 * Alice holds a message for Bob, whose new key waits for her decision. Then, in this order:
 *  - she starts another message, M2, whose sealing (for the key pinned then: the old one) is paused;
 *  - she accepts the new key; the held message is being sealed again for it (paused) when
 *  - she writes M3; then the re-seal finishes, the accept returns, and only then M2's sealing finishes.
 * Old code: M3 (written while the accept was sealing) was marked failed, and M2 (sealed for the old key, its row
 * written after the accept) stayed held forever. Each must go out exactly once, sealed for the new key, in the
 * order of Alice's conversation, and nothing may reach the old key.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../relay/protocol/index.js';
import type { SealerOpener } from '../../electron/core/messenger/types.js';
import { groupUser as user, until } from '../helpers/group-users.js';
import { MemoryRelay } from '../helpers/memory-relay.js';

interface Gate {
  hit: Promise<void>;
  release: () => void;
}

/** Seals of a text with a gated body wait until the test releases them (each gate catches one seal). */
function gatedSealer(inner: SealerOpener) {
  const gates = new Map<string, { onHit: () => void; released: Promise<void> }>();
  const crypto: SealerOpener = {
    open: (e, s) => inner.open(e, s),
    sign: (l, d) => inner.sign(l, d),
    async seal(o) {
      const g = o.payload.type === 'text' ? gates.get(o.payload.body) : undefined;
      if (g) {
        gates.delete((o.payload as { body: string }).body);
        g.onHit();
        await g.released;
      }
      return inner.seal(o);
    },
  };
  const arm = (body: string): Gate => {
    let onHit!: () => void;
    let release!: () => void;
    const hit = new Promise<void>((r) => (onHit = r));
    const released = new Promise<void>((r) => (release = r));
    gates.set(body, { onHit, released });
    return { hit, release };
  };
  return { crypto, arm };
}

describe('accepting a key change while messages are being written', () => {
  it('sends each message exactly once, to the new key, in conversation order', async () => {
    const relay = new MemoryRelay();
    const alice = await user(relay, 'alice', 0);
    const bob = await user(relay, 'bob', 1);
    await alice.connect();
    await bob.connect();
    await alice.messenger.addContact('bob');
    await bob.messenger.addContact('alice');
    const gated = gatedSealer(alice.pool);
    alice.messenger.setIdentity(alice.messenger.identity, gated.crypto);

    const oldBob = bob.keys.fingerprint;
    const bobNext = await bob.rotate(3);
    await alice.messenger.checkContactKey('bob');
    const h1 = await alice.messenger.sendText('bob', 'H1 held before the accept');
    expect(alice.store.getOutbox(h1.id)?.held).toBe(true);

    // M2: sealing starts now, for the key pinned now (the old one), and waits.
    const m2Gate = gated.arm('M2 sealed before, queued after the accept');
    const m2Sending = alice.messenger.sendText('bob', 'M2 sealed before, queued after the accept');
    await m2Gate.hit;

    // The accept starts; H1 is being sealed for the new key when M3 is written.
    const h1Gate = gated.arm('H1 held before the accept');
    const accepting = alice.messenger.acceptKeyChange('bob', bobNext.fingerprint);
    await h1Gate.hit;
    const m3 = await alice.messenger.sendText('bob', 'M3 written during the re-seal');
    h1Gate.release();
    await accepting;
    m2Gate.release();
    const m2 = await m2Sending;

    const ids = [h1.id, m2.id, m3.id];
    const describe = () =>
      `alice: ${JSON.stringify(alice.messenger.loadMessages('bob').messages.map((m) => [m.body, m.state, m.error]))}; outbox: ${JSON.stringify(alice.store.listOutbox('bob').map((i) => [i.envelopeId === m2.id ? 'M2' : i.envelopeId, i.held]))}`;
    await until([alice.messenger, bob.messenger], () => alice.messenger.loadMessages('bob').messages.every((m) => m.state === 'delivered'), describe, 30_000);
    await bob.messenger.idle();

    // Alice's conversation order (the order of its rows) is the order Bob receives them in.
    const aliceOrder = alice.messenger.loadMessages('bob').messages.map((m) => m.body);
    const bobOrder = bob.messenger.loadMessages('alice').messages.map((m) => m.body);
    expect(bobOrder).toEqual(aliceOrder);
    expect(new Set(aliceOrder).size).toBe(3);
    // Exactly once each, and never to the old key.
    const attempts = relay.sendAttempts.filter((s) => ids.includes(s.id)).map((s) => s.id);
    expect(attempts.sort()).toEqual([...ids].sort());
    expect(relay.queueOf(oldBob).filter((d) => ids.includes((d.envelope as Envelope).id))).toEqual([]);
    expect(alice.store.listOutbox()).toEqual([]);
  }, 120_000);
});
