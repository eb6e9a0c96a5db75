/**
 * The blocking part of the renderer ↔ main contract (merged into ParleyApi and METHODS by contract/api.ts): the
 * users and groups we blocked (a message request we refused, or a contact blocked by hand), and lifting a block.
 * Types only plus the frozen name list; no imports, so api.ts can import this file without a cycle.
 */

export interface BlockedUserView {
  username: string;
  /** The name they chose to show (from their encrypted messages), null if none. */
  displayName: string | null;
}

export interface BlockedGroupView {
  /** 32 lowercase hex characters. */
  id: string;
  name: string;
  /** Who added us to it (the request we blocked); null if unknown. */
  addedBy: string | null;
}

/** Sorted by username / group name. */
export interface BlockedList {
  users: BlockedUserView[];
  groups: BlockedGroupView[];
}

/**
 * Blocking methods of ParleyApi. Unblocking brings the user or group back as a message request (accept it, or block
 * it again); what they sent while blocked was acknowledged to the relay and dropped, so it never arrives.
 * Errors: INVALID (not blocked, or neither/both of username and group), NOT_FOUND.
 */
export interface BlockingApi {
  listBlocked(): Promise<BlockedList>;
  /** Exactly one of `username` (a blocked contact) or `group` (a blocked group's id). Returns the list afterwards. */
  unblock(req: { username: string } | { group: string }): Promise<BlockedList>;
}

export const BLOCKING_METHODS = Object.freeze(['listBlocked', 'unblock'] as const satisfies readonly (keyof BlockingApi)[]);
