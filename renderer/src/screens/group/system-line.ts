/**
 * The core writes a group's timeline lines in English from a fixed set of forms (group-rules.ts describeChange,
 * groups.ts, groups-receive.ts). This maps each form to a catalog key with its values, so the line is shown in the
 * user's language; a line of an unknown form is shown as written. Pure; unit-tested.
 */
export interface SystemLine {
  key: string;
  values: Record<string, string>;
}

const FORMS: Array<[RegExp, string, string[]]> = [
  [/^(\S+) created “(.*)”$/s, 'group.lineCreated', ['name', 'group']],
  [/^(\S+) added you to “(.*)”$/s, 'group.lineAddedYou', ['name', 'group']],
  [/^(\S+) added you back$/, 'group.lineAddedYouBack', ['name']],
  [/^(\S+) added (.+)$/, 'group.lineAdded', ['name', 'who']],
  [/^(\S+) removed (.+)$/, 'group.lineRemoved', ['name', 'who']],
  [/^(\S+) made (.+) admin$/, 'group.lineMadeAdmin', ['name', 'who']],
  [/^(\S+) left$/, 'group.lineLeft', ['name']],
  [/^(\S+) renamed the group to “(.*)”$/s, 'group.lineRenamed', ['name', 'group']],
  [/^(\S+) let only admins rename the group$/, 'group.lineAdminOnlyRename', ['name']],
  [/^(\S+) let every member rename the group$/, 'group.lineAnyoneRenames', ['name']],
  [/^(.+) from (\S+) refused: (.*)$/s, 'group.lineRefused', ['what', 'name', 'reason']],
];

export function systemLine(text: string): SystemLine | null {
  for (const [re, key, names] of FORMS) {
    const m = re.exec(text);
    if (m) return { key, values: Object.fromEntries(names.map((n, i) => [n, m[i + 1]!])) };
  }
  return null;
}
