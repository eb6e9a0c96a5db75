/**
 * The blob events (PROTOCOL.md "Blobs"), each a thin check-and-call over the BlobStore. Payloads have passed their
 * schema in dispatch.ts; every handler runs for an authenticated identity only (`st.fp`).
 */
import {
  ProtocolError,
  MAX_BLOB_PIECE_BYTES,
  type BlobCompleteRequest,
  type BlobEventName,
  type BlobGetRequest,
  type BlobPutRequest,
  type BlobRefRequest,
  type BlobBeginRequest,
  type BlobTokenRequest,
} from '../../protocol/index.js';
import type { Handler, RelayContext } from '../context.js';
import type { BlobStore } from './store.js';
import type { BlobTokens } from './tokens.js';

export function blobHandlers(ctx: RelayContext, blobs: BlobStore, tokens: BlobTokens): { [K in BlobEventName]: Handler<never> } {
  const { log } = ctx;
  const begin: Handler<BlobBeginRequest> = async (_s, st, p) => {
    const r = await blobs.begin(st.fp!, p.size);
    log.info({ fp: st.fp, blob: r.blob, size: p.size }, 'blob upload begun');
    return r;
  };
  const offset: Handler<BlobRefRequest> = (_s, st, p) => blobs.offset(st.fp!, p.blob);
  const put: Handler<BlobPutRequest> = (_s, st, p) => blobs.put(st.fp!, p.blob, p.offset, p.data);
  const complete: Handler<BlobCompleteRequest> = async (_s, st, p) => {
    for (const fp of p.recipients) {
      if (!(await ctx.identityByFingerprint(fp))) throw new ProtocolError('NOT_FOUND', `recipient ${fp.slice(0, 12)}… is not registered here`);
    }
    const r = await blobs.complete(st.fp!, p.blob, p.sha256, p.recipients);
    log.info({ fp: st.fp, blob: p.blob, size: r.size, recipients: p.recipients.length }, 'blob complete');
    return r;
  };
  const get: Handler<BlobGetRequest> = (_s, st, p) => blobs.read(st.fp!, p.blob, p.offset, p.length ?? MAX_BLOB_PIECE_BYTES);
  const ack: Handler<BlobRefRequest> = async (_s, st, p) => {
    const r = await blobs.ack(st.fp!, p.blob);
    if (r.deleted) log.info({ blob: p.blob }, 'blob downloaded by every recipient; deleted');
    return r;
  };
  const abort: Handler<BlobRefRequest> = (_s, st, p) => blobs.abort(st.fp!, p.blob);
  // Checked now with the socket event's rules, and again by the store when the HTTP request arrives.
  const token: Handler<BlobTokenRequest> = async (_s, st, p) => {
    blobs.authorize(st.fp!, p.blob, p.op);
    return tokens.issue(st.fp!, p.blob, p.op);
  };
  return {
    'blob-begin': begin as Handler<never>,
    'blob-offset': offset as Handler<never>,
    'blob-put': put as Handler<never>,
    'blob-complete': complete as Handler<never>,
    'blob-get': get as Handler<never>,
    'blob-ack': ack as Handler<never>,
    'blob-abort': abort as Handler<never>,
    'blob-token': token as Handler<never>,
  };
}
