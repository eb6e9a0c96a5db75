/** The crypto worker pool of an unlocked profile, started only when something is sealed or opened. */
import type { PublicIdentity } from '../../relay/protocol/index.js';
import { CryptoPool, type IdentitySecret } from './crypto/index.js';
import type { SealerOpener } from './messenger/messenger.js';

/**
 * The crypto worker pool, started on first use: commands that never seal or open (history, contacts, whoami) do not
 * pay for spawning workers.
 */
export class LazyPool implements SealerOpener {
  private pool: CryptoPool | null = null;

  constructor(private readonly o: { secret: IdentitySecret; size?: number }) {}

  private get(): CryptoPool {
    this.pool ??= new CryptoPool(this.o);
    return this.pool;
  }

  /** Start the workers now (when connecting: envelopes are about to arrive). */
  warm(): void {
    this.get();
  }

  open(envelope: unknown, sender: PublicIdentity): ReturnType<CryptoPool['open']> {
    return this.get().open(envelope, sender);
  }

  seal(o: Parameters<CryptoPool['seal']>[0]): ReturnType<CryptoPool['seal']> {
    return this.get().seal(o);
  }

  sign(label: string, data: Uint8Array): Promise<Uint8Array> {
    return this.get().sign(label, data);
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    await p?.close();
  }
}
