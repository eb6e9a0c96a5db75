/**
 * TLS and pinning: a client pins the relay's fingerprint on first connect (TOFU) and refuses a relay whose key
 * changed; a relay in the middle that forwards the auth challenge cannot log in, because the signed bytes name the
 * relay the client actually talks to.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayPinError, relayFingerprintFromCert, type Ack, type AuthRequest, type Challenge } from '../../relay/protocol/index.js';
import { loadRelayIdentity } from '../../relay/server/identity.js';
import { login, openText, pinningAgent, sealText, spawnRelay, RelayClient, removeDir, tempDir, type Party, type SpawnedRelay, makeParties } from '../helpers/relay.js';

let relay: SpawnedRelay;
let alice: Party;
let bob: Party;
const cleanup: Array<() => Promise<unknown> | void> = [];

function getJson(url: string, pin: { value?: string; seen?: string; error?: Error }): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent: pinningAgent(pin) }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      })
      .on('error', (e) => reject(pin.error ?? e));
  });
}

beforeAll(async () => {
  [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
  relay = await spawnRelay({ tls: true });
  cleanup.push(() => relay.stop(), () => removeDir(relay.dataDir));
});

afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

describe('relay TLS pinning', () => {
  it('serves TLS on loopback with a certificate carrying the relay key', async () => {
    expect(relay.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const certPem = readFileSync(path.join(relay.dataDir, 'relay-cert.pem'), 'utf8');
    expect(relayFingerprintFromCert(certPem)).toBe(relay.fingerprint);
    const pin: { value?: string; seen?: string } = {};
    const r = await getJson(`${relay.url}/healthz`, pin);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, fingerprint: relay.fingerprint });
    expect(pin.value).toBe(relay.fingerprint); // trust on first use
    // plain HTTP to a TLS port gets nowhere
    await expect(fetch(relay.url.replace('https', 'http') + '/healthz')).rejects.toThrow();
    expect(() => relayFingerprintFromCert('not a certificate')).toThrow(/X\.509/);
  });

  it('pins on first use, keeps working across a restart with the same key, refuses a changed key', async () => {
    const pin: { value?: string; seen?: string; error?: Error } = {};
    const a = await login(relay.url, relay.fingerprint, alice, { pin });
    expect(pin.value).toBe(relay.fingerprint);
    const b = await login(relay.url, pin.value!, bob, { pin });
    const env = await sealText(alice, [bob], 'over TLS');
    expect((await a.send(env)).ok).toBe(true);
    await b.until(() => b.deliveries.length === 1, 10_000, 'TLS delivery');
    expect(await openText(bob, alice, b.deliveries[0]!.envelope)).toBe('over TLS');
    a.close();
    b.close();

    // the same data folder again: same key, same fingerprint, the pin holds
    await relay.stop();
    relay = await spawnRelay({ tls: true, dataDir: relay.dataDir });
    expect(relay.fingerprint).toBe(pin.value);
    const again = await login(relay.url, pin.value!, alice, { pin });
    expect(again.connected).toBe(true);
    again.close();

    // another key at the same kind of address: refused with a clear error, before any protocol traffic
    const other = await spawnRelay({ tls: true });
    cleanup.push(() => other.stop(), () => removeDir(other.dataDir));
    expect(other.fingerprint).not.toBe(pin.value);
    const err = await RelayClient.connect(other.url, { pin }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RelayPinError);
    expect((err as RelayPinError).message).toMatch(/relay fingerprint changed/);
    expect((err as RelayPinError).expected).toBe(relay.fingerprint);
    expect((err as RelayPinError).actual).toBe(other.fingerprint);
    await expect(getJson(`${other.url}/healthz`, { value: pin.value })).rejects.toBeInstanceOf(RelayPinError);
  });

  it('a relay in the middle that forwards the challenge cannot log in', async () => {
    // The MITM: its own key and certificate, a socket.io server for the victim and a client of the real relay.
    const mitmDir = tempDir('parley-mitm-');
    cleanup.push(() => removeDir(mitmDir));
    const mitmId = await loadRelayIdentity(mitmDir);
    const server = https.createServer({ key: mitmId.keyPem, cert: mitmId.certPem });
    const io = new Server(server);
    const upstreamResults: Array<Ack> = [];
    let rewrite = true;
    io.on('connection', async (victim) => {
      const upstream = await RelayClient.connect(relay.url, { pin: { value: relay.fingerprint } });
      const c = upstream.challenges[0]!;
      // Forward the real relay's challenge; a rewrite names the MITM so a TOFU victim accepts it.
      victim.emit('challenge', rewrite ? { ...c, relay: mitmId.fingerprint } : c);
      victim.on('auth', async (p: AuthRequest, ack: (r: Ack) => void) => {
        const r = await upstream.call('auth', p);
        upstreamResults.push(r);
        ack(r);
      });
      victim.on('disconnect', () => upstream.close());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => io.close(() => r())));
    const mitmUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // Worst case for TOFU: the victim's first contact is the MITM, so it pins the MITM's key and signs that.
    const pin: { value?: string } = {};
    const v = await RelayClient.connect(mitmUrl, { pin });
    expect(pin.value).toBe(mitmId.fingerprint);
    const challenge: Challenge = v.challenges[0]!;
    expect(challenge.relay).toBe(mitmId.fingerprint);
    const r = await v.auth(alice, pin.value!);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('AUTH_FAILED');
    expect(upstreamResults.map((x) => (x.ok ? 'OK' : x.error.code))).toEqual(['AUTH_FAILED']);
    v.close();

    // Without the rewrite the challenge names the real relay, which the victim did not pin: the client refuses to sign.
    rewrite = false;
    const v2 = await RelayClient.connect(mitmUrl, { pin: { value: mitmId.fingerprint } });
    expect(v2.challenges[0]!.relay).toBe(relay.fingerprint);
    await expect(v2.auth(alice, mitmId.fingerprint)).rejects.toThrow(/challenge names relay/);
    v2.close();

    // A client that pinned the real relay refuses the MITM at the TLS layer.
    await expect(RelayClient.connect(mitmUrl, { pin: { value: relay.fingerprint } })).rejects.toBeInstanceOf(RelayPinError);

    // and the real relay still serves alice
    const ok = await login(relay.url, relay.fingerprint, alice, { pin: { value: relay.fingerprint } });
    expect(ok.connected).toBe(true);
    ok.close();
  });
});
