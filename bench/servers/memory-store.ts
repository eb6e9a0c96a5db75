/**
 * An in-memory EnvelopeStore, for the routing benchmark only: Parley's relay with storage taken out, to show how
 * much of a message's cost is SQLite. Not durable; never used outside bench/.
 */
import { ProtocolError } from '../../relay/protocol/index.js';
import type {
  EnqueueInput, EnvelopeStore, QueuedEnvelope, QueueUsage, RegisterInput, StoredIdentity, StoreStats,
} from '../../relay/server/store/types.js';

export class MemoryEnvelopeStore implements EnvelopeStore {
  private byName = new Map<string, StoredIdentity>();
  private byFp = new Map<string, StoredIdentity>();
  private seen = new Set<string>();
  /** recipient → (from/id → queued), insertion (= seq) order. */
  private queues = new Map<string, Map<string, QueuedEnvelope & { size: number }>>();
  private seq = 0;
  private writes = 0;

  async identityByUsername(username: string): Promise<StoredIdentity | null> {
    return this.byName.get(username) ?? null;
  }
  async identityByFingerprint(fp: string): Promise<StoredIdentity | null> {
    return this.byFp.get(fp) ?? null;
  }
  async register(i: RegisterInput): Promise<{ rotated: boolean; previous: string | null }> {
    const cur = this.byName.get(i.username);
    if (cur && cur.fingerprint === i.fingerprint) return { rotated: false, previous: null };
    if (this.byFp.has(i.fingerprint)) throw new ProtocolError('IDENTITY_TAKEN', 'identity taken');
    if (cur && i.replaces !== cur.fingerprint) throw new ProtocolError('USERNAME_TAKEN', 'username taken');
    if (cur) this.byFp.delete(cur.fingerprint);
    const rotation = cur && i.rotationSig ? { from: cur.fingerprint, sig: i.rotationSig } : null;
    const rec = { username: i.username, identity: i.identity, fingerprint: i.fingerprint, registeredAt: i.now, rotation };
    this.byName.set(i.username, rec);
    this.byFp.set(i.fingerprint, rec);
    this.writes++;
    return { rotated: !!cur, previous: cur?.fingerprint ?? null };
  }
  async hasEnvelope(from: string, id: string): Promise<boolean> {
    return this.seen.has(`${from}/${id}`);
  }
  async enqueue(i: EnqueueInput): Promise<{ duplicate: boolean; seqs?: Record<string, number> }> {
    const key = `${i.envelope.from}/${i.envelope.id}`;
    if (this.seen.has(key)) return { duplicate: true };
    this.seen.add(key);
    const q: QueuedEnvelope & { size: number } = { seq: ++this.seq, envelope: i.envelope, receivedAt: i.receivedAt, size: i.size };
    for (const to of i.envelope.to) {
      let m = this.queues.get(to);
      if (!m) this.queues.set(to, (m = new Map()));
      m.set(key, q);
    }
    this.writes++;
    // one global counter is a valid per-recipient sequence here: this store commits synchronously, in order
    return { duplicate: false, seqs: Object.fromEntries(i.envelope.to.map((to) => [to, q.seq])) };
  }
  async pending(recipient: string, afterSeq: number, limit: number): Promise<QueuedEnvelope[]> {
    const out: QueuedEnvelope[] = [];
    for (const q of this.queues.get(recipient)?.values() ?? []) {
      if (q.seq <= afterSeq) continue;
      out.push({ seq: q.seq, envelope: q.envelope, receivedAt: q.receivedAt });
      if (out.length >= limit) break;
    }
    return out;
  }
  async usage(recipient: string): Promise<QueueUsage> {
    const m = this.queues.get(recipient);
    let bytes = 0;
    for (const q of m?.values() ?? []) bytes += q.size;
    return { count: m?.size ?? 0, bytes };
  }
  async ack(recipient: string, items: Array<{ from: string; id: string }>): Promise<{ removed: number }> {
    const m = this.queues.get(recipient);
    let removed = 0;
    for (const it of items) if (m?.delete(`${it.from}/${it.id}`)) removed++;
    this.writes++;
    return { removed };
  }
  async sweep(): Promise<number> {
    return 0;
  }
  async stats(): Promise<StoreStats> {
    let queued = 0;
    for (const m of this.queues.values()) queued += m.size;
    return { identities: this.byFp.size, queued, envelopes: this.seen.size, commits: this.writes, committedWrites: this.writes };
  }
  async close(): Promise<void> {}
}
