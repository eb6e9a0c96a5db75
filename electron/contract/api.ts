/**
 * The renderer ↔ main contract: the ONE typed API the UI uses (`window.parley`), and the frozen lists of IPC
 * channels derived from it. The renderer imports only types from here; the preload and the main-side handlers
 * are generated from METHODS and EVENTS so nobody writes a channel name twice. No runtime dependencies.
 */

import { GROUP_EVENTS, GROUP_METHODS, type GroupApi, type GroupBrief, type GroupEvents } from './groups.js';

export type * from './groups.js';
import type { AttachmentApi, AttachmentProgress } from './attachments.js';
import { ATTACHMENT_METHODS } from './attachments.js';
import { BLOCKING_METHODS, type BlockingApi } from './blocking.js';

export type * from './blocking.js';

export type MessageState = 'sending' | 'sent' | 'delivered' | 'failed' | 'undecryptable';
export type Direction = 'in' | 'out';

/**
 * The key of a conversation: `d:<username>` for a direct conversation, `g:<group id, 32 lowercase hex>` for a
 * group. Build and parse with directConversation / parseConversationId (end of this file).
 */
export type ConversationId = `d:${string}` | `g:${string}`;

export type ConnectionState =
  | { status: 'connecting'; relayUrl: string }
  | { status: 'online'; relayUrl: string; relayFingerprint: string }
  | { status: 'offline'; relayUrl: string | null; reason: string };

export type KeychainStatus =
  | { available: true; backend: string }
  | { available: false; reason: string };

export interface ProfileInfo {
  username: string;
  fingerprint: string;
  /** Where the private keys live. */
  vault: 'keychain' | 'file';
  relayUrl: string | null;
}

export interface EmbeddedRelayStatus {
  running: boolean;
  url: string | null;
  fingerprint: string | null;
  lan: boolean;
  /** New users need an invite code from this app ("Share invite") to register on the hosted relay. */
  inviteOnly: boolean;
}

/** A single-use code that lets one person register on the relay this app hosts (shown once). */
export interface RelayInvite {
  code: string;
  /** The relay's address and fingerprint, to share with the code. */
  relayUrl: string | null;
  relayFingerprint: string | null;
  expiresAt: number;
}

export interface DiscoveredRelay {
  name: string;
  url: string;
  fingerprint: string;
}

export interface AppState {
  /** 'onboarding' until an identity exists in this profile; 'locked' when the file vault needs its passphrase. */
  phase: 'onboarding' | 'locked' | 'ready';
  profile: ProfileInfo | null;
  keychain: KeychainStatus;
  connection: ConnectionState;
  embeddedRelay: EmbeddedRelayStatus;
  settings: Settings;
}

export interface Settings {
  /** 'full': sender and text; 'sender': sender only; 'off': no notifications. */
  notifications: 'full' | 'sender' | 'off';
  theme: 'system' | 'light' | 'dark';
  /**
   * The user explicitly allows relays without TLS on another machine (plain http:// or ws:// off loopback). Off by
   * default: without TLS nothing authenticates the relay. The UI shows a warning next to it.
   */
  insecureRelay: boolean;
  /** The name shown to contacts, sent only inside encrypted messages; '' for none (contacts see the username). */
  displayName: string;
  /** Send read receipts and show others' (on by default); off sends none and shows none. */
  readReceipts: boolean;
  /** Received images up to autoDownloadMaxBytes download by themselves; other files wait for a click. */
  autoDownloadImages: boolean;
  autoDownloadMaxBytes: number;
}

export interface ContactView {
  username: string;
  fingerprint: string;
  verified: boolean;
  blocked: boolean;
  /** A message request: first contact from someone we did not add. */
  request: boolean;
  /** A key change waits for accept/reject; sending is held until then. */
  keyChangePending: boolean;
  /** The name the contact chose to show, from inside their encrypted messages (never from the relay); null if none. */
  displayName: string | null;
}

export interface KeyChangeView {
  at: number;
  oldFingerprint: string;
  newFingerprint: string;
  /** Whether the old key signed the rotation (parley/v1/rotate). */
  signedByOld: boolean;
  resolution: 'pending' | 'accepted' | 'rejected';
}

export interface ContactDetail extends ContactView {
  safetyNumber: string; // 60 digits
  safetyNumberGroups: string[]; // 12 groups of 5
  qrPayload: string;
  keyChanges: KeyChangeView[];
  /** Safety number with the pending new key, when a key change is pending. */
  pendingSafetyNumber: string | null;
  /** Incoming messages signed by the pending new key, held unopened until the key change is accepted or rejected. */
  heldMessages: number;
}

/** An attachment's transfer state (see AttachmentView). */
export type AttachmentState = 'pending' | 'uploading' | 'complete' | 'failed';

export interface AttachmentView {
  index: number;
  name: string;
  /** Plaintext bytes. */
  size: number;
  /** Media type, e.g. image/png. */
  type: string;
  /** Pixel size of an image, when the sender gave it. */
  width?: number;
  height?: number;
  /** An image's inline preview (base64url JPEG, PNG or WebP, ≤ 8 KiB), when the sender made one. */
  thumbnail?: string;
  /**
   * Outgoing: pending → uploading → complete (or failed). Incoming: pending until downloaded and verified, then
   * complete; failed when the blob is missing or does not verify (the message stays).
   */
  state: AttachmentState;
  /** Why the attachment failed. */
  error?: string;
}

export interface MessageView {
  id: string;
  /** The conversation the message belongs to. */
  conversation: ConversationId;
  /** The contact it was exchanged with: the peer of a direct conversation. */
  contact: string;
  /** Username of the author of an incoming message; null for our own messages. */
  sender: string | null;
  direction: Direction;
  body: string | null; // null when undecryptable or deleted
  sentAt: number; // sender's timestamp (ms)
  receivedAt: number | null;
  state: MessageState;
  /** Why a message is undecryptable or failed. */
  error: string | null;
  /** Monotonic position in the conversation, the keyset-pagination cursor. */
  seq: number;
  /** The message this one replies to, as quoted (author and a short excerpt). */
  replyTo?: { id: string; author: string; excerpt: string } | null;
  /** Current reactions: emoji → usernames who reacted with it. */
  reactions?: Record<string, string[]>;
  /** Edited by its author (earlier versions: messageInfo). */
  edited?: boolean;
  /** Deleted for everyone by its author ("This message was deleted"). */
  deleted?: boolean;
  /** Our message: when the peer read it (null: not yet, or read receipts are off). */
  readAt?: number | null;
  /** The files of a message that carries files (its body is the caption); absent for other messages. */
  attachments?: AttachmentView[];
}

/** Everything known about one message, for its info dialog. */
export interface MessageInfo {
  message: MessageView;
  /** Every version, oldest first (the original included); empty when never edited. */
  versions: Array<{ ts: number; body: string }>;
  /** Our message: per member, when it was delivered and read (read times hidden when read receipts are off). */
  receipts: Array<{ member: string; deliveredAt: number | null; readAt: number | null }>;
}

/** A row of the conversation list: a direct conversation or a group. */
export type ConversationSummary = DirectConversationSummary | GroupConversationSummary;

export interface GroupConversationSummary {
  id: ConversationId;
  kind: 'group';
  group: GroupBrief;
  /** `sender`: the author of an incoming last message (null for ours). */
  lastMessage: (Pick<MessageView, 'id' | 'body' | 'sentAt' | 'direction' | 'state'> & { sender: string | null }) | null;
  unread: number;
  draft: string | null;
}

export interface DirectConversationSummary {
  id: ConversationId;
  kind: 'direct';
  contact: ContactView;
  lastMessage: Pick<MessageView, 'id' | 'body' | 'sentAt' | 'direction' | 'state'> | null;
  unread: number;
  /** The unsent text of this conversation's composer ("Draft: …" in the list), or null. */
  draft: string | null;
}

export interface MessagePage {
  messages: MessageView[]; // oldest first
  /** Pass as `before` to load the previous page; null at the start of history. */
  nextCursor: number | null;
  total: number;
}

// ---- search, jump to message (searchMessages, loadMessagesAround) ----------------------------------------------
/** A highlighted part of a snippet: UTF-16 offsets into `text` (JavaScript string indices), end exclusive. */
export interface HighlightRange {
  start: number;
  end: number;
}

/** Text around the match with the matched words as ranges (never markup: the renderer draws the highlight). */
export interface SearchSnippet {
  text: string;
  ranges: HighlightRange[];
  /** Text was cut before / after the snippet (the UI shows an ellipsis). */
  cutStart: boolean;
  cutEnd: boolean;
}

export interface SearchHit {
  conversation: ConversationId;
  id: string;
  seq: number;
  /** Author of an incoming message; null for our own. */
  sender: string | null;
  direction: Direction;
  sentAt: number;
  snippet: SearchSnippet;
}

export interface SearchRequest {
  /** What the user typed (any script); at most 256 characters. Never passed raw to SQLite. */
  query: string;
  /** Only this conversation (Ctrl+F); all conversations when omitted (Ctrl+Shift+F). */
  conversation?: ConversationId;
  /** Default 50, at most 200. */
  limit?: number;
}

/** Newest first; every query word must match (a word matches as a prefix; CJK and emoji as a substring). */
export interface SearchResults {
  hits: SearchHit[];
}

export interface MessagesAroundRequest {
  conversation: ConversationId;
  /** The message to open at: its seq, or its id (one of the two). */
  seq?: number;
  id?: string;
  /** Neighbours on each side (default 25, at most 200). */
  context?: number;
}

export interface MessagesAround {
  /** Oldest first, the anchor among them. */
  messages: MessageView[];
  anchorSeq: number;
  /** How many older messages the conversation has before messages[0] (its position, 0 = the oldest). */
  position: number;
  /** Pass as `before` to loadMessages for older messages; null at the start of history. */
  nextCursor: number | null;
  /** Messages newer than the last one returned exist (the UI reloads the latest page to get back to the end). */
  hasNewer: boolean;
  total: number;
}

export interface OnboardingProgress {
  step: 'generating-keys' | 'storing-keys' | 'registering' | 'done';
  detail?: string;
}

export interface CreateIdentityRequest {
  username: string;
  relayUrl: string;
  vault: 'keychain' | 'file';
  /** Required for the file vault (at least 8 characters). */
  passphrase?: string;
  /** An invite code, for a relay that admits new users by invite only. */
  invite?: string;
}

/** The API the renderer calls. Every method returns a promise; failures reject with an ApiError-shaped error. */
export interface ParleyApi extends GroupApi, AttachmentApi, BlockingApi {
  getState(): Promise<AppState>;
  testRelay(req: { url: string }): Promise<{ ok: true; fingerprint: string } | { ok: false; error: string }>;
  discoverRelays(): Promise<DiscoveredRelay[]>;
  createIdentity(req: CreateIdentityRequest): Promise<ProfileInfo>;
  unlock(req: { passphrase: string }): Promise<ProfileInfo>;
  startEmbeddedRelay(req: { lan: boolean; inviteOnly?: boolean }): Promise<EmbeddedRelayStatus>;
  stopEmbeddedRelay(): Promise<EmbeddedRelayStatus>;
  /** A new invite code for the relay this app hosts (it may be stopped; the code works once it runs). */
  createRelayInvite(): Promise<RelayInvite>;
  setRelay(req: { url: string }): Promise<void>;

  listConversations(req: { filter?: string }): Promise<ConversationSummary[]>;
  loadMessages(req: { conversation: ConversationId; before?: number | null; limit?: number }): Promise<MessagePage>;
  /** `replyTo`: the id of a message of this conversation that the new one quotes. */
  sendMessage(req: { conversation: ConversationId; text: string; replyTo?: string }): Promise<MessageView>;
  /** Our reaction to a message (one per person; null removes it). `conversation` narrows an ambiguous id. */
  reactToMessage(req: { id: string; emoji: string | null; conversation?: ConversationId }): Promise<MessageView>;
  /** Replaces the text of one of our messages (within 24 hours). */
  editMessage(req: { id: string; text: string; conversation?: ConversationId }): Promise<MessageView>;
  messageInfo(req: { id: string; conversation?: ConversationId }): Promise<MessageInfo>;
  retryMessage(req: { id: string }): Promise<MessageView>;
  markRead(req: { conversation: ConversationId }): Promise<void>;
  /** Deletes for me (local), or with `everyone` one of our messages for everyone (within 24 hours). */
  deleteMessage(req: { id: string; everyone?: boolean; conversation?: ConversationId }): Promise<void>;
  deleteConversation(req: { conversation: ConversationId }): Promise<void>;
  /** Full-text search, newest first, with highlighted snippets (contract/search.ts). */
  searchMessages(req: SearchRequest): Promise<SearchResults>;
  /** A conversation opened at one message (a search result), with its neighbours. */
  loadMessagesAround(req: MessagesAroundRequest): Promise<MessagesAround>;
  /** Keeps the composer's unsent text for a conversation; '' clears it. */
  saveDraft(req: { conversation: ConversationId; text: string }): Promise<void>;
  getDraft(req: { conversation: ConversationId }): Promise<{ text: string | null }>;

  addContact(req: { username: string }): Promise<ContactView>;
  getContact(req: { username: string }): Promise<ContactDetail>;
  setVerified(req: { username: string; verified: boolean }): Promise<ContactView>;
  /** `fingerprint`: the pending key's fingerprint the user reviewed; fails with KEY_MISMATCH if it changed since. */
  acceptKeyChange(req: { username: string; fingerprint: string }): Promise<ContactView>;
  rejectKeyChange(req: { username: string }): Promise<ContactView>;
  acceptRequest(req: { username: string }): Promise<ContactView>;
  setBlocked(req: { username: string; blocked: boolean }): Promise<ContactView>;

  /** Export the identity backup. In Electron the main process asks for the file with a dialog. */
  exportIdentity(req: { passphrase: string }): Promise<{ saved: boolean; location: string | null }>;
  /** Import an identity backup (takes over this identity on this device). */
  importIdentity(req: { passphrase: string; relayUrl: string }): Promise<ProfileInfo>;
  updateSettings(req: Partial<Settings>): Promise<Settings>;
  /** The recent diagnostics log (secrets and message bodies are never in it), for "Copy debug log". */
  getDebugLog(): Promise<{ text: string }>;
}

/** Events the main process pushes to the renderer. */
export interface ParleyEvents extends GroupEvents {
  'message-received': MessageView;
  'message-state': { id: string; conversation: ConversationId; contact: string; state: MessageState; error: string | null };
  /** A message changed: edited, deleted for everyone, reacted to or read. */
  'message-updated': MessageView;
  'contact-key-changed': { username: string; change: KeyChangeView };
  'contacts-changed': { username: string };
  'connection-changed': ConnectionState;
  'onboarding-progress': OnboardingProgress;
  'state-changed': AppState;
  /** An attachment's upload or download moved on. */
  'attachment-progress': AttachmentProgress;
}

export type MethodName = keyof ParleyApi;
export type EventName = keyof ParleyEvents;

/** Frozen method list; IPC channel = `parley:` + name. */
export const METHODS = Object.freeze([
  'getState', 'testRelay', 'discoverRelays', 'createIdentity', 'unlock', 'startEmbeddedRelay', 'stopEmbeddedRelay',
  'createRelayInvite',
  'setRelay', 'listConversations', 'loadMessages', 'sendMessage', 'retryMessage', 'markRead', 'deleteMessage',
  'deleteConversation', 'searchMessages', 'loadMessagesAround', 'saveDraft', 'getDraft', 'addContact', 'getContact', 'setVerified', 'acceptKeyChange', 'rejectKeyChange',
  'acceptRequest', 'setBlocked', 'exportIdentity', 'importIdentity', 'updateSettings', 'getDebugLog',
  'reactToMessage', 'editMessage', 'messageInfo',
  ...GROUP_METHODS,
  ...ATTACHMENT_METHODS,
  ...BLOCKING_METHODS,
] as const satisfies readonly MethodName[]);

export const EVENTS = Object.freeze([
  'message-received', 'message-state', 'contact-key-changed', 'contacts-changed', 'connection-changed',
  'onboarding-progress', 'state-changed', 'message-updated', 'attachment-progress',
  ...GROUP_EVENTS,
] as const satisfies readonly EventName[]);

// Compile-time check that METHODS lists every method exactly (no more, no fewer).
type Missing = Exclude<MethodName, (typeof METHODS)[number]>;
const _allMethodsListed: Missing extends never ? true : Missing = true;
void _allMethodsListed;
type MissingEv = Exclude<EventName, (typeof EVENTS)[number]>;
const _allEventsListed: MissingEv extends never ? true : MissingEv = true;
void _allEventsListed;

export const methodChannel = (m: MethodName): `parley:${MethodName}` => `parley:${m}`;
export const eventChannel = (e: EventName): `parley-event:${EventName}` => `parley-event:${e}`;

/** Error shape that crosses the boundary: a stable code and a human message. */
export interface ApiErrorShape {
  code: string;
  message: string;
}

/** What the preload puts on window.parley: the API plus a typed event subscription returning an unsubscribe. */
export interface ParleyBridge extends ParleyApi {
  on<E extends EventName>(event: E, listener: (payload: ParleyEvents[E]) => void): () => void;
}

// ---- conversation ids: build and parse (pure; the one place that knows the format) --------------------------------

// Same rule as the relay's usernames (relay/protocol/limits.ts USERNAME_RE); repeated here so the contract stays
// dependency-free.
const DIRECT_RE = /^d:([a-z0-9][a-z0-9_.-]{2,31})$/;
const GROUP_RE = /^g:([0-9a-f]{32})$/;

/** Matches any well-formed ConversationId (used by IPC validation). */
export const CONVERSATION_ID_RE = /^(d:[a-z0-9][a-z0-9_.-]{2,31}|g:[0-9a-f]{32})$/;

export type ParsedConversation = { kind: 'direct'; username: string } | { kind: 'group'; groupId: string };

export function directConversation(username: string): ConversationId {
  return `d:${username}`;
}

export function groupConversation(groupIdHex: string): ConversationId {
  return `g:${groupIdHex}`;
}

/** The parts of a conversation id, or null when it is not one. */
export function parseConversationId(id: string): ParsedConversation | null {
  const d = DIRECT_RE.exec(id);
  if (d) return { kind: 'direct', username: d[1]! };
  const g = GROUP_RE.exec(id);
  if (g) return { kind: 'group', groupId: g[1]! };
  return null;
}
