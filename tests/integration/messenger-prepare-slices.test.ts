/**
 * Preparing a delivered batch (dedupe check, sender resolution, handing envelopes to the pool) gives the event loop a
 * turn every 16 envelopes (ingest.ts PREPARE_SLICE), so a timer or an IPC call never waits behind a whole batch:
 * bench/backlog.ts measured 8–15 ms for 64 at once, on top of the commit that follows.
 * Bob's real client (Messenger, encrypted SQLite, a crypto worker, RelayClient) against the scriptable relay of
 * tests/helpers/fake-relay.ts; the store is wrapped only to record when each dedupe check runs.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { IdentityKeys } from '../../electron/core/crypto/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import type { HistoryStore } from '../../electron/core/store/types.js';
import { cleanupAll, waitUntil } from '../helpers/core.js';
import { FakeRelay, interceptStore, receiver, sealFrom } from '../helpers/fake-relay.js';
import { fixtureIdentity, fixtureKeys } from '../helpers/identities.js';

let alice: IdentityKeys;
let bobSecret: IdentitySecret;
let bobKeys: IdentityKeys;

beforeAll(async () => {
  alice = await fixtureKeys(0);
  bobSecret = await fixtureIdentity(1);
  bobKeys = await fixtureKeys(1);
}, 120_000);

afterAll(cleanupAll);

/** The longest run of consecutive 'seen' entries in the log (checks done without the loop turning). */
function longestRun(log: string[]): number {
  let best = 0;
  let run = 0;
  for (const x of log) {
    run = x === 'seen' ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

test('a batch of 48 is prepared in slices of 16 with a turn of the event loop between them; all 48 stored once', async () => {
  const relay = await FakeRelay.start();
  relay.publish('alice', alice);
  const log: string[] = [];
  const wrapStore = (s: HistoryStore): HistoryStore =>
    interceptStore(s, {
      hasSeen:
        (target) =>
        (...args) => {
          log.push('seen');
          return target.hasSeen(...args);
        },
    });
  const bob = await receiver(relay.url, bobSecret, { wrapStore });
  await bob.messenger.addContact('alice');
  const shown: string[] = [];
  bob.messenger.on('message-received', (m) => shown.push(m.id));

  const envelopes = [];
  for (let i = 0; i < 48; i++) envelopes.push(await sealFrom(alice, bobKeys.public, `message ${i}`));
  // a check-phase callback every turn of the loop while the batch is prepared
  let ticking = true;
  const tick = (): void => {
    log.push('tick');
    if (ticking) setImmediate(tick);
  };
  log.length = 0;
  setImmediate(tick);
  relay.deliver(envelopes);
  await waitUntil(() => shown.length === 48, 30_000, 'all 48 stored');
  ticking = false;

  const checks = log.filter((x) => x === 'seen').length;
  expect(checks).toBe(48); // one dedupe check per envelope: the slices cover the batch exactly once
  expect(longestRun(log)).toBe(16);
  expect(new Set(shown).size).toBe(48);
  expect(shown.sort()).toEqual(envelopes.map((e) => e.id).sort());
});
