/**
 * The user's settings: what they are, their defaults, how a patch from the UI is validated, and how they are kept
 * in the profile (settings.json, 0600). Split out of ParleyService so the service only decides when to apply them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../contract/api.js';
import { displayNameSchema } from './crypto/payload.js';
import { CoreError } from './messenger/errors.js';
import { writeFileAtomic } from './profile.js';

export const SETTINGS_FILE = 'settings.json';

/** Received images up to this size download by themselves unless the user turns it off. */
export const DEFAULT_AUTO_DOWNLOAD_BYTES = 5 * 1024 * 1024;
/** The largest auto-download limit the settings accept (the largest image readAttachment serves). */
export const MAX_AUTO_DOWNLOAD_BYTES = 32 * 1024 * 1024;

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  notifications: 'full',
  theme: 'system',
  insecureRelay: false,
  displayName: '',
  readReceipts: true,
  autoDownloadImages: true,
  autoDownloadMaxBytes: DEFAULT_AUTO_DOWNLOAD_BYTES,
});

const validAutoDownloadBytes = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= MAX_AUTO_DOWNLOAD_BYTES;

/** The settings saved in `profileDir`, or the defaults (a missing or damaged file is not an error). */
export function readSettings(profileDir: string): Settings {
  try {
    const raw = JSON.parse(readFileSync(path.join(profileDir, SETTINGS_FILE), 'utf8')) as Partial<Settings>;
    return {
      notifications: raw.notifications === 'sender' || raw.notifications === 'off' ? raw.notifications : 'full',
      theme: raw.theme === 'light' || raw.theme === 'dark' ? raw.theme : 'system',
      // Only an explicit true counts: an insecure relay is never allowed by accident.
      insecureRelay: raw.insecureRelay === true,
      displayName: typeof raw.displayName === 'string' && displayNameSchema.safeParse(raw.displayName).success ? raw.displayName : '',
      // On unless explicitly turned off (like Signal).
      readReceipts: raw.readReceipts !== false,
      autoDownloadImages: raw.autoDownloadImages !== false,
      autoDownloadMaxBytes: validAutoDownloadBytes(raw.autoDownloadMaxBytes) ? raw.autoDownloadMaxBytes : DEFAULT_AUTO_DOWNLOAD_BYTES,
    };
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

/** `current` with a patch from the UI applied; throws CoreError('INVALID') on any bad value. */
export function applySettingsPatch(current: Settings, req: Partial<Settings> | undefined): Settings {
  const next: Settings = { ...current };
  if (req?.notifications !== undefined) {
    if (!['full', 'sender', 'off'].includes(req.notifications)) throw new CoreError('INVALID', 'notifications: full, sender or off');
    next.notifications = req.notifications;
  }
  if (req?.theme !== undefined) {
    if (!['system', 'light', 'dark'].includes(req.theme)) throw new CoreError('INVALID', 'theme: system, light or dark');
    next.theme = req.theme;
  }
  if (req?.insecureRelay !== undefined) {
    if (typeof req.insecureRelay !== 'boolean') throw new CoreError('INVALID', 'insecureRelay: true or false');
    next.insecureRelay = req.insecureRelay;
  }
  if (req?.displayName !== undefined) {
    // '' clears it; anything else must be a valid display name once trimmed.
    const name = typeof req.displayName === 'string' ? req.displayName.trim() : null;
    if (name === null || (name !== '' && !displayNameSchema.safeParse(name).success)) {
      throw new CoreError('INVALID', 'displayName: up to 64 characters, no control characters');
    }
    next.displayName = name;
  }
  if (req?.readReceipts !== undefined) {
    if (typeof req.readReceipts !== 'boolean') throw new CoreError('INVALID', 'readReceipts: true or false');
    next.readReceipts = req.readReceipts;
  }
  if (req?.autoDownloadImages !== undefined) {
    if (typeof req.autoDownloadImages !== 'boolean') throw new CoreError('INVALID', 'autoDownloadImages: true or false');
    next.autoDownloadImages = req.autoDownloadImages;
  }
  if (req?.autoDownloadMaxBytes !== undefined) {
    if (!validAutoDownloadBytes(req.autoDownloadMaxBytes)) throw new CoreError('INVALID', `autoDownloadMaxBytes: 0 to ${MAX_AUTO_DOWNLOAD_BYTES} bytes`);
    next.autoDownloadMaxBytes = req.autoDownloadMaxBytes;
  }
  return next;
}

export function writeSettings(profileDir: string, s: Settings): void {
  writeFileAtomic(path.join(profileDir, SETTINGS_FILE), JSON.stringify(s) + '\n', 0o600);
}
