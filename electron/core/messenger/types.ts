/**
 * Types shared by the messenger's parts (messenger.ts composes ingest.ts, trust.ts and outbox.ts). This file imports
 * nothing from its siblings, so the parts depend on it and on each other only through the interfaces here.
 */
import type { Envelope, LookupRequest, PublicIdentity } from '../../../relay/protocol/index.js';
import type { MessageView, ParleyEvents } from '../../contract/api.js';
import type { BlobChannel } from '../attachments/transfer.js';
import type { Payload } from '../crypto/index.js';
import type { BackoffOptions } from '../transport/backoff.js';
import type { LookupAnswer, RelayClientEvents } from '../transport/relay-client.js';
import type { LooseDelivered } from '../transport/schemas.js';
import type { ContactRecord, HistoryStore } from '../store/types.js';

/** The part of CryptoPool the messenger uses (the real pool in production and tests). */
export interface SealerOpener {
  open(envelope: unknown, sender: PublicIdentity): Promise<{ payload: Payload }>;
  seal(o: { recipients: PublicIdentity[]; payload: Payload; id?: string }): Promise<Envelope>;
  /** Ed25519 over signingInput(label, data) with our identity (group changes and state snapshots). */
  sign(label: string, data: Uint8Array): Promise<Uint8Array>;
}

/**
 * The part of a relay connection the messenger uses, beside the crypto seam above: RelayClient (socket.io to a real
 * relay) in production and the real-relay tests; an in-memory relay can stand in to test the messenger's logic.
 */
export type TransportEvents = Pick<RelayClientEvents, 'authenticated' | 'deliver'>;

export interface Transport {
  /** Authenticated and connected: sends and acks can go out now. */
  readonly online: boolean;
  /** 'authenticated' after every (re)connection; 'deliver' carries envelopes the relay pushes. Returns an unsubscribe. */
  on<E extends keyof TransportEvents>(event: E, listener: (payload: TransportEvents[E]) => void): () => void;
  lookup(q: LookupRequest): Promise<LookupAnswer>;
  send(envelope: Envelope): Promise<{ id: string; duplicate: boolean }>;
  fetch(limit?: number): Promise<{ envelopes: LooseDelivered[]; more: boolean }>;
  ack(items: Array<{ from: string; id: string }>): Promise<number>;
  /** Blob requests (RelayClient); absent where there is no blob store (an in-memory relay): blobs are not re-shared. */
  blobRequest?: BlobChannel['blobRequest'];
}

export interface Me {
  username: string;
  identity: PublicIdentity;
  fingerprint: string;
}

export interface MessengerOptions {
  store: HistoryStore;
  crypto: SealerOpener;
  me: Me;
  /** Envelopes per fetch (default 64). Smaller batches commit (and ack) more often. */
  fetchLimit?: number;
  /**
   * Envelopes per commit (default 64, one relay delivery batch): each chunk of a delivered batch is stored in its
   * own transaction (with its receipt), acked, announced, and the event loop gets a turn before the next one. Each
   * commit fsyncs (synchronous=FULL) on the event loop, so fewer, larger chunks leave the crypto workers waiting less.
   * bench/backlog.ts on a quiet machine (2026-12-02): 64 → 1.43–1.46 × the raw unwrap time, event-loop p99 30–35 ms;
   * 32 → 1.45 ×, 28 ms; 16 → 1.70 ×, 24 ms. A chunk's commit is one task of 18–30 ms at 64: the loop's p99.
   */
  commitChunk?: number;
  /**
   * Opens handed to the crypto pool at once (default one per core). The rest wait here, in relay order: the pool
   * stays busy, a receipt seal (which bypasses this queue) never waits behind a whole backlog, and the RSA work
   * (Web Crypto runs it on libuv's threadpool, 4 threads) never oversubscribes the cores the event loop needs.
   */
  maxOpensInFlight?: number;
  /** Outbox retry backoff (default 1 s doubling to 60 s, ±50 % jitter). */
  retry?: BackoffOptions;
  /** Minimum time between two key checks of one contact on send (default 30 s; 0 = every send). */
  keyCheckOnSendMs?: number;
  /** Periodic key check of every contact while online (default 10 min; 0 = off). */
  keyCheckIntervalMs?: number;
  /** Lookups per second while checking every contact's key (default 20; the relay drops connections far over its budget). */
  keyChecksPerSecond?: number;
  /**
   * Envelopes held per contact while a key change waits for the user (default 1000). Past it, further ones are shown
   * as failed rows (bounded like undecryptable ones) instead of being held: a relay cannot fill the disk with them.
   */
  maxHeldPerContact?: number;
  /** Delay before envelopes that could not be committed are fetched again (default 2 s). */
  refetchDelayMs?: number;
  now?: () => number;
  /** Diagnostics (never secrets). */
  log?: (msg: string) => void;
}

export type MessengerEvents = Pick<
  ParleyEvents,
  'message-received' | 'message-state' | 'contact-key-changed' | 'contacts-changed'
> & {
  /** A message changed by an action (edited, deleted for everyone, reacted to, read). */
  'message-updated': MessageView;
  /** After each committed batch of incoming envelopes: how many messages were stored in it. */
  'batch-stored': { stored: number; acked: number };
  /** A group's state or timeline changed (a change applied, a snapshot received, a refusal recorded). */
  'group-changed': { group: string };
  /** Delivery of one of our group messages changed for some member. */
  'group-delivery': { group: string; id: string };
};

/** What the messenger's parts share: the store, the current identity and relay connection, events and the clock. */
export interface MessengerContext {
  readonly store: HistoryStore;
  readonly options: MessengerOptions;
  /** The crypto for the current identity (swapped after a rotation). */
  crypto(): SealerOpener;
  me(): Me;
  transport(): Transport | null;
  closed(): boolean;
  now(): number;
  log(msg: string): void;
  emit<E extends keyof MessengerEvents & string>(event: E, payload: MessengerEvents[E]): void;
}

/** (sender fingerprint, envelope id): what the relay acknowledges and what the client de-duplicates by. */
export type AckItem = { from: string; id: string };

export type OpenResult = { payload: Payload } | { error: string };

export type SealedReceipt = { username: string; id: string; envelope: Envelope };

/**
 * How an envelope's sender relates to our contacts: their pinned key ('current'), a key change waiting for the user
 * ('pending'), a key we replaced ('stale') or a key the user rejected ('rejected').
 */
export type SenderRole = 'current' | 'pending' | 'stale' | 'rejected';

export interface ResolvedSender {
  contact: ContactRecord;
  role: SenderRole;
}

/** Trust: who signed an envelope (trust.ts). Throws RetryLater when it cannot tell right now. */
export interface SenderResolver {
  resolveSender(fp: string): Promise<ResolvedSender | null>;
}

/** The outbox as the receive path sees it: queued receipts must be sent. */
export interface OutboxKick {
  flushOutbox(): Promise<void>;
}

/** Counters of the receive path since the messenger started (never message contents). */
export interface ReceiveDiagnostics {
  /** Envelopes whose storing threw: rolled back alone, kept as failed/quarantined, acknowledged. */
  quarantined: number;
  /** Undecryptable envelopes folded into a per-contact count instead of one row each. */
  collapsedFailures: number;
  /** Whole chunks whose transaction failed (nothing of them acknowledged; fetched again). */
  failedCommits: number;
  /** Batches deferred because a sender could not be resolved (offline); fetched again in order. */
  deferredBatches: number;
}

/** Thrown inside a batch when the sender cannot be resolved right now (offline): nothing is acked. */
export class RetryLater extends Error {}

/** Re-opens the envelopes held for a contact's pending key once the user accepted it (ingest.ts). */
export interface PendingReopener {
  reopenPending(contact: ContactRecord): Promise<void>;
}

/** What the outbox tells groups about a fan-out envelope that left the outbox (groups.ts). */
export interface GroupOutboxHooks {
  envelopeDone(envelopeId: string, outcome: 'sent' | 'failed', error: string | null): void;
  /** The payload to re-seal a held group envelope with after a key change is accepted, or null. */
  resealPayload(envelopeId: string): Payload | null;
}

/** Looks a contact's key up on the relay (trust.ts); a different key becomes a pending key change. */
export interface KeyChecker {
  checkContactKey(username: string): Promise<unknown>;
}
