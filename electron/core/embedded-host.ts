/**
 * The relay this app hosts for the LAN (transport/embedded.ts), as the service sees it: brought back at start when
 * it was running last time, started and stopped from Settings, and asked for invite codes. Its files live in
 * `<profile>/relay`, inside the private profile folder.
 */
import path from 'node:path';
import type { EmbeddedRelayStatus, RelayInvite } from '../contract/api.js';
import { makeTreePrivate } from './profile.js';
import type { ParleyServiceOptions } from './service-types.js';
import { EmbeddedRelay } from './transport/embedded.js';

const STOPPED: EmbeddedRelayStatus = { running: false, url: null, fingerprint: null, lan: false, inviteOnly: false };

export class EmbeddedRelayHost {
  private relay: EmbeddedRelay | null = null;

  constructor(
    private readonly profileDir: string,
    private readonly log: NonNullable<ParleyServiceOptions['log']>,
  ) {}

  /** A relay this app hosted last time comes back first, at the same address, so the profile can reach it. */
  async resume(): Promise<void> {
    const candidate = new EmbeddedRelay(this.dataDir());
    const saved = candidate.saved();
    if (!saved?.running || this.relay) return;
    this.relay = candidate;
    await candidate
      .start({ lan: saved.lan })
      .catch((err: unknown) => this.log(`embedded relay did not start: ${(err as Error).message}`, { level: 'warn' }));
    makeTreePrivate(this.profileDir); // the relay's own files (its SQLite, certificate) live in the profile
  }

  async start(req: { lan: boolean; inviteOnly?: boolean }): Promise<EmbeddedRelayStatus> {
    const relay = this.ensure();
    await relay.start({ lan: req.lan === true, ...(req.inviteOnly !== undefined ? { inviteOnly: req.inviteOnly === true } : {}) });
    makeTreePrivate(this.profileDir);
    return this.status();
  }

  async stop(): Promise<EmbeddedRelayStatus> {
    await this.relay?.stop();
    return this.status();
  }

  /** Quitting the app is not "stop hosting": the relay comes back next time. */
  async close(): Promise<void> {
    await this.relay?.stop({ remember: false }).catch(() => undefined);
    this.relay = null;
  }

  status(): EmbeddedRelayStatus {
    return this.relay?.status() ?? { ...STOPPED };
  }

  /** "Share invite": a single-use code for the relay this app hosts, with the address and fingerprint to share. */
  createInvite(): RelayInvite {
    const relay = this.ensure();
    const invite = relay.createInvite();
    makeTreePrivate(this.profileDir);
    const st = relay.status();
    return { code: invite.code, expiresAt: invite.expiresAt, relayUrl: st.url, relayFingerprint: st.fingerprint };
  }

  private ensure(): EmbeddedRelay {
    this.relay ??= new EmbeddedRelay(this.dataDir());
    return this.relay;
  }

  private dataDir(): string {
    return path.join(this.profileDir, 'relay');
  }
}
