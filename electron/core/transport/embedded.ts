/**
 * The embedded relay: the app can host a relay in-process (startRelay from relay/server) for its LAN or just for
 * this machine. Its data (identity key, certificate, queue) lives in `<profile>/relay`, so its fingerprint is
 * stable across restarts and clients' pins keep matching. LAN mode listens on all interfaces with TLS and mDNS;
 * local mode listens on 127.0.0.1 only.
 */
import type { EmbeddedRelayStatus } from '../../contract/api.js';
import { startRelay, type RunningRelay } from '../../../relay/server/index.js';

export class EmbeddedRelay {
  private relay: RunningRelay | null = null;
  private lan = false;
  private starting: Promise<void> | null = null;

  constructor(private readonly dataDir: string) {}

  async start(o: { lan: boolean; port?: number }): Promise<void> {
    if (this.starting) await this.starting;
    if (this.relay && this.lan === o.lan) return;
    if (this.relay) await this.stop();
    this.starting = (async () => {
      this.relay = await startRelay({
        host: o.lan ? '0.0.0.0' : '127.0.0.1',
        port: o.port ?? 0,
        dataDir: this.dataDir,
        tls: o.lan,
        advertise: o.lan,
        logger: false,
      });
      this.lan = o.lan;
    })();
    try {
      await this.starting;
    } finally {
      this.starting = null;
    }
  }

  async stop(): Promise<void> {
    const r = this.relay;
    this.relay = null;
    await r?.close();
  }

  status(): EmbeddedRelayStatus {
    const r = this.relay;
    return r
      ? { running: true, url: r.url, fingerprint: r.fingerprint, lan: this.lan }
      : { running: false, url: null, fingerprint: null, lan: false };
  }
}
