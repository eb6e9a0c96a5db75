/**
 * The relay connection as the user lives it: the app finds its relay again after the relay restarts, keeps
 * messages written while it was down (across an app restart too) and sends them when it is back, refuses a relay
 * that comes back with a different identity, checks a TLS relay's certificate against its announced fingerprint,
 * and can host a relay itself.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { backoffDelay } from '../../electron/core/transport/backoff.js';
import { ParleyService } from '../../electron/core/service.js';
import { probeRelay } from '../../electron/core/transport/relay-client.js';
import { startRelay } from '../../relay/server/index.js';
import {
  aliceAndBob,
  PASSPHRASE,
  TEST_KDF_ITERATIONS,
  cleanupAll,
  collect,
  fixtureService,
  onCleanup,
  reopenService,
  startTestRelay,
  tmpDir,
  waitUntil,
} from '../helpers/core.js';
import { fixtureIdentity } from '../helpers/identities.js';

afterAll(cleanupAll);

describe('backoff', () => {
  test('grows exponentially, is jittered and capped', () => {
    const o = { baseMs: 100, maxMs: 5000, factor: 2, jitter: 0.5 };
    expect(backoffDelay(0, o, () => 0.5)).toBe(100);
    expect(backoffDelay(3, o, () => 0.5)).toBe(800);
    expect(backoffDelay(30, o, () => 0.5)).toBe(5000);
    expect(backoffDelay(30, o, () => 1)).toBe(5000); // never above the cap
    expect(backoffDelay(2, o, () => 0)).toBe(300); // 400 − 25 %
    expect(backoffDelay(2, o, () => 1)).toBe(500); // 400 + 25 %
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(4, o)));
    expect(seen.size).toBeGreaterThan(10);
  });
});

describe('relay connection', () => {
  test('testRelay reports the fingerprint, or a clear error', async () => {
    const relay = await startTestRelay();
    const probe = await probeRelay(relay.url);
    expect(probe.fingerprint).toBe(relay.relay.fingerprint);
    const svc = new ParleyService({ profileDir: tmpDir('probe') });
    onCleanup(() => svc.close());
    expect(await svc.testRelay({ url: relay.url })).toEqual({ ok: true, fingerprint: relay.relay.fingerprint });
    const down = await svc.testRelay({ url: 'http://127.0.0.1:1' });
    expect(down.ok).toBe(false);
    const bad = await svc.testRelay({ url: 'ftp://example' });
    expect(bad).toMatchObject({ ok: false });
    expect((await svc.getState()).phase).toBe('onboarding');
  });

  test('messages written while the relay is down wait in the outbox, survive an app restart, and go out when it is back', async () => {
    const dataDir = tmpDir('relay-restart');
    let relay = await startTestRelay({ dataDir });
    const port = relay.relay.port;
    const { alice, bob } = await aliceAndBob(relay.url, { contacts: 'alice' });

    const conn = collect(alice, 'connection-changed');
    await relay.close();
    await waitUntil(() => conn.some((c) => c.status === 'offline'), 10_000, 'alice sees the relay go');
    const m1 = await alice.sendMessage({ conversation: 'd:bob', text: 'written offline' });
    expect(m1.state).toBe('sending');
    const aliceDir = alice.profile.dir;
    await alice.close();

    const alice2 = await reopenService(aliceDir);
    const m2 = await alice2.sendMessage({ conversation: 'd:bob', text: 'written offline after a restart' });
    expect((await alice2.getState()).connection.status).not.toBe('online');

    const got = collect(bob, 'message-received');
    relay = await startTestRelay({ dataDir, port });
    await waitUntil(() => got.length === 2, 30_000, 'bob receives both after the relay is back');
    expect(got.map((m) => m.body)).toEqual(['written offline', 'written offline after a restart']);
    await waitUntil(
      async () => (await alice2.loadMessages({ conversation: 'd:bob' })).messages.every((m) => m.state === 'delivered'),
      20_000,
      'both delivered',
    );
    expect([m1.id, m2.id]).toEqual(got.map((m) => m.id));
  });

  test('a relay that comes back with a different identity is refused with a clear error', async () => {
    const relay = await startTestRelay();
    const port = relay.relay.port;
    const svc = await fixtureService(2, 'dana', relay.url);
    await svc.waitOnline();
    const pinned = svc.profile.meta.relayFingerprint;
    expect(pinned).toBe(relay.relay.fingerprint);
    await relay.close();

    const impostor = await startRelay({ host: '127.0.0.1', port, dataDir: tmpDir('impostor'), logger: false });
    onCleanup(() => impostor.close());
    expect(impostor.fingerprint).not.toBe(pinned);
    await waitUntil(
      async () => {
        const s = (await svc.getState()).connection;
        return s.status === 'offline' && /different identity/.test(s.reason);
      },
      20_000,
      'the pin mismatch to be reported',
    );
    const s = (await svc.getState()).connection;
    expect(s.status === 'offline' && s.reason).toMatch(/presents a different identity than the one pinned.*Refusing to connect/);
    expect(svc.profile.meta.relayFingerprint).toBe(pinned);
  });

  test('over TLS the certificate key must be the relay identity; the pin is its fingerprint', async () => {
    const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir: tmpDir('tls-relay'), tls: true, logger: false });
    onCleanup(() => relay.close());
    expect(relay.url).toMatch(/^https:/);
    const svc = await fixtureService(3, 'erin', relay.url);
    await svc.waitOnline();
    const state = (await svc.getState()).connection;
    expect(state).toMatchObject({ status: 'online', relayFingerprint: relay.fingerprint });
    expect(svc.profile.meta.relayFingerprint).toBe(relay.fingerprint);
  });

  test('the embedded relay starts in-process, serves clients, comes back at the same address after a restart, and stops', async () => {
    const dir = tmpDir('host');
    const svc = new ParleyService({ profileDir: dir, kdfIterations: TEST_KDF_ITERATIONS, passphrase: PASSPHRASE });
    onCleanup(() => svc.close());
    const st = await svc.startEmbeddedRelay({ lan: false });
    expect(st).toMatchObject({ running: true, lan: false });
    expect(st.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await svc.testRelay({ url: st.url! })).toEqual({ ok: true, fingerprint: st.fingerprint });
    await svc.createIdentityFrom(await fixtureIdentity(7), { username: 'gina', relayUrl: st.url!, vault: 'file', passphrase: PASSPHRASE });
    await svc.waitOnline();
    await svc.close(); // quitting the app is not "stop hosting"

    const again = new ParleyService({ profileDir: dir, kdfIterations: TEST_KDF_ITERATIONS, passphrase: PASSPHRASE });
    onCleanup(() => again.close());
    await again.waitOnline();
    const state = await again.getState();
    expect(state.embeddedRelay).toEqual(st);
    expect(state.connection).toMatchObject({ status: 'online', relayUrl: st.url, relayFingerprint: st.fingerprint });

    const stopped = await again.stopEmbeddedRelay();
    expect(stopped.running).toBe(false);
    expect((await again.testRelay({ url: st.url! })).ok).toBe(false);
  });

  test('a file-vault profile starts locked and unlocks with its passphrase only', async () => {
    const relay = await startTestRelay();
    const svc = await fixtureService(5, 'fred', relay.url);
    const dir = svc.profile.dir;
    await svc.close();
    const locked = new ParleyService({ profileDir: dir, kdfIterations: TEST_KDF_ITERATIONS });
    onCleanup(() => locked.close());
    expect((await locked.getState()).phase).toBe('locked');
    await expect(locked.listConversations({})).rejects.toMatchObject({ code: 'LOCKED' });
    await expect(locked.unlock({ passphrase: 'wrong passphrase' })).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    const info = await locked.unlock({ passphrase: PASSPHRASE });
    expect(info).toMatchObject({ username: 'fred', vault: 'file' });
    expect((await locked.getState()).phase).toBe('ready');
    expect(await locked.listConversations({})).toEqual([]);
  });

  test('export and import through the ParleyApi methods (the shell picks the file); the old device is told', async () => {
    const relay = await startTestRelay();
    const backup = `${tmpDir('backup')}/hank.parley-backup`;
    const hank = await fixtureService(8, 'hank', relay.url, { pickBackupFile: async () => backup });
    await hank.waitOnline();
    expect(await hank.exportIdentity({ passphrase: 'backup pass 123' })).toEqual({ saved: true, location: backup });

    const laptop = new ParleyService({
      profileDir: tmpDir('hank-laptop'),
      vault: 'file',
      kdfIterations: TEST_KDF_ITERATIONS,
      pickBackupFile: async () => backup,
    });
    onCleanup(() => laptop.close());
    await expect(laptop.importIdentity({ passphrase: 'wrong passphrase', relayUrl: relay.url })).rejects.toThrow(/passphrase/i);
    const conn = collect(hank, 'connection-changed');
    const info = await laptop.importIdentity({ passphrase: 'backup pass 123', relayUrl: relay.url });
    expect(info).toMatchObject({ username: 'hank', vault: 'file', fingerprint: hank.profile.meta.fingerprint });
    await waitUntil(() => conn.some((c) => c.status === 'offline' && c.reason === 'This identity is now active on another device'), 10_000, 'the old device is told');
    await laptop.waitOnline();
  });
});
