/**
 * The group methods of ParleyApi (contract/groups.ts) over the messenger's Groups (messenger/groups.ts): argument
 * checks with typed errors (the CLI and tests call the service without the IPC schemas), who-may-do-what checked
 * up front so the user gets NOT_ADMIN / NOT_MEMBER rather than a generic refusal, and the views the renderer shows.
 * The group rules themselves stay in group-rules.ts: these checks only pick the error, the core still decides.
 */
import { usernameSchema } from '../../relay/protocol/index.js';
import type { ConversationSummary, GroupDeliveries, GroupView } from '../contract/api.js';
import { MAX_GROUP_MEMBERS, groupIdSchema, nameSchema } from './crypto/group-payload.js';
import { CoreError } from './messenger/errors.js';
import type { GroupInfo, Groups } from './messenger/groups.js';
import { listGroupSummaries } from './store/group-summaries.js';
import type { HistoryStore } from './store/types.js';

const messageIdRe = /^[A-Za-z0-9_-]{1,64}$/;

export function groupIdOf(v: unknown): string {
  if (typeof v !== 'string') throw new CoreError('INVALID', 'Not a group id (expected 32 hex characters)');
  const id = v.startsWith('#') ? v.slice(1) : v.startsWith('g:') ? v.slice(2) : v;
  if (!groupIdSchema.safeParse(id).success) throw new CoreError('INVALID', 'Not a group id (expected 32 hex characters)');
  return id;
}

export function groupNameOf(v: unknown): string {
  const r = nameSchema.safeParse(typeof v === 'string' ? v.trim() : v);
  if (!r.success) throw new CoreError('INVALID', 'A group name is 1 to 64 printable characters');
  return r.data;
}

function usernamesOf(v: unknown, min: number): string[] {
  if (!Array.isArray(v)) throw new CoreError('INVALID', 'members: a list of usernames');
  const out = [...new Set(v)];
  if (out.length < min) throw new CoreError('INVALID', 'Choose at least one member');
  if (out.length > MAX_GROUP_MEMBERS) throw new CoreError('INVALID', `A group has at most ${MAX_GROUP_MEMBERS} members`);
  for (const u of out) {
    if (!usernameSchema.safeParse(u).success) throw new CoreError('INVALID', `Invalid username: ${String(u).slice(0, 40)}`);
  }
  return out as string[];
}

function view(i: GroupInfo, me: string): GroupView {
  const mine = i.members.find((m) => m.username === me);
  return {
    id: i.id,
    conversation: `g:${i.id}`,
    name: i.name,
    version: i.version,
    adminOnlyRename: i.adminOnlyRename,
    active: i.active,
    request: i.request,
    members: i.members,
    myRole: i.active && mine ? mine.role : null,
    held: i.held,
    events: i.events,
    unread: i.unread,
    total: i.total,
  };
}

/** The group calls of the service, bound to one unlocked profile's Groups. */
export class GroupApiImpl {
  constructor(
    private readonly groups: Groups,
    private readonly me: () => string,
  ) {}

  private current(id: string): GroupInfo {
    const i = this.groups.info(id); // NOT_FOUND for an unknown group
    if (!i.active) throw new CoreError('NOT_MEMBER', `You are no longer a member of “${i.name}”`);
    return i;
  }

  private requireAdmin(id: string): GroupInfo {
    const i = this.current(id);
    if (i.members.find((m) => m.username === this.me())?.role !== 'admin') {
      throw new CoreError('NOT_ADMIN', `Only admins of “${i.name}” can change its members`);
    }
    return i;
  }

  async create(req: { name: string; members: string[] }): Promise<GroupView> {
    const name = groupNameOf(req?.name);
    const members = usernamesOf(req?.members, 1).filter((u) => u !== this.me());
    if (members.length + 1 > MAX_GROUP_MEMBERS) throw new CoreError('INVALID', `A group has at most ${MAX_GROUP_MEMBERS} members`);
    return view(await this.groups.create(name, members), this.me());
  }

  async add(req: { group: string; members: string[] }): Promise<GroupView> {
    const id = groupIdOf(req?.group);
    const members = usernamesOf(req?.members, 1);
    const i = this.requireAdmin(id);
    const fresh = members.filter((u) => !i.members.some((m) => m.username === u));
    if (fresh.length === 0) throw new CoreError('INVALID', 'They are already members');
    if (i.members.length + fresh.length > MAX_GROUP_MEMBERS) throw new CoreError('INVALID', `A group has at most ${MAX_GROUP_MEMBERS} members`);
    return view(await this.groups.add(id, fresh), this.me());
  }

  async remove(req: { group: string; members: string[] }): Promise<GroupView> {
    const id = groupIdOf(req?.group);
    const members = usernamesOf(req?.members, 1);
    const i = this.requireAdmin(id);
    const missing = members.find((u) => !i.members.some((m) => m.username === u));
    if (missing) throw new CoreError('NOT_FOUND', `${missing} is not a member`);
    if (members.includes(this.me())) throw new CoreError('INVALID', 'To leave the group, use Leave');
    return view(await this.groups.remove(id, members), this.me());
  }

  async setAdmin(req: { group: string; username: string }): Promise<GroupView> {
    const id = groupIdOf(req?.group);
    const [u] = usernamesOf([req?.username], 1);
    const i = this.requireAdmin(id);
    const m = i.members.find((x) => x.username === u);
    if (!m) throw new CoreError('NOT_FOUND', `${u} is not a member`);
    if (m.role === 'admin') return view(i, this.me());
    return view(await this.groups.makeAdmin(id, [u!]), this.me());
  }

  async rename(req: { group: string; name: string }): Promise<GroupView> {
    const id = groupIdOf(req?.group);
    const name = groupNameOf(req?.name);
    const i = this.current(id);
    if (i.adminOnlyRename && i.members.find((m) => m.username === this.me())?.role !== 'admin') {
      throw new CoreError('NOT_ADMIN', `Only admins can rename “${i.name}”`);
    }
    if (name === i.name) return view(i, this.me());
    return view(await this.groups.rename(id, name), this.me());
  }

  async leave(req: { group: string }): Promise<GroupView> {
    const id = groupIdOf(req?.group);
    const i = this.current(id);
    if (i.members.length === 1) throw new CoreError('INVALID', 'You are the last member; delete the conversation instead');
    return view(await this.groups.leave(id), this.me());
  }

  info(req: { group: string }): GroupView {
    return view(this.groups.info(groupIdOf(req?.group)), this.me());
  }

  acceptRequest(req: { group: string }): GroupView {
    return view(this.groups.acceptRequest(groupIdOf(req?.group)), this.me());
  }

  blockRequest(req: { group: string }): GroupView {
    return view(this.groups.blockRequest(groupIdOf(req?.group)), this.me());
  }

  deliveries(req: { id: string }): GroupDeliveries {
    if (typeof req?.id !== 'string' || !messageIdRe.test(req.id)) throw new CoreError('INVALID', 'message id: base64url');
    const d = this.groups.deliveries(req.id);
    if (d.total === 0) throw new CoreError('NOT_FOUND', 'No group message of ours with this id');
    return d as GroupDeliveries;
  }
}

/**
 * The conversation list with the groups merged in, most recent activity first: the direct list keeps its order
 * (the store sorts it by last message), each group goes where its last message's position puts it, and a group
 * without messages yet (just created, or we were just added) comes first so it can be found.
 */
export function withGroups(store: HistoryStore, direct: ConversationSummary[], filter?: string): ConversationSummary[] {
  const { groups, lastSeq } = store.query('listGroupSummaries', (st) => listGroupSummaries(st, filter));
  if (groups.length === 0) return direct;
  const seqOf = (c: ConversationSummary): number => lastSeq.get(c.id) ?? -1;
  const fresh = groups.filter((g) => g.lastMessage === null);
  const rest = groups.filter((g) => g.lastMessage !== null);
  const out: ConversationSummary[] = [...fresh];
  let i = 0;
  for (const d of direct) {
    while (i < rest.length && seqOf(rest[i]!) > seqOf(d)) out.push(rest[i++]!);
    out.push(d);
  }
  while (i < rest.length) out.push(rest[i++]!);
  return out;
}
