/**
 * Profiles: a profile is a data folder plus a keychain account. The folder holds `profile.json` (public metadata
 * only — never secrets), the encrypted history DB and, for the file vault, the passphrase-protected key file.
 * The profile id is random (16 bytes hex), created once and stored in profile.json, so it is stable for the folder
 * and two profiles side by side never share a keychain account.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { VaultKind } from './vault/types.js';

export const PROFILE_FILE = 'profile.json';
export const DB_FILE = 'history.db';
export const VAULT_FILE = 'identity.vault';

/** Contents of profile.json. Public information only. */
export interface ProfileMeta {
  v: 1;
  /** Random 32 hex characters; the keychain account name. */
  id: string;
  createdAt: number;
  /** Which vault holds the keys; null until an identity is created/imported. */
  vault: VaultKind | null;
  username: string | null;
  fingerprint: string | null;
  relayUrl: string | null;
  /** Pinned relay fingerprint (SPKI SHA-256 hex), if known. */
  relayFingerprint: string | null;
}

export interface ProfilePaths {
  dir: string;
  meta: string;
  db: string;
  vaultFile: string;
}

export interface Profile {
  readonly dir: string;
  readonly id: string;
  readonly paths: ProfilePaths;
  /** A snapshot; use updateProfile() to change it. */
  meta: ProfileMeta;
}

export class ProfileError extends Error {
  constructor(
    readonly code: 'CORRUPT' | 'IO',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProfileError';
  }
}

export function profilePaths(dir: string): ProfilePaths {
  const abs = path.resolve(dir);
  return {
    dir: abs,
    meta: path.join(abs, PROFILE_FILE),
    db: path.join(abs, DB_FILE),
    vaultFile: path.join(abs, VAULT_FILE),
  };
}

/** Writes a file atomically: tmp file in the same folder, fsync, rename, fsync of the folder. */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  try {
    const dfd = openSync(path.dirname(file), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // directory fsync is not supported everywhere (e.g. Windows); the rename is still atomic
  }
}

function parseMeta(text: string, file: string): ProfileMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ProfileError('CORRUPT', `profile file ${file} is not valid JSON`, { cause: e });
  }
  const o = raw as Partial<ProfileMeta> | null;
  const str = (x: unknown) => x === null || x === undefined || typeof x === 'string';
  if (
    !o || typeof o !== 'object' || o.v !== 1 || typeof o.id !== 'string' || !/^[0-9a-f]{32}$/.test(o.id) ||
    typeof o.createdAt !== 'number' || !(o.vault === null || o.vault === undefined || o.vault === 'keychain' || o.vault === 'file') ||
    !str(o.username) || !str(o.fingerprint) || !str(o.relayUrl) || !str(o.relayFingerprint)
  ) {
    throw new ProfileError('CORRUPT', `profile file ${file} is damaged (unexpected content)`);
  }
  return {
    v: 1,
    id: o.id,
    createdAt: o.createdAt,
    vault: o.vault ?? null,
    username: o.username ?? null,
    fingerprint: o.fingerprint ?? null,
    relayUrl: o.relayUrl ?? null,
    relayFingerprint: o.relayFingerprint ?? null,
  };
}

/**
 * Private files: everything in a profile is the user's alone. Files are 0600 and folders 0700 (POSIX; Windows keeps
 * the per-user ACLs of the profile's location). Files are created that way where we create them; this also repairs
 * what other code created with the process umask (SQLite's -wal/-shm, the embedded relay's files) and profiles made
 * by older versions. Symlinks are left alone (never followed).
 */
export function makeTreePrivate(dir: string): void {
  if (process.platform === 'win32') return;
  const visit = (p: string, depth: number): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return; // removed meanwhile
    }
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) {
      if ((st.mode & 0o777) !== 0o700) chmodSync(p, 0o700);
      if (depth > 8) return;
      for (const name of readdirSync(p)) visit(path.join(p, name), depth + 1);
    } else if (st.isFile() && (st.mode & 0o077) !== 0) {
      chmodSync(p, st.mode & 0o700 & ~0o100);
    }
  };
  visit(path.resolve(dir), 0);
}

/** Creates `file` empty with mode 0600 when missing (so SQLite, which copies the mode to -wal/-shm, starts private). */
export function ensurePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  if (process.platform !== 'win32') chmodSync(file, 0o600);
}

/** Reads the profile in `dir`, or null when the folder has no profile.json yet. */
export function readProfile(dir: string): Profile | null {
  const paths = profilePaths(dir);
  let text: string;
  try {
    text = readFileSync(paths.meta, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ProfileError('IO', `cannot read ${paths.meta}: ${(e as Error).message}`, { cause: e });
  }
  const meta = parseMeta(text, paths.meta);
  return { dir: paths.dir, id: meta.id, paths, meta };
}

/** Opens the profile in `dir`, creating the folder (mode 0700) and profile.json (new random id) when missing. */
export function openProfile(dir: string): Profile {
  const existing = readProfile(dir);
  if (existing) {
    try {
      makeTreePrivate(existing.dir);
    } catch (e) {
      throw new ProfileError('IO', `cannot make ${existing.dir} private: ${(e as Error).message}`, { cause: e });
    }
    return existing;
  }
  const paths = profilePaths(dir);
  try {
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    makeTreePrivate(paths.dir); // mkdir's mode is masked by the umask, and an existing folder keeps its own
  } catch (e) {
    throw new ProfileError('IO', `cannot create profile folder ${paths.dir}: ${(e as Error).message}`, { cause: e });
  }
  const meta: ProfileMeta = {
    v: 1,
    id: randomBytes(16).toString('hex'),
    createdAt: Date.now(),
    vault: null,
    username: null,
    fingerprint: null,
    relayUrl: null,
    relayFingerprint: null,
  };
  // Exclusive create: write a temp file, then hard-link it into place (fails if another process won the race).
  const tmp = `${paths.meta}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  try {
    writeFileAtomic(tmp, JSON.stringify(meta, null, 2) + '\n', 0o600);
    try {
      linkSync(tmp, paths.meta);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') renameSync(tmp, paths.meta); // no hard links here
      else if (code !== 'EEXIST') throw e;
    }
  } catch (e) {
    throw new ProfileError('IO', `cannot write ${paths.meta}: ${(e as Error).message}`, { cause: e });
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
  // If another process created it concurrently, its id won: everyone uses the file's id.
  return readProfile(dir)!;
}

/** Updates profile.json (atomically) and the given Profile's meta; the id never changes. */
export function updateProfile(
  profile: Profile,
  patch: Partial<Omit<ProfileMeta, 'v' | 'id' | 'createdAt'>>,
): ProfileMeta {
  const meta: ProfileMeta = { ...profile.meta, ...patch, v: 1, id: profile.id, createdAt: profile.meta.createdAt };
  try {
    writeFileAtomic(profile.paths.meta, JSON.stringify(meta, null, 2) + '\n', 0o600);
  } catch (e) {
    throw new ProfileError('IO', `cannot write ${profile.paths.meta}: ${(e as Error).message}`, { cause: e });
  }
  profile.meta = meta;
  return meta;
}
