/**
 * `rpc`: JSON-RPC 2.0 over stdin/stdout on one unlocked, connected core (signal-cli's `jsonRpc` mode is the
 * model). One JSON value per line each way. Every CLI command is a method; received messages and events are
 * notifications with the same fields as `listen`'s lines. A script pays the unlock and connect once instead of
 * once per command. Documented in electron/cli/README.md.
 *
 * Bad input never ends the process: a line that is not JSON gets a parse error (-32700), a malformed request an
 * invalid-request error (-32600), and a failing command a JSON-RPC error carrying the core's error code. Requests
 * run concurrently; responses carry the request's id and may come in any order.
 */
import { z } from 'zod';
import { formatSafetyNumber } from '../../relay/protocol/index.js';
import { errorCode, errorMessage } from '../core/messenger/errors.js';
import type { ParleyService } from '../core/service.js';
import { refConversation } from './commands/groups.js';
import { confirmSafetyNumber } from './confirm.js';
import { groupMethods } from './rpc-groups.js';

/** JSON-RPC 2.0 error codes (the spec's, plus -32000 for a command that failed in the core). */
export const RPC_ERRORS = { parse: -32700, invalidRequest: -32600, methodNotFound: -32601, invalidParams: -32602, command: -32000 } as const;

/** Longest request line accepted (bytes); longer lines are discarded with a parse error, not buffered. */
export const MAX_LINE_BYTES = 1 << 20;

type Id = string | number | null;

class RpcError extends Error {
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const username = z.string().min(1).max(64);
const noParams = z.object({}).strict();
const userParams = z.object({ username }).strict();

export interface RpcOptions {
  /** How long network methods (add, rotate-identity) wait for the relay. */
  timeoutMs: number;
  /** Passphrase for export-identity, as the CLI takes it (PARLEY_BACKUP_PASSPHRASE, else PARLEY_PASSPHRASE). */
  backupPassphrase?: string;
}

type Method = (svc: ParleyService, params: unknown, o: RpcOptions) => Promise<unknown>;

function parse<T extends z.ZodTypeAny>(schema: T, params: unknown): z.infer<T> {
  const r = schema.safeParse(params ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new RpcError(RPC_ERRORS.invalidParams, `invalid params: ${issue ? `${issue.path.join('.') || 'params'}: ${issue.message}` : 'invalid'}`);
  }
  return r.data as z.infer<T>;
}

/** The CLI's commands, by name. Results are the core's views (the same objects `--json` prints). */
const METHODS: Record<string, Method> = {
  whoami: async (svc, p) => (parse(noParams, p), svc.whoami()),
  contacts: async (svc, p) => (parse(noParams, p), svc.listContacts()),
  add: async (svc, p, o) => {
    const { username: u } = parse(userParams, p);
    await svc.waitOnline(o.timeoutMs);
    return svc.addContact({ username: u });
  },
  // Returns as soon as the message is sealed and stored (state 'sending', or 'queued' when offline); its later
  // states ('sent', 'delivered', 'failed') arrive as `state` notifications with the same id.
  send: async (svc, p) => {
    const { to, text } = parse(z.object({ to: z.string().min(1).max(70), text: z.string().min(1) }).strict(), p);
    const m = await svc.sendMessage({ conversation: refConversation(to), text });
    return { id: m.id, state: m.state };
  },
  reply: async (svc, p) => {
    const { id, text } = parse(z.object({ id: z.string().min(1).max(64), text: z.string().min(1) }).strict(), p);
    const { message } = await svc.messageInfo({ id });
    const m = await svc.sendMessage({ conversation: message.conversation, text, replyTo: id });
    return { id: m.id, state: m.state };
  },
  react: async (svc, p) => svc.reactToMessage(parse(z.object({ id: z.string().min(1).max(64), emoji: z.string().min(1).max(64).nullable() }).strict(), p)),
  edit: async (svc, p) => svc.editMessage(parse(z.object({ id: z.string().min(1).max(64), text: z.string().min(1) }).strict(), p)),
  delete: async (svc, p) => {
    const { id, everyone } = parse(z.object({ id: z.string().min(1).max(64), everyone: z.boolean().optional() }).strict(), p);
    await svc.deleteMessage({ id, everyone: everyone ?? false });
    return { id, deleted: everyone ? 'everyone' : 'me' };
  },
  history: async (svc, p) => {
    const { username: u, limit } = parse(z.object({ username: z.string().min(1).max(70), limit: z.number().int().min(1).max(500).optional() }).strict(), p);
    return (await svc.loadMessages({ conversation: refConversation(u), limit: limit ?? 50 })).messages;
  },
  search: async (svc, p) => {
    const { query, in: ref, limit } = parse(z.object({ query: z.string().min(1).max(256), in: z.string().min(1).max(70).optional(), limit: z.number().int().min(1).max(200).optional() }).strict(), p);
    return (await svc.searchMessages({ query, ...(ref ? { conversation: refConversation(ref) } : {}), ...(limit ? { limit } : {}) })).hits;
  },
  verify: async (svc, p) => {
    const { username: u, confirm } = parse(z.object({ username, confirm: z.string().max(200).optional() }).strict(), p);
    await svc.checkContactKey({ username: u }).catch(() => undefined);
    const d = await svc.getContact({ username: u });
    const safetyNumber = formatSafetyNumber(d.safetyNumber);
    if (d.keyChangePending) return { safetyNumber, verified: false, keyChangePending: true, pendingSafetyNumber: formatSafetyNumber(d.pendingSafetyNumber ?? '') };
    if (confirm === undefined) return { safetyNumber, verified: d.verified, keyChangePending: false };
    const check = confirmSafetyNumber(confirm, d.safetyNumber);
    if (!check.ok) throw Object.assign(new Error(`${u} is NOT marked verified: ${check.reason}`), { code: 'MISMATCH' });
    await svc.setVerified({ username: u, verified: true });
    return { safetyNumber, verified: true, keyChangePending: false };
  },
  'accept-key': async (svc, p) => {
    const { username: u, fingerprint } = parse(z.object({ username, fingerprint: z.string().max(128).optional() }).strict(), p);
    const reviewed = fingerprint ?? (await svc.getContact({ username: u })).keyChanges.filter((k) => k.resolution === 'pending').at(-1)?.newFingerprint ?? '';
    const c = await svc.acceptKeyChange({ username: u, fingerprint: reviewed });
    void svc.flushOutbox().catch(() => undefined); // held messages go out once online; not this call's concern
    return c;
  },
  'reject-key': async (svc, p) => svc.rejectKeyChange(parse(userParams, p)),
  block: async (svc, p) => svc.setBlocked({ ...parse(userParams, p), blocked: true }),
  unblock: async (svc, p) => svc.setBlocked({ ...parse(userParams, p), blocked: false }),
  blocked: async (svc, p) => {
    parse(noParams, p);
    return svc.listBlocked();
  },
  'export-identity': async (svc, p, o) => {
    const { file, passphrase } = parse(z.object({ file: z.string().min(1), passphrase: z.string().min(1).optional() }).strict(), p);
    const pass = passphrase ?? o.backupPassphrase;
    if (!pass) throw Object.assign(new Error('the backup needs a passphrase: pass it, or set PARLEY_BACKUP_PASSPHRASE'), { code: 'PASSPHRASE_REQUIRED' });
    await svc.exportIdentityTo(file, pass);
    return { file };
  },
  'rotate-identity': async (svc, p, o) => {
    parse(noParams, p);
    await svc.waitOnline(o.timeoutMs);
    await svc.rotateIdentity();
    return svc.whoami();
  },
  // Notifications are always on in rpc mode: `listen` only confirms it, so a `listen` script ports unchanged.
  listen: async (_svc, p) => (parse(noParams, p), { listening: true }),
  ...groupMethods(parse),
};

/** Commands that set a profile up: they need a profile without an identity, which rpc (already unlocked) is not. */
const SETUP_ONLY = new Set(['init', 'import-identity']);

function response(id: Id, body: { result: unknown } | { error: { code: number; message: string; data?: unknown } }): Record<string, unknown> {
  return { jsonrpc: '2.0', id, ...body };
}

function errorBody(e: unknown): { error: { code: number; message: string; data?: unknown } } {
  if (e instanceof RpcError) return { error: { code: e.rpcCode, message: e.message, ...(e.data ? { data: e.data } : {}) } };
  return { error: { code: RPC_ERRORS.command, message: errorMessage(e), data: { code: errorCode(e) } } };
}

/** One request object → its response (null for a notification, which gets none). Never throws. */
async function handle(svc: ParleyService, req: unknown, o: RpcOptions): Promise<Record<string, unknown> | null> {
  const obj = typeof req === 'object' && req !== null && !Array.isArray(req) ? (req as Record<string, unknown>) : null;
  const rawId = obj?.id;
  const idOk = rawId === undefined || rawId === null || typeof rawId === 'string' || (typeof rawId === 'number' && Number.isFinite(rawId));
  const id: Id = idOk && rawId !== undefined ? (rawId as Id) : null;
  if (!obj || obj.jsonrpc !== '2.0' || typeof obj.method !== 'string' || !idOk || (obj.params !== undefined && (typeof obj.params !== 'object' || obj.params === null))) {
    return response(id, { error: { code: RPC_ERRORS.invalidRequest, message: 'invalid request: expected {"jsonrpc":"2.0","method":string,"params"?:object,"id"?:string|number}' } });
  }
  const isNotification = !('id' in obj);
  let body: { result: unknown } | { error: { code: number; message: string; data?: unknown } };
  try {
    const method = Object.hasOwn(METHODS, obj.method) ? METHODS[obj.method] : undefined;
    if (!method) {
      throw SETUP_ONLY.has(obj.method)
        ? new RpcError(RPC_ERRORS.methodNotFound, `${obj.method} is not available in rpc: run it as a separate command on a new profile`)
        : new RpcError(RPC_ERRORS.methodNotFound, `method not found: ${obj.method.slice(0, 64)}`);
    }
    if (Array.isArray(obj.params)) throw new RpcError(RPC_ERRORS.invalidParams, 'invalid params: use named params (an object)');
    body = { result: (await method(svc, obj.params, o)) ?? null };
  } catch (e) {
    body = errorBody(e);
  }
  return isNotification ? null : response(id, body);
}

/** One input line → the line to write back (null: nothing to write). Never throws. */
export async function handleLine(svc: ParleyService, line: string, o: RpcOptions): Promise<string | null> {
  if (line.trim() === '') return null;
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return JSON.stringify(response(null, { error: { code: RPC_ERRORS.parse, message: 'parse error: the line is not JSON' } }));
  }
  if (Array.isArray(msg)) {
    if (msg.length === 0) return JSON.stringify(response(null, { error: { code: RPC_ERRORS.invalidRequest, message: 'invalid request: empty batch' } }));
    const out = (await Promise.all(msg.map((m) => handle(svc, m, o)))).filter((r) => r !== null);
    return out.length ? JSON.stringify(out) : null;
  }
  const r = await handle(svc, msg, o);
  return r ? JSON.stringify(r) : null;
}

/**
 * Serve JSON-RPC on `input`/`output` until `input` ends or `stop` resolves; resolves once every request read has
 * been answered. The service must be unlocked; it is started (connecting in the background) here.
 */
export async function serveRpc(
  svc: ParleyService,
  io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream },
  o: RpcOptions,
  stop: Promise<void>,
): Promise<void> {
  const write = (o2: unknown): void => void io.output.write(typeof o2 === 'string' ? o2 + '\n' : JSON.stringify(o2) + '\n');
  const notify = (method: string, params: object): void => write({ jsonrpc: '2.0', method, params });
  svc.on('message-received', (m) => notify('message', m));
  svc.on('message-state', (s) => notify('state', s));
  svc.on('contact-key-changed', (k) => notify('key-changed', k));
  svc.on('contacts-changed', (c) => notify('contacts-changed', c));
  svc.on('connection-changed', (s) => notify('connection', s));
  await svc.start();

  const inflight = new Set<Promise<void>>();
  const dispatch = (line: string): void => {
    const p = handleLine(svc, line, o).then((r) => {
      if (r !== null) write(r);
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  // Line splitting with a cap: an endless line is dropped (one parse error), never buffered without bound.
  let buf = '';
  let skipping = false;
  const ended = new Promise<void>((resolve) => {
    io.input.on('data', (chunk: Buffer | string) => {
      buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (skipping) skipping = false;
        else dispatch(line);
      }
      if (buf.length > MAX_LINE_BYTES) {
        if (!skipping) write(response(null, { error: { code: RPC_ERRORS.parse, message: `parse error: line longer than ${MAX_LINE_BYTES} bytes` } }));
        skipping = true;
        buf = '';
      }
    });
    io.input.on('end', () => {
      if (buf !== '' && !skipping) dispatch(buf);
      buf = '';
      resolve();
    });
    io.input.on('error', () => resolve());
  });
  await Promise.race([ended, stop]);
  while (inflight.size > 0) await Promise.all([...inflight]);
}
