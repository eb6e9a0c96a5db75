/**
 * A logged-in relay client that the test's cleanup closes: `login` (relay.ts) plus `onCleanup` (core.ts), for tests
 * that collect their cleanups with `afterEach(cleanupAll)`.
 */
import type { RunningRelay } from '../../relay/server/index.js';
import { onCleanup } from './core.js';
import { login, type Party, type RelayClient } from './relay.js';

export async function loginUntilCleanup(relay: Pick<RunningRelay, 'url' | 'fingerprint'>, p: Party): Promise<RelayClient> {
  const c = await login(relay.url, relay.fingerprint, p);
  onCleanup(() => c.close());
  return c;
}
