/**
 * The group part of the renderer ↔ main contract (merged into ParleyApi, ParleyEvents, METHODS and EVENTS by
 * contract/api.ts). A group is named by its id: 32 lowercase hex characters (its conversation is `g:<id>`).
 * Types only plus the frozen name lists; no imports, so api.ts can import this file without a cycle.
 */

export type GroupRole = 'admin' | 'member';

export interface GroupMemberView {
  username: string;
  role: GroupRole;
  fingerprint: string;
}

/** A line of the group's timeline: a change applied ("alice added carol") or one refused (with its reason). */
export interface GroupEventView {
  at: number;
  kind: 'change' | 'refused';
  /** Written by the core in English from a fixed set of forms (describeChange); the renderer translates them. */
  text: string;
}

export interface GroupView {
  /** 32 lowercase hex characters. */
  id: string;
  conversation: `g:${string}`;
  name: string;
  /** Incremented by every applied change. */
  version: number;
  /** Only admins may rename the group. */
  adminOnlyRename: boolean;
  /** We are a member (false after we left or were removed: the history stays, sending does not). */
  active: boolean;
  /** We were added by someone who is not a contact: a message request (accept, or block the one who added us). */
  request: boolean;
  /** Sorted by username. */
  members: GroupMemberView[];
  /** Our role; null when we are no longer a member. */
  myRole: GroupRole | null;
  /** Members whose new key waits for our decision: what we send them is held back (for them only) until then. */
  held: string[];
  /** The newest 200 timeline lines, oldest first. */
  events: GroupEventView[];
  unread: number;
  total: number;
}

/** What a conversation list row shows for a group. */
export interface GroupBrief {
  id: string;
  name: string;
  memberCount: number;
  active: boolean;
  request: boolean;
}

/** 'held': the member's key change waits for our decision; their envelope leaves only after we accept it. */
export type GroupDeliveryState = 'sending' | 'sent' | 'delivered' | 'failed' | 'held';

/**
 * Delivery of one of our group messages: "delivered to 3 of 5", "read by 2 of 5", and per member. `read` and each
 * member's `read` come from their read receipts; both stay 0/false while our own read receipts are off.
 */
export interface GroupDeliveries {
  delivered: number;
  total: number;
  read?: number;
  members: Array<{ username: string; state: GroupDeliveryState; read?: boolean }>;
}

/** Group methods of ParleyApi. `group`: the group id (32 hex). Errors: INVALID, NOT_FOUND, FORBIDDEN, BLOCKED. */
export interface GroupApi {
  /** A new group with us as its first admin and `members` (usernames of contacts; at most 255 besides us). */
  createGroup(req: { name: string; members: string[] }): Promise<GroupView>;
  /** Admins only. New members receive the group's current state. */
  addGroupMembers(req: { group: string; members: string[] }): Promise<GroupView>;
  /** Admins only. The removed get nothing sent after this (they keep what they already received). */
  removeGroupMembers(req: { group: string; members: string[] }): Promise<GroupView>;
  /** Admins only: makes a member an admin. */
  setGroupAdmin(req: { group: string; username: string }): Promise<GroupView>;
  /** Any member, unless the group lets only admins rename it. Names are 1 to 64 characters. */
  renameGroup(req: { group: string; name: string }): Promise<GroupView>;
  leaveGroup(req: { group: string }): Promise<GroupView>;
  groupInfo(req: { group: string }): Promise<GroupView>;
  /** Accepts a group someone who is not a contact added us to. */
  acceptGroupRequest(req: { group: string }): Promise<GroupView>;
  /** Refuses a group request: the group is dropped from the list and whoever added us is blocked (contract/blocking.ts). */
  blockGroupRequest(req: { group: string }): Promise<GroupView>;
  /** `id`: one of our group messages. */
  groupDeliveries(req: { id: string }): Promise<GroupDeliveries>;
}

/** Events the main process pushes for groups. */
export interface GroupEvents {
  /** The group's state or timeline changed: a change applied, we were added or removed, a refusal recorded. */
  'group-changed': { group: string; conversation: `g:${string}` };
  /** Delivery of one of our group messages changed for some member. */
  'group-delivery': { group: string; conversation: `g:${string}`; id: string };
}

export const GROUP_METHODS = Object.freeze([
  'createGroup', 'addGroupMembers', 'removeGroupMembers', 'setGroupAdmin', 'renameGroup', 'leaveGroup', 'groupInfo',
  'acceptGroupRequest', 'groupDeliveries', 'blockGroupRequest',
] as const satisfies readonly (keyof GroupApi)[]);

export const GROUP_EVENTS = Object.freeze(['group-changed', 'group-delivery'] as const satisfies readonly (keyof GroupEvents)[]);
