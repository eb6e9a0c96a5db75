/**
 * Desktop diagnostics: pino to size-rotated files in the profile's `logs/` folder, one child logger per module
 * (`scope`), levels (PARLEY_LOG_LEVEL, default info). Electron-free: the main process, the browser bridge and the
 * tests build it the same way.
 *
 * What never reaches a log: message bodies, private keys, passphrases, tokens. The rule is "never pass them" (the
 * core logs ids, states and reasons, not content); two guards back it up: pino redacts fields with secret-looking
 * names, and every secret the host knows (the file vault's passphrase, the bridge token) is registered with
 * `forget()` and replaced in every line before it is written, and again when the log is read back for
 * "Copy debug log".
 */
import pino from 'pino';
import { RotatingLogFile, type LogFileOptions } from './log-file.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** The core's `log` option (ParleyServiceOptions.log): a line, and which module says it at which level. */
export type CoreLog = (msg: string, o?: { scope?: string; level?: LogLevel }) => void;

/** Field names whose values are never written, at any depth pino's redaction supports. */
const SECRET_FIELDS = ['body', 'text', 'passphrase', 'password', 'token', 'secret', 'privateKey', 'dbKey', 'key', 'sig', 'envelope'];
export const REDACT_PATHS = [...SECRET_FIELDS, ...SECRET_FIELDS.map((f) => `*.${f}`), ...SECRET_FIELDS.map((f) => `*.*.${f}`)];
const CENSOR = '[redacted]';

export interface DesktopLog {
  readonly logger: pino.Logger;
  /** The child logger of one module. */
  scope(name: string): pino.Logger;
  /** For ParleyServiceOptions.log. */
  readonly core: CoreLog;
  /** Registers a secret: it is replaced by [redacted] in every line from now on (and in what recent() returns). */
  forget(secret: string | undefined | null): void;
  /** The recent log text (newest last), secrets removed: what "Copy debug log" hands over. */
  recent(maxBytes?: number): string;
  /** Every log file, newest first. */
  files(): string[];
  close(): void;
}

export interface DesktopLogOptions extends LogFileOptions {
  level?: LogLevel;
  /** Static fields on every line (e.g. the app version). */
  base?: Record<string, string>;
}

function levelFrom(v: string | undefined): LogLevel | null {
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error' ? v : null;
}

export function createDesktopLog(o: DesktopLogOptions): DesktopLog {
  const file = new RotatingLogFile(o);
  const secrets = new Set<string>();
  const scrub = (line: string): string => {
    let out = line;
    for (const s of secrets) {
      out = out.split(s).join(CENSOR);
      // The same secret as it appears inside a JSON string (quotes, backslashes, control characters escaped).
      const escaped = JSON.stringify(s).slice(1, -1);
      if (escaped !== s) out = out.split(escaped).join(CENSOR);
    }
    return out;
  };
  const logger = pino(
    {
      level: o.level ?? levelFrom(process.env['PARLEY_LOG_LEVEL']) ?? 'info',
      base: { pid: process.pid, ...o.base },
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    { write: (line: string) => file.write(scrub(line)) },
  );
  const scopes = new Map<string, pino.Logger>();
  const scope = (name: string): pino.Logger => {
    let l = scopes.get(name);
    if (!l) {
      l = logger.child({ scope: name });
      scopes.set(name, l);
    }
    return l;
  };
  return {
    logger,
    scope,
    core: (msg, c) => scope(c?.scope ?? 'core')[c?.level ?? 'info'](msg),
    forget: (secret) => {
      // Very short strings would blank out ordinary words; the callers' secrets are long (passphrases ≥ 8).
      if (typeof secret === 'string' && secret.length >= 6) secrets.add(secret);
    },
    recent: (maxBytes) => scrub(file.tail(maxBytes)),
    files: () => file.files(),
    close: () => {
      logger.flush?.();
      file.close();
    },
  };
}
