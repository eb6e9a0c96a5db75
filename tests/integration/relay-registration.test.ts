/**
 * Registration proves possession of both private keys (PROTOCOL.md "Registration proof"): a real relay process, real
 * sockets, real keys. Someone holding only another person's public identity cannot register it; the owner can.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayClient as AppRelayClient } from '../../electron/core/transport/relay-client.js';
import { fromB64u, LABELS, registrationInput, toB64u, type Ack } from '../../relay/protocol/index.js';
import { signLabeled } from '../../electron/core/crypto/index.js';
import { makeParties, RelayClient, removeDir, spawnRelay, type Party, type SpawnedRelay } from '../helpers/relay.js';

let relay: SpawnedRelay;
let bob: Party;
let mallory: Party;
let carol: Party;

const code = (r: Ack) => (r.ok ? 'ok' : r.error.code);
const randomKeyProof = () => toB64u(new Uint8Array(randomBytes(32)));

beforeAll(async () => {
  const parties = await makeParties('bob', 'mallory', 'carol');
  [bob, mallory, carol] = [parties[0]!, parties[1]!, parties[2]!];
  relay = await spawnRelay();
});

afterAll(async () => {
  await relay?.stop();
  if (relay) removeDir(relay.dataDir);
});

describe('registration proof', () => {
  it("someone registering another person's public identity is refused; the owner then registers fine", async () => {
    const m = await RelayClient.connect(relay.url);
    const relayFp = relay.fingerprint;
    // No proof at all: the schema requires one.
    expect(code(await m.call('register', { username: 'bobby', identity: bob.identity }))).toBe('BAD_REQUEST');
    // A proof without any register-challenge on this connection.
    const malloryProof = {
      sig: toB64u(await signLabeled(mallory.keys, LABELS.register, ...registrationInput('bobby', bob.identity, relayFp))),
      key: randomKeyProof(),
    };
    expect(code(await m.call('register', { username: 'bobby', identity: bob.identity, proof: malloryProof }))).toBe('PROOF_FAILED');
    // Mallory gets a challenge for bob's identity but cannot decrypt it: any key proof she makes is wrong.
    const ch = await m.call<{ wrapped: string }>('register-challenge', { identity: bob.identity });
    expect(ch).toMatchObject({ ok: true });
    expect(code(await m.call('register', { username: 'bobby', identity: bob.identity, proof: malloryProof }))).toBe('PROOF_FAILED');
    // Each proof is checked on its own: bob's real RSA proof with a signature by mallory's key is refused too …
    const realKey = (await m.registrationProof(bob, 'bobby')).key;
    expect(code(await m.call('register', { username: 'bobby', identity: bob.identity, proof: { ...malloryProof, key: realKey } }))).toBe(
      'PROOF_FAILED',
    );
    // … and so is bob's real signature with a wrong RSA proof.
    const realSig = (await m.registrationProof(bob, 'bobby')).sig;
    expect(code(await m.call('register', { username: 'bobby', identity: bob.identity, proof: { sig: realSig, key: randomKeyProof() } }))).toBe(
      'PROOF_FAILED',
    );
    // A complete proof made for another relay's fingerprint does not verify here.
    const otherRelay = await m.registrationProof(bob, 'bobby', 'ab'.repeat(32));
    expect(code(await m.call('register', { username: 'bobby', identity: bob.identity, proof: otherRelay }))).toBe('PROOF_FAILED');
    // A complete proof is single use: replaying it (here, or on another connection) is refused.
    const good = await m.registrationProof(bob, 'bobby');
    const m2 = await RelayClient.connect(relay.url);
    expect(code(await m2.call('register', { username: 'bobby', identity: bob.identity, proof: good }))).toBe('PROOF_FAILED');
    m2.close();
    // Nothing of the above registered bob's identity.
    expect(code(await m.call('lookup', { fingerprint: bob.fingerprint }))).toBe('NOT_FOUND');
    m.close();

    // The owner registers fine.
    const b = await RelayClient.connect(relay.url);
    expect(await b.register(bob)).toEqual({ ok: true, fingerprint: bob.fingerprint, rotated: false });
    expect(await b.register(bob)).toEqual({ ok: true, fingerprint: bob.fingerprint, rotated: false }); // idempotent
    expect((await b.auth(bob, relayFp)).ok).toBe(true);
    b.close();
  });

  it('refuses a non-canonical spelling of a real key (second fingerprint for the same key)', async () => {
    const der = fromB64u(bob.identity.enc);
    const longLength = new Uint8Array([0x30, 0x83, 0x00, ...der.subarray(2)]); // 82 02 22 → 83 00 02 22
    const crafted = { ...bob.identity, enc: toB64u(longLength) };
    const c = await RelayClient.connect(relay.url);
    const r = await c.call('register-challenge', { identity: crafted });
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(!r.ok && r.error.message).toMatch(/canonical DER/);
    c.close();
  });

  it("the app's relay client proves both keys when it registers, then authenticates", async () => {
    const c = new AppRelayClient({ url: relay.url, identity: carol.keys, registerAs: 'carol', reconnect: { enabled: false } });
    try {
      c.connect();
      await c.waitOnline(15_000);
      expect(c.online).toBe(true);
      expect(await c.lookup({ username: 'carol' })).toMatchObject({ fingerprint: carol.fingerprint });
    } finally {
      c.close();
    }
  });
});
