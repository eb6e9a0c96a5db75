/**
 * Story: Alice sends Bob 1 000 messages while he is offline. Bob's headless client starts receiving the backlog and
 * is killed with SIGKILL part-way (at least one and fewer than 1 000 already stored, read from his own encrypted
 * database, and none of them acknowledged to the relay: a test hook holds his acks, so the redelivery of stored
 * messages is exercised every run). After a restart every message is there exactly once, in order, and the relay's queue is empty.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ParleyService } from '../../electron/core/service.js';
import {
  PASSPHRASE,
  childEnv,
  cleanupAll,
  fixtureFile,
  fixtureService,
  openProfileStore,
  runCli,
  spawnCli,
  startTestRelay,
  tmpDir,
  waitUntil,
  type TestRelay,
} from '../helpers/core.js';

const TOTAL = 1000;
const body = (i: number) => `backlog message ${String(i).padStart(4, '0')}`;

let relay: TestRelay;
let alice: ParleyService;
let bobDir: string;
const env = childEnv({ PARLEY_PASSPHRASE: PASSPHRASE });

beforeAll(async () => {
  // Generous send limits: this test is about the receiver, not the relay's rate limiter.
  relay = await startTestRelay({ limits: { sendBurst: 5000, sendPerSec: 5000, connBurst: 20_000, connPerSec: 10_000 } });
  bobDir = tmpDir('bob');
  const init = await runCli(['--profile', bobDir, '--relay', relay.url, '--vault', 'file', 'init', 'bob', '--test-identity', await fixtureFile(1)], { env });
  expect(init.code, init.stderr).toBe(0);
  alice = await fixtureService(0, 'alice', relay.url, { messenger: { keyCheckOnSendMs: 60_000, keyCheckIntervalMs: 0 } });
  await alice.waitOnline();
  await alice.addContact({ username: 'bob' });
}, 120_000);

afterAll(cleanupAll);

function relayPendingFor(username: string): number {
  const db = new Database(relay.dbFile, { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(
        `SELECT COUNT(*) AS n FROM deliveries d JOIN identities i ON i.fingerprint = d.recipient
         WHERE i.username = ? AND d.acked_at IS NULL`,
      )
      .get(username) as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

describe('crash safety of the receive path', () => {
  test('kill -9 during a 1000-message backlog, restart: all 1000 exactly once, in order', async () => {
    let sent = 0;
    alice.on('message-state', (s) => {
      if (s.state === 'sent') sent++;
    });
    for (let i = 0; i < TOTAL; i++) await alice.sendMessage({ conversation: 'd:bob', text: body(i) });
    await waitUntil(() => sent === TOTAL, 60_000, 'all 1000 sent to the relay');
    expect(relayPendingFor('bob')).toBe(TOTAL);

    // First run: Bob's client commits what the relay pushes but never acknowledges it (the CLI's test hook
    // PARLEY_TEST_HOLD_ACKS), so when it is killed every message it stored is still queued on the relay: the
    // stored-but-unacknowledged window, hit on every run instead of by chance.
    const first = spawnCli(['--profile', bobDir, 'listen'], { env: { ...env, PARLEY_TEST_HOLD_ACKS: '1' } });
    await first.waitForCount((l) => l.event === 'message', 1, 60_000);
    first.proc.kill('SIGKILL');
    await first.exited;
    const printed = first.lines.filter((l) => l.event === 'message').length;

    let store = await openProfileStore(bobDir, { passphrase: PASSPHRASE });
    const storedAtKill = store.countMessages('alice');
    store.close();
    expect(storedAtKill).toBeGreaterThanOrEqual(1);
    expect(storedAtKill).toBeLessThan(TOTAL);
    expect(storedAtKill).toBeGreaterThanOrEqual(printed); // a printed line is always a committed message
    // the window was hit: every stored message is still unacknowledged on the relay and will be redelivered
    expect(relayPendingFor('bob')).toBe(TOTAL);

    // Second run: the rest arrives; the redelivered envelopes that were stored but not acked show nothing twice.
    const second = spawnCli(['--profile', bobDir, 'listen'], { env });
    await second.waitForCount((l) => l.event === 'message', TOTAL - storedAtKill, 90_000);
    await waitUntil(() => relayPendingFor('bob') === 0, 30_000, 'the relay queue to drain');
    // stop() waits for the process to exit, so every line it printed is in; a redelivery printed twice would show here
    expect(await second.stop()).toBe(0);
    expect(second.lines.filter((l) => l.event === 'message').length).toBe(TOTAL - storedAtKill);

    store = await openProfileStore(bobDir, { passphrase: PASSPHRASE });
    try {
      expect(store.countMessages('alice')).toBe(TOTAL);
      const all = [];
      let before: number | null = null;
      do {
        const page = store.loadPage('alice', { before, limit: 500 });
        all.unshift(...page.messages);
        before = page.nextCursor;
      } while (before !== null);
      expect(all).toHaveLength(TOTAL);
      expect(new Set(all.map((m) => m.id)).size).toBe(TOTAL);
      expect(all.map((m) => m.body)).toEqual(Array.from({ length: TOTAL }, (_, i) => body(i)));
      expect(all.every((m) => m.direction === 'in' && m.state === 'delivered')).toBe(true);
    } finally {
      store.close();
    }
  }, 240_000);
});
