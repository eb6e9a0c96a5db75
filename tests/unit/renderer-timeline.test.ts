import { describe, expect, it } from 'vitest';
import { GROUP_GAP_MS, rowLayout } from '../../renderer/src/lib/timeline.js';

const t0 = new Date(2026, 2, 12, 10, 0).getTime();
const out = (sentAt: number, state: 'sending' | 'sent' | 'delivered' | 'failed' = 'delivered') => ({ direction: 'out' as const, sentAt, state });
const inc = (sentAt: number) => ({ direction: 'in' as const, sentAt, state: 'delivered' as const });

describe('message grouping', () => {
  it('consecutive messages from one side within minutes form a group; time/state under the last', () => {
    const m = [out(t0), out(t0 + 60_000), out(t0 + 120_000)];
    expect(rowLayout(undefined, m[0]!, m[1])).toEqual({ daySeparator: true, groupStart: true, groupEnd: false });
    expect(rowLayout(m[0], m[1]!, m[2])).toEqual({ daySeparator: false, groupStart: false, groupEnd: false });
    expect(rowLayout(m[1], m[2]!, undefined)).toEqual({ daySeparator: false, groupStart: false, groupEnd: true });
  });
  it('a change of side, a long gap or a new day starts a new group', () => {
    expect(rowLayout(out(t0), inc(t0 + 1000), undefined).groupStart).toBe(true);
    expect(rowLayout(out(t0), out(t0 + GROUP_GAP_MS + 1), undefined).groupStart).toBe(true);
    const nextDay = new Date(2026, 2, 13, 0, 1).getTime();
    const lateNight = new Date(2026, 2, 12, 23, 59).getTime();
    expect(rowLayout(out(lateNight), out(nextDay), undefined)).toMatchObject({ daySeparator: true, groupStart: true });
  });
  it('states: each run of one state shows its own state line; failed stands alone', () => {
    expect(rowLayout(undefined, out(t0, 'delivered'), out(t0 + 1000, 'sent')).groupEnd).toBe(true);
    expect(rowLayout(out(t0, 'failed'), out(t0 + 1000, 'failed'), undefined).groupStart).toBe(true);
    expect(rowLayout(undefined, out(t0, 'failed'), out(t0 + 1000, 'failed')).groupEnd).toBe(true);
  });
  it('undecryptable messages never join a group', () => {
    const u = { direction: 'in' as const, sentAt: t0 + 1000, state: 'undecryptable' as const };
    expect(rowLayout(inc(t0), u, inc(t0 + 2000))).toMatchObject({ groupStart: true, groupEnd: true });
  });
});
