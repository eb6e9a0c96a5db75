/**
 * The relay's HTTP blob tokens (relay/server/blobs/tokens.ts) on a clock the test moves: what a token grants, that it
 * works once and until just before it expires, the bound per identity (oldest voided first, a used token frees its
 * slot), and that expired tokens are dropped when the next one is issued. relay-blob-http.test.ts uses them over HTTP.
 */
import { describe, expect, it } from 'vitest';
import { BLOB_TOKEN_TTL_MS } from '../../relay/protocol/index.js';
import { BlobTokens, MAX_BLOB_TOKENS_PER_IDENTITY } from '../../relay/server/blobs/tokens.js';

const ALICE = 'a'.repeat(64);
const BOB = 'b'.repeat(64);

function tokens(start = 1_000_000) {
  const clock = { now: start };
  return { clock, t: new BlobTokens(() => clock.now) };
}

describe('BlobTokens', () => {
  it('a token is random, names one identity, blob and operation, and works once', () => {
    const { clock, t } = tokens();
    const put = t.issue(ALICE, 'blob-1', 'put');
    const get = t.issue(ALICE, 'blob-1', 'get');
    expect(put.token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
    expect(get.token).not.toBe(put.token);
    expect(put.expiresAt).toBe(clock.now + BLOB_TOKEN_TTL_MS);
    expect(t.size).toBe(2);
    expect(t.take(put.token)).toEqual({ fp: ALICE, blob: 'blob-1', op: 'put', expiresAt: put.expiresAt });
    expect(t.take(put.token)).toBeNull(); // used
    expect(t.size).toBe(1);
    expect(t.take('x'.repeat(43))).toBeNull(); // never issued
    expect(t.take(get.token)).toMatchObject({ op: 'get' });
    expect(t.size).toBe(0);
  });

  it('is good until just before expiresAt; an expired token is consumed too', () => {
    const { clock, t } = tokens();
    const early = t.issue(ALICE, 'blob-1', 'get');
    const late = t.issue(ALICE, 'blob-1', 'get');
    clock.now = early.expiresAt - 1;
    expect(t.take(early.token)).not.toBeNull();
    clock.now = late.expiresAt;
    expect(t.take(late.token)).toBeNull();
    expect(t.size).toBe(0);
    clock.now -= 1;
    expect(t.take(late.token)).toBeNull(); // gone, not waiting for a clock that goes back
  });

  it(`one identity holds at most ${MAX_BLOB_TOKENS_PER_IDENTITY}: the next voids its oldest, never another identity's`, () => {
    const { t } = tokens();
    const bobs = t.issue(BOB, 'blob-b', 'get');
    const mine = Array.from({ length: MAX_BLOB_TOKENS_PER_IDENTITY + 2 }, (_, i) => t.issue(ALICE, `blob-${i}`, 'get').token);
    expect(t.size).toBe(MAX_BLOB_TOKENS_PER_IDENTITY + 1);
    expect(t.take(mine[0]!)).toBeNull();
    expect(t.take(mine[1]!)).toBeNull();
    expect(t.take(mine[2]!)).toMatchObject({ blob: 'blob-2' });
    expect(t.take(mine[mine.length - 1]!)).toMatchObject({ blob: `blob-${MAX_BLOB_TOKENS_PER_IDENTITY + 1}` });
    expect(t.take(bobs.token)).toMatchObject({ fp: BOB });
  });

  it('a used token frees its slot: the oldest is kept', () => {
    const { t } = tokens();
    const mine = Array.from({ length: MAX_BLOB_TOKENS_PER_IDENTITY }, (_, i) => t.issue(ALICE, `blob-${i}`, 'get').token);
    expect(t.take(mine[5]!)).not.toBeNull();
    const next = t.issue(ALICE, 'blob-next', 'put');
    expect(t.size).toBe(MAX_BLOB_TOKENS_PER_IDENTITY);
    // and the bound still holds over what is left: more tokens void the oldest, never exceed the bound
    const more = Array.from({ length: 3 }, (_, i) => t.issue(ALICE, `more-${i}`, 'get').token);
    expect(t.size).toBe(MAX_BLOB_TOKENS_PER_IDENTITY);
    expect([0, 1, 2, 3].map((i) => t.take(mine[i]!) !== null)).toEqual([false, false, false, true]);
    expect(t.take(next.token)).toMatchObject({ blob: 'blob-next', op: 'put' });
    expect(t.take(more[2]!)).toMatchObject({ blob: 'more-2' });
    // every one of alice's tokens used: she can hold the full number again, and the oldest of those is not voided
    for (const tok of [...mine, ...more]) t.take(tok);
    expect(t.size).toBe(0);
    const again = Array.from({ length: MAX_BLOB_TOKENS_PER_IDENTITY }, (_, i) => t.issue(ALICE, `again-${i}`, 'get').token);
    expect(t.take(again[0]!)).toMatchObject({ blob: 'again-0' });
  });

  it('issuing drops every token that has expired, whoever holds it; one not yet expired stays', () => {
    const { clock, t } = tokens();
    const first = t.issue(ALICE, 'blob-1', 'get');
    clock.now += 1;
    const second = t.issue(ALICE, 'blob-2', 'get');
    clock.now = first.expiresAt; // the first has expired, the second not
    t.issue(BOB, 'blob-b', 'get');
    expect(t.size).toBe(2);
    expect(t.take(second.token)).toMatchObject({ blob: 'blob-2' });
    // alice's expired token left her list too: she can hold the full number of new ones beside nothing stale
    const mine = Array.from({ length: MAX_BLOB_TOKENS_PER_IDENTITY }, (_, i) => t.issue(ALICE, `n-${i}`, 'get').token);
    expect(t.take(mine[0]!)).not.toBeNull();
  });
});
