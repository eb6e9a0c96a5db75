/** Messages between CryptoPool and its workers (structured-clone data only). */
import type { Envelope, PublicIdentity } from '../../../relay/protocol/index.js';
import type { Payload } from './payload.js';
import type { IdentitySecret } from './types.js';

export interface WorkerInit {
  secret: IdentitySecret;
  /** Linux only (pool.ts workerNiceFor): the worker lowers its own thread's priority to this nice value. */
  nice?: number;
}

export type WorkerRequest =
  | { id: number; op: 'open'; envelope: unknown; sender: PublicIdentity }
  | { id: number; op: 'seal'; recipients: PublicIdentity[]; payload: Payload; msgId?: string }
  /** Ed25519 over signingInput(label, data): group changes and state snapshots (groups.ts). */
  | { id: number; op: 'sign'; label: string; data: Uint8Array };

/** An error flattened for postMessage; `reason`/`code` keep OpenError/BackupError/... typed across the boundary. */
export interface WireErrorShape {
  name: string;
  message: string;
  reason?: string;
  code?: string;
}

export type WorkerResponse =
  | { type: 'ready' }
  | { type: 'init-error'; error: WireErrorShape }
  | { type: 'result'; id: number; ok: true; value: { payload: Payload } | Envelope | Uint8Array }
  | { type: 'result'; id: number; ok: false; error: WireErrorShape };

export function toWireError(e: unknown): WireErrorShape {
  if (e instanceof Error) {
    const out: WireErrorShape = { name: e.name, message: e.message };
    const r = (e as { reason?: unknown }).reason;
    const c = (e as { code?: unknown }).code;
    if (typeof r === 'string') out.reason = r;
    if (typeof c === 'string') out.code = c;
    return out;
  }
  return { name: 'Error', message: String(e) };
}
