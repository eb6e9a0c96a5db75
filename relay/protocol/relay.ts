/**
 * The relay's own identity as clients see it. A relay holds an ECDSA P-256 key pair in its data folder; its
 * fingerprint is SHA-256 over the SubjectPublicKeyInfo DER of that key, as 64 lowercase hex characters. The relay's
 * self-signed TLS certificate carries the same key, so a client computes the fingerprint from the certificate the
 * TLS handshake presented and pins it on first use (TOFU, like SSH). The auth signature names this fingerprint, so a
 * relay in the middle that forwards challenges cannot log in with a client's response.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { ProtocolError } from './errors.js';

/** DNS-SD service type (`_parley._tcp`) and TXT keys a relay advertises on the LAN. */
export const RELAY_SERVICE_TYPE = 'parley';
export interface RelayTxt {
  /** Relay fingerprint (64 hex). */
  fp: string;
  /** Protocol version, "1". */
  v: string;
  /** "1" when the relay serves TLS. */
  tls: string;
}

/** SHA-256 hex of an SPKI DER. */
export function relayFingerprintFromSpki(spkiDer: Uint8Array): string {
  return createHash('sha256').update(spkiDer).digest('hex');
}

/**
 * Relay fingerprint from its certificate (DER bytes or PEM text): SHA-256 hex of the certificate's SPKI DER.
 * Throws ProtocolError('BAD_REQUEST') when the input is not an X.509 certificate.
 */
export function relayFingerprintFromCert(derOrPem: Uint8Array | string): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(typeof derOrPem === 'string' ? derOrPem : Buffer.from(derOrPem));
  } catch {
    throw new ProtocolError('BAD_REQUEST', 'not an X.509 certificate');
  }
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return relayFingerprintFromSpki(new Uint8Array(spki));
}

/** Error a client raises when a relay's fingerprint differs from the pinned one. */
export class RelayPinError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `relay fingerprint changed: pinned ${expected} but the relay presented ${actual}. ` +
        'This is either a different relay or someone in the middle; refusing to connect.',
    );
    this.name = 'RelayPinError';
  }
}
