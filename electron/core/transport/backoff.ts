/**
 * Exponential backoff with full jitter, capped. Used for relay reconnects (through socket.io's Manager options)
 * and for the outbox's retry timer, so both behave the same way.
 */
export interface BackoffOptions {
  /** First delay in ms (default 500). */
  baseMs?: number;
  /** Upper bound in ms (default 30 000). */
  maxMs?: number;
  /** Growth factor per attempt (default 2). */
  factor?: number;
  /** 0..1: the share of the delay that is randomised (default 0.5). */
  jitter?: number;
}

/** Delay before retry number `attempt` (0-based): min(max, base·factor^attempt), with ±jitter/2 randomisation. */
export function backoffDelay(attempt: number, o: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = o.baseMs ?? 500;
  const max = o.maxMs ?? 30_000;
  const factor = o.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, o.jitter ?? 0.5));
  const raw = Math.min(max, base * Math.pow(factor, Math.max(0, Math.min(attempt, 64))));
  const spread = raw * jitter;
  return Math.max(0, Math.min(max, Math.round(raw - spread / 2 + random() * spread)));
}
