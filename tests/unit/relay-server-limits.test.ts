/**
 * Relay limits (relay/server/limits.ts): how overrides are validated and combined with the defaults, and the token
 * bucket every rate limit uses, driven with explicit clock values (no waiting).
 */
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../relay/protocol/index.js';
import { DEFAULT_LIMITS, TokenBucket, resolveLimits } from '../../relay/server/limits.js';

function refusal(overrides: unknown): string {
  try {
    resolveLimits(overrides);
  } catch (e) {
    expect(e).toBeInstanceOf(TypeError);
    return (e as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(overrides)}`);
}

describe('resolveLimits', () => {
  it('without overrides gives the defaults (null and undefined too)', () => {
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({})).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits(null)).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits()).not.toBe(DEFAULT_LIMITS); // a copy: the caller may not change the frozen defaults
  });

  it('the per-sender caps follow a changed quota (a quarter, at least 1) unless set themselves', () => {
    expect(resolveLimits({ queueQuota: 8 })).toMatchObject({ queueQuota: 8, maxPendingPerSender: 2, maxPendingFromNewSenders: 2 });
    expect(resolveLimits({ queueQuota: 9 })).toMatchObject({ maxPendingPerSender: 2, maxPendingFromNewSenders: 2 });
    expect(resolveLimits({ queueQuota: 3 })).toMatchObject({ maxPendingPerSender: 1, maxPendingFromNewSenders: 1 });
    expect(resolveLimits({ queueQuota: 8, maxPendingPerSender: 7 })).toMatchObject({ maxPendingPerSender: 7, maxPendingFromNewSenders: 2 });
    expect(resolveLimits({ queueQuota: 8, maxPendingFromNewSenders: 5 })).toMatchObject({ maxPendingPerSender: 2, maxPendingFromNewSenders: 5 });
  });

  it('raises the delivery window to at least one batch, and keeps a larger one', () => {
    expect(resolveLimits({ deliverBatch: 32, deliverWindow: 8 })).toMatchObject({ deliverBatch: 32, deliverWindow: 32 });
    expect(resolveLimits({ deliverBatch: 32, deliverWindow: 32 })).toMatchObject({ deliverWindow: 32 });
    expect(resolveLimits({ deliverBatch: 8, deliverWindow: 40 })).toMatchObject({ deliverBatch: 8, deliverWindow: 40 });
  });

  it('accepts each bound itself', () => {
    expect(resolveLimits({ maxEnvelopeBytes: LIMITS.maxEnvelopeBytes }).maxEnvelopeBytes).toBe(LIMITS.maxEnvelopeBytes);
    expect(resolveLimits({ deliverBatch: LIMITS.maxBatch }).deliverBatch).toBe(LIMITS.maxBatch);
    expect(resolveLimits({ commitDelayMs: 0 }).commitDelayMs).toBe(0);
    expect(resolveLimits({ commitDelayMs: 1000 }).commitDelayMs).toBe(1000);
    expect(resolveLimits({ newIdentityMs: 0 }).newIdentityMs).toBe(0);
    expect(resolveLimits({ newSendFactor: 1 }).newSendFactor).toBe(1);
    expect(resolveLimits({ connPerSec: 0.5, sendPerSec: 0.25, registrationPerHour: 0.5 })).toMatchObject({ connPerSec: 0.5, sendPerSec: 0.25, registrationPerHour: 0.5 });
  });

  it('refuses values past a bound with a TypeError that names the field', () => {
    expect(refusal({ maxEnvelopeBytes: LIMITS.maxEnvelopeBytes + 1 })).toMatch(/^bad relay limits: maxEnvelopeBytes \S/);
    expect(refusal({ deliverBatch: LIMITS.maxBatch + 1 })).toMatch(/^bad relay limits: deliverBatch \S/);
    expect(refusal({ commitDelayMs: -1 })).toMatch(/^bad relay limits: commitDelayMs \S/);
    expect(refusal({ commitDelayMs: 1001 })).toMatch(/^bad relay limits: commitDelayMs \S/);
    expect(refusal({ newIdentityMs: -1 })).toMatch(/^bad relay limits: newIdentityMs \S/);
    expect(refusal({ newSendFactor: 0 })).toMatch(/^bad relay limits: newSendFactor \S/);
    expect(refusal({ newSendFactor: 1.01 })).toMatch(/^bad relay limits: newSendFactor \S/);
    expect(refusal({ connPerSec: 0 })).toMatch(/^bad relay limits: connPerSec \S/);
    expect(refusal({ queueQuota: 0 })).toMatch(/^bad relay limits: queueQuota \S/);
    expect(refusal({ queueQuota: 2.5 })).toMatch(/^bad relay limits: queueQuota \S/);
    expect(refusal({ queueQuota: '10' })).toMatch(/^bad relay limits: queueQuota \S/);
  });

  it('refuses unknown fields and non-objects', () => {
    // no field to name here: the message is the zod issue alone
    expect(refusal({ queueQuotas: 5 })).toMatch(/^bad relay limits: +Unrecognized key.*queueQuotas/);
    expect(refusal(42)).toMatch(/^bad relay limits: +\S/);
    expect(refusal([])).toMatch(/^bad relay limits: +\S/);
  });
});

describe('TokenBucket', () => {
  it('starts full, spends one token per take and says how long until the next', () => {
    const b = new TokenBucket(3, 2, 0);
    expect(b.full(0)).toBe(true);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
    expect(b.full(0)).toBe(false);
    expect(b.take(0)).toBe(500); // 1 token at 2 per second
    expect(b.take(250)).toBe(250); // half a token came in
    expect(b.take(500)).toBe(0); // the other half: one whole token, spent
    expect(b.take(500)).toBe(500);
  });

  it('refills continuously but never above its capacity', () => {
    const b = new TokenBucket(3, 2, 0);
    for (let i = 0; i < 3; i++) b.take(0);
    expect(b.full(1000)).toBe(false); // 2 of 3 back
    expect(b.full(1500)).toBe(true);
    // a long pause refills to 3, not to 200
    expect([b.take(100_000), b.take(100_000), b.take(100_000)]).toEqual([0, 0, 0]);
    expect(b.take(100_000)).toBe(500);
  });

  it('uses the clock by default', () => {
    const b = new TokenBucket(1, 1);
    expect(b.take()).toBe(0);
    const wait = b.take(); // however slow the machine: positive and at most a second
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(1000);
    expect(b.full()).toBe(false);
  });
});
