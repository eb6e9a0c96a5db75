/**
 * Blob bytes over plain HTTP (PROTOCOL.md "Blob transfers over HTTP"): `PUT /blobs/<id>?offset=<n>` appends a body to
 * an upload in progress, `GET /blobs/<id>?offset=<n>` streams a complete blob from `n` to its end. Each request
 * carries a single-use token from `blob-token` (`Authorization: Bearer <token>`) that names the identity, the blob
 * and the operation; the blob store checks the same rules again as for the socket events. Bytes stream straight
 * between the socket and the file (no WebSocket framing or masking, no acknowledgement per piece). Never logs a
 * token.
 */
import type http from 'node:http';
import { pipeline } from 'node:stream/promises';
import { blobIdSchema, blobTokenValueSchema, MAX_BLOB_HTTP_PUT_BYTES, ProtocolError, type ErrorCode } from '../../protocol/index.js';
import type { RelayContext } from '../context.js';
import type { BlobStore } from './store.js';
import type { BlobTokens } from './tokens.js';

/** An HTTP blob transfer that moves no byte for this long is cut off (it holds its blob's write turn meanwhile). */
const IDLE_TIMEOUT_MS = 30_000;

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TOO_LARGE: 413,
  BLOB_MISMATCH: 409,
};

/** A decimal integer that is a safe integer in JavaScript (at most 15 digits). */
const DIGITS = /^(0|[1-9][0-9]{0,14})$/;

/** Answers requests under /blobs/; returns false for any other path (the caller answers those). */
export function blobHttpHandler(ctx: RelayContext, blobs: BlobStore, tokens: BlobTokens) {
  const { log } = ctx;
  return (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const [pathname = '', query = ''] = (req.url ?? '').split('?', 2);
    if (!pathname.startsWith('/blobs/')) return false;
    const fail = (err: unknown) => {
      if (req.socket.destroyed) return; // the client went away (or idled out) mid-transfer: nobody to answer
      const e = err instanceof ProtocolError ? err : new ProtocolError('INTERNAL', 'the relay could not move the blob');
      if (e.code === 'INTERNAL') log.error({ err: (err as Error).message }, 'blob transfer over HTTP failed');
      ctx.countReject(e.code);
      if (res.headersSent) return void res.destroy();
      const body = JSON.stringify({ ok: false, error: e.toWire() });
      // The request body may still be arriving: answer and close rather than read bytes nobody will store.
      res.writeHead(STATUS[e.code] ?? 500, { 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close' });
      res.end(body);
    };
    void (async () => {
      const op = req.method === 'PUT' ? 'put' : req.method === 'GET' ? 'get' : null;
      if (!op) throw new ProtocolError('BAD_REQUEST', 'blob transfers are PUT or GET');
      const id = blobIdSchema.safeParse(pathname.slice('/blobs/'.length));
      if (!id.success) throw new ProtocolError('NOT_FOUND', 'no such blob');
      const params = new URLSearchParams(query);
      const offsetText = params.get('offset') ?? '';
      if ([...params.keys()].some((k) => k !== 'offset') || !DIGITS.test(offsetText)) {
        throw new ProtocolError('BAD_REQUEST', 'expected exactly one query parameter, offset=<decimal integer>');
      }
      const offset = Number(offsetText);
      const auth = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
      if (!auth || !blobTokenValueSchema.safeParse(auth[1]).success) throw new ProtocolError('UNAUTHENTICATED', 'a blob transfer needs a token from blob-token');
      const grant = tokens.take(auth[1]!);
      if (!grant) throw new ProtocolError('UNAUTHENTICATED', 'unknown, used or expired blob token');
      if (grant.blob !== id.data || grant.op !== op) throw new ProtocolError('FORBIDDEN', `this token is for another blob or operation`);
      // One listener per request on a kept-alive socket, removed when the answer is done (the server then sets its
      // own keep-alive timeout on the socket).
      const onIdle = () => req.socket.destroy();
      req.socket.setTimeout(IDLE_TIMEOUT_MS, onIdle);
      res.once('close', () => req.socket.off('timeout', onIdle));
      if (op === 'put') {
        const lengthText = req.headers['content-length'] ?? '';
        if (!DIGITS.test(lengthText) || req.headers['transfer-encoding'] !== undefined) {
          throw new ProtocolError('BAD_REQUEST', 'a blob PUT needs a Content-Length (no chunked encoding)');
        }
        const length = Number(lengthText);
        if (length < 1 || length > MAX_BLOB_HTTP_PUT_BYTES) throw new ProtocolError('TOO_LARGE', `a blob PUT carries 1…${MAX_BLOB_HTTP_PUT_BYTES} bytes`);
        const r = await blobs.putStream(grant.fp, id.data, offset, length, req);
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', ...(r.accepted ? {} : { connection: 'close' }) });
        res.end(JSON.stringify({ ok: true, ...r }));
        return;
      }
      const { size, stream } = await blobs.openRead(grant.fp, id.data, offset);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size - offset), 'cache-control': 'no-store' });
      await pipeline(stream, res);
      log.debug({ fp: grant.fp, blob: id.data, offset, bytes: size - offset }, 'blob read over HTTP');
    })().catch(fail);
    return true;
  };
}
