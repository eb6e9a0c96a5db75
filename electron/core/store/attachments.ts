/**
 * The attachments of messages (migration v8): one row per file, keyed by the message's seq and the file's index.
 * Incoming rows hold the descriptor from the files payload; outgoing rows also hold what a restart needs to
 * continue the upload (the source path and the relay blob with its key and nonce prefix).
 */
import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import { attachmentDescriptorSchema, type AttachmentDescriptor } from '../attachments/descriptor.js';

import type { AttachmentState, AttachmentView } from '../../contract/api.js';

export type { AttachmentState, AttachmentView } from '../../contract/api.js';

export interface AttachmentRecord {
  messageSeq: number;
  index: number;
  descriptor: AttachmentDescriptor | null;
  source: string | null;
  name: string;
  type: string;
  size: number;
  /**
   * Outgoing: the relay blob with its key and nonce prefix; once complete, `sharedWith`: the fingerprints its last
   * `blob-complete` named (a held message re-shares it for a recipient's new key, messenger/blob-reshare.ts).
   */
  upload: { blob: string; key: string; noncePrefix: string; sharedWith?: string[] } | null;
  state: AttachmentState;
  offset: number;
  error: string | null;
  cachePath: string | null;
  /** Outgoing: the renderer's preview of an image, until it is part of the descriptor (v12). */
  preview: AttachmentPreview | null;
}

/** A thumbnail (base64url) and pixel size made by the renderer from a local image. */
export interface AttachmentPreview {
  thumb?: string;
  width?: number;
  height?: number;
}

interface Row {
  message_seq: number;
  idx: number;
  descriptor: string | null;
  source: string | null;
  name: string;
  type: string;
  size: number;
  upload: string | null;
  state: AttachmentState;
  offset: number;
  error: string | null;
  cache_path: string | null;
  preview?: string | null;
}

function fromRow(r: Row): AttachmentRecord {
  return {
    messageSeq: r.message_seq,
    index: r.idx,
    // Re-checked on the way out: a row is only ever written from a parsed descriptor.
    descriptor: r.descriptor === null ? null : attachmentDescriptorSchema.parse(JSON.parse(r.descriptor)),
    source: r.source,
    name: r.name,
    type: r.type,
    size: r.size,
    upload: r.upload === null ? null : (JSON.parse(r.upload) as AttachmentRecord['upload']),
    state: r.state,
    offset: r.offset,
    error: r.error,
    cachePath: r.cache_path,
    preview: r.preview ? (JSON.parse(r.preview) as AttachmentPreview) : null,
  };
}

export function toAttachmentView(a: AttachmentRecord): AttachmentView {
  // The sender's own file shows its preview before the descriptor exists.
  const d = a.descriptor ?? a.preview;
  return {
    index: a.index,
    name: a.name,
    size: a.size,
    type: a.type,
    ...(d?.width !== undefined && d.height !== undefined ? { width: d.width, height: d.height } : {}),
    ...(d?.thumb !== undefined ? { thumbnail: d.thumb } : {}),
    state: a.state,
    ...(a.error !== null ? { error: a.error } : {}),
  };
}

export class AttachmentStore {
  constructor(private readonly q: (sql: string) => BetterSqlite3.Statement) {}

  /** The files of a received message, complete as far as the sender is concerned (download happens on demand). */
  insertReceived(messageSeq: number, list: AttachmentDescriptor[]): void {
    const st = this.q(
      `INSERT INTO attachments (message_seq, idx, descriptor, name, type, size, state) VALUES (?, ?, ?, ?, ?, ?, 'pending')`,
    );
    list.forEach((d, i) => st.run(messageSeq, i, JSON.stringify(d), d.name, d.type, d.size));
  }

  /** An outgoing file before its upload starts. */
  insertOutgoing(messageSeq: number, index: number, f: { source: string; name: string; type: string; size: number; preview?: AttachmentPreview | null }): void {
    this.q(`INSERT INTO attachments (message_seq, idx, source, name, type, size, state, preview) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)`).run(
      messageSeq,
      index,
      f.source,
      f.name,
      f.type,
      f.size,
      f.preview ? JSON.stringify(f.preview) : null,
    );
  }

  list(messageSeq: number): AttachmentRecord[] {
    return (this.q('SELECT * FROM attachments WHERE message_seq = ? ORDER BY idx').all(messageSeq) as Row[]).map(fromRow);
  }

  get(messageSeq: number, index: number): AttachmentRecord | null {
    const r = this.q('SELECT * FROM attachments WHERE message_seq = ? AND idx = ?').get(messageSeq, index) as Row | undefined;
    return r ? fromRow(r) : null;
  }

  /** Messages with an outgoing file not uploaded yet (to continue after a restart). */
  unfinishedUploads(): number[] {
    return (
      this.q(`SELECT DISTINCT message_seq FROM attachments WHERE source IS NOT NULL AND state IN ('pending', 'uploading') ORDER BY message_seq`).all() as Array<{
        message_seq: number;
      }>
    ).map((r) => r.message_seq);
  }

  /** The id of the message a row belongs to. */
  messageIdOf(messageSeq: number): string | null {
    const r = this.q('SELECT id FROM messages WHERE seq = ?').get(messageSeq) as { id: string } | undefined;
    return r?.id ?? null;
  }

  update(
    messageSeq: number,
    index: number,
    patch: Partial<Pick<AttachmentRecord, 'descriptor' | 'upload' | 'state' | 'offset' | 'error' | 'cachePath' | 'size'>>,
  ): void {
    const cols: string[] = [];
    const vals: unknown[] = [];
    const set = (col: string, v: unknown) => {
      cols.push(`${col} = ?`);
      vals.push(v);
    };
    if (patch.descriptor !== undefined) set('descriptor', patch.descriptor === null ? null : JSON.stringify(patch.descriptor));
    if (patch.upload !== undefined) set('upload', patch.upload === null ? null : JSON.stringify(patch.upload));
    if (patch.state !== undefined) set('state', patch.state);
    if (patch.offset !== undefined) set('"offset"', patch.offset);
    if (patch.error !== undefined) set('error', patch.error);
    if (patch.cachePath !== undefined) set('cache_path', patch.cachePath);
    if (patch.size !== undefined) set('size', patch.size);
    if (cols.length === 0) return;
    this.q(`UPDATE attachments SET ${cols.join(', ')} WHERE message_seq = ? AND idx = ?`).run(...vals, messageSeq, index);
  }
}
