/**
 * The core as the shells (Electron main, browser bridge) see it: the ParleyApi plus events and shutdown.
 * ParleyService (electron/core/service.ts) is the implementation; this type is what the shells depend on.
 * Electron-free.
 */
import { METHODS } from '../contract/api.js';
import type { EventName, ParleyApi, ParleyEvents, ProfileInfo } from '../contract/api.js';

export interface ParleyCore extends ParleyApi {
  on<E extends EventName>(event: E, fn: (payload: ParleyEvents[E]) => void): unknown;
  close(): Promise<void>;
}

/**
 * Backup files chosen by the shell (a dialog in Electron, a configured path in the bridge), never by the page.
 * Returns a ParleyApi whose exportIdentity/importIdentity use the path from `pick`; every other method is the core's.
 * The core exposes file-based variants (`exportIdentityToFile` / `importIdentityFromFile`); when it does not,
 * the shell reports a typed error instead of guessing.
 */
export interface BackupPicker {
  /** Where to save the export; null when the user cancelled. */
  exportPath(): Promise<string | null>;
  /** Which backup to import; null when the user cancelled. */
  importPath(): Promise<string | null>;
}

interface FileBackupCore {
  exportIdentityToFile(req: { passphrase: string; path: string }): Promise<void>;
  importIdentityFromFile(req: { passphrase: string; relayUrl: string; path: string }): Promise<ProfileInfo>;
}

function hasFileBackup(core: object): core is FileBackupCore {
  const c = core as Partial<FileBackupCore>;
  return typeof c.exportIdentityToFile === 'function' && typeof c.importIdentityFromFile === 'function';
}

export class CancelledError extends Error {
  readonly code = 'CANCELLED';
  constructor() {
    super('Cancelled.');
  }
}

export function withBackupPicker(core: ParleyCore, picker: BackupPicker): ParleyApi {
  // Bind each method explicitly (not Object.create): the core may use #private fields, which need `this` === core.
  const api = {} as Record<string, unknown>;
  for (const m of METHODS) api[m] = (core[m] as (...a: unknown[]) => unknown).bind(core);
  return overrideBackup(api as unknown as ParleyApi, core, picker);
}

function overrideBackup(api: ParleyApi, core: ParleyCore, picker: BackupPicker): ParleyApi {
  api.exportIdentity = async ({ passphrase }) => {
    if (!hasFileBackup(core)) throw Object.assign(new Error('Backup export is not available in this build.'), { code: 'UNSUPPORTED' });
    const path = await picker.exportPath();
    if (path === null) return { saved: false, location: null };
    await core.exportIdentityToFile({ passphrase, path });
    return { saved: true, location: path };
  };
  api.importIdentity = async ({ passphrase, relayUrl }) => {
    if (!hasFileBackup(core)) throw Object.assign(new Error('Backup import is not available in this build.'), { code: 'UNSUPPORTED' });
    const path = await picker.importPath();
    if (path === null) throw new CancelledError();
    return core.importIdentityFromFile({ passphrase, relayUrl, path });
  };
  return api;
}
