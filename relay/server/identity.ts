/**
 * The relay's own identity: an ECDSA P-256 key pair kept in `<dataDir>/relay-key.pem` (PKCS#8, mode 0600) and a
 * self-signed certificate carrying that key in `<dataDir>/relay-cert.pem` (regenerated when missing, expired or not
 * matching the key). Fingerprint = SHA-256 hex of the SPKI DER (relayFingerprintFromSpki).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { relayFingerprintFromSpki } from '../protocol/index.js';

export interface RelayIdentity {
  fingerprint: string;
  keyPem: string;
  certPem: string;
}

const KEY_FILE = 'relay-key.pem';
const CERT_FILE = 'relay-cert.pem';
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/** Load (or create) the relay key in dataDir and return its fingerprint; no certificate work. */
export function relayKey(dataDir: string): { keyPem: string; fingerprint: string } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, KEY_FILE);
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeAtomic(file, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  }
  const keyPem = readFileSync(file, 'utf8');
  const priv = createPrivateKey(keyPem);
  if (priv.asymmetricKeyType !== 'ec' || priv.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`${file}: not an ECDSA P-256 private key`);
  }
  const spki = createPublicKey(priv).export({ type: 'spki', format: 'der' });
  return { keyPem, fingerprint: relayFingerprintFromSpki(new Uint8Array(spki)) };
}

/** The fingerprint of the relay key in dataDir, or null when there is none yet; reads only, creates nothing. */
export function relayKeyFingerprintIfExists(dataDir: string): string | null {
  const file = path.join(dataDir, KEY_FILE);
  if (!existsSync(file)) return null;
  const priv = createPrivateKey(readFileSync(file, 'utf8'));
  const spki = createPublicKey(priv).export({ type: 'spki', format: 'der' });
  return relayFingerprintFromSpki(new Uint8Array(spki));
}

function certMatches(certPem: string, fingerprint: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
    const notAfter = Date.parse(cert.validTo);
    return relayFingerprintFromSpki(new Uint8Array(spki)) === fingerprint && notAfter > Date.now() + 24 * 3600 * 1000;
  } catch {
    return false;
  }
}

/** Key, fingerprint and a self-signed certificate for it (created on first use). */
export async function loadRelayIdentity(dataDir: string, hostnames: string[] = []): Promise<RelayIdentity> {
  const { keyPem, fingerprint } = relayKey(dataDir);
  const certFile = path.join(dataDir, CERT_FILE);
  if (existsSync(certFile)) {
    const certPem = readFileSync(certFile, 'utf8');
    if (certMatches(certPem, fingerprint)) return { fingerprint, keyPem, certPem };
  }
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const priv = createPrivateKey(keyPem);
  const subtle = webcrypto.subtle;
  const privateKey = await subtle.importKey('pkcs8', priv.export({ type: 'pkcs8', format: 'der' }), ALG, false, ['sign']);
  const publicKey = await subtle.importKey(
    'spki',
    createPublicKey(priv).export({ type: 'spki', format: 'der' }),
    ALG,
    true,
    ['verify'],
  );
  const now = Date.now();
  // An address goes in as an IP entry (an IPv6 one has hex letters: fe80::1), a name as a DNS entry.
  const dns = ['localhost', ...hostnames.filter((h) => isIP(h) === 0)];
  const ips = ['127.0.0.1', '::1', ...hostnames.filter((h) => isIP(h) !== 0).map(hexIPv6)];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=parley-relay-${fingerprint.slice(0, 16)}`,
    notBefore: new Date(now - 3600 * 1000),
    notAfter: new Date(now + 10 * 365 * 24 * 3600 * 1000),
    signingAlgorithm: ALG,
    keys: { privateKey, publicKey },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension([
        ...dns.map((value) => ({ type: 'dns' as const, value })),
        ...ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
  });
  const certPem = cert.toString('pem');
  writeAtomic(certFile, certPem, 0o644);
  return { fingerprint, keyPem, certPem };
}

/**
 * An IPv6 address with an IPv4 tail (::ffff:10.0.0.2) written in hex groups only (::ffff:a00:2): the certificate
 * library encodes only hex groups, and turned the dotted tail into the wrong address. Other addresses are unchanged.
 */
export function hexIPv6(address: string): string {
  const m = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (!m || isIP(address) !== 6) return address;
  const [a, b, c, d] = m.slice(2).map(Number) as [number, number, number, number];
  return `${m[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}
