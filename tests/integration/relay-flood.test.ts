/**
 * No one can fill someone else's queue (issue 10): a real relay process, real sockets, real SQLite. Many freshly
 * registered identities flood a victim's queue as far as the relay lets them; a long-standing contact still
 * delivers. Also: new registrations are rate-limited per address, and new identities get a smaller send bucket.
 *
 * "Long-standing" identities are made by registering them, stopping the relay and moving their registration time
 * two hours back in its SQLite file (the relay's own clock cannot be advanced from outside).
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentitySecret } from '../../electron/core/crypto/index.js';
import { toB64u, type Ack } from '../../relay/protocol/index.js';
import { fixtureIdentities } from '../helpers/identities.js';
import {
  ageIdentity,
  login,
  makeParty,
  registerParties,
  RelayClient,
  removeDir,
  sealText,
  spawnRelay,
  tempDir,
  type Party,
  type SpawnedRelay,
} from '../helpers/relay.js';

const code = (r: Ack) => (r.ok ? 'ok' : r.error.code);
const relays: SpawnedRelay[] = [];
let rsaFixture: IdentitySecret;

/**
 * Distinct identities cheaply: one fixture RSA-4096 key pair with a fresh Ed25519 key each (the fingerprint covers
 * both keys, so they differ). Real keys: the registration proof decrypts with the RSA key and signs with Ed25519.
 */
async function cheapParty(username: string): Promise<Party> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
  const secret: IdentitySecret = {
    v: 1,
    public: { v: 1, enc: rsaFixture.public.enc, sig: toB64u(raw) },
    encPrivate: rsaFixture.encPrivate,
    sigPrivate: toB64u(new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }))),
  };
  return makeParty(secret, username);
}

/** Start a relay, register `old` parties, make them two hours old in the relay's database, restart on that data. */
async function relayWithOldIdentities(old: Party[], limits: Record<string, number>): Promise<SpawnedRelay> {
  const dataDir = tempDir();
  const first = await spawnRelay({ dataDir, limits });
  await registerParties(first.url, old);
  await first.stop();
  for (const p of old) expect(await ageIdentity(dataDir, p.fingerprint, 2 * 3600 * 1000)).toBe(1);
  const relay = await spawnRelay({ dataDir, limits });
  relays.push(relay);
  return relay;
}

beforeAll(async () => {
  [rsaFixture] = (await fixtureIdentities(1, 0)) as [IdentitySecret];
});

afterAll(async () => {
  for (const r of relays) {
    await r.stop();
    removeDir(r.dataDir);
  }
});

describe('queue flooding', () => {
  it("many new identities fill a victim's queue as far as they can; a long-standing contact still delivers", async () => {
    const QUOTA = 40;
    const [victim, contact, oldAttacker] = await Promise.all([cheapParty('victim'), cheapParty('contact'), cheapParty('oldattacker')]);
    // Defaults otherwise: per-sender cap and new-sender share are ¼ of the quota (10 each).
    // registrationPerHour 1: no token comes back while the test runs, however slow the machine.
    const relay = await relayWithOldIdentities([victim, contact, oldAttacker], { queueQuota: QUOTA, registrationBurst: 8, registrationPerHour: 1 });

    // Fresh identities from one address: the first 8 register, then the address is rate-limited.
    const attackers: Party[] = [];
    const reg = await RelayClient.connect(relay.url);
    let refusedRegistration: Ack | null = null;
    for (let i = 0; i < 12 && !refusedRegistration; i++) {
      const p = await cheapParty(`flood${i}`);
      const r = await reg.register(p);
      if (r.ok) attackers.push(p);
      else refusedRegistration = r;
    }
    reg.close();
    expect(attackers).toHaveLength(8);
    expect(refusedRegistration).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    expect(refusedRegistration && !refusedRegistration.ok && refusedRegistration.error.retryAfterMs).toBeGreaterThan(0);

    // Each attacker sends to the victim until refused (at most QUOTA each: bounded).
    let accepted = 0;
    const refusals = new Set<string>();
    for (const [who, limit] of [...attackers.map((a) => [a, QUOTA] as const), [oldAttacker, QUOTA] as const]) {
      const c = await login(relay.url, relay.fingerprint, who);
      for (let i = 0; i < limit; i++) {
        const r = await c.send(await sealText(who, [victim], `flood ${i}`));
        if (!r.ok) {
          refusals.add(r.error.code);
          break;
        }
        accepted++;
      }
      c.close();
    }
    expect([...refusals]).toEqual(['QUOTA_EXCEEDED']);
    // New identities together: 10 (¼); the old attacker on its own: 10 (¼). Half the victim's queue stays free.
    expect(accepted).toBe(20);

    // The long-standing contact still delivers, and the victim receives it.
    const c = await login(relay.url, relay.fingerprint, contact);
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await c.send(await sealText(contact, [victim], `real message ${i}`)));
    expect(sent.map(code)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    c.close();
    const v = await login(relay.url, relay.fingerprint, victim);
    await v.until(() => v.deliveries.filter((d) => d.envelope.from === contact.fingerprint).length === 5, 10_000, "contact's messages");
    expect(v.deliveries).toHaveLength(25);
    // Acknowledging frees the senders' shares again.
    const floodIds = v.deliveries.filter((d) => d.envelope.from === attackers[0]!.fingerprint).map((d) => ({ from: d.envelope.from, id: d.envelope.id }));
    expect(floodIds.length).toBeGreaterThan(0);
    expect(await v.ack(floodIds)).toEqual({ ok: true, removed: floodIds.length });
    v.close();
    const a0 = await login(relay.url, relay.fingerprint, attackers[0]!);
    expect(code(await a0.send(await sealText(attackers[0]!, [victim], 'room again')))).toBe('ok');
    a0.close();
  });

  it('new identities get a smaller send bucket (newSendFactor) than long-standing ones', async () => {
    const [oldie, target] = await Promise.all([cheapParty('oldie'), cheapParty('target')]);
    const relay = await relayWithOldIdentities([oldie, target], { sendBurst: 20, sendPerSec: 0.2, newSendFactor: 0.5 });
    const fresh = await cheapParty('fresh');
    await registerParties(relay.url, [fresh]);
    const pipelined = async (p: Party) => {
      const c = await login(relay.url, relay.fingerprint, p);
      const envs = await Promise.all(Array.from({ length: 24 }, (_, i) => sealText(p, [target], `burst ${i}`)));
      const results = await Promise.all(envs.map((e) => c.send(e)));
      c.close();
      return results.map(code);
    };
    const freshCodes = await pipelined(fresh);
    const oldCodes = await pipelined(oldie);
    // Burst 10 for the new identity (+ a token or two only if the sends took over 10 s at 0.1/s), 20 for the old one.
    const okFresh = freshCodes.filter((c) => c === 'ok').length;
    expect(okFresh).toBeGreaterThanOrEqual(10);
    expect(okFresh).toBeLessThanOrEqual(12);
    expect(oldCodes.filter((c) => c === 'ok').length).toBeGreaterThanOrEqual(20);
    expect(new Set([...freshCodes, ...oldCodes])).toEqual(new Set(['ok', 'RATE_LIMITED']));
  });
});
