/**
 * The agreed APIs (notes/TEAM.md) of modules other helpers write, as the benchmarks use them. Benchmarks import
 * those modules dynamically (see tryImport) so one missing or broken module never stops the others; these types
 * keep the calls checked against the agreement.
 */
import type { Envelope, PublicIdentity } from '../../relay/protocol/index.js';
import type { IdentitySecret } from '../../electron/core/crypto/types.js';
import type { ParleyApi, ParleyEvents } from '../../electron/contract/api.js';

export type Payload = { v: 1; type: 'text'; ts: number; body: string } | { v: 1; type: 'receipt'; ts: number; ids: string[] };

export interface IdentityKeys {
  public: PublicIdentity;
  fingerprint: string;
  encKey: CryptoKey;
  sigKey: CryptoKey;
}

export interface CryptoPoolLike {
  open(envelope: unknown, sender: PublicIdentity): Promise<{ envelope: Envelope; payload: Payload }>;
  seal(o: { recipients: PublicIdentity[]; payload: Payload; id?: string }): Promise<Envelope>;
  close(): Promise<void>;
}

export interface CryptoModule {
  loadIdentity(secret: IdentitySecret): Promise<IdentityKeys>;
  encodePayload(p: Payload): Uint8Array;
  newMessageId(): string;
  seal(o: { sender: IdentityKeys; recipients: PublicIdentity[]; payload: Payload; id?: string }): Promise<Envelope>;
  open(o: { envelope: unknown; me: IdentityKeys; sender: PublicIdentity }): Promise<{ envelope: Envelope; payload: Payload }>;
  CryptoPool: new (o: { secret: IdentitySecret; size?: number }) => CryptoPoolLike;
}

export interface RunningRelay {
  url: string;
  port: number;
  fingerprint: string;
  close(): Promise<void>;
  metrics(): unknown;
}

export interface RelayModule {
  startRelay(o: {
    host?: string;
    port?: number;
    dataDir: string;
    tls?: boolean;
    advertise?: boolean;
    logger?: unknown;
    limits?: Record<string, unknown>;
  }): Promise<RunningRelay>;
}

export interface ServiceLike extends ParleyApi {
  on<E extends keyof ParleyEvents>(event: E, fn: (payload: ParleyEvents[E]) => void): unknown;
  close(): Promise<void>;
}

export type { Envelope, PublicIdentity, IdentitySecret };
