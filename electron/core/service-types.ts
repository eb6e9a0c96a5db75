/** The service's options and its unlocked state, shared by service.ts and account.ts. */
import type { AttachmentShellHooks } from './attachments/app-files.js';
import type { AttachmentManager } from './attachments/manager.js';
import type { IdentityKeys } from './crypto/index.js';
import type { LazyPool } from './lazy-pool.js';
import type { SeenPrune } from './seen-prune.js';
import type { Messenger, MessengerOptions } from './messenger/messenger.js';
import type { HistoryStore } from './store/types.js';
import type { BackoffOptions } from './transport/backoff.js';
import type { VaultContents, VaultKind } from './vault/types.js';

export interface ParleyServiceOptions {
  /** The profile folder (created when missing). */
  profileDir: string;
  /** Vault kind for a new identity when the request does not say (default 'keychain'). Existing profiles keep theirs. */
  vault?: VaultKind;
  /** File vault passphrase (unlocks at start). */
  passphrase?: string;
  /** Relay to use, overriding the profile's (a different URL resets the relay pin). */
  relayUrl?: string;
  /**
   * The user explicitly chose to allow a relay without TLS on another machine (CLI --insecure-relay). The app's
   * equivalent is the insecureRelay setting; either one allows it.
   */
  insecureRelay?: boolean;
  /** Connect to the relay when ready (default true). The CLI's offline commands pass false. */
  connect?: boolean;
  /** Crypto worker threads (default: one per core). */
  cryptoPoolSize?: number;
  /** PBKDF2 iterations for the file vault and backups (tests may lower it to the protocol minimum). */
  kdfIterations?: number;
  /** Relay reconnect policy. */
  reconnect?: BackoffOptions & { enabled?: boolean };
  /** Delay from unlock to deleting expired dedupe marks (default 30 s; seen-prune.ts). Tests shorten it. */
  seenPruneDelayMs?: number;
  /** TEST HOOK (off by default; only the CLI sets it, from PARLEY_TEST_HOLD_ACKS): see RelayClientOptions. */
  testHoldAcks?: boolean;
  /** Messenger tuning (batch size, key check intervals, retry backoff). */
  messenger?: Pick<MessengerOptions, 'fetchLimit' | 'commitChunk' | 'maxOpensInFlight' | 'retry' | 'keyCheckOnSendMs' | 'keyCheckIntervalMs' | 'keyChecksPerSecond'>;
  /** Shell hook: choose where to save / read an identity backup (Electron: a file dialog). */
  pickBackupFile?: (mode: 'export' | 'import') => Promise<string | null>;
  /** Shell hooks for attachments: choose files, "Save as…", open with the OS (Electron: dialogs and shell). */
  attachments?: AttachmentShellHooks;
  /**
   * Diagnostics sink. The core passes ids, states and reasons only: never a message body, key, passphrase or token.
   * `scope` names the module (service, relay, messenger), `level` defaults to info.
   */
  log?: (msg: string, o?: { scope?: string; level?: 'debug' | 'info' | 'warn' | 'error' }) => void;
  /** The recent diagnostics with secrets removed, for getDebugLog ("Copy debug log"); none when omitted. */
  debugLog?: () => string;
}

/** What an unlocked profile holds open. */
export interface Active {
  contents: VaultContents;
  keys: IdentityKeys;
  store: HistoryStore;
  pool: LazyPool;
  messenger: Messenger;
  files: AttachmentManager;
  /** Deleting expired dedupe marks, a while after the unlock (stopped when the profile closes). */
  seenPrune: SeenPrune;
}
