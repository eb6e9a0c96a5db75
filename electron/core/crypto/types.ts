import type { PublicIdentity } from '../../../relay/protocol/index.js';

/**
 * An identity's private material, as the vault stores it (keychain entry or inside the passphrase file).
 * Lives only in the main process (and its crypto workers); never sent to the renderer, the relay or a log.
 */
export interface IdentitySecret {
  v: 1;
  public: PublicIdentity;
  /** PKCS#8 DER of the RSA-OAEP-4096 (SHA-256) private key, base64url. */
  encPrivate: string;
  /** PKCS#8 DER of the Ed25519 private key, base64url. */
  sigPrivate: string;
}
