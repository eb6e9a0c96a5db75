/**
 * Opening an unlocked profile: the identity keys, the crypto worker pool, the encrypted history store and the
 * messenger on top of them. The service wires the result to its events and the relay connection.
 */
import path from 'node:path';
import { AttachmentManager, type AttachmentManagerOptions } from './attachments/manager.js';
import { loadIdentity, type IdentityKeys } from './crypto/index.js';
import { LazyPool } from './lazy-pool.js';
import { Messenger } from './messenger/messenger.js';
import { ensurePrivateFile, makeTreePrivate, type Profile } from './profile.js';
import type { Active, ParleyServiceOptions } from './service-types.js';
import { openHistoryStore } from './store/index.js';
import type { HistoryStore } from './store/types.js';
import type { VaultContents } from './vault/types.js';
import type { StartupTimer } from './startup-timings.js';
import { SeenPrune } from './seen-prune.js';

export async function openUnlocked(
  contents: VaultContents,
  o: {
    profile: Profile;
    options: ParleyServiceOptions;
    warmPool: boolean;
    log: NonNullable<ParleyServiceOptions['log']>;
    /** Records the phases below (identity import, database open, migrations check, profile files). */
    timer?: StartupTimer;
    /** The relay connection of the moment (attachments move over it). */
    channel: AttachmentManagerOptions['channel'];
    /** The app's hooks into transfers (progress events, removing staged copies). */
    files?: Pick<AttachmentManagerOptions, 'progress' | 'released'>;
  },
): Promise<Active> {
  const pool = new LazyPool({ secret: contents.identity, ...(o.options.cryptoPoolSize ? { size: o.options.cryptoPoolSize } : {}) });
  // Going online: start the workers right at unlock, so they boot (and import the keys) while the identity is
  // loaded, the store opened and the relay connected, not when the first envelope arrives.
  if (o.warmPool) pool.warm();
  let keys: IdentityKeys;
  let store: HistoryStore;
  try {
    keys = await loadIdentity(contents.identity);
    o.timer?.lap('identity import');
    ensurePrivateFile(o.profile.paths.db);
    store = openHistoryStore({ path: o.profile.paths.db, key: contents.dbKey, ...(o.timer ? { timings: (p, ms) => o.timer!.add(p, ms) } : {}) });
    makeTreePrivate(o.profile.dir); // -wal/-shm (created by SQLite with the db's mode) and anything else
    o.timer?.lap('profile files');
  } catch (err) {
    await pool.close().catch(() => undefined);
    throw err;
  }
  // Old dedupe marks go later, in batches (seen-prune.ts): not on the way to the conversation list.
  const seenPrune = new SeenPrune(store, {
    ...(o.options.seenPruneDelayMs !== undefined ? { delayMs: o.options.seenPruneDelayMs } : {}),
    log: (msg, l) => o.log(msg, { scope: 'store', ...l }),
  });
  const meta = o.profile.meta;
  const messenger = new Messenger({
    store,
    crypto: pool,
    me: { username: meta.username ?? '', identity: keys.public, fingerprint: keys.fingerprint },
    log: (msg: string) => o.log(msg, { scope: 'messenger' }),
    ...o.options.messenger,
  });
  const files = new AttachmentManager({
    store,
    messenger,
    channel: o.channel,
    cacheDir: path.join(o.profile.dir, 'attachments'),
    log: (msg: string) => o.log(msg, { scope: 'attachments' }),
    ...o.files,
  });
  return { contents, keys, store, pool, messenger, files, seenPrune };
}
