/** Identity key pairs: generation, loading (with a private/public match check) and labelled signing. */
import { z } from 'zod';
import {
  bytesEqual,
  fingerprint,
  fromB64u,
  importWrappingKey,
  isB64u,
  publicIdentitySchema,
  signingInput,
  toB64u,
  type PublicIdentity,
} from '../../../relay/protocol/index.js';
import { IdentityError } from './errors.js';
import {
  ed25519Sign,
  ed25519Verify,
  importEd25519PrivateKey,
  importRsaOaepPrivateKey,
  importRsaOaepUnwrapKey,
  randomBytes,
  rsaOaepEncrypt,
  rsaOaepUnwrap,
  subtle,
  type CryptoKey,
  type RsaUnwrapKey,
} from './primitives.js';
import type { IdentitySecret } from './types.js';

/** An identity's keys, imported and ready: the private keys are non-extractable CryptoKeys. */
export interface IdentityKeys {
  public: PublicIdentity;
  fingerprint: string;
  /** RSA-OAEP-4096 private key as a Web Crypto key (the relay's login challenge). */
  encKey: CryptoKey;
  /** The same private key as a node:crypto KeyObject: what open() unwraps with (rsaOaepUnwrap). */
  unwrapKey: RsaUnwrapKey;
  /** Ed25519 private key (sign). */
  sigKey: CryptoKey;
}

const b64uField = z.string().max(16_384).refine((s) => isB64u(s), 'base64url');

export const identitySecretSchema = z
  .object({ v: z.literal(1), public: publicIdentitySchema, encPrivate: b64uField, sigPrivate: b64uField })
  .strict();

/** A fresh identity: RSA-OAEP-4096 (SHA-256, e = 65537) for key wrapping and Ed25519 for signing. */
export async function generateIdentity(): Promise<IdentitySecret> {
  const enc = (await subtle.generateKey(
    { name: 'RSA-OAEP', modulusLength: 4096, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['wrapKey', 'unwrapKey', 'encrypt', 'decrypt'],
  )) as CryptoKeyPairLike;
  const sig = (await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPairLike;
  return {
    v: 1,
    public: {
      v: 1,
      enc: toB64u(new Uint8Array(await subtle.exportKey('spki', enc.publicKey))),
      sig: toB64u(new Uint8Array(await subtle.exportKey('raw', sig.publicKey))),
    },
    encPrivate: toB64u(new Uint8Array(await subtle.exportKey('pkcs8', enc.privateKey))),
    sigPrivate: toB64u(new Uint8Array(await subtle.exportKey('pkcs8', sig.privateKey))),
  };
}

interface CryptoKeyPairLike {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

/**
 * Import an identity's keys. Checks the shape, that the RSA key is 4096-bit with e = 65537, and that each
 * private key matches its public key (an RSA-OAEP round trip and an Ed25519 sign/verify). Throws IdentityError.
 */
export async function loadIdentity(secret: IdentitySecret): Promise<IdentityKeys> {
  const parsed = identitySecretSchema.safeParse(secret);
  if (!parsed.success) throw new IdentityError('malformed', `malformed identity secret: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const s = parsed.data;
  let encKey: CryptoKey;
  let unwrapKey: RsaUnwrapKey;
  let sigKey: CryptoKey;
  let wrapKey: CryptoKey;
  try {
    wrapKey = await importWrappingKey(s.public);
    encKey = await importRsaOaepPrivateKey(fromB64u(s.encPrivate));
    unwrapKey = importRsaOaepUnwrapKey(fromB64u(s.encPrivate));
    sigKey = await importEd25519PrivateKey(fromB64u(s.sigPrivate));
  } catch (e) {
    throw new IdentityError('malformed', `identity keys do not import: ${(e as Error).message}`);
  }
  const probe = randomBytes(32);
  let rsaOk = false;
  try {
    // Through the unwrap path open() uses, so a mismatch is caught on the key that will actually unwrap.
    rsaOk = bytesEqual(rsaOaepUnwrap(unwrapKey, await rsaOaepEncrypt(wrapKey, probe)), probe);
  } catch {
    rsaOk = false;
  }
  if (!rsaOk) throw new IdentityError('mismatch', 'RSA private key does not match the public identity');
  const sigOk = await ed25519Verify(fromB64u(s.public.sig), await ed25519Sign(sigKey, probe), probe);
  if (!sigOk) throw new IdentityError('mismatch', 'Ed25519 private key does not match the public identity');
  return { public: s.public, fingerprint: await fingerprint(s.public), encKey, unwrapKey, sigKey };
}

/** Ed25519 signature over frame(label, ...parts) — the only way Parley signs anything. */
export async function signLabeled(keys: IdentityKeys, label: string, ...parts: Array<Uint8Array | string>): Promise<Uint8Array> {
  return ed25519Sign(keys.sigKey, signingInput(label, ...parts));
}
