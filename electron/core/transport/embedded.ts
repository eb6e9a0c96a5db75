/**
 * The embedded relay: the app can host a relay in-process (startRelay from relay/server) for its LAN or just for
 * this machine. Its data (identity key, certificate, queue) lives in `<profile>/relay`, so its fingerprint is
 * stable across restarts and clients' pins keep matching. The port and mode are remembered in
 * `<profile>/relay/embedded.json` so the relay comes back at the same address (the profile's relay URL) on the
 * next launch. LAN mode listens on the machine's LAN address with TLS and mDNS; local mode on 127.0.0.1 only.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EmbeddedRelayStatus } from '../../contract/api.js';
import { createInvite, startRelay, type Invite, type RunningRelay } from '../../../relay/server/index.js';
import { writeFileAtomic } from '../profile.js';

interface Saved {
  port: number;
  lan: boolean;
  /** Whether it was running when the app last changed it (restarted on the next launch). */
  running: boolean;
  /** New users need an invite code (relay registration 'token'); otherwise registration is open, rate-limited. */
  inviteOnly: boolean;
}

/** The first non-internal IPv4 address, or null. */
export function lanAddress(): string | null {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

export class EmbeddedRelay {
  private relay: RunningRelay | null = null;
  private lan = false;
  private inviteOnly = false;
  private starting: Promise<void> | null = null;
  private readonly stateFile: string;

  constructor(private readonly dataDir: string) {
    this.stateFile = path.join(dataDir, 'embedded.json');
  }

  /** What was saved last time, if anything. */
  saved(): Saved | null {
    try {
      const s = JSON.parse(readFileSync(this.stateFile, 'utf8')) as Partial<Saved>;
      if (typeof s.port !== 'number' || typeof s.lan !== 'boolean') return null;
      return { port: s.port, lan: s.lan, running: s.running === true, inviteOnly: s.inviteOnly === true };
    } catch {
      return null;
    }
  }

  private save(s: Saved): void {
    try {
      mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
      writeFileAtomic(this.stateFile, JSON.stringify(s) + '\n', 0o600);
    } catch {
      /* remembering the port is a convenience */
    }
  }

  async start(o: { lan: boolean; port?: number; inviteOnly?: boolean }): Promise<void> {
    if (this.starting) await this.starting;
    const inviteOnly = o.inviteOnly ?? this.saved()?.inviteOnly ?? false;
    if (this.relay && this.lan === o.lan && this.inviteOnly === inviteOnly) return;
    if (this.relay) await this.stop();
    const host = o.lan ? lanAddress() : '127.0.0.1';
    if (!host) throw Object.assign(new Error('No LAN network interface found to host the relay on'), { code: 'INVALID' });
    const prev = this.saved();
    const wanted = o.port ?? (prev && prev.lan === o.lan ? prev.port : 0);
    this.starting = (async () => {
      const run = (port: number) =>
        startRelay({
          host,
          port,
          dataDir: this.dataDir,
          tls: o.lan,
          advertise: o.lan,
          logger: false,
          registration: inviteOnly ? 'token' : 'open',
        });
      try {
        this.relay = await run(wanted);
      } catch (err) {
        if (wanted === 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        this.relay = await run(0); // the remembered port is taken: any port (the profile's relay URL changes)
      }
      this.lan = o.lan;
      this.inviteOnly = inviteOnly;
      this.save({ port: this.relay.port, lan: o.lan, running: true, inviteOnly });
    })();
    try {
      await this.starting;
    } finally {
      this.starting = null;
    }
  }

  async stop(o: { remember?: boolean } = {}): Promise<void> {
    const r = this.relay;
    this.relay = null;
    if (r && o.remember !== false) this.save({ port: r.port, lan: this.lan, running: false, inviteOnly: this.inviteOnly });
    await r?.close();
  }

  /**
   * A single-use invite code for this relay (valid ttlMs, default 7 days), for a "share invite" button: the person
   * who gets it registers with it (`register` `invite`). Needed only when the relay runs with registration 'token';
   * the embedded relay runs 'open' (rate-limited per address) unless started with `inviteOnly`. The code is shown
   * once; only its hash is kept in `<profile>/relay/invites/`. Works whether or not the relay is running.
   */
  createInvite(o: { ttlMs?: number } = {}): Invite {
    return createInvite(this.dataDir, o);
  }

  status(): EmbeddedRelayStatus {
    const r = this.relay;
    return r
      ? { running: true, url: r.url, fingerprint: r.fingerprint, lan: this.lan, inviteOnly: this.inviteOnly }
      : { running: false, url: null, fingerprint: null, lan: false, inviteOnly: false };
  }
}
