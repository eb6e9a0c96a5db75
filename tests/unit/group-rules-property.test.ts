/**
 * Concurrent group changes resolve to the same state on every client, whatever order (and duplication) the changes
 * arrive in: property test over delivery orders (fast-check) on the real rules (electron/core/messenger/group-rules.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyChange, changeHash, genesisHead, resolve, type GroupChange, type GroupState, type SignedChange } from '../../electron/core/messenger/group-rules.js';

const fp = (n: number) => n.toString(16).padStart(64, '0');
const g = 'ab'.repeat(16);
const base: GroupState = {
  g,
  name: 'team',
  version: 1,
  head: genesisHead(g, 'team', 'alice'),
  adminOnlyRename: false,
  members: [
    { u: 'alice', fp: fp(1), role: 'admin' },
    { u: 'bob', fp: fp(2), role: 'admin' },
    { u: 'carol', fp: fp(3), role: 'member' },
    { u: 'dave', fp: fp(4), role: 'member' },
  ],
};

function signed(c: GroupChange): SignedChange {
  return { change: c, sig: 'A'.repeat(86), hash: changeHash(c) };
}

function on(s: GroupState, body: Record<string, unknown>, author: string): SignedChange {
  return signed({ ...body, g, prev: s.head, version: s.version + 1, author, ts: 1 } as GroupChange);
}

/** Applies a chain in order (each on the state the previous produced). */
function chain(s: GroupState, steps: Array<[Record<string, unknown>, string]>): { changes: SignedChange[]; state: GroupState } {
  const changes: SignedChange[] = [];
  for (const [body, author] of steps) {
    const c = on(s, body, author);
    const r = applyChange(s, c.change, c.hash);
    if ('refused' in r) throw new Error(r.refused);
    s = r;
    changes.push(c);
  }
  return { changes, state: s };
}

// Two admins change membership at the same moment, on the same version; each may follow up on its own branch.
const scenarios: Array<{ a: Array<[Record<string, unknown>, string]>; b: Array<[Record<string, unknown>, string]> }> = [
  { a: [[{ op: 'remove', users: ['dave'] }, 'alice']], b: [[{ op: 'add', members: [{ u: 'erin', fp: fp(5) }] }, 'bob']] },
  { a: [[{ op: 'remove', users: ['bob'] }, 'alice']], b: [[{ op: 'remove', users: ['alice'] }, 'bob']] },
  { a: [[{ op: 'admin', users: ['carol'] }, 'alice']], b: [[{ op: 'remove', users: ['carol'] }, 'bob'], [{ op: 'rename', name: 'b-team' }, 'dave']] },
];

describe('concurrent group changes', () => {
  it('every client ends in the same state whatever the delivery order', () => {
    for (const sc of scenarios) {
      const all = [...chain(base, sc.a).changes, ...chain(base, sc.b).changes];
      const expected = resolve(base, all).state;
      fc.assert(
        fc.property(
          fc.array(fc.nat({ max: all.length - 1 }), { minLength: all.length, maxLength: all.length * 2 }),
          fc.array(fc.nat({ max: all.length - 1 }), { minLength: all.length, maxLength: all.length * 2 }),
          (orderA, orderB) => {
            // Each client receives every change at least once, in its own order, with duplicates; it resolves after
            // each arrival (as the receive path does) and must end where every other client ends.
            const end = (order: number[]) => {
              const seen: SignedChange[] = [];
              let s = base;
              for (const i of [...order, ...all.keys()]) {
                seen.push(all[i]!);
                s = resolve(base, seen).state;
              }
              return s;
            };
            expect(end(orderA)).toEqual(expected);
            expect(end(orderB)).toEqual(expected);
          },
        ),
        { numRuns: 200 },
      );
    }
  });

  it('the longer chain wins; on the same length the lower change hash wins', () => {
    const a = chain(base, [[{ op: 'remove', users: ['carol'] }, 'alice']]).changes;
    const b = chain(base, [[{ op: 'remove', users: ['dave'] }, 'bob']]).changes;
    const lower = a[0]!.hash < b[0]!.hash ? a[0]! : b[0]!;
    expect(resolve(base, [...a, ...b]).applied).toEqual([lower]);
    const b2 = chain(base, [[{ op: 'remove', users: ['dave'] }, 'bob'], [{ op: 'rename', name: 'x' }, 'carol']]).changes;
    expect(resolve(base, [...a, ...b2]).state.name).toBe('x');
    expect(resolve(base, [...b2, ...a]).state.members.map((m) => m.u)).toEqual(['alice', 'bob', 'carol']);
  });

  it('never applies a change from a non-admin, a non-member, or on a version it was not made on', () => {
    expect(applyChange(base, on(base, { op: 'remove', users: ['dave'] }, 'carol').change, 'x')).toEqual({ refused: 'carol is not an admin (only admins remove members)' });
    expect(applyChange(base, on(base, { op: 'rename', name: 'n' }, 'zed').change, 'x')).toEqual({ refused: 'zed is not a member' });
    const stale = { ...on(base, { op: 'rename', name: 'n' }, 'carol').change, version: 5 };
    expect('refused' in applyChange(base, stale, 'x')).toBe(true);
    const adminOnly = { ...base, adminOnlyRename: true };
    expect(applyChange(adminOnly, on(adminOnly, { op: 'rename', name: 'n' }, 'carol').change, 'x')).toEqual({ refused: 'carol is not an admin (this group lets only admins rename it)' });
    expect(resolve(base, [on(base, { op: 'remove', users: ['dave'] }, 'carol')]).state).toEqual(base);
  });
});
