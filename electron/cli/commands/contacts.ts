/** Contact commands: add, contacts, verify, accept-key / reject-key, block / unblock (a user or a group), blocked. */
import { formatSafetyNumber } from '../../../relay/protocol/index.js';
import type { ParleyService } from '../../core/service.js';
import { parseGroupRef } from '../../core/messenger/groups.js';
import { EXIT, need, type Args } from '../args.js';
import { jsonLine, out } from '../output.js';
import { confirmSafetyNumber } from '../confirm.js';
import { askLine } from '../prompt.js';
import type { CliCommand } from './types.js';

async function addCommand(svc: ParleyService, a: Args): Promise<number> {
  const [username] = need(a.rest, 1, '<username>');
  await svc.waitOnline(a.timeoutMs);
  const c = await svc.addContact({ username: username! });
  out(`Added ${c.username} (fingerprint ${c.fingerprint.match(/.{4}/g)!.join(' ')})`);
  return EXIT.ok;
}

async function contactsCommand(svc: ParleyService, a: Args): Promise<number> {
  const list = await svc.listContacts();
  if (a.json) {
    for (const c of list) jsonLine(c);
    return EXIT.ok;
  }
  if (list.length === 0) out('No contacts yet. Add one with: add <username>');
  for (const c of list) {
    const flags = [
      c.verified ? 'verified' : null,
      c.blocked ? 'blocked' : null,
      c.request ? 'message request' : null,
      c.keyChangePending ? 'KEY CHANGED: accept-key or reject-key' : null,
    ].filter(Boolean);
    out(`${c.username}  ${c.fingerprint.slice(0, 16)}…${flags.length ? `  (${flags.join(', ')})` : ''}`);
  }
  return EXIT.ok;
}

async function verifyCommand(svc: ParleyService, a: Args): Promise<number> {
  const [username] = need(a.rest, 1, '<username>');
  await svc.waitOnline(Math.min(a.timeoutMs, 5000)).catch(() => undefined);
  await svc.checkContactKey({ username: username! }).catch(() => undefined);
  const d = await svc.getContact({ username: username! });
  out(`Safety number with ${username}:`);
  out(formatSafetyNumber(d.safetyNumber));
  if (d.keyChangePending) {
    out(`${username}'s key changed (new safety number: ${formatSafetyNumber(d.pendingSafetyNumber ?? '')}).`);
    out(`Compare it with ${username}, then run accept-key ${username} (or reject-key ${username}).`);
    return EXIT.error;
  }
  // Printing the number proves nothing: only digits the user compared and typed back mark the contact verified.
  let typed = a.confirm;
  if (typed === null && process.stdin.isTTY) {
    typed = await askLine(`Compare these digits with ${username} in person or over a trusted channel, then type them here (empty: cancel): `);
  }
  if (typed === null || typed.trim() === '') {
    process.stderr.write(
      `parley: ${username} is NOT marked verified. Compare the digits above with ${username}, then run ` +
        `verify ${username} --confirm "<the 60 digits>"\n`,
    );
    return EXIT.error;
  }
  const check = confirmSafetyNumber(typed, d.safetyNumber);
  if (!check.ok) throw Object.assign(new Error(`${username} is NOT marked verified: ${check.reason}`), { code: 'MISMATCH' });
  await svc.setVerified({ username: username!, verified: true });
  out(`Marked ${username} as verified: the digits you confirmed match.`);
  return EXIT.ok;
}

async function keyDecisionCommand(svc: ParleyService, a: Args): Promise<number> {
  const [username] = need(a.rest, 1, '<username>');
  // The key the user reviewed: given as the second argument, else the pending key `verify` showed.
  const reviewed = a.rest[1] ?? (await svc.getContact({ username: username! })).keyChanges.filter((k) => k.resolution === 'pending').at(-1)?.newFingerprint ?? '';
  const c =
    a.command === 'accept-key'
      ? await svc.acceptKeyChange({ username: username!, fingerprint: reviewed })
      : await svc.rejectKeyChange({ username: username! });
  await svc.idle();
  await svc.waitOnline(Math.min(a.timeoutMs, 5000)).then(() => svc.flushOutbox(), () => undefined);
  out(`${a.command === 'accept-key' ? 'Accepted' : 'Rejected'} the new key of ${c.username}`);
  return EXIT.ok;
}

async function blockCommand(svc: ParleyService, a: Args): Promise<number> {
  const [username] = need(a.rest, 1, '<username>');
  await svc.setBlocked({ username: username!, blocked: true });
  out(`Blocked ${username}`);
  return EXIT.ok;
}

/** `unblock <username|#groupId>`: they come back as a message request; what they sent while blocked is gone. */
async function unblockCommand(svc: ParleyService, a: Args): Promise<number> {
  const [ref] = need(a.rest, 1, '<username|#groupId>');
  await svc.unblock(ref!.startsWith('#') ? { group: parseGroupRef(ref!) } : { username: ref! });
  out(`Unblocked ${ref}: their next messages arrive as a message request`);
  return EXIT.ok;
}

async function blockedCommand(svc: ParleyService, a: Args): Promise<number> {
  const list = await svc.listBlocked();
  if (a.json) {
    for (const u of list.users) jsonLine({ kind: 'user', ...u });
    for (const g of list.groups) jsonLine({ kind: 'group', ...g });
    return EXIT.ok;
  }
  if (list.users.length === 0 && list.groups.length === 0) out('Nobody is blocked.');
  for (const u of list.users) out(`${u.username}${u.displayName ? ` (${u.displayName})` : ''}`);
  for (const g of list.groups) out(`#${g.id} “${g.name}”${g.addedBy ? ` (added by ${g.addedBy})` : ''}`);
  return EXIT.ok;
}

export const CONTACTS_COMMANDS: Record<string, CliCommand> = {
  'add': { connect: true, run: addCommand },
  'contacts': { connect: false, run: contactsCommand },
  'verify': { connect: true, run: verifyCommand },
  'accept-key': { connect: true, run: keyDecisionCommand },
  'reject-key': { connect: false, run: keyDecisionCommand },
  'block': { connect: false, run: blockCommand },
  'unblock': { connect: false, run: unblockCommand },
  'blocked': { connect: false, run: blockedCommand },
};
