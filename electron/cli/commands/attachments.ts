/**
 * File commands: send-file and save-attachment, on the same core as the app (attachments/manager.ts). Files are
 * encrypted and uploaded in the background of the core; these commands wait for the outcome and exit like `send`:
 * 0 sent / saved, 1 error, 3 queued (the relay was not reachable, or the upload stopped moving: it continues the
 * next time this profile connects, e.g. `listen`, `rpc` or the app). `--progress` prints transfer progress on stderr.
 */
import type { TransferProgress as AttachmentProgress } from '../../core/attachments/manager.js';
import { errorCode } from '../../core/messenger/errors.js';
import type { ParleyService } from '../../core/service.js';
import { EXIT, need, UsageError, type Args } from '../args.js';
import { out } from '../output.js';
import { refConversation } from './groups.js';
import type { CliCommand } from './types.js';

/** Waits for the relay; false when it cannot be reached in time (the file is then queued). */
async function reachable(svc: ParleyService, timeoutMs: number): Promise<boolean> {
  try {
    await svc.waitOnline(timeoutMs);
    return true;
  } catch (err) {
    if (errorCode(err) !== 'OFFLINE') throw err;
    return false;
  }
}

/** One line per transfer step on stderr (stdout keeps only the result line). Ciphertext bytes, never contents. */
function progressLine(p: AttachmentProgress): void {
  process.stderr.write(`progress ${p.messageId} ${p.index} ${p.direction} ${p.done}/${p.total}\n`);
}

async function sendFileCommand(svc: ParleyService, a: Args): Promise<number> {
  const [ref, file, ...extra] = need(a.rest, 2, '<username|#groupId> <path>');
  if (extra.length > 0) throw new UsageError('send-file takes one file (quote a path with spaces; --caption <text> for a caption)');
  const conversation = refConversation(ref!);
  const online = await reachable(svc, a.timeoutMs);

  // Events are kept from the start: an upload can settle before sendFiles' caller sees the message id.
  let id: string | null = null;
  const states = new Map<string, { state: string; error: string | null }>();
  let wake: () => void = () => undefined;
  let lastMove = Date.now();
  svc.on('message-state', (s) => {
    if (s.state !== 'sending') states.set(s.id, { state: s.state, error: s.error });
    wake();
  });
  const unsubscribe = await svc.onAttachmentProgress((p) => {
    if (id !== null && p.messageId !== id) return;
    lastMove = Date.now();
    if (a.flags.has('progress')) progressLine(p);
  });
  try {
    const m = await svc.sendFiles({ conversation, paths: [file!], ...(a.options.caption !== undefined ? { caption: a.options.caption } : {}) });
    id = m.id;
    lastMove = Date.now();
    // Settled (sent, delivered, failed), or no progress for --timeout: queued, the upload resumes on the next run.
    const result = online
      ? await new Promise<{ state: string; error: string | null } | null>((resolve) => {
          const check = (): void => {
            const s = states.get(m.id);
            if (s) return finish(s);
            if (Date.now() - lastMove >= a.timeoutMs) return finish(null);
          };
          const timer = setInterval(check, Math.min(1000, a.timeoutMs));
          const finish = (s: { state: string; error: string | null } | null): void => {
            clearInterval(timer);
            resolve(s);
          };
          wake = check;
          check();
        })
      : null;
    if (result?.state === 'failed') {
      throw Object.assign(new Error(`message ${m.id} failed: ${result.error ?? 'unknown reason'}`), { code: 'SEND_FAILED' });
    }
    if (result) {
      out(`sent ${m.id}`);
      return EXIT.ok;
    }
    const conn = (await svc.getState()).connection;
    const why = !online
      ? `the relay is not reachable (${conn.status === 'offline' ? conn.reason : conn.status})`
      : `the upload made no progress for ${Math.round(a.timeoutMs / 1000)} s`;
    process.stderr.write(`queued ${m.id}: ${why}; the upload continues the next time this profile connects\n`);
    out(`queued ${m.id}`);
    return EXIT.queued;
  } finally {
    unsubscribe();
  }
}

async function saveAttachmentCommand(svc: ParleyService, a: Args): Promise<number> {
  const [messageId, indexText, dest, ...extra] = need(a.rest, 3, '<messageId> <index> <path>');
  if (extra.length > 0) throw new UsageError('save-attachment takes a message id, a file index and one path');
  const index = Number(indexText);
  if (!/^\d+$/.test(indexText!) || !Number.isSafeInteger(index)) throw new UsageError('<index> is the file number shown by listen/history (0, 1, …)');
  const id = messageId!.startsWith('#') ? messageId!.slice(1) : messageId!;
  // A file cached already needs no relay; otherwise saveAttachment fails with OFFLINE, clearly.
  await reachable(svc, a.timeoutMs);
  const unsubscribe = a.flags.has('progress') ? await svc.onAttachmentProgress((p) => p.messageId === id && progressLine(p)) : () => undefined;
  try {
    await svc.saveAttachment({ messageId: id, index, path: dest! });
  } finally {
    unsubscribe();
  }
  out(`saved ${dest}`);
  return EXIT.ok;
}

export const ATTACHMENTS_COMMANDS: Record<string, CliCommand> = {
  'send-file': { connect: true, run: sendFileCommand },
  'save-attachment': { connect: true, run: saveAttachmentCommand },
};
