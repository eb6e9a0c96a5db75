/**
 * The address the relay keys its per-address limits by (relay/server/address.ts): an IPv4 client reached over a
 * dual-stack socket (`::ffff:a.b.c.d`) counts as its IPv4 address, so one client does not get two budgets; every
 * other address is kept as it is, and a socket without one shares the bucket "unknown".
 */
import { describe, expect, it } from 'vitest';
import { remoteAddress } from '../../relay/server/address.js';

const of = (address: string) => remoteAddress({ handshake: { address } } as Parameters<typeof remoteAddress>[0]);

describe('remoteAddress', () => {
  it('an IPv4-mapped IPv6 address is its IPv4 address; IPv4 and other IPv6 addresses stay as they are', () => {
    expect(of('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(of('192.0.2.7')).toBe('192.0.2.7');
    expect(of('::1')).toBe('::1');
    expect(of('2001:db8::ffff:192.0.2.7')).toBe('2001:db8::ffff:192.0.2.7'); // only a leading ::ffff: is the mapping
  });

  it('a socket without an address counts as "unknown"', () => {
    expect(of('')).toBe('unknown');
  });
});
