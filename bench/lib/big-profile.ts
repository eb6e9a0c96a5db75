/**
 * A file-vault profile whose encrypted history holds `messages` messages spread over `conversations` direct
 * conversations, for the `startup` benchmark. Built once and cached under os.tmpdir() (named after the size and a
 * hash of the store's and vault's sources, so a format change rebuilds it); every run works on a fresh copy.
 *
 * The messages go in with direct SQL inserts in one transaction on the encrypted database (the store API would take
 * minutes for a million rows); the schema's own triggers keep the per-conversation counters, exactly as the app's
 * inserts do. Dedupe marks (`seen`) exist for the incoming messages of the last 60 days only: older ones are pruned
 * after every unlock (seen-prune.ts), so that is what a long-lived profile holds.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { now, ROOT } from './common.js';
import { fixture } from './ids.js';
import type { CreateIdentityRequest } from '../../electron/contract/api.js';
import type { IdentitySecret } from './apis.js';

export const BIG_PROFILE_PASSPHRASE = 'benchmark passphrase';
const DAY = 24 * 3600 * 1000;
const SPAN_DAYS = 730; // two years of history
const SEEN_DAYS = 60; // SEEN_RETENTION_MS in electron/core/seen-prune.ts
const WORDS = 'sure on my way did you see the build lunch ok the relay is up again ship it tomorrow then'.split(' ');

export interface BigProfileSpec {
  messages: number;
  conversations: number;
}

interface ServiceCtor {
  new (o: { profileDir: string; vault?: 'keychain' | 'file'; passphrase?: string; relayUrl?: string; connect?: boolean }): {
    profile: { paths: { db: string } };
    createIdentityFrom(secret: IdentitySecret, req: CreateIdentityRequest): Promise<unknown>;
    close(): Promise<void>;
  };
}

/** Sources whose change invalidates a cached profile (the store's format, the vault's file format). */
function sourceHash(): string {
  const h = createHash('sha256');
  for (const dir of ['electron/core/store', 'electron/core/store/migrations', 'electron/core/vault']) {
    const abs = path.join(ROOT, dir);
    if (!existsSync(abs)) continue;
    for (const f of readdirSync(abs).filter((x) => x.endsWith('.ts')).sort()) h.update(dir + f).update(readFileSync(path.join(abs, f)));
  }
  return h.digest('hex').slice(0, 12);
}

function body(i: number): string {
  const n = 2 + (i % 9);
  const out: string[] = [];
  for (let k = 0; k < n; k++) out.push(WORDS[(i * 7 + k * 13) % WORDS.length]!);
  return out.join(' ');
}

/**
 * Inserts the contacts and messages straight into the encrypted database (opened by the store first, so its
 * migrations are applied and the file is keyed the app's way).
 */
async function fill(dbPath: string, dbKey: string, spec: BigProfileSpec): Promise<void> {
  const { openHistoryStore } = await import('../../electron/core/store/index.js');
  openHistoryStore({ path: dbPath, key: dbKey }).close(); // creates the schema
  const { loadSqlite } = await import('../../electron/core/native.js');
  const Database = loadSqlite();
  const db = new Database(dbPath);
  try {
    // The store's keying (history.ts applyKey): SQLCipher scheme, raw key.
    db.pragma(`cipher = 'sqlcipher'`);
    db.pragma('legacy = 4');
    db.pragma(`key = "x'${dbKey}'"`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF'); // building a fixture: a crash just means rebuilding it
    db.pragma('cache_size = -262144');
    const t = Date.now();
    const start = t - SPAN_DAYS * DAY;
    const addContact = db.prepare('INSERT INTO contacts (username, identity, fingerprint, added_at) VALUES (?, ?, ?, ?)');
    const addMessage = db.prepare(
      `INSERT INTO messages (id, conversation, contact, sender, direction, sender_fp, body, sent_at, received_at, state, error, unread)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'delivered', NULL, ?)`,
    );
    const addSeen = db.prepare('INSERT INTO seen (sender_fp, id, at) VALUES (?, ?, ?)');
    const fps: string[] = [];
    db.transaction(() => {
      for (let c = 0; c < spec.conversations; c++) {
        const fp = createHash('sha256').update(`bench-contact-${c}`).digest('hex');
        fps.push(fp);
        // A syntactically valid public identity (random key bytes): the start-up path never verifies it.
        const identity = JSON.stringify({ v: 1, enc: createHash('sha512').update(`enc${c}`).digest('base64url').repeat(10), sig: createHash('sha256').update(`sig${c}`).digest('base64url') });
        addContact.run(`contact${String(c).padStart(4, '0')}`, identity, fp, start);
      }
      const seenFrom = t - SEEN_DAYS * DAY;
      for (let i = 0; i < spec.messages; i++) {
        // Conversations get their messages interleaved, a few unread at the end of each.
        const c = i % spec.conversations;
        const username = `contact${String(c).padStart(4, '0')}`;
        const incoming = i % 3 !== 0;
        const at = start + Math.floor((i / spec.messages) * SPAN_DAYS * DAY);
        const id = `m${i.toString(36).padStart(12, '0')}`;
        const unread = incoming && i >= spec.messages - spec.conversations * 2 ? 1 : 0;
        addMessage.run(id, `d:${username}`, username, incoming ? username : null, incoming ? 'in' : 'out', incoming ? fps[c]! : null, body(i), at, at + 500, unread);
        if (incoming && at >= seenFrom) addSeen.run(fps[c]!, id, at + 500);
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/**
 * The cached profile folder for `spec` (built when missing). `relayUrl` is only used while building (registration);
 * runs point the profile at their own relay with ParleyService's relayUrl option.
 */
export async function bigProfile(spec: BigProfileSpec, relayUrl: string, log: (m: string) => void): Promise<string> {
  const cacheDir = path.join(os.tmpdir(), 'parley-bench-startup-cache');
  const dir = path.join(cacheDir, `${spec.messages}m-${spec.conversations}c-${sourceHash()}`);
  if (existsSync(path.join(dir, 'profile.json'))) return dir;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const t0 = now();
  const { ParleyService } = (await import('../../electron/core/service.js')) as unknown as { ParleyService: ServiceCtor };
  const { openVault } = await import('../../electron/core/vault/index.js');
  const { openProfile } = await import('../../electron/core/profile.js');
  // One relay registers both profiles of a run: they need different identities.
  const me = await fixture(spec.messages > 0 ? 1 : 2);
  const s = new ParleyService({ profileDir: tmp, vault: 'file', passphrase: BIG_PROFILE_PASSPHRASE, relayUrl, connect: false });
  await s.createIdentityFrom(me.secret, {
    username: `starter${Date.now().toString(36)}`,
    relayUrl,
    vault: 'file',
    passphrase: BIG_PROFILE_PASSPHRASE,
  });
  await s.close();
  const profile = openProfile(tmp);
  const { dbKey } = await openVault(profile, { kind: 'file', passphrase: BIG_PROFILE_PASSPHRASE }).load();
  if (spec.messages > 0 || spec.conversations > 0) await fill(profile.paths.db, dbKey, spec);
  renameSync(tmp, dir);
  log(`startup: built a profile with ${spec.messages} messages in ${spec.conversations} conversations in ${((now() - t0) / 1000).toFixed(1)} s (cached in ${dir})`);
  return dir;
}

/** A fresh private copy of a cached profile for one run (the run's unlock prunes, migrates and writes). */
export function copyProfile(cached: string, into: string): string {
  cpSync(cached, into, { recursive: true });
  return into;
}
