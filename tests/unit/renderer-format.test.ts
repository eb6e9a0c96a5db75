import { describe, expect, it } from 'vitest';
import {
  avatarColor, clockTime, dayLabel, fingerprintGroups, initials, listTime, safetyGroups, usernameProblem, USERNAME_RE,
} from '../../renderer/src/lib/format.js';
import { normalizeRelayUrl } from '../../renderer/src/lib/relay-address.js';
import { USERNAME_RE as PROTOCOL_USERNAME_RE } from '../../relay/protocol/limits.js';

const at = (y: number, mo: number, d: number, h = 12, mi = 0): number => new Date(y, mo - 1, d, h, mi).getTime();
const now = at(2026, 3, 12, 15, 30); // a Thursday

describe('times', () => {
  it('list: today as a clock time, this week as a weekday, older as a date', () => {
    expect(listTime(at(2026, 3, 12, 14, 5), now)).toBe('14:05');
    expect(listTime(at(2026, 3, 12, 0, 1), now)).toBe('00:01');
    expect(listTime(at(2026, 3, 10, 9, 0), now)).toBe('Tue');
    expect(listTime(at(2026, 3, 7, 9, 0), now)).toBe('Sat');
    expect(listTime(at(2026, 3, 6, 9, 0), now)).toBe('6 Mar 2026');
    expect(listTime(at(2025, 12, 31, 9, 0), now)).toBe('31 Dec 2025');
  });
  it('day separators', () => {
    expect(dayLabel(at(2026, 3, 12, 1), now)).toBe('Today');
    expect(dayLabel(at(2026, 3, 11, 23), now)).toBe('Yesterday');
    expect(dayLabel(at(2026, 3, 9), now)).toBe('Monday');
    expect(dayLabel(at(2026, 1, 3), now)).toBe('3 January 2026');
  });
  it('clock time pads', () => {
    expect(clockTime(at(2026, 1, 1, 7, 3))).toBe('07:03');
  });
});

describe('avatars', () => {
  it('initials', () => {
    expect(initials('alice')).toBe('AL');
    expect(initials('bob.smith')).toBe('BS');
    expect(initials('x_1')).toBe('X1');
  });
  it('colour follows the username, not the key: the same name always gets the same colour', () => {
    expect(avatarColor('alice')).toBe(avatarColor('alice'));
    expect(avatarColor('alice')).not.toBe(avatarColor('bob'));
    const hues = new Set(['alice', 'bob', 'carol', 'dave', 'erin', 'frank'].map((n) => avatarColor(n)));
    expect(hues.size).toBeGreaterThan(3);
    // The old colour came from the fingerprint's first bytes: two names with one such prefix must still differ.
    expect(avatarColor('00aa11aa')).not.toBe(avatarColor('00aa11bb'));
    expect(avatarColor('zz')).toMatch(/^hsl\(\d+ 60% (28|36)%\)$/);
  });
});

describe('numbers', () => {
  it('safety number: 12 groups of 5', () => {
    const digits = '123456789012345678901234567890123456789012345678901234567890';
    const g = safetyGroups(digits);
    expect(g).toHaveLength(12);
    expect(g.every((x) => /^\d{5}$/.test(x))).toBe(true);
    expect(g.join('')).toBe(digits);
  });
  it('fingerprint: 16 groups of 4', () => {
    expect(fingerprintGroups('a'.repeat(64))).toHaveLength(16);
  });
});

describe('username feedback', () => {
  it('mirrors the protocol rule', () => {
    expect(USERNAME_RE.source).toBe(PROTOCOL_USERNAME_RE.source);
  });
  it.each([
    ['', { key: 'empty' }],
    ['Al', { key: 'lowercase' }],
    ['al', { key: 'tooShort' }],
    ['_al', { key: 'start' }],
    ['al ice', { key: 'notAllowed', values: { char: ' ' } }],
    ['a'.repeat(33), { key: 'tooLong' }],
  ])('%j → %j', (name, expected) => {
    expect(usernameProblem(name)).toEqual(expected);
  });
  it('accepts valid names', () => {
    for (const n of ['alice', 'bob.smith', 'x_1', '007', 'a-b']) expect(usernameProblem(n)).toBeNull();
  });
});

describe('relay addresses', () => {
  it('adds https:// and strips a trailing slash', () => {
    expect(normalizeRelayUrl('192.168.1.20:7447')).toEqual({ url: 'https://192.168.1.20:7447' });
    expect(normalizeRelayUrl(' http://127.0.0.1:7070/ ')).toEqual({ url: 'http://127.0.0.1:7070' });
  });
  it('rejects junk with a reason', () => {
    expect(normalizeRelayUrl('')).toHaveProperty('error');
    expect(normalizeRelayUrl('ftp://relay')).toHaveProperty('error');
    expect(normalizeRelayUrl('http://')).toHaveProperty('error');
  });
});
