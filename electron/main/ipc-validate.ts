/**
 * The checks every renderer → main call passes before it reaches the core, kept free of Electron so they can be
 * unit-tested under plain Node (tests/unit/ipc-validate.test.ts) and reused by the browser bridge:
 *  1. the sender: the main window's top frame, showing our own page (file:// renderer or the dev server);
 *  2. the method: one of the frozen METHODS;
 *  3. the arguments: the method's zod schema (electron/main/ipc-schemas.ts).
 * Errors that cross the boundary are `{ code, message }` only: no stack, no cause chain, no internal paths.
 */
import { METHODS } from '../contract/api.js';
import type { ApiErrorShape, MethodName, ParleyApi } from '../contract/api.js';
import { IPC_SCHEMAS } from './ipc-schemas.js';

/** A typed error the boundary understands. `code` is stable; `message` is for people. */
export class IpcError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IpcError';
  }
}

/** What we know about the frame that sent an IPC message. */
export interface SenderInfo {
  /** URL of the sending frame (senderFrame.url), or null when the frame is gone. */
  url: string | null;
  /** Whether the frame is the top frame of its page (no iframes may call). */
  isTopFrame: boolean;
  /** Whether the sending WebContents is the main window's. */
  isMainWindow: boolean;
}

/** Where our renderer legitimately lives: the packaged file:// index.html, or the electron-vite dev server. */
export interface TrustedOrigins {
  /** Absolute file:// URL of out/renderer/index.html. */
  rendererFileUrl: string;
  /** Dev server origin (http://localhost:5173) when running `npm run dev`; null in production. */
  devServerOrigin: string | null;
}

export function isTrustedUrl(url: string, trusted: TrustedOrigins): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'file:') {
    const expected = new URL(trusted.rendererFileUrl);
    return u.pathname === expected.pathname;
  }
  return trusted.devServerOrigin !== null && u.origin === new URL(trusted.devServerOrigin).origin;
}

/** Throws IpcError('FORBIDDEN_SENDER') unless the call comes from our page in the main window's top frame. */
export function assertTrustedSender(sender: SenderInfo, trusted: TrustedOrigins): void {
  if (!sender.isMainWindow || !sender.isTopFrame || sender.url === null || !isTrustedUrl(sender.url, trusted)) {
    throw new IpcError('FORBIDDEN_SENDER', 'This call did not come from the Parley window.');
  }
}

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && (METHODS as readonly string[]).includes(name);
}

/** Validates a method's arguments; returns the parsed tuple or throws IpcError('BAD_ARGUMENTS') with a readable message. */
export function validateArgs<M extends MethodName>(method: M, args: unknown): Parameters<ParleyApi[M]> {
  if (!isMethodName(method)) throw new IpcError('UNKNOWN_METHOD', `Unknown method: ${String(method).slice(0, 64)}`);
  const schema = IPC_SCHEMAS[method];
  const parsed = schema.safeParse(args);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
      .join('; ');
    throw new IpcError('BAD_ARGUMENTS', `${method}: ${issues}`);
  }
  return parsed.data as Parameters<ParleyApi[M]>;
}

const CODE_RE = /^[A-Z][A-Z0-9_]{1,48}$/;

/**
 * Turns anything thrown by the core into the `{ code, message }` shape that crosses the boundary. Known typed
 * errors keep their code (string `code` property in UPPER_SNAKE or a lower-case reason); everything else becomes
 * INTERNAL with a generic message, so no stack, path or secret leaks into the renderer.
 */
export function toApiError(err: unknown): ApiErrorShape {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; reason?: unknown; message?: unknown; name?: unknown };
    const message = typeof e.message === 'string' && e.message.length > 0 ? e.message.split('\n')[0]!.slice(0, 500) : 'Something went wrong.';
    const rawCode = typeof e.code === 'string' ? e.code : typeof e.reason === 'string' ? e.reason : null;
    if (rawCode !== null) {
      const code = rawCode.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
      if (CODE_RE.test(code)) return { code, message };
    }
    if (err instanceof IpcError) return { code: err.code, message };
    // Plain errors with a message are usually meant for people (e.g. "No contact named bob"); keep the first line.
    if (err instanceof Error && e.name !== 'TypeError' && e.name !== 'ReferenceError' && e.name !== 'SyntaxError') {
      return { code: 'ERROR', message };
    }
  }
  return { code: 'INTERNAL', message: 'Something went wrong inside Parley. Please try again.' };
}

/** The outcome that crosses IPC: errors are returned as values because Electron strips custom error fields. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: ApiErrorShape };

/**
 * Validates and dispatches one call. `api` is the core (ParleyService), or a wrapper of it that replaces some
 * methods (the Electron main's export/import dialogs). Never throws.
 */
export async function dispatch(
  api: ParleyApi,
  method: unknown,
  args: unknown,
  sender: SenderInfo | null,
  trusted: TrustedOrigins | null,
): Promise<IpcResult<unknown>> {
  try {
    if (sender !== null && trusted !== null) assertTrustedSender(sender, trusted);
    if (!isMethodName(method)) throw new IpcError('UNKNOWN_METHOD', 'Unknown method.');
    const parsed = validateArgs(method, args);
    const fn = api[method] as (...a: unknown[]) => Promise<unknown>;
    const value = await fn.apply(api, parsed as unknown[]);
    return { ok: true, value };
  } catch (err) {
    return { ok: false, error: toApiError(err) };
  }
}
