/** Messaging commands: send, listen, history, rpc. */
import type { ParleyService } from '../../core/service.js';
import { EXIT, need, type Args } from '../args.js';
import { formatMessage, jsonLine, listedAttachments, out } from '../output.js';
import { errorCode } from '../../core/messenger/errors.js';
import { serveRpc } from '../rpc.js';
import { refConversation } from './groups.js';
import type { CliCommand } from './types.js';

async function sendCommand(svc: ParleyService, a: Args): Promise<number> {
  const [username, ...words] = need(a.rest, 2, '<username|#groupId> <text>');
  const text = words.join(' ');
  const conversation = refConversation(username!);
  let online = true;
  try {
    await svc.waitOnline(a.timeoutMs);
  } catch (err) {
    if (errorCode(err) !== 'OFFLINE') throw err;
    online = false;
  }
  let pendingId = '';
  const settled = new Promise<{ state: string; error: string | null }>((resolve) => {
    svc.on('message-state', (s) => {
      if (s.id === pendingId && s.state !== 'sending') resolve(s);
    });
  });
  const m = await svc.sendMessage({ conversation, text });
  pendingId = m.id;
  if (online) {
    const fresh = await svc.loadMessages({ conversation, limit: 50 });
    const now = fresh.messages.find((x) => x.id === m.id);
    const result =
      now && now.state !== 'sending'
        ? { state: now.state, error: now.error }
        : await Promise.race([settled, new Promise<null>((r) => setTimeout(() => r(null), a.timeoutMs))]);
    if (result && result.state === 'failed') {
      throw Object.assign(new Error(`message ${m.id} failed: ${result.error ?? 'unknown reason'}`), { code: 'SEND_FAILED' });
    }
    if (result) {
      out(`${result.state} ${m.id}`);
      return EXIT.ok;
    }
  }
  const c = (await svc.listContacts()).find((x) => x.username === username);
  const conn = (await svc.getState()).connection;
  const why = c?.keyChangePending
    ? `${username}'s key changed: run verify/accept-key ${username} or reject-key ${username}`
    : `the relay is not reachable (${conn.status === 'offline' ? conn.reason : conn.status})`;
  process.stderr.write(`queued ${m.id}: ${why}; it will be sent on the next run\n`);
  out(`queued ${m.id}`);
  return EXIT.queued;
}

async function listenCommand(svc: ParleyService, _a: Args): Promise<number> {
  // A message's files as {index, name, size, type} (the index is what save-attachment takes).
  svc.on('message-received', (m) => jsonLine({ event: 'message', ...m, ...(m.attachments ? { attachments: listedAttachments(m) } : {}) }));
  svc.on('message-state', (s) => jsonLine({ event: 'state', ...s }));
  svc.on('contact-key-changed', (k) => jsonLine({ event: 'key-changed', ...k }));
  svc.on('contacts-changed', (c) => jsonLine({ event: 'contacts-changed', ...c }));
  let fatal: string | null = null;
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    svc.on('connection-changed', (s) => {
      jsonLine({ event: 'connection', ...s });
      if (s.status === 'offline' && /another device|different identity|refused/i.test(s.reason)) {
        fatal = s.reason;
        resolve();
      }
    });
  });
  await svc.start();
  await stop;
  await svc.idle().catch(() => undefined);
  if (fatal) {
    process.stderr.write(`parley: ${fatal}\n`);
    return EXIT.error;
  }
  return EXIT.ok;
}

async function rpcCommand(svc: ParleyService, a: Args): Promise<number> {
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const backup = process.env.PARLEY_BACKUP_PASSPHRASE || process.env.PARLEY_PASSPHRASE;
  await serveRpc(svc, { input: process.stdin, output: process.stdout }, { timeoutMs: a.timeoutMs, ...(backup ? { backupPassphrase: backup } : {}) }, stop);
  await svc.idle().catch(() => undefined);
  return EXIT.ok;
}

async function historyCommand(svc: ParleyService, a: Args): Promise<number> {
  const [username] = need(a.rest, 1, '<username|#groupId>');
  const conversation = refConversation(username!);
  const page = await svc.loadMessages({ conversation, limit: a.limit ?? 50 });
  for (const m of page.messages) {
    if (a.json) jsonLine(m);
    else out(formatMessage(m));
  }
  if (!a.json && page.messages.length === 0) out(`No messages with ${username} yet.`);
  return EXIT.ok;
}

export const MESSAGES_COMMANDS: Record<string, CliCommand> = {
  'send': { connect: true, run: sendCommand },
  'listen': { connect: true, run: listenCommand },
  'rpc': { connect: true, run: rpcCommand },
  'history': { connect: false, run: historyCommand },
};
