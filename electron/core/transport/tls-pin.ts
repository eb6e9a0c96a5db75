/**
 * Relay pinning for TLS connections. The relay's self-signed certificate carries the relay identity's key, so the
 * SHA-256 of the certificate's SubjectPublicKeyInfo (DER) must equal the fingerprint the relay announces in its
 * challenge, and the one pinned for the profile. socket.io-client cannot verify a self-signed certificate
 * against a pin by itself, so we read the peer certificate of the live TLS socket before we authenticate.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

/** SHA-256 hex over the DER SubjectPublicKeyInfo of a DER certificate. */
export function certificateSpkiFingerprint(certDer: Uint8Array): string {
  const cert = new X509Certificate(certDer);
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

/** The fingerprint of the peer certificate of a TLS socket, or null when there is none. */
export function peerFingerprint(sock: TLSSocket): string | null {
  const cert = sock.getPeerCertificate?.(false);
  if (!cert || !cert.raw || cert.raw.byteLength === 0) return null;
  return certificateSpkiFingerprint(cert.raw);
}
