/**
 * Users for messenger tests over the in-memory relay (Transport seam; groups and direct chats): real encrypted SQLite, real crypto workers, real
 * Messenger; only the relay is in memory.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CryptoPool, loadIdentity } from '../../electron/core/crypto/index.js';
import { Messenger } from '../../electron/core/messenger/messenger.js';
import type { MessengerEvents, MessengerOptions } from '../../electron/core/messenger/types.js';
import { openHistoryStore } from '../../electron/core/store/index.js';
import { onCleanup, tmpDir } from './core.js';
import { fixtureIdentity } from './identities.js';
import { MemoryRelay, type MemoryTransport } from './memory-relay.js';

export type GroupUser = Awaited<ReturnType<typeof groupUser>>;

/** `options`: messenger options for this user (e.g. an injected clock or retry backoff). */
export async function groupUser(relay: MemoryRelay, username: string, n: number, options: Partial<MessengerOptions> = {}) {
  const secret = await fixtureIdentity(n);
  const keys = await loadIdentity(secret);
  relay.register({ username, identity: keys.public, fingerprint: keys.fingerprint });
  const store = openHistoryStore({ path: path.join(tmpDir(`grp-${username}`), 'history.db'), key: randomBytes(32).toString('hex') });
  const pool = new CryptoPool({ secret, size: 1 });
  const messenger = new Messenger({
    store,
    crypto: pool,
    me: { username, identity: keys.public, fingerprint: keys.fingerprint },
    keyCheckIntervalMs: 0,
    keyCheckOnSendMs: 0,
    log: (m: string) => { if (process.env.PARLEY_TEST_LOG) console.error(`[${username}] ${m}`); },
    ...options,
  });
  onCleanup(async () => {
    await messenger.close();
    await pool.close();
    store.close();
  });
  let transport: MemoryTransport | null = null;
  /** The keys in use: `keys` until the user rotates. */
  let current = { keys, pool };
  const connect = async () => {
    const t = relay.connect(current.keys.fingerprint);
    transport = t;
    const authed = new Promise<void>((r) => t.on('authenticated', () => r()));
    messenger.attach(t);
    await authed;
    await messenger.drain();
    await messenger.idle();
  };
  const disconnect = () => {
    messenger.attach(null);
    transport = null;
  };
  /**
   * The user rotates to cached identity `m` (same profile and history, as account.ts rotateIdentity does): the relay
   * serves the new key for the username (unsigned by the old one) and the user reconnects with it.
   */
  const rotate = async (m: number) => {
    const nextSecret = await fixtureIdentity(m);
    const nextKeys = await loadIdentity(nextSecret);
    const nextPool = new CryptoPool({ secret: nextSecret, size: 1 });
    onCleanup(() => nextPool.close());
    disconnect();
    relay.register({ username, identity: nextKeys.public, fingerprint: nextKeys.fingerprint });
    messenger.setIdentity({ username, identity: nextKeys.public, fingerprint: nextKeys.fingerprint }, nextPool);
    current = { keys: nextKeys, pool: nextPool };
    await connect();
    return nextKeys;
  };
  return { username, messenger, store, keys, pool, connect, disconnect, rotate, current: () => current, transport: () => transport };
}

export function next<E extends keyof MessengerEvents & string>(m: Messenger, event: E, pred: (p: MessengerEvents[E]) => boolean) {
  return new Promise<MessengerEvents[E]>((resolve) => {
    const off = m.on(event, (p) => {
      if (pred(p)) {
        off();
        resolve(p);
      }
    });
  });
}

/**
 * Waits until `cond` holds, re-checking after each event of `m` and every 50 ms (state reached through a path that
 * emits none of these events, e.g. a receipt folded into another batch, must not hang the test). Bounded: after
 * `timeoutMs` it rejects with `describe()` (what the state was), so a test that cannot get there says why instead of
 * running into the test timeout.
 */
export function until(ms: Messenger[], cond: () => boolean, describe: () => string = () => '', timeoutMs = 90_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (cond()) return resolve();
    const offs: Array<() => void> = [];
    const stop = () => {
      for (const o of offs) o();
    };
    const check = () => {
      if (cond()) {
        stop();
        resolve();
      }
    };
    const timer = setInterval(check, 50);
    const limit = setTimeout(() => {
      stop();
      const diag = ms.map((m) => JSON.stringify(m.diagnostics())).join(' ');
      reject(new Error(`until: not reached after ${timeoutMs} ms; ${describe()}; receive diagnostics: ${diag}`));
    }, timeoutMs);
    offs.push(() => clearInterval(timer), () => clearTimeout(limit));
    for (const m of ms) for (const e of ['batch-stored', 'group-changed', 'message-state', 'group-delivery'] as const) offs.push(m.on(e, check));
  });
}

/** A group's timeline as `u` shows it, one "sender: body" line per message (`u`'s own under its username). */
export const groupBodies = (u: GroupUser, g: string): string[] => u.messenger.groups.loadPage(g).messages.map((m) => `${m.sender ?? u.username}: ${m.body}`);

/**
 * Alice creates group `name` with bob and carol, all connected; resolves once both know the group. `mutual`: bob
 * and carol have added alice too (otherwise the group is a request from a stranger to them).
 */
export async function groupOfThree(name = 'team', o: { mutual?: boolean } = {}) {
  const relay = new MemoryRelay();
  const alice = await groupUser(relay, 'alice', 0);
  const bob = await groupUser(relay, 'bob', 1);
  const carol = await groupUser(relay, 'carol', 2);
  for (const u of [alice, bob, carol]) await u.connect();
  await alice.messenger.addContact('bob');
  await alice.messenger.addContact('carol');
  if (o.mutual) for (const u of [bob, carol]) await u.messenger.addContact('alice');
  const g = (await alice.messenger.groups.create(name, ['bob', 'carol'])).id;
  await until(
    [bob.messenger, carol.messenger],
    () => !!bob.store.groups.getGroup(g) && !!carol.store.groups.getGroup(g),
    () => `group known to bob: ${!!bob.store.groups.getGroup(g)}, to carol: ${!!carol.store.groups.getGroup(g)}`,
  );
  return { relay, alice, bob, carol, g };
}
