/**
 * The relay's own identity on a real data folder (relay/server/identity.ts): an ECDSA P-256 key kept private, its
 * fingerprint (SHA-256 of the SPKI DER, computed here independently), refusal of any other key in the key file, and
 * the self-signed TLS certificate: who it names, for which hosts, how long, reused while it matches the key and has
 * more than a day left, made again otherwise. Real node:crypto and @peculiar/x509; nothing is mocked.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterEach, describe, expect, it } from 'vitest';
import { hexIPv6, loadRelayIdentity, relayKey, relayKeyFingerprintIfExists } from '../../relay/server/identity.js';
import { cleanupAll, tmpDir } from '../helpers/core.js';

afterEach(cleanupAll);

const HOUR = 3600 * 1000;
const spkiFingerprint = (keyPem: string) =>
  createHash('sha256').update(createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' })).digest('hex');

/** A certificate for the key in `keyPem` valid until now + `validMs`, made the way an older relay might have. */
async function certFor(keyPem: string, validMs: number): Promise<string> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const priv = createPrivateKey(keyPem);
  const privateKey = await webcrypto.subtle.importKey('pkcs8', priv.export({ type: 'pkcs8', format: 'der' }), alg, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', createPublicKey(priv).export({ type: 'spki', format: 'der' }), alg, true, ['verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=older',
    notBefore: new Date(now - HOUR),
    notAfter: new Date(now + validMs),
    signingAlgorithm: alg,
    keys: { privateKey, publicKey },
  });
  return cert.toString('pem');
}

describe('the relay key', () => {
  it('is made once: ECDSA P-256, private to the relay, its fingerprint the SHA-256 of its SPKI', () => {
    const dir = path.join(tmpDir('relay-identity'), 'data');
    expect(relayKeyFingerprintIfExists(dir)).toBeNull(); // reads only
    const first = relayKey(dir);
    const key = createPrivateKey(first.keyPem);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(first.fingerprint).toBe(spkiFingerprint(first.keyPem));
    expect(first.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'relay-key.pem')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['relay-key.pem']); // no temporary file left, no certificate yet
    expect(relayKey(dir)).toEqual(first);
    expect(relayKeyFingerprintIfExists(dir)).toBe(first.fingerprint);
    expect(relayKey(tmpDir('relay-identity')).fingerprint).not.toBe(first.fingerprint);
  });

  it('refuses any other key in the key file, naming the file', () => {
    for (const other of [generateKeyPairSync('ec', { namedCurve: 'P-384' }), generateKeyPairSync('ed25519')]) {
      const dir = tmpDir('relay-identity');
      const file = path.join(dir, 'relay-key.pem');
      writeFileSync(file, other.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      expect(() => relayKey(dir)).toThrow(new Error(`${file}: not an ECDSA P-256 private key`));
    }
  });
});

describe('the certificate', () => {
  it('is self-signed for the key, names the relay and its hosts, and lasts ten years', async () => {
    const dir = tmpDir('relay-identity');
    const before = Date.now();
    const id = await loadRelayIdentity(dir, ['relay.lan', '192.168.1.20', 'fe80::1']);
    const cert = new X509Certificate(id.certPem);
    expect(id.fingerprint).toBe(spkiFingerprint(id.keyPem));
    expect(createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('hex')).toBe(id.fingerprint);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.subject).toBe(`CN=parley-relay-${id.fingerprint.slice(0, 16)}`);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.ca).toBe(false);
    expect(cert.subjectAltName).toBe('DNS:localhost, DNS:relay.lan, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:192.168.1.20, IP Address:FE80:0:0:0:0:0:0:1');
    expect(cert.serialNumber).toMatch(/^[0-7][0-9A-F]{15}$/); // 8 random bytes, positive
    const notBefore = Date.parse(cert.validFrom);
    const notAfter = Date.parse(cert.validTo);
    expect(notBefore).toBeLessThanOrEqual(before - HOUR + 1_000);
    expect(notBefore).toBeGreaterThan(before - 2 * HOUR);
    expect(notAfter - notBefore).toBeGreaterThan(10 * 365 * 24 * HOUR);
    expect(notAfter - notBefore).toBeLessThan(10 * 365 * 24 * HOUR + 2 * HOUR);
    expect(statSync(path.join(dir, 'relay-cert.pem')).mode & 0o777).toBe(0o644);
    expect(readFileSync(path.join(dir, 'relay-cert.pem'), 'utf8')).toBe(id.certPem);
    expect(readdirSync(dir).sort()).toEqual(['relay-cert.pem', 'relay-key.pem']);
  });

  it('names an IPv6 address with an IPv4 tail as that address (the library encodes hex groups only)', async () => {
    const id = await loadRelayIdentity(tmpDir('relay-identity'), ['::ffff:10.0.0.2', '64:ff9b::192.0.2.33']);
    expect(new X509Certificate(id.certPem).subjectAltName).toBe(
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:0:0:0:0:0:FFFF:A00:2, IP Address:64:FF9B:0:0:0:0:C000:221',
    );
    expect(hexIPv6('::ffff:10.0.0.2')).toBe('::ffff:a00:2');
    expect(hexIPv6('::ffff:255.254.1.0')).toBe('::ffff:fffe:100');
    for (const unchanged of ['10.0.0.2', 'fe80::1', '::1', 'relay.lan', 'host:1.2.3.4']) expect(hexIPv6(unchanged)).toBe(unchanged);
  });

  it('is reused while it matches the key with more than a day left; made again when not', async () => {
    const dir = tmpDir('relay-identity');
    const id = await loadRelayIdentity(dir);
    expect((await loadRelayIdentity(dir)).certPem).toBe(id.certPem);
    const certFile = path.join(dir, 'relay-cert.pem');

    const twoDays = await certFor(id.keyPem, 48 * HOUR);
    writeFileSync(certFile, twoDays);
    expect((await loadRelayIdentity(dir)).certPem).toBe(twoDays);

    const cases = {
      'less than a day left': await certFor(id.keyPem, 23 * HOUR),
      'another key': (await loadRelayIdentity(tmpDir('relay-identity'))).certPem,
      'not a certificate': 'garbage',
    };
    for (const [why, pem] of Object.entries(cases)) {
      writeFileSync(certFile, pem);
      const again = await loadRelayIdentity(dir);
      expect(again.certPem, why).not.toBe(pem);
      expect(again.fingerprint, why).toBe(id.fingerprint);
      expect(new X509Certificate(again.certPem).subject, why).toBe(`CN=parley-relay-${id.fingerprint.slice(0, 16)}`);
      expect(readFileSync(certFile, 'utf8'), why).toBe(again.certPem);
    }
  });
});
