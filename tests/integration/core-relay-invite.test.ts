/**
 * Story: Gina hosts the relay inside her app for her office, invite only. A stranger on the LAN cannot register on
 * it; Hank gets a code from Gina's "Share invite" and joins; the same code does not let a third person in. The
 * hosting choice survives a restart of Gina's app. Real services, real embedded relay, real sockets; file vaults.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { ParleyService } from '../../electron/core/service.js';
import { cleanupAll, onCleanup, PASSPHRASE, TEST_KDF_ITERATIONS, tmpDir } from '../helpers/core.js';
import { fixtureIdentity } from '../helpers/identities.js';

afterAll(cleanupAll);

function service(prefix: string): ParleyService {
  const svc = new ParleyService({ profileDir: tmpDir(prefix), kdfIterations: TEST_KDF_ITERATIONS, passphrase: PASSPHRASE });
  onCleanup(() => svc.close());
  return svc;
}

describe('an invite-only relay hosted in the app', () => {
  test('registration needs a fresh invite from the host; the mode survives a restart', async () => {
    const gina = service('gina');
    const st = await gina.startEmbeddedRelay({ lan: false, inviteOnly: true });
    expect(st).toMatchObject({ running: true, inviteOnly: true });
    await gina.createIdentityFrom(await fixtureIdentity(7), { username: 'gina', relayUrl: st.url!, vault: 'file', invite: (await gina.createRelayInvite()).code });

    const stranger = service('stranger');
    await expect(
      stranger.createIdentityFrom(await fixtureIdentity(8), { username: 'stranger', relayUrl: st.url!, vault: 'file' }),
    ).rejects.toMatchObject({ code: 'RELAY', message: expect.stringContaining('INVITE_REQUIRED') });
    expect(stranger.whoami().username).toBeNull(); // nothing half-created: the profile can try again

    const invite = await gina.createRelayInvite();
    expect(invite).toMatchObject({ relayUrl: st.url, relayFingerprint: st.fingerprint });
    expect(invite.expiresAt).toBeGreaterThan(Date.now());
    const hank = service('hank');
    await hank.createIdentityFrom(await fixtureIdentity(9), { username: 'hank', relayUrl: st.url!, vault: 'file', invite: invite.code });
    await hank.waitOnline();
    expect(hank.whoami().username).toBe('hank');

    // single use: the stranger cannot reuse Hank's code
    await expect(
      stranger.createIdentityFrom(await fixtureIdentity(8), { username: 'stranger', relayUrl: st.url!, vault: 'file', invite: invite.code }),
    ).rejects.toMatchObject({ code: 'RELAY', message: expect.stringContaining('INVITE_REQUIRED') });

    // the hosting choice is remembered: after a restart the relay is invite-only again at the same address
    const dir = gina.profile.dir;
    await gina.close();
    const again = new ParleyService({ profileDir: dir, kdfIterations: TEST_KDF_ITERATIONS, passphrase: PASSPHRASE });
    onCleanup(() => again.close());
    await again.waitOnline();
    expect((await again.getState()).embeddedRelay).toEqual(st);
    await expect(
      stranger.createIdentityFrom(await fixtureIdentity(8), { username: 'stranger', relayUrl: st.url!, vault: 'file' }),
    ).rejects.toMatchObject({ message: expect.stringContaining('INVITE_REQUIRED') });
  }, 120_000);
});
