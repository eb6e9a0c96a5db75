/**
 * Expired dedupe marks are deleted off the start-up path (issue 16): later, in batches, with the event loop free
 * between batches, and never while the profile is closed. Real encrypted SQLite files; the service cases run a real
 * relay and real services. Timers are Node's own except in the delay case, which uses vitest's fake timers to show
 * that nothing runs before the delay or after stop() without sleeping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SEEN_RETENTION_MS, SeenPrune } from '../../electron/core/seen-prune.js';
import { openHistoryStore, type HistoryStore } from '../../electron/core/store/index.js';
import { cleanupAll, fixtureService, openProfileStore, PASSPHRASE, reopenService, startTestRelay, waitUntil } from '../helpers/core.js';
import { openRawDb, recordPrepared } from '../helpers/raw-db.js';

const FP = 'f'.repeat(64);
const NOW = 10_000_000;
const RETENTION = 5_000_000; // marks before NOW - RETENTION = 5 000 000 are expired

let dir: string;
let file: string;
let key: string;
let store: HistoryStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'parley-seen-prune-'));
  file = path.join(dir, 'history.db');
  key = randomBytes(32).toString('hex');
  store = openHistoryStore({ path: file, key });
});

afterEach(() => {
  vi.useRealTimers();
  store.close(); // a second close (the tests that closed it) does nothing
  rmSync(dir, { recursive: true, force: true });
});

afterAll(cleanupAll);

/** Five expired marks (old1 oldest) and two recent ones. */
function seedMarks(): void {
  for (let i = 1; i <= 5; i++) store.markSeen(FP, `old${i}`, i * 1000);
  store.markSeen(FP, 'new1', NOW - 1000);
  store.markSeen(FP, 'new2', NOW);
}

/** The store, with every pruneSeen call recorded (arguments and what it deleted). */
function recording(s: HistoryStore, onCall?: (n: number) => void): { store: HistoryStore; calls: Array<{ before: number; limit?: number; deleted: number }> } {
  const calls: Array<{ before: number; limit?: number; deleted: number }> = [];
  const wrapped = Object.create(s) as HistoryStore;
  wrapped.pruneSeen = (before: number, limit?: number) => {
    const deleted = s.pruneSeen(before, limit);
    calls.push({ before, ...(limit !== undefined ? { limit } : {}), deleted });
    onCall?.(calls.length);
    return deleted;
  };
  return { store: wrapped, calls };
}

describe('SeenPrune', () => {
  it('deletes the expired marks oldest first, a batch at a time, letting other callbacks run between batches', async () => {
    seedMarks();
    const order: string[] = [];
    // Queued from inside each batch: runs before the next batch only if the pruner yields to the event loop.
    const { store: s, calls } = recording(store, (n) => {
      order.push(`batch ${n}`);
      setImmediate(() => order.push(`other work after batch ${n}`));
    });
    const logs: string[] = [];
    const prune = new SeenPrune(s, { delayMs: 0, batch: 2, retentionMs: RETENTION, now: () => NOW, log: (m) => logs.push(m) });
    expect(calls).toEqual([]); // nothing synchronously, inside the unlock
    expect(await prune.done).toBe(5);
    expect(calls).toEqual([
      { before: NOW - RETENTION, limit: 2, deleted: 2 },
      { before: NOW - RETENTION, limit: 2, deleted: 2 },
      { before: NOW - RETENTION, limit: 2, deleted: 1 },
    ]);
    expect(order.slice(0, 4)).toEqual(['batch 1', 'other work after batch 1', 'batch 2', 'other work after batch 2']);
    expect(store.hasSeen(FP, 'old1')).toBe(false);
    expect(store.hasSeen(FP, 'old5')).toBe(false);
    expect(store.hasSeen(FP, 'new1')).toBe(true);
    expect(store.hasSeen(FP, 'new2')).toBe(true);
    expect(logs).toEqual(['pruned 5 dedupe marks']);
  });

  it('takes the oldest marks first when a batch cannot hold them all', async () => {
    seedMarks();
    // The profile closes between the first and the second batch (a callback queued from inside the first).
    const { store: s } = recording(store, () => setImmediate(() => prune.stop()));
    const prune = new SeenPrune(s, { delayMs: 0, batch: 2, retentionMs: RETENTION, now: () => NOW, log: () => undefined });
    expect(await prune.done).toBe(2);
    expect(['old1', 'old2', 'old3', 'old4', 'old5'].map((id) => store.hasSeen(FP, id))).toEqual([false, false, true, true, true]);
  });

  it('runs nothing before its delay, and nothing once stopped', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
    seedMarks();
    const { store: s, calls } = recording(store);
    const prune = new SeenPrune(s, { delayMs: 30_000, batch: 2, retentionMs: RETENTION, now: () => NOW, log: () => undefined });
    vi.advanceTimersByTime(29_999);
    expect(calls).toEqual([]);
    prune.stop();
    vi.advanceTimersByTime(60_000);
    vi.runAllTimers();
    expect(calls).toEqual([]);
    expect(await prune.done).toBe(0);
    expect(store.hasSeen(FP, 'old1')).toBe(true);
  });

  it('uses 60 days and the wall clock by default', async () => {
    const day = 24 * 3600 * 1000;
    expect(SEEN_RETENTION_MS).toBe(60 * day);
    store.markSeen(FP, 'past-retention', Date.now() - 61 * day);
    store.markSeen(FP, 'within-retention', Date.now() - 59 * day);
    const prune = new SeenPrune(store, { delayMs: 0, log: () => undefined });
    expect(await prune.done).toBe(1);
    expect(store.hasSeen(FP, 'past-retention')).toBe(false);
    expect(store.hasSeen(FP, 'within-retention')).toBe(true);
  });

  it('a store failure is logged with its reason and settles (the marks wait for the next unlock)', async () => {
    store.close();
    const logs: Array<{ msg: string; level?: string }> = [];
    const prune = new SeenPrune(store, { delayMs: 0, log: (msg, o) => logs.push({ msg, ...(o?.level ? { level: o.level } : {}) }) });
    expect(await prune.done).toBe(0);
    expect(logs).toEqual([{ msg: 'pruning dedupe marks failed: pruneSeen: the history store is closed', level: 'warn' }]);
  });

  it('finds a batch through the seen_at index, never by scanning the marks', async () => {
    const prepared = await recordPrepared(() => store.pruneSeen(NOW, 10));
    const sql = prepared.find((s) => /DELETE FROM seen/i.test(s));
    expect(sql).toMatch(/LIMIT \?/);
    store.close();
    const raw = openRawDb(file, key, { readonly: true });
    try {
      const plan = (raw.prepare(`EXPLAIN QUERY PLAN ${sql!}`).all(NOW, 10) as Array<{ detail: string }>).map((r) => r.detail);
      expect(plan.some((d) => /seen USING (COVERING )?INDEX seen_at/.test(d))).toBe(true);
      expect(plan.filter((d) => /^SCAN seen\b/.test(d))).toEqual([]);
    } finally {
      raw.close();
    }
  });
});

describe('the service', () => {
  it('does not prune while unlocking; prunes after its delay; stops when the profile closes', async () => {
    const relay = await startTestRelay();
    const alice = await fixtureService(0, 'alice', relay.url);
    await alice.waitOnline();
    const profileDir = alice.profile.dir;
    await alice.close();

    const marks = async (): Promise<{ old: boolean; recent: boolean }> => {
      const s = await openProfileStore(profileDir, { passphrase: PASSPHRASE });
      try {
        return { old: s.hasSeen(FP, 'expired'), recent: s.hasSeen(FP, 'recent') };
      } finally {
        s.close();
      }
    };
    const s = await openProfileStore(profileDir, { passphrase: PASSPHRASE, writable: true });
    s.markSeen(FP, 'expired', Date.now() - SEEN_RETENTION_MS - 1000);
    s.markSeen(FP, 'recent', Date.now());
    s.close();

    // A long delay: the unlock and the first list leave the expired mark alone, and closing cancels the prune.
    const logs: string[] = [];
    const late = await reopenService(profileDir, { seenPruneDelayMs: 3_600_000, log: (m) => logs.push(m) });
    await late.listConversations({});
    expect(late.startupTimings().map((p) => p.phase)).not.toContain('dedupe prune');
    await late.close();
    expect(await marks()).toEqual({ old: true, recent: true });
    expect(logs.filter((m) => /dedupe/.test(m))).toEqual([]);

    // No delay (what the CLI uses): the expired mark goes right after the unlock, the recent one stays.
    const soon = await reopenService(profileDir, { seenPruneDelayMs: 0, log: (m) => logs.push(m) });
    await waitUntil(() => logs.includes('pruned 1 dedupe marks'), 20_000, 'the prune ran');
    await soon.close();
    expect(await marks()).toEqual({ old: false, recent: true });
  });
});
