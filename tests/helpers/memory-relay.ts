/**
 * An in-memory relay behind the messenger's Transport seam (electron/core/messenger/types.ts): a directory and one
 * queue per recipient fingerprint, with the relay's semantics the messenger relies on (push of the unacknowledged
 * queue after authentication, `deliver` on arrival, dedupe of (from, id) at send, ack removes). No sockets: it tests
 * the messenger's logic quickly; the real-relay integration tests keep covering the wire.
 */
import type { Envelope, PublicIdentity } from '../../relay/protocol/index.js';
import type { Transport, TransportEvents } from '../../electron/core/messenger/types.js';
import { TypedEmitter } from '../../electron/core/transport/emitter.js';
import type { LookupAnswer, RelayClientEvents } from '../../electron/core/transport/relay-client.js';
import type { LooseDelivered } from '../../electron/core/transport/schemas.js';
import { TransportError } from '../../electron/core/transport/errors.js';

interface Entry {
  username: string;
  identity: PublicIdentity;
  fingerprint: string;
}

export class MemoryRelay {
  readonly directory = new Map<string, Entry>();
  private readonly queues = new Map<string, LooseDelivered[]>();
  private readonly links = new Map<string, MemoryTransport>();
  /** Every send that reached the relay, refused or not, in order (outbox tests count attempts). */
  readonly sendAttempts: Array<{ from: string; id: string }> = [];
  /** Fault injection: a send for which this returns an error is refused with it (nothing is queued). */
  sendFault: ((from: string, envelope: Envelope) => TransportError | null) | null = null;
  /**
   * Lets a test act while a send is in flight: awaited after the attempt is counted, before the relay takes the
   * envelope (a rejection is the send's failure).
   */
  sendGate: ((from: string, envelope: Envelope) => Promise<void>) | null = null;
  /** Awaited after the relay queued (and pushed) the envelope, before the sender hears the answer (a slow ack). */
  answerGate: ((from: string, envelope: Envelope) => Promise<void>) | null = null;
  /** Lets a test act while a lookup waits for its answer (`asker`: the fingerprint of the connection asking). */
  lookupGate: ((asker: string, q: { username: string } | { fingerprint: string }) => Promise<void>) | null = null;

  register(e: Entry): void {
    this.directory.set(e.username, e);
  }

  /** The connection of the user with `fingerprint`; authenticated on the next tick (like a socket handshake). */
  connect(fingerprint: string): MemoryTransport {
    const t = new MemoryTransport(this, fingerprint);
    this.links.set(fingerprint, t);
    queueMicrotask(() => t.authenticate());
    return t;
  }

  queueOf(fp: string): LooseDelivered[] {
    let q = this.queues.get(fp);
    if (!q) this.queues.set(fp, (q = []));
    return q;
  }

  accept(from: string, envelope: Envelope): { id: string; duplicate: boolean } {
    let duplicate = false;
    for (const to of envelope.to) {
      const q = this.queueOf(to);
      if (q.some((d) => (d.envelope as Envelope).from === from && (d.envelope as Envelope).id === envelope.id)) {
        duplicate = true;
        continue;
      }
      const item = { envelope, receivedAt: Date.now() };
      q.push(item);
      const link = this.links.get(to);
      if (link?.online) link.push([item]);
    }
    return { id: envelope.id, duplicate };
  }
}

export class MemoryTransport extends TypedEmitter<TransportEvents> implements Transport {
  online = false;

  constructor(
    private readonly relay: MemoryRelay,
    readonly fingerprint: string,
  ) {
    super();
  }

  authenticate(): void {
    this.online = true;
    this.emit('authenticated', { ok: true } as unknown as RelayClientEvents['authenticated']);
    const q = this.relay.queueOf(this.fingerprint);
    if (q.length) this.push(q.slice(0, 1024));
  }

  push(items: LooseDelivered[]): void {
    this.emit('deliver', items);
  }

  async lookup(q: { username: string } | { fingerprint: string }): Promise<LookupAnswer> {
    await this.relay.lookupGate?.(this.fingerprint, q);
    const e = 'username' in q ? this.relay.directory.get(q.username) : [...this.relay.directory.values()].find((d) => d.fingerprint === q.fingerprint);
    if (!e) throw new TransportError('NOT_FOUND', 'unknown user');
    return { ...e, rotation: null };
  }

  async send(envelope: Envelope): Promise<{ id: string; duplicate: boolean }> {
    if (!this.online) throw new TransportError('OFFLINE', 'not connected');
    this.relay.sendAttempts.push({ from: this.fingerprint, id: envelope.id });
    const fault = this.relay.sendFault?.(this.fingerprint, envelope);
    if (fault) throw fault;
    // Only awaited when set: without gates a send answers exactly as before.
    if (this.relay.sendGate) await this.relay.sendGate(this.fingerprint, envelope);
    const answer = this.relay.accept(this.fingerprint, envelope);
    if (this.relay.answerGate) await this.relay.answerGate(this.fingerprint, envelope);
    return answer;
  }

  async fetch(limit = 64): Promise<{ envelopes: LooseDelivered[]; more: boolean }> {
    const q = this.relay.queueOf(this.fingerprint);
    return { envelopes: q.slice(0, limit), more: q.length > limit };
  }

  async ack(items: Array<{ from: string; id: string }>): Promise<number> {
    const q = this.relay.queueOf(this.fingerprint);
    let removed = 0;
    for (const it of items) {
      const i = q.findIndex((d) => (d.envelope as Envelope).from === it.from && (d.envelope as Envelope).id === it.id);
      if (i >= 0) {
        q.splice(i, 1);
        removed++;
      }
    }
    return removed;
  }
}
