/**
 * Traffic patterns for the routing benchmark, identical for every relay variant:
 * - closedLoop: every client keeps `window` envelopes in flight to its neighbour; the next leaves when one arrives.
 *   Gives the relay's maximum delivered msg/s with this many clients.
 * - openLoop: a fixed offered rate (e.g. 2 000 msg/s) spread round-robin over the clients; latency is send → the
 *   recipient's socket event, lost = acknowledged (or sent, for raw ws) but never delivered after a drain period.
 */
import type { Envelope } from '../../relay/protocol/index.js';
import { now, percentile, sleep } from './common.js';
import type { BenchIdentity, Hooks, LoadClient } from './clients.js';

export class Traffic {
  readonly sentAt = new Map<string, number>();
  latencies: number[] = [];
  delivered = 0;
  sentOk = 0;
  rejected = 0;
  codes: Record<string, number> = {};
  lastDelivery = 0;
  after: ((fromFp: string) => void) | null = null;
  readonly hooks: Hooks = {
    onDeliver: (e) => {
      const t = this.sentAt.get(e.id);
      if (t === undefined) return; // a redelivery, or from an earlier phase
      this.sentAt.delete(e.id);
      const n = now();
      this.latencies.push(n - t);
      this.delivered++;
      this.lastDelivery = n;
      this.after?.(e.from);
    },
  };

  reset(): void {
    this.sentAt.clear();
    this.latencies = [];
    this.delivered = 0;
    this.sentOk = 0;
    this.rejected = 0;
    this.codes = {};
    this.after = null;
  }

  send(c: LoadClient, env: Envelope, onReject?: () => void): void {
    this.sentAt.set(env.id, now());
    c.send(env, (ok, code) => {
      if (ok) this.sentOk++;
      else {
        this.rejected++;
        this.codes[code ?? '?'] = (this.codes[code ?? '?'] ?? 0) + 1;
        this.sentAt.delete(env.id);
        onReject?.();
      }
    });
  }

  /** Wait until nothing is outstanding, or `quietMs` pass without a delivery. */
  async drain(quietMs: number): Promise<void> {
    let lastCount = -1;
    let lastChange = now();
    while (this.sentAt.size > 0) {
      await sleep(20);
      if (this.delivered !== lastCount) {
        lastCount = this.delivered;
        lastChange = now();
      } else if (now() - lastChange > quietMs) break;
    }
  }
}

export interface LoadResult {
  msgPerSec: number;
  delivered: number;
  lost: number;
  rejected: number;
  codes: Record<string, number>;
  p50: number;
  p99: number;
}

/** Neighbour pairing: client i sends to client i+1 (mod n). */
export function makeEnvelopes(ids: BenchIdentity[], perClient: number, mk: (from: BenchIdentity, to: string) => Envelope): Envelope[][] {
  return ids.map((id, i) => Array.from({ length: perClient }, () => mk(id, ids[(i + 1) % ids.length]!.fp)));
}

export async function closedLoop(clients: LoadClient[], envs: Envelope[][], window: number, t: Traffic): Promise<LoadResult> {
  t.reset();
  const index = new Map(clients.map((c, i) => [c.id.fp, i]));
  const pos = new Array<number>(clients.length).fill(0);
  const sendNext = (i: number): void => {
    const list = envs[i]!;
    if (pos[i]! >= list.length) return;
    t.send(clients[i]!, list[pos[i]!++]!, () => sendNext(i));
  };
  t.after = (fp) => {
    const i = index.get(fp);
    if (i !== undefined) sendNext(i);
  };
  const t0 = now();
  for (let w = 0; w < window; w++) for (let i = 0; i < clients.length; i++) sendNext(i);
  await t.drain(10_000);
  const total = envs.reduce((s, l) => s + l.length, 0);
  const ms = Math.max(1, t.lastDelivery - t0);
  return {
    msgPerSec: (t.delivered * 1000) / ms,
    delivered: t.delivered,
    lost: total - t.delivered - t.rejected,
    rejected: t.rejected,
    codes: { ...t.codes },
    p50: percentile(t.latencies, 50),
    p99: percentile(t.latencies, 99),
  };
}

export async function openLoop(clients: LoadClient[], envs: Envelope[][], ratePerSec: number, durationMs: number, t: Traffic): Promise<LoadResult> {
  t.reset();
  const pos = new Array<number>(clients.length).fill(0);
  let sent = 0;
  let rr = 0;
  const t0 = now();
  const total = Math.floor((ratePerSec * durationMs) / 1000);
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((now() - t0) * ratePerSec) / 1000));
      while (sent < due) {
        let tries = 0;
        while (pos[rr]! >= envs[rr]!.length && tries++ < clients.length) rr = (rr + 1) % clients.length;
        if (tries > clients.length) break;
        t.send(clients[rr]!, envs[rr]![pos[rr]!++]!);
        rr = (rr + 1) % clients.length;
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  const sendMs = now() - t0;
  await t.drain(5_000);
  return {
    msgPerSec: (sent * 1000) / sendMs,
    delivered: t.delivered,
    lost: sent - t.delivered - t.rejected,
    rejected: t.rejected,
    codes: { ...t.codes },
    p50: percentile(t.latencies, 50),
    p99: percentile(t.latencies, 99),
  };
}
