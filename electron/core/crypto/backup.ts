/**
 * Identity backup: the identity secret (and optional extras such as the history database key) encrypted under
 * a passphrase, as a small JSON file. See PROTOCOL.md "Identity backup file".
 *
 *   key = PBKDF2-HMAC-SHA256(UTF-8(NFC(passphrase)), salt (16 random bytes), iterations, 32 bytes)
 *   AAD = frame(LABELS.backup, "parley-identity-backup", "1", "PBKDF2-SHA256", decimal(iterations), salt, "AES-256-GCM")
 *   ct  = AES-256-GCM(key, iv (12 random bytes), UTF-8(JSON({ identity, extras })), AAD)   (ct || 16-byte tag)
 */
import { z } from 'zod';
import { frame, fromB64u, fromUtf8, isB64u, LABELS, LIMITS, toB64u, utf8 } from '../../../relay/protocol/index.js';
import { BackupError, WRONG_PASSPHRASE_MESSAGE } from './errors.js';
import { identitySecretSchema, loadIdentity } from './identity.js';
import { aesGcmDecrypt, aesGcmEncrypt, importAesKey, pbkdf2Sha256, randomBytes } from './primitives.js';
import type { IdentitySecret } from './types.js';

export const BACKUP_FORMAT = 'parley-identity-backup';
export const BACKUP_VERSION = 1;
const KDF = 'PBKDF2-SHA256';
const CIPHER = 'AES-256-GCM';
const SALT_BYTES = 16;
const MAX_CT_CHARS = 1 << 20;

export interface BackupFile {
  format: typeof BACKUP_FORMAT;
  v: 1;
  kdf: { alg: typeof KDF; iterations: number; salt: string };
  cipher: { alg: typeof CIPHER; iv: string };
  ct: string;
}

const b64u = (len?: number, max = 64) => z.string().max(max).refine((s) => isB64u(s, len), 'base64url');

const fileSchema = z
  .object({
    format: z.literal(BACKUP_FORMAT),
    v: z.literal(BACKUP_VERSION),
    kdf: z.object({ alg: z.string().max(64), iterations: z.number(), salt: z.string().max(64) }).strict(),
    cipher: z.object({ alg: z.literal(CIPHER), iv: b64u(LIMITS.ivBytes) }).strict(),
    ct: b64u(undefined, MAX_CT_CHARS),
  })
  .strict();

const extrasSchema = z.record(z.string().max(256), z.string().max(256 * 1024));
const plainSchema = z.object({ identity: identitySecretSchema, extras: extrasSchema }).strict();

function aad(iterations: number, salt: Uint8Array): Uint8Array {
  return frame(LABELS.backup, BACKUP_FORMAT, String(BACKUP_VERSION), KDF, String(iterations), salt, CIPHER);
}

function checkIterations(n: number): void {
  if (!Number.isSafeInteger(n) || n < LIMITS.pbkdf2MinIterations || n > LIMITS.pbkdf2MaxIterations) {
    throw new BackupError('bad-kdf-params', `PBKDF2 iterations must be an integer in [${LIMITS.pbkdf2MinIterations}, ${LIMITS.pbkdf2MaxIterations}]`);
  }
}

async function deriveKey(passphrase: string, salt: Uint8Array, iterations: number) {
  const raw = await pbkdf2Sha256(passphrase.normalize('NFC'), salt, iterations, LIMITS.aesKeyBytes);
  try {
    return await importAesKey(raw);
  } finally {
    raw.fill(0);
  }
}

/** Encrypt an identity (and extras) under a passphrase. Returns the JSON text of the backup file. */
export async function exportBackup(
  secret: IdentitySecret,
  passphrase: string,
  o: { iterations?: number; extras?: Record<string, string> } = {},
): Promise<string> {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new TypeError('backup passphrase must be a non-empty string');
  const iterations = o.iterations ?? LIMITS.pbkdf2DefaultIterations;
  checkIterations(iterations);
  const plain = plainSchema.safeParse({ identity: secret, extras: o.extras ?? {} });
  if (!plain.success) throw new BackupError('malformed', `cannot back up: ${plain.error.issues[0]?.message ?? 'invalid'}`);
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(LIMITS.ivBytes);
  const key = await deriveKey(passphrase, salt, iterations);
  const pt = utf8(JSON.stringify(plain.data));
  const ct = await aesGcmEncrypt(key, iv, pt, aad(iterations, salt));
  pt.fill(0);
  const file: BackupFile = {
    format: BACKUP_FORMAT,
    v: BACKUP_VERSION,
    kdf: { alg: KDF, iterations, salt: toB64u(salt) },
    cipher: { alg: CIPHER, iv: toB64u(iv) },
    ct: toB64u(ct),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * Decrypt a backup file. BackupError codes: 'malformed' (not a backup file, or its content is not a valid
 * identity), 'unsupported-version', 'bad-kdf-params' (unknown KDF, salt not 16 bytes, iterations outside
 * [600000, 10000000]), 'wrong-passphrase' (tag failure: message is exactly "wrong passphrase or damaged file").
 */
export async function importBackup(text: string, passphrase: string): Promise<{ identity: IdentitySecret; extras: Record<string, string> }> {
  if (typeof text !== 'string' || text.length > 2 * MAX_CT_CHARS) throw new BackupError('malformed', 'not a Parley identity backup');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BackupError('malformed', 'not a Parley identity backup (invalid JSON)');
  }
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== BACKUP_FORMAT) {
    throw new BackupError('malformed', 'not a Parley identity backup');
  }
  const v = (value as { v?: unknown }).v;
  if (typeof v === 'number' && v !== BACKUP_VERSION) throw new BackupError('unsupported-version', `backup format version ${v} is not supported`);
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BackupError('malformed', `malformed backup: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
  }
  const f = parsed.data;
  if (f.kdf.alg !== KDF) throw new BackupError('bad-kdf-params', `unsupported KDF ${JSON.stringify(f.kdf.alg)}`);
  checkIterations(f.kdf.iterations);
  if (!isB64u(f.kdf.salt, SALT_BYTES)) throw new BackupError('bad-kdf-params', `salt must be ${SALT_BYTES} bytes of base64url`);
  const salt = fromB64u(f.kdf.salt);
  const key = await deriveKey(String(passphrase), salt, f.kdf.iterations);
  let pt: Uint8Array;
  try {
    pt = await aesGcmDecrypt(key, fromB64u(f.cipher.iv), fromB64u(f.ct), aad(f.kdf.iterations, salt));
  } catch {
    throw new BackupError('wrong-passphrase', WRONG_PASSPHRASE_MESSAGE);
  }
  let plain: z.infer<typeof plainSchema>;
  try {
    const r = plainSchema.safeParse(JSON.parse(fromUtf8(pt)));
    if (!r.success) throw new Error(r.error.issues[0]?.message ?? 'invalid');
    plain = r.data;
  } catch (e) {
    throw new BackupError('malformed', `backup content is not a Parley identity: ${(e as Error).message}`);
  } finally {
    pt.fill(0);
  }
  try {
    await loadIdentity(plain.identity);
  } catch (e) {
    throw new BackupError('malformed', `backup identity is unusable: ${(e as Error).message}`);
  }
  return { identity: plain.identity, extras: plain.extras };
}
