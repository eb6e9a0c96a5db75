/**
 * Group state rules (PROTOCOL.md "Groups"), pure and synchronous so every client computes the same state from the
 * same changes, whatever order they arrived in:
 *  - who may change what: admins add, remove and make admins; any member renames unless adminOnlyRename; only admins
 *    change that setting; anyone leaves (themselves);
 *  - resolution: the state is a function of the base snapshot and the SET of valid changes received: from the base
 *    head, follow the child chain that reaches the highest version; between chains of equal length, the child with
 *    the lower change hash (SHA-256 of its signing input) wins. Changes off the winning chain are never applied.
 */
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { fromB64u, signingInput, type PublicIdentity } from '../../../relay/protocol/index.js';
import {
  LABEL_CHANGE,
  LABEL_STATE,
  MAX_GROUP_MEMBERS,
  canonicalJson,
  type GroupChange,
  type GroupMember,
  type GroupState,
} from '../crypto/group-payload.js';

export type { GroupChange, GroupMember, GroupState } from '../crypto/group-payload.js';

/** A change as received: the change, its author's signature (b64url) and its hash. */
export interface SignedChange {
  change: GroupChange;
  sig: string;
  hash: string;
}

export const changeSigningInput = (c: GroupChange): Uint8Array => signingInput(LABEL_CHANGE, canonicalJson(c));
export const stateSigningInput = (s: GroupState): Uint8Array => signingInput(LABEL_STATE, canonicalJson(s));

/** The change's id for ordering and chaining: SHA-256 (hex) of its signing input. */
export function changeHash(c: GroupChange): string {
  return createHash('sha256').update(changeSigningInput(c)).digest('hex');
}

/** The head of a genesis state (version 1): SHA-256 of the group id and name under the state label. */
export function genesisHead(g: string, name: string, creator: string): string {
  return createHash('sha256').update(signingInput(LABEL_STATE, 'genesis', g, name, creator)).digest('hex');
}

/** Synchronous Ed25519 verify (the receive path writes inside a transaction). False for any malformed input. */
export function verifySig(identity: PublicIdentity, sig: string, input: Uint8Array): boolean {
  try {
    const raw = fromB64u(identity.sig);
    const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(raw)]);
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    return edVerify(null, input, key, fromB64u(sig));
  } catch {
    return false;
  }
}

const memberOf = (s: GroupState, u: string): GroupMember | undefined => s.members.find((m) => m.u === u);
export const isMember = (s: GroupState, u: string): boolean => memberOf(s, u) !== undefined;
export const isAdmin = (s: GroupState, u: string): boolean => memberOf(s, u)?.role === 'admin';

const sorted = (ms: GroupMember[]): GroupMember[] => [...ms].sort((a, b) => (a.u < b.u ? -1 : a.u > b.u ? 1 : 0));

/**
 * Applies `c` to `s`. Returns the new state, or a refusal reason (the change is then never applied). The hash is
 * the change's (the new state's head).
 */
export function applyChange(s: GroupState, c: GroupChange, hash: string): GroupState | { refused: string } {
  if (c.g !== s.g) return { refused: 'for another group' };
  if (c.prev !== s.head || c.version !== s.version + 1) return { refused: `made on version ${c.version - 1}, not on the current one (${s.version})` };
  if (!isMember(s, c.author)) return { refused: `${c.author} is not a member` };
  const admin = isAdmin(s, c.author);
  const next = (patch: Partial<GroupState>): GroupState => ({ ...s, ...patch, version: c.version, head: hash });
  switch (c.op) {
    case 'add': {
      if (!admin) return { refused: `${c.author} is not an admin (only admins add members)` };
      const fresh = c.members.filter((m) => !isMember(s, m.u));
      if (fresh.length !== c.members.length || new Set(c.members.map((m) => m.u)).size !== c.members.length) {
        return { refused: 'adds someone who is already a member' };
      }
      if (s.members.length + fresh.length > MAX_GROUP_MEMBERS) return { refused: `a group has at most ${MAX_GROUP_MEMBERS} members` };
      return next({ members: sorted([...s.members, ...fresh.map((m) => ({ u: m.u, fp: m.fp, role: 'member' as const }))]) });
    }
    case 'remove': {
      if (!admin) return { refused: `${c.author} is not an admin (only admins remove members)` };
      if (c.users.some((u) => !isMember(s, u))) return { refused: 'removes someone who is not a member' };
      if (c.users.includes(c.author)) return { refused: 'an admin leaves with a leave change, not by removing themselves' };
      return next({ members: s.members.filter((m) => !c.users.includes(m.u)) });
    }
    case 'admin': {
      if (!admin) return { refused: `${c.author} is not an admin (only admins make admins)` };
      if (c.users.some((u) => !isMember(s, u))) return { refused: 'names someone who is not a member' };
      return next({ members: s.members.map((m) => (c.users.includes(m.u) ? { ...m, role: 'admin' as const } : m)) });
    }
    case 'leave': {
      let members = s.members.filter((m) => m.u !== c.author);
      if (members.length === 0) return { refused: 'the last member cannot leave (delete the group instead)' };
      // A group never ends up without an admin: the first remaining member (by username) becomes one.
      if (!members.some((m) => m.role === 'admin')) members = members.map((m, i) => (i === 0 ? { ...m, role: 'admin' as const } : m));
      return next({ members });
    }
    case 'rename':
      if (s.adminOnlyRename && !admin) return { refused: `${c.author} is not an admin (this group lets only admins rename it)` };
      return next({ name: c.name });
    case 'settings':
      if (!admin) return { refused: `${c.author} is not an admin (only admins change settings)` };
      return next({ adminOnlyRename: c.adminOnlyRename });
  }
}

/**
 * The state from `base` and every change received (any order, duplicates allowed): follow the longest valid chain;
 * on a tie the lower hash wins. Returns the state and the changes applied, in order.
 */
export function resolve(base: GroupState, changes: Iterable<SignedChange>): { state: GroupState; applied: SignedChange[] } {
  const children = new Map<string, SignedChange[]>();
  for (const c of changes) {
    const list = children.get(c.change.prev) ?? [];
    if (!list.some((x) => x.hash === c.hash)) list.push(c);
    children.set(c.change.prev, list);
  }
  // Depth of the longest valid chain starting with `c` on state `s` (a tree: each node is reached from one state).
  const depthMemo = new Map<string, number>();
  const depth = (s: GroupState, c: SignedChange): number => {
    const known = depthMemo.get(c.hash);
    if (known !== undefined) return known;
    const r = applyChange(s, c.change, c.hash);
    let d = 0;
    if (!('refused' in r)) d = 1 + Math.max(0, ...(children.get(c.hash) ?? []).map((k) => depth(r, k)));
    depthMemo.set(c.hash, d);
    return d;
  };
  let state = base;
  const applied: SignedChange[] = [];
  for (;;) {
    let best: SignedChange | null = null;
    let bestDepth = 0;
    for (const c of children.get(state.head) ?? []) {
      const d = depth(state, c);
      if (d > bestDepth || (d === bestDepth && d > 0 && best && c.hash < best.hash)) {
        best = c;
        bestDepth = d;
      }
    }
    if (!best) return { state, applied };
    state = applyChange(state, best.change, best.hash) as GroupState;
    applied.push(best);
  }
}

/** Human lines for what changed between two states ("alice added carol", "bob left", renamed...). */
export function describeChange(c: GroupChange): string {
  switch (c.op) {
    case 'add':
      return `${c.author} added ${c.members.map((m) => m.u).join(', ')}`;
    case 'remove':
      return `${c.author} removed ${c.users.join(', ')}`;
    case 'admin':
      return `${c.author} made ${c.users.join(', ')} admin`;
    case 'leave':
      return `${c.author} left`;
    case 'rename':
      return `${c.author} renamed the group to “${c.name}”`;
    case 'settings':
      return `${c.author} ${c.adminOnlyRename ? 'let only admins rename the group' : 'let every member rename the group'}`;
  }
}
