/**
 * Short-lived, single-use grants for moving a blob's bytes over plain HTTP (PROTOCOL.md "Blob transfers over HTTP").
 * A token is issued on the authenticated socket (`blob-token`) for one identity, one blob and one operation; it is
 * good for one HTTP request started within BLOB_TOKEN_TTL_MS, and consumed by that request whatever its outcome.
 * Tokens live in this process's memory only: a relay restart voids them (the client asks for a new one).
 */
import { randomBytes } from 'node:crypto';
import { BLOB_TOKEN_TTL_MS, toB64u, type BlobTokenOp } from '../../protocol/index.js';

/** Tokens one identity may hold at once; issuing one more voids its oldest (bounds memory per identity). */
export const MAX_BLOB_TOKENS_PER_IDENTITY = 32;

export interface BlobGrant {
  fp: string;
  blob: string;
  op: BlobTokenOp;
  expiresAt: number;
}

export class BlobTokens {
  private readonly grants = new Map<string, BlobGrant>();
  /** Each identity's live tokens, oldest first. */
  private readonly byIdentity = new Map<string, string[]>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(fp: string, blob: string, op: BlobTokenOp): { token: string; expiresAt: number } {
    this.prune();
    const token = toB64u(new Uint8Array(randomBytes(32)));
    const expiresAt = this.now() + BLOB_TOKEN_TTL_MS;
    const mine = this.byIdentity.get(fp) ?? [];
    while (mine.length >= MAX_BLOB_TOKENS_PER_IDENTITY) this.grants.delete(mine.shift()!);
    mine.push(token);
    this.byIdentity.set(fp, mine);
    this.grants.set(token, { fp, blob, op, expiresAt });
    return { token, expiresAt };
  }

  /** The grant of `token`, consumed; null when it is unknown, already used or expired. */
  take(token: string): BlobGrant | null {
    const g = this.grants.get(token);
    if (!g) return null;
    this.forget(token, g.fp);
    return g.expiresAt > this.now() ? g : null;
  }

  /** Live tokens (tests and metrics). */
  get size(): number {
    return this.grants.size;
  }

  private forget(token: string, fp: string): void {
    this.grants.delete(token);
    const mine = this.byIdentity.get(fp)?.filter((t) => t !== token) ?? [];
    if (mine.length > 0) this.byIdentity.set(fp, mine);
    else this.byIdentity.delete(fp);
  }

  private prune(): void {
    const now = this.now();
    for (const [token, g] of this.grants) if (g.expiresAt <= now) this.forget(token, g.fp);
  }
}
