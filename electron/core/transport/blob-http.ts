/**
 * The client side of blob transfers over HTTP (PROTOCOL.md "Blob transfers over HTTP"): one PUT or GET per token,
 * on its own connection to the relay the socket is connected to. Over TLS the connection is opened and its
 * certificate checked against the relay fingerprint the authenticated socket verified *before* any byte (the token
 * included) is sent, the same pin as the socket's. Bodies stream: nothing here holds more than a socket buffer.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { ackFailureSchema } from './schemas.js';
import { blobHttpPutResultSchema } from '../../../relay/protocol/index.js';
import { TransportError } from './errors.js';
import { peerFingerprint } from './tls-pin.js';

export interface BlobHttp {
  /** Append exactly `length` bytes of `body` at `offset` with a 'put' token; resolves with the relay's answer. */
  put(blob: string, token: string, offset: number, length: number, body: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<{ offset: number; accepted: boolean }>;
  /** The blob from `offset` to its end with a 'get' token: how many bytes follow, and the bytes (destroy to stop). */
  get(blob: string, token: string, offset: number): Promise<{ length: number; body: http.IncomingMessage }>;
}

const CONNECT_TIMEOUT_MS = 10_000;
/** No byte either way for this long: the transfer is stalled (the relay cuts off idle transfers after 30 s). */
const IDLE_TIMEOUT_MS = 30_000;
const MAX_ERROR_BODY_BYTES = 4096;
const SEND_BUFFER_BYTES = 1024 * 1024;

/** HTTP blob transfers to the relay at `url` (an http(s) origin) whose verified fingerprint is `relayFingerprint`. */
export function blobHttp(url: string, relayFingerprint: string): BlobHttp {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const secure = u.protocol === 'https:';

  const connect = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const sock = secure ? tls.connect({ host, port, rejectUnauthorized: false, ...(net.isIP(host) ? {} : { servername: host }) }) : net.connect({ host, port });
      const timer = setTimeout(() => sock.destroy(new TransportError('TIMEOUT', `Could not reach the relay in ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e instanceof TransportError ? e : new TransportError('OFFLINE', `Cannot reach the relay: ${e.message}`));
      });
      sock.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        // Self-signed relay certificates: the pin decides, checked before the request (and its token) is written.
        if (secure && peerFingerprint(sock as tls.TLSSocket) !== relayFingerprint) {
          sock.destroy();
          return reject(new TransportError('RELAY_CHANGED', "The relay's TLS certificate is not the relay this connection authenticated"));
        }
        sock.setTimeout(IDLE_TIMEOUT_MS, () => sock.destroy(new TransportError('TIMEOUT', `The blob transfer stalled for ${IDLE_TIMEOUT_MS} ms`)));
        resolve(sock);
      });
    });

  const request = async (method: 'PUT' | 'GET', blob: string, token: string, offset: number, headers: Record<string, string> = {}) => {
    const sock = await connect();
    const req = http.request({
      createConnection: () => sock,
      method,
      path: `/blobs/${encodeURIComponent(blob)}?offset=${offset}`,
      headers: { host: u.host, authorization: `Bearer ${token}`, ...headers },
    });
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', (e) => reject(e instanceof TransportError ? e : new TransportError('OFFLINE', `The blob transfer broke off: ${e.message}`)));
    });
    response.catch(() => undefined); // awaited by the caller
    return { req, response };
  };

  return {
    async put(blob, token, offset, length, body, signal) {
      const { req, response } = await request('PUT', blob, token, offset, { 'content-type': 'application/octet-stream', 'content-length': String(length) });
      let answered = false;
      void response.then(() => (answered = true), () => undefined);
      try {
        for await (const piece of body) {
          if (signal?.aborted) throw new TransportError('OFFLINE', 'cancelled');
          if (answered) break; // the relay answered early (a refusal): stop sending, read the answer
          // Up to SEND_BUFFER_BYTES may wait in the socket's buffer (written together), so encrypting the next
          // pieces overlaps with sending these; past that, wait until the socket took them.
          if (!req.write(piece) && req.writableLength >= SEND_BUFFER_BYTES) await Promise.race([new Promise((r) => req.once('drain', r)), response]);
        }
        if (!answered) req.end();
      } catch (e) {
        req.destroy();
        throw e;
      }
      const res = await response;
      const text = await readSmall(res);
      req.destroy();
      if (res.statusCode === 200) {
        const ok = blobHttpPutResultSchema.safeParse(parseJson(text));
        if (ok.success) return { offset: ok.data.offset, accepted: ok.data.accepted };
      }
      throw failure(res.statusCode ?? 0, text);
    },

    async get(blob, token, offset) {
      const { req, response } = await request('GET', blob, token, offset);
      req.end();
      const res = await response;
      if (res.statusCode !== 200) {
        const text = await readSmall(res);
        req.destroy();
        throw failure(res.statusCode ?? 0, text);
      }
      const length = Number(res.headers['content-length']);
      if (!Number.isSafeInteger(length) || length < 0) {
        res.destroy();
        throw new TransportError('BAD_RESPONSE', 'The relay answered a blob download without a valid Content-Length');
      }
      return { length, body: res };
    },
  };
}

/** A relay error answer as the typed error the socket events give. */
function failure(status: number, text: string): TransportError {
  const f = ackFailureSchema.safeParse(parseJson(text));
  if (f.success) return new TransportError(f.data.error.code, f.data.error.message, f.data.error.retryAfterMs);
  return new TransportError('BAD_RESPONSE', `The relay answered a blob transfer with HTTP ${status}`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function readSmall(res: http.IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).byteLength;
    if (n > MAX_ERROR_BODY_BYTES) break;
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}
