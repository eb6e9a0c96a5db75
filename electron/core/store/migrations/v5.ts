import type { Migration } from './types.js';

export const v5: Migration = {
  version: 5,
  description: 'groups: state, received changes, system lines, per-member delivery, fan-out envelopes',
  sql: `
    -- One row per group we know. base = the signed snapshot (or genesis) the change chain starts at; state = the
    -- state resolved from base and group_changes (both canonical JSON of a GroupState). active = we are a member.
    CREATE TABLE groups (
      id          TEXT PRIMARY KEY CHECK (length(id) = 32),
      base        TEXT NOT NULL,
      state       TEXT NOT NULL,
      active      INTEGER NOT NULL DEFAULT 1,
      -- Added by someone who is not a contact: a message request until accepted.
      request     INTEGER NOT NULL DEFAULT 0,
      created_at  INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- Every valid-looking signed change received (applied or not): the state is resolved from the set.
    CREATE TABLE group_changes (
      group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
      hash     TEXT NOT NULL,
      prev     TEXT NOT NULL,
      body     TEXT NOT NULL,
      PRIMARY KEY (group_id, hash)
    ) WITHOUT ROWID;

    -- System lines of a group's timeline ("alice added carol") and refusals with their reason.
    CREATE TABLE group_events (
      seq      INTEGER PRIMARY KEY AUTOINCREMENT,
      group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
      at       INTEGER NOT NULL,
      kind     TEXT NOT NULL CHECK (kind IN ('change', 'refused')),
      text     TEXT NOT NULL
    );
    CREATE INDEX group_events_group ON group_events(group_id, seq);

    -- Delivery of our group messages per member: "delivered to 3 of 5".
    CREATE TABLE group_deliveries (
      message_id TEXT NOT NULL,
      group_id   TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
      member     TEXT NOT NULL,
      state      TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'delivered', 'failed')),
      PRIMARY KEY (message_id, member)
    ) WITHOUT ROWID;

    -- The outbox rows of a fan-out: which group message an envelope carries and to which members.
    CREATE TABLE group_envelopes (
      envelope_id TEXT PRIMARY KEY,
      group_id    TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
      message_id  TEXT NOT NULL,
      members     TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX group_envelopes_message ON group_envelopes(message_id);
  `,
};
