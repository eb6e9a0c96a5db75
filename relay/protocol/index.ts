/** Parley protocol v1: the one wire contract shared by the relay and the Electron-free core. See PROTOCOL.md. */
export * from './encoding.js';
export * from './limits.js';
export * from './labels.js';
export * from './errors.js';
export * from './identity.js';
export * from './envelope.js';
export * from './events.js';
export * from './blobs.js';
export * from './relay.js';
export * from './registration.js';
