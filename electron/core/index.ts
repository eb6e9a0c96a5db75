/** Parley's Electron-free core: the service (ParleyApi) and the pieces it is made of. */
export { ParleyService, type ParleyServiceOptions } from './service.js';
export { toContactView, toMessageView } from './store/history.js';
export { Messenger, type MessengerOptions, type MessengerEvents, type SealerOpener } from './messenger/messenger.js';
export { CoreError, errorCode, errorMessage, type CoreErrorCode } from './messenger/errors.js';
export { RelayClient, probeRelay, SESSION_REPLACED_MESSAGE, type RelayClientOptions, type LookupAnswer } from './transport/relay-client.js';
export { TransportError, type TransportErrorCode } from './transport/errors.js';
export { backoffDelay, type BackoffOptions } from './transport/backoff.js';
export { discoverLanRelays } from './transport/discovery.js';
export { EmbeddedRelay } from './transport/embedded.js';
export { certificateSpkiFingerprint } from './transport/tls-pin.js';
