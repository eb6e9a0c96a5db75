/**
 * Hundreds of distinct, valid parties for load tests. Each has its own Ed25519 signing key and shares the RSA-4096
 * key of cached fixture identity 0 (RSA generation costs ~2 s each; fingerprints cover both keys, so they all differ).
 * They are real identities: they register with the proof of both keys, sign envelopes and open what they receive.
 */
import { generateKeyPairSync } from 'node:crypto';
import { fingerprint, toB64u, type PublicIdentity } from '../../relay/protocol/index.js';
import { loadIdentity, type IdentityKeys } from '../../electron/core/crypto/index.js';
import { importEd25519PrivateKey } from '../../electron/core/crypto/primitives.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import { fixtureIdentity } from './identities.js';
import type { Party } from './relay.js';

export async function manyParties(n: number, prefix: string): Promise<Party[]> {
  const rsa = await fixtureIdentity(0);
  // loaded once: its RSA private keys serve every party (loadIdentity checks each key pair, ~one RSA decrypt)
  const base = await loadIdentity(rsa);
  const out: Party[] = [];
  for (let i = 0; i < n; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const sigPkcs8 = new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }));
    const identity: PublicIdentity = { v: 1, enc: rsa.public.enc, sig: toB64u(new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32))) };
    const secret: IdentitySecret = { v: 1, public: identity, encPrivate: rsa.encPrivate, sigPrivate: toB64u(sigPkcs8) };
    const fp = await fingerprint(identity);
    const keys: IdentityKeys = { public: identity, fingerprint: fp, encKey: base.encKey, unwrapKey: base.unwrapKey, sigKey: await importEd25519PrivateKey(sigPkcs8) };
    out.push({ secret, keys, identity, fingerprint: fp, username: `${prefix}${i}` });
  }
  return out;
}
