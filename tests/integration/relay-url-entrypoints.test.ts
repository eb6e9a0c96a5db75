/**
 * Relay addresses at every entry point: one validator (parseRelayUrl) decides for the CLI, Settings' setRelay,
 * onboarding, testRelay and the address saved in profile.json; a plain address off this machine needs an explicit
 * choice (--insecure-relay, the insecureRelay setting). And TLS pinning follows TLS, not the scheme's spelling: a
 * wss:// relay whose certificate is not the identity it announces is refused exactly like an https:// one.
 * Real relays, real sockets, real profile files. 192.0.2.0/24 (TEST-NET-1) stands in for a remote host: nothing
 * there answers, and the refusals happen before any connection.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Server } from 'socket.io';
import { afterAll, describe, expect, test } from 'vitest';
import { toB64u } from '../../relay/protocol/index.js';
import { loadRelayIdentity } from '../../relay/server/identity.js';
import { RelayClient } from '../../electron/core/transport/relay-client.js';
import { ParleyService } from '../../electron/core/service.js';
import { childEnv, cleanupAll, fixtureFile, fixtureService, onCleanup, reopenService, runCli, startTestRelay, tmpDir, waitUntil } from '../helpers/core.js';

afterAll(cleanupAll);

const REMOTE_PLAIN = 'http://192.0.2.10:7070';

/** A TLS socket.io server whose certificate is its own key, announcing a different relay identity in its challenge. */
async function impostorRelay(): Promise<number> {
  const ident = await loadRelayIdentity(tmpDir('impostor'));
  const server = https.createServer({ key: ident.keyPem, cert: ident.certPem });
  const io = new Server(server);
  io.on('connection', (s) => s.emit('challenge', { v: 1, relay: 'ab'.repeat(32), nonce: toB64u(new Uint8Array(32).fill(7)) }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(() => new Promise<void>((r) => io.close(() => r())));
  return (server.address() as AddressInfo).port;
}

describe('TLS pinning follows TLS, not the spelling', () => {
  test('wss:// and https:// both refuse a certificate that is not the announced relay identity', async () => {
    const port = await impostorRelay();
    for (const scheme of ['wss', 'https']) {
      const c = new RelayClient({ url: `${scheme}://127.0.0.1:${port}`, identity: null, reconnect: { enabled: false } });
      onCleanup(() => c.close());
      c.connect();
      await expect(c.waitOnline(10_000), scheme).rejects.toMatchObject({ code: 'RELAY_CHANGED' });
      expect(c.state, scheme).toMatchObject({ status: 'offline', reason: expect.stringMatching(/TLS certificate .* does not match/) });
    }
  });
});

describe('one validator at every entry point', () => {
  test('settings, onboarding and testRelay refuse a plain remote relay until the user allows insecure relays', async () => {
    const svc = new ParleyService({ profileDir: tmpDir('url-svc'), connect: false });
    onCleanup(() => svc.close());
    await expect(svc.setRelay({ url: REMOTE_PLAIN })).rejects.toMatchObject({ code: 'INVALID', message: expect.stringMatching(/no TLS/) });
    await expect(svc.setRelay({ url: 'https://relay.example/x' })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(svc.createIdentity({ username: 'ivy', relayUrl: REMOTE_PLAIN, vault: 'file', passphrase: 'long enough pass' })).rejects.toMatchObject({
      code: 'INVALID',
    });
    expect(await svc.testRelay({ url: REMOTE_PLAIN })).toMatchObject({ ok: false, error: expect.stringMatching(/no TLS/) });
    expect(svc.profile.meta.relayUrl).toBeNull();

    await expect(svc.updateSettings({ insecureRelay: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'INVALID' });
    expect((await svc.updateSettings({ insecureRelay: true })).insecureRelay).toBe(true);
    // Allowed now (the relay itself is unreachable: the refusal is no longer about the address).
    await svc.setRelay({ url: REMOTE_PLAIN.replace('http:', 'ws:') });
    expect(svc.profile.meta.relayUrl).toBe(REMOTE_PLAIN);
    const settingsFile = JSON.parse(readFileSync(path.join(svc.profile.dir, 'settings.json'), 'utf8')) as { insecureRelay: boolean };
    expect(settingsFile.insecureRelay).toBe(true);
  });

  test('an insecure address saved in profile.json is refused on start with a clear reason, not connected to', async () => {
    const relay = await startTestRelay();
    const svc = await fixtureService(4, 'saved', relay.url);
    const dir = svc.profile.dir;
    await svc.close();
    const metaFile = path.join(dir, 'profile.json');
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(metaFile, JSON.stringify({ ...meta, relayUrl: REMOTE_PLAIN }));
    const again = await reopenService(dir);
    const state = (await again.getState()).connection;
    expect(state).toMatchObject({ status: 'offline', relayUrl: REMOTE_PLAIN, reason: expect.stringMatching(/no TLS/) });
    // Still usable offline: the profile opens, history and contacts work.
    expect(await again.listContacts()).toEqual([]);
    await again.close();

    writeFileSync(metaFile, JSON.stringify({ ...meta, relayUrl: `${relay.url}/socket.io?evil=1` }));
    const junk = await reopenService(dir);
    expect((await junk.getState()).connection).toMatchObject({ status: 'offline', reason: expect.stringMatching(/scheme, host and port only/) });
    await junk.close();

    writeFileSync(metaFile, JSON.stringify({ ...meta, relayUrl: relay.url.replace('http:', 'ws:') }));
    const ok = await reopenService(dir);
    await ok.waitOnline();
    expect((await ok.getState()).connection.status).toBe('online');
  });

  test('the CLI refuses a plain remote --relay without --insecure-relay, and takes it with it', async () => {
    const relay = await startTestRelay();
    const env = childEnv({ PARLEY_PASSPHRASE: 'cli url passphrase' });
    const dir = tmpDir('cli-url');
    const refused = await runCli(['--profile', dir, '--relay', REMOTE_PLAIN, '--vault', 'file', 'init', 'ulla', '--test-identity', await fixtureFile(5)], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/192\.0\.2\.10:7070 is not this computer .*--insecure-relay.*\[INVALID\]/);
    const junk = await runCli(['--profile', dir, '--relay', 'https://u:p@relay.example', 'whoami'], { env });
    expect(junk.code).toBe(1);
    expect(junk.stderr).toMatch(/no user name or password \[INVALID\]/);

    const init = await runCli(['--profile', dir, '--relay', relay.url, '--vault', 'file', 'init', 'ulla', '--test-identity', await fixtureFile(5)], { env });
    expect(init.code, init.stderr).toBe(0);
    const noFlag = await runCli(['--profile', dir, '--relay', REMOTE_PLAIN, 'contacts'], { env });
    expect(noFlag.code).toBe(1);
    const profileFile = path.join(dir, 'profile.json');
    expect((JSON.parse(readFileSync(profileFile, 'utf8')) as { relayUrl: string }).relayUrl).toBe(relay.url);
    const withFlag = await runCli(['--profile', dir, '--relay', REMOTE_PLAIN, '--insecure-relay', 'contacts'], { env });
    expect(withFlag.code, withFlag.stderr).toBe(0);
    await waitUntil(() => (JSON.parse(readFileSync(profileFile, 'utf8')) as { relayUrl: string }).relayUrl === REMOTE_PLAIN, 5000, 'relay saved');
  });
});
