/** Acting on messages: reply, react, edit, delete [--everyone]. Each prints the message as it is now. */
import type { ParleyService } from '../../core/service.js';
import { errorCode } from '../../core/messenger/errors.js';
import { EXIT, need, type Args } from '../args.js';
import { formatMessage, jsonLine, out } from '../output.js';
import type { CliCommand } from './types.js';
import type { MessageView } from '../../contract/api.js';

/** Waits for the relay (best effort: offline, the action stays queued in the outbox), runs `act`, flushes. */
async function online<T>(svc: ParleyService, a: Args, act: () => Promise<T>): Promise<T> {
  try {
    await svc.waitOnline(a.timeoutMs);
  } catch (err) {
    if (errorCode(err) !== 'OFFLINE') throw err;
    process.stderr.write('the relay is not reachable: queued, it will be sent on the next run\n');
  }
  const r = await act();
  await svc.flushOutbox().catch(() => undefined);
  return r;
}

function show(a: Args, m: MessageView): number {
  if (a.json) jsonLine(m);
  else out(formatMessage(m));
  return EXIT.ok;
}

async function replyCommand(svc: ParleyService, a: Args): Promise<number> {
  const [id, ...words] = need(a.rest, 2, '<messageId> <text>');
  const { message } = await svc.messageInfo({ id: id! });
  return show(a, await online(svc, a, () => svc.sendMessage({ conversation: message.conversation, text: words.join(' '), replyTo: id! })));
}

async function reactCommand(svc: ParleyService, a: Args): Promise<number> {
  const [id, emoji] = need(a.rest, 1, '<messageId> [<emoji>]  (no emoji: remove your reaction)');
  return show(a, await online(svc, a, () => svc.reactToMessage({ id: id!, emoji: emoji ?? null })));
}

async function editCommand(svc: ParleyService, a: Args): Promise<number> {
  const [id, ...words] = need(a.rest, 2, '<messageId> <text>');
  return show(a, await online(svc, a, () => svc.editMessage({ id: id!, text: words.join(' ') })));
}

async function deleteCommand(svc: ParleyService, a: Args): Promise<number> {
  const [id] = need(a.rest, 1, '<messageId> [--everyone]');
  const everyone = a.flags.has('everyone');
  await online(svc, a, () => svc.deleteMessage({ id: id!, everyone }));
  out(everyone ? `deleted for everyone ${id!}` : `deleted for me ${id!}`);
  return EXIT.ok;
}

export const ACTIONS_COMMANDS: Record<string, CliCommand> = {
  'reply': { connect: true, run: replyCommand },
  'react': { connect: true, run: reactCommand },
  'edit': { connect: true, run: editCommand },
  'delete': { connect: true, run: deleteCommand },
};
