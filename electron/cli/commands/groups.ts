/**
 * Group commands: group-create, group-add, group-remove, group-leave, group-admin, group-accept, group-block,
 * group-info, groups. A group is
 * named `#<groupId>` (32 hex characters); `send`, `history` and `listen` accept it too (refConversation).
 */
import type { ConversationId } from '../../contract/api.js';
import type { GroupInfo } from '../../core/messenger/groups.js';
import { parseGroupRef } from '../../core/messenger/groups.js';
import type { ParleyService } from '../../core/service.js';
import { EXIT, need, type Args } from '../args.js';
import { jsonLine, out } from '../output.js';
import type { CliCommand } from './types.js';

/** A conversation ref: `#<groupId>` → the group, anything else a username (direct). */
export function refConversation(ref: string): ConversationId {
  return ref.startsWith('#') ? `g:${parseGroupRef(ref)}` : `d:${ref}`;
}

function printInfo(i: GroupInfo, a: Args): void {
  if (a.json) {
    jsonLine(i);
    return;
  }
  out(`group #${i.id} “${i.name}” version ${i.version}${i.active ? '' : ' (you are not a member)'}${i.request ? ' (request)' : ''}${i.blocked ? ' (blocked)' : ''}`);
  for (const m of i.members) out(`  ${m.role === 'admin' ? 'admin ' : 'member'} ${m.username}${i.held.includes(m.username) ? ' (held: key change pending)' : ''}`);
}

/** Runs a change, waits until it has left the outbox (or the timeout), prints the group. */
async function change(svc: ParleyService, a: Args, run: (g: Awaited<ReturnType<ParleyService['groups']>>) => Promise<GroupInfo>): Promise<number> {
  await svc.waitOnline(a.timeoutMs).catch(() => undefined);
  const groups = await svc.groups();
  const info = await run(groups);
  await Promise.race([groups.flush(), new Promise<void>((r) => setTimeout(r, a.timeoutMs).unref())]);
  printInfo(info, a);
  return EXIT.ok;
}

async function createCommand(svc: ParleyService, a: Args): Promise<number> {
  const [name, ...users] = need(a.rest, 2, '<name> <username>...');
  await svc.waitOnline(a.timeoutMs).catch(() => undefined);
  const groups = await svc.groups();
  const info = await groups.create(name!, users);
  await Promise.race([groups.flush(), new Promise<void>((r) => setTimeout(r, a.timeoutMs).unref())]);
  if (a.json) jsonLine(info);
  else out(`group #${info.id}`);
  return EXIT.ok;
}

export const GROUPS_COMMANDS: Record<string, CliCommand> = {
  'group-create': { connect: true, run: createCommand },
  'group-add': {
    connect: true,
    run: (svc, a) => {
      const [ref, ...users] = need(a.rest, 2, '<#groupId> <username>...');
      return change(svc, a, (g) => g.add(parseGroupRef(ref!), users));
    },
  },
  'group-remove': {
    connect: true,
    run: (svc, a) => {
      const [ref, ...users] = need(a.rest, 2, '<#groupId> <username>...');
      return change(svc, a, (g) => g.remove(parseGroupRef(ref!), users));
    },
  },
  'group-admin': {
    connect: true,
    run: (svc, a) => {
      const [ref, ...users] = need(a.rest, 2, '<#groupId> <username>');
      return change(svc, a, (g) => g.makeAdmin(parseGroupRef(ref!), users));
    },
  },
  'group-rename': {
    connect: true,
    run: (svc, a) => {
      const [ref, ...words] = need(a.rest, 2, '<#groupId> <name>');
      return change(svc, a, (g) => g.rename(parseGroupRef(ref!), words.join(' ')));
    },
  },
  'group-leave': {
    connect: true,
    run: (svc, a) => {
      const [ref] = need(a.rest, 1, '<#groupId>');
      return change(svc, a, (g) => g.leave(parseGroupRef(ref!)));
    },
  },
  'group-accept': {
    connect: false,
    run: async (svc, a) => {
      const [ref] = need(a.rest, 1, '<#groupId>');
      printInfo((await svc.groups()).acceptRequest(parseGroupRef(ref!)), a);
      return EXIT.ok;
    },
  },
  'group-block': {
    connect: false,
    run: async (svc, a) => {
      const [ref] = need(a.rest, 1, '<#groupId>');
      printInfo((await svc.groups()).blockRequest(parseGroupRef(ref!)), a);
      return EXIT.ok;
    },
  },
  'group-info': {
    connect: false,
    run: async (svc, a) => {
      const [ref] = need(a.rest, 1, '<#groupId>');
      printInfo((await svc.groups()).info(parseGroupRef(ref!)), a);
      return EXIT.ok;
    },
  },
  'groups': {
    connect: false,
    run: async (svc, a) => {
      const list = (await svc.groups()).list();
      for (const i of list) {
        if (a.json) jsonLine(i);
        else out(`#${i.id} “${i.name}” ${i.members.length} members${i.unread ? `, ${i.unread} unread` : ''}${i.active ? '' : ' (left)'}`);
      }
      if (!a.json && list.length === 0) out('No groups yet.');
      return EXIT.ok;
    },
  },
};
