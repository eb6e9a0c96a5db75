/**
 * One connection per identity across a cluster (relay/server/cluster.ts): when two nodes authenticate the same
 * identity, each tells the other, and claimReplaces() decides on each node whether its own session goes. Exactly one
 * of two logins must survive, including two in the same millisecond (both used to drop theirs).
 */
import { describe, expect, it } from 'vitest';
import { claimReplaces } from '../../relay/server/cluster.js';

/** Both nodes' decisions for logins at tA on node A and tB on node B: which sessions survive. */
function survivors(a: { node: string; at: number }, b: { node: string; at: number }): string[] {
  const aDropped = claimReplaces(a.at, a.node, b.at, b.node); // A hears B's claim
  const bDropped = claimReplaces(b.at, b.node, a.at, a.node); // B hears A's claim
  return [...(aDropped ? [] : [a.node]), ...(bDropped ? [] : [b.node])];
}

describe('claimReplaces', () => {
  it('the newer login wins, whichever node it is on', () => {
    expect(survivors({ node: 'aaaa', at: 1000 }, { node: 'bbbb', at: 1001 })).toEqual(['bbbb']);
    expect(survivors({ node: 'aaaa', at: 1001 }, { node: 'bbbb', at: 1000 })).toEqual(['aaaa']);
  });

  it('two logins in the same millisecond: exactly one survives (the higher node id), on either side', () => {
    expect(survivors({ node: 'aaaa', at: 1000 }, { node: 'bbbb', at: 1000 })).toEqual(['bbbb']);
    expect(survivors({ node: 'bbbb', at: 1000 }, { node: 'aaaa', at: 1000 })).toEqual(['bbbb']);
  });

  it('a claim from a relay of an earlier version (no node id) replaces a session of the same millisecond, as before', () => {
    expect(claimReplaces(1000, 'aaaa', 1000, undefined)).toBe(true);
    expect(claimReplaces(1001, 'aaaa', 1000, undefined)).toBe(false);
  });
});
