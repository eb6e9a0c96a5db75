/**
 * The core's native modules (keytar, better-sqlite3-multiple-ciphers), loaded lazily through the shared loader in
 * relay/server/native.ts, which turns an ABI mismatch into a NativeModuleError naming the module, the runtime's ABI
 * and the fix.
 */
import { loadNative } from '../../relay/server/native.js';
import type * as KeytarModule from 'keytar';
import type SqliteDatabase from 'better-sqlite3-multiple-ciphers';

export { NativeModuleError, explainNativeLoadError, loadNative, runtimeInfo, type RuntimeInfo } from '../../relay/server/native.js';
export type NativeModuleName = 'keytar' | 'better-sqlite3-multiple-ciphers' | 'better-sqlite3';

export type Keytar = typeof KeytarModule;
export type SqliteCtor = typeof SqliteDatabase;

export function loadKeytar(): Keytar {
  const m = loadNative<Keytar & { default?: Keytar }>('keytar');
  return (m.default ?? m) as Keytar;
}

export function loadSqlite(): SqliteCtor {
  const m = loadNative<SqliteCtor & { default?: SqliteCtor }>('better-sqlite3-multiple-ciphers');
  return (m.default ?? m) as SqliteCtor;
}
