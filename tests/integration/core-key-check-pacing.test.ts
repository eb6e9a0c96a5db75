/**
 * Checking every contact's key after connecting must stay inside the relay's per-connection event budget. Unpaced,
 * a profile with a few hundred contacts sent one lookup per contact back to back; the relay refused those over its
 * budget (RATE_LIMITED counts as abuse), dropped the connection, and the reconnect started the same burst again.
 * Real relay over a real socket (with a small budget so 40 contacts are enough), real RelayClient, real encrypted
 * SQLite, real crypto workers, real Messenger.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CryptoPool } from '../../electron/core/crypto/index.js';
import { Messenger } from '../../electron/core/messenger/messenger.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import { RelayClient } from '../../electron/core/transport/relay-client.js';
import { onCleanup, startTestRelay, tmpDir } from '../helpers/core.js';
import { fixtureIdentity, fixtureKeys } from '../helpers/identities.js';

const CONTACTS = 40;

async function aliceWithContacts(url: string, keyChecksPerSecond: number) {
  const secret = await fixtureIdentity(0);
  const keys = await fixtureKeys(0);
  const other = await fixtureKeys(1);
  const store = openHistoryStore({ path: path.join(tmpDir('pacing'), 'history.db'), key: randomBytes(32).toString('hex') });
  for (let i = 0; i < CONTACTS; i++) {
    // Unknown to the relay: each lookup is answered NOT_FOUND, which is fine for the budget (not an abuse code).
    store.addContact({ username: `contact${i}`, identity: other.public, fingerprint: other.fingerprint });
  }
  const pool = new CryptoPool({ secret, size: 1 });
  const messenger = new Messenger({
    store,
    crypto: pool,
    me: { username: 'alice', identity: keys.public, fingerprint: keys.fingerprint },
    keyCheckIntervalMs: 0,
    keyChecksPerSecond,
  });
  const client = new RelayClient({ url, identity: keys, registerAs: 'alice', reconnect: { enabled: false } });
  const states: string[] = [];
  client.on('state', (s) => states.push(s.status));
  onCleanup(async () => {
    client.close();
    await messenger.close();
    await pool.close();
    store.close();
  });
  messenger.attach(client);
  client.connect();
  await client.waitOnline(20_000);
  return { messenger, client, states };
}

describe('key checks of all contacts', () => {
  // connPerSec 10 with a burst of 10, and the connection is dropped after 5 refusals in a minute.
  const limits = { connBurst: 10, connPerSec: 10, abuseRejectsPerMinute: 5 };

  it('unpaced, a burst of lookups over the budget gets the connection dropped (the failure this guards)', async () => {
    const relay = await startTestRelay({ limits });
    const alice = await aliceWithContacts(relay.url, 1000);
    await alice.messenger.checkAllContacts();
    expect(alice.states).toContain('offline');
    expect(alice.client.online).toBe(false);
    const metrics = (await (await fetch(`${relay.url}/metrics`)).json()) as { abuseDisconnects: number };
    expect(metrics.abuseDisconnects).toBe(1);
  }, 60_000);

  it('paced under the relay budget, every contact is checked and the connection stays up', async () => {
    const relay = await startTestRelay({ limits });
    const alice = await aliceWithContacts(relay.url, 8);
    const pass = alice.messenger.checkAllContacts();
    // A second trigger (reconnect, timer) while a pass runs joins it instead of starting a parallel burst.
    expect(alice.messenger.checkAllContacts()).toBe(pass);
    await pass;
    expect(alice.states).not.toContain('offline');
    expect(alice.client.online).toBe(true);
    const metrics = (await (await fetch(`${relay.url}/metrics`)).json()) as { abuseDisconnects: number; rejects?: unknown };
    expect(metrics.abuseDisconnects).toBe(0);
  }, 60_000);
});
