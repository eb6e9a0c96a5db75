/**
 * Group timeline lines: every form the core writes (group-rules.ts describeChange and the lines groups.ts /
 * groups-receive.ts add) maps to a catalog key that exists in English and German, with the names filled in.
 */
import { describe, expect, it } from 'vitest';
import { describeChange, type GroupChange } from '../../electron/core/messenger/group-rules.js';
import { systemLine } from '../../renderer/src/screens/group/system-line.js';
import { en } from '../../renderer/src/i18n/en.js';
import { de } from '../../renderer/src/i18n/de.js';

const base = { g: '0'.repeat(32), prev: '0'.repeat(64), version: 2, author: 'alice', ts: 1 };
const changes: GroupChange[] = [
  { ...base, op: 'add', members: [{ u: 'carol', fp: 'a'.repeat(64) }, { u: 'dave', fp: 'b'.repeat(64) }] },
  { ...base, op: 'remove', users: ['carol'] },
  { ...base, op: 'admin', users: ['bob'] },
  { ...base, op: 'leave' },
  { ...base, op: 'rename', name: 'Weekend “trip”' },
  { ...base, op: 'settings', adminOnlyRename: true },
  { ...base, op: 'settings', adminOnlyRename: false },
];
const other = ['alice created “Team”', 'alice added you to “Team”', 'alice added you back', 'a group change (add) from bob refused: bob is not an admin (only admins add members)'];

describe('group system lines', () => {
  it('every line the core writes has a key in both catalogs, with its names', () => {
    const keys = new Set<string>();
    for (const text of [...changes.map(describeChange), ...other]) {
      const line = systemLine(text);
      expect(line, text).not.toBeNull();
      const k = line!.key.replace(/^group\./, '');
      expect(en.group, text).toHaveProperty(k);
      expect(de.group, text).toHaveProperty(k);
      keys.add(k);
      for (const v of Object.values(line!.values)) expect(text).toContain(v);
    }
    expect(keys.size).toBe(changes.length + other.length);
  });

  it('picks out the names: "alice added carol, dave", a rename with quotes, a refusal', () => {
    expect(systemLine('alice added carol, dave')).toEqual({ key: 'group.lineAdded', values: { name: 'alice', who: 'carol, dave' } });
    expect(systemLine('bob renamed the group to “Weekend “trip””')).toEqual({ key: 'group.lineRenamed', values: { name: 'bob', group: 'Weekend “trip”' } });
    expect(systemLine('a message from eve refused: not a member of this group')).toEqual({
      key: 'group.lineRefused',
      values: { what: 'a message', name: 'eve', reason: 'not a member of this group' },
    });
    expect(systemLine('something new')).toBeNull();
  });
});
