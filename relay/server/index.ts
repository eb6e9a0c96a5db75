/** Parley relay server: embeddable (`startRelay`) and used by relay/cli.ts. */
export { startRelay, relayFingerprint, relayFingerprintIfExists, isLoopback, RELAY_VERSION } from './relay.js';
export type { StartRelayOptions, RunningRelay, RelayMetrics, RegistrationMode } from './relay.js';
export { DEFAULT_LIMITS, resolveLimits, type RelayLimits } from './limits.js';
export { discoverRelays, advertiseRelay, type DiscoveredRelay } from './mdns.js';
export type { EnvelopeStore, StoredIdentity, QueuedEnvelope } from './store/types.js';
export { SqliteEnvelopeStore } from './store/sqlite.js';
export { normalizeOrigin } from './origin.js';
export { createInvite, redeemInvite, DEFAULT_INVITE_TTL_MS, type Invite } from './invites.js';
export { isPostgresUrl } from './store/open.js';
