/**
 * The action payloads (PROTOCOL.md §6.1): canonical JSON, round trips and strict refusals (a bad emoji, group id,
 * author, excerpt or an unknown field is `malformed`).
 */
import { describe, expect, it } from 'vitest';
import { decodePayload, encodePayload, PayloadError, type Payload } from '../../electron/core/crypto/index.js';
import { excerptOf, isSingleEmoji, MAX_EXCERPT_BYTES } from '../../electron/core/crypto/payload-actions.js';

const ID = 'AAECAwQFBgcICQoLDA0ODw';
const G = '0123456789abcdef0123456789abcdef';

function json(p: unknown): string {
  const bytes = encodePayload(p as Payload);
  const len = new DataView(bytes.buffer).getUint32(0, false);
  return new TextDecoder().decode(bytes.subarray(4, 4 + len));
}

function refused(p: unknown): string {
  try {
    encodePayload(p as Payload);
  } catch (e) {
    expect(e).toBeInstanceOf(PayloadError);
    expect((e as PayloadError).code).toBe('malformed');
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('action payloads', () => {
  it('encode in the canonical key order and round-trip', () => {
    const cases: Array<[Payload, string]> = [
      [{ v: 1, type: 'reaction', ts: 5, g: G, target: ID, author: 'alice', emoji: '👍' }, `{"v":1,"type":"reaction","ts":5,"g":"${G}","target":"${ID}","author":"alice","emoji":"👍"}`],
      [{ v: 1, type: 'reaction', ts: 5, target: ID, author: 'alice', emoji: null }, `{"v":1,"type":"reaction","ts":5,"target":"${ID}","author":"alice","emoji":null}`],
      [{ v: 1, type: 'edit', ts: 5, target: ID, body: 'new' }, `{"v":1,"type":"edit","ts":5,"target":"${ID}","body":"new"}`],
      [{ v: 1, type: 'delete', ts: 5, target: ID }, `{"v":1,"type":"delete","ts":5,"target":"${ID}"}`],
      [{ v: 1, type: 'read', ts: 5, ids: [ID] }, `{"v":1,"type":"read","ts":5,"ids":["${ID}"]}`],
      [
        { v: 1, type: 'text', ts: 5, body: 'yes', reply: { id: ID, author: 'bob', excerpt: 'are you' } },
        `{"v":1,"type":"text","ts":5,"body":"yes","reply":{"id":"${ID}","author":"bob","excerpt":"are you"}}`,
      ],
      [{ v: 1, type: 'text', ts: 5, body: 'plain' }, '{"v":1,"type":"text","ts":5,"body":"plain"}'],
    ];
    for (const [p, want] of cases) {
      // Keys given in another order still come out canonical.
      const shuffled = Object.fromEntries(Object.entries(p).reverse());
      expect(json(shuffled)).toBe(want);
      expect(decodePayload(encodePayload(p))).toEqual(p);
    }
  });

  it('refuses what is off-schema', () => {
    expect(refused({ v: 1, type: 'reaction', ts: 5, target: ID, author: 'alice', emoji: 'ab' })).toMatch(/emoji/);
    expect(refused({ v: 1, type: 'reaction', ts: 5, target: ID, author: 'alice', emoji: '👍👍' })).toMatch(/emoji/);
    expect(refused({ v: 1, type: 'reaction', ts: 5, target: ID, author: 'Alice!', emoji: '👍' })).toMatch(/author/);
    expect(refused({ v: 1, type: 'delete', ts: 5, g: G.toUpperCase(), target: ID })).toMatch(/g:/);
    expect(refused({ v: 1, type: 'delete', ts: 5, target: 'short' })).toBeTruthy();
    expect(refused({ v: 1, type: 'delete', ts: 5, target: ID, body: 'x' })).toBeTruthy();
    expect(refused({ v: 1, type: 'read', ts: 5, ids: [] })).toBeTruthy();
    expect(refused({ v: 1, type: 'text', ts: 5, body: 'x', reply: { id: ID, author: 'bob', excerpt: 'x'.repeat(MAX_EXCERPT_BYTES + 1) } })).toMatch(/excerpt/);
    expect(refused({ v: 1, type: 'text', ts: 5, body: 'x', reply: { id: ID, author: 'bob' } })).toBeTruthy();
  });

  it('one emoji: flags, skin tones, families and keycaps are one; letters and pairs are not', () => {
    for (const e of ['👍', '👍🏽', '❤️', '🇩🇪', '👨‍👩‍👧', '1️⃣']) expect(isSingleEmoji(e)).toBe(true);
    for (const e of ['', 'a', '👍👍', ':)', '\ud83d']) expect(isSingleEmoji(e)).toBe(false);
  });

  it('excerpts are one line of at most 120 characters, cut on code points', () => {
    expect(excerptOf('  hello\n  world ')).toBe('hello world');
    const long = excerptOf('😀'.repeat(200));
    expect([...long]).toHaveLength(120);
    expect(long.endsWith('…')).toBe(true);
  });
});
