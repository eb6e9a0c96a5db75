/**
 * Canonical byte encoding shared by every signer and verifier in Parley.
 *
 * - Binary values travel as base64url without padding (RFC 4648 §5). Decoding is strict: any other
 *   alphabet, padding or a non-canonical trailing bit is rejected, so one byte string has one spelling.
 * - Structured values that are signed or hashed are serialised with `frame()`: each part is preceded by
 *   its length as a 32-bit big-endian integer. Framing is injective, so two different part lists can never
 *   produce the same bytes.
 */

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Bytes to base64url without padding. */
export function toB64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Strict base64url decode. Returns a fresh Uint8Array that owns exactly the decoded bytes
 * (never Node's pooled ArrayBuffer: `Buffer.from(s,'base64').buffer` would be the whole pool).
 * Throws TypeError on anything that is not canonical base64url.
 */
export function fromB64u(text: string): Uint8Array {
  if (typeof text !== 'string' || !B64URL.test(text) || text.length % 4 === 1) {
    throw new TypeError('not base64url');
  }
  const buf = Buffer.from(text, 'base64url');
  const out = new Uint8Array(buf.byteLength);
  out.set(buf);
  if (toB64u(out) !== text) throw new TypeError('non-canonical base64url');
  return out;
}

/** Values of the base64url alphabet by char code (−1 elsewhere). */
const B64URL_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64URL_VALUE['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;

/** Bytes an unpadded base64url text of `chars` characters decodes to (−1 when no text has that length). */
export function b64uByteLength(chars: number): number {
  const rem = chars % 4;
  return rem === 1 ? -1 : ((chars - rem) / 4) * 3 + (rem === 0 ? 0 : rem - 1);
}

/**
 * True when `text` is canonical unpadded base64url that decodes to exactly `len` bytes (any length if omitted).
 * Exactly fromB64u's acceptance, without decoding: alphabet, a possible length, and zero unused bits in the last
 * character (the only way two spellings can decode to the same bytes). The relay runs this on every field of every
 * envelope, so it must not allocate.
 */
export function isB64u(text: string, len?: number): boolean {
  if (typeof text !== 'string') return false;
  const n = b64uByteLength(text.length);
  if (n < 0 || (len !== undefined && n !== len)) return false;
  if (!B64URL.test(text)) return false;
  const rem = text.length % 4;
  if (rem === 0) return true;
  const last = B64URL_VALUE[text.charCodeAt(text.length - 1)]!;
  return (last & (rem === 2 ? 0x0f : 0x03)) === 0;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict UTF-8 decode: invalid sequences throw TypeError. */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.byteLength;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** Length-prefixed concatenation: for each part, u32be(length) || part. Strings are UTF-8 encoded. */
export function frame(...parts: Array<Uint8Array | string>): Uint8Array {
  const bytes = parts.map((p) => (typeof p === 'string' ? utf8(p) : p));
  let len = 0;
  for (const b of bytes) len += 4 + b.byteLength;
  const out = new Uint8Array(len);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const b of bytes) {
    view.setUint32(off, b.byteLength, false);
    out.set(b, off + 4);
    off += 4 + b.byteLength;
  }
  return out;
}

/** Inverse of frame(); throws TypeError when the bytes are not a well-formed frame sequence. */
export function unframe(bytes: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  while (off < bytes.byteLength) {
    if (off + 4 > bytes.byteLength) throw new TypeError('truncated frame header');
    const len = view.getUint32(off, false);
    off += 4;
    if (off + len > bytes.byteLength) throw new TypeError('truncated frame body');
    parts.push(bytes.slice(off, off + len));
    off += len;
  }
  return parts;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(text)) throw new TypeError('not lowercase hex');
  const buf = Buffer.from(text, 'hex');
  const out = new Uint8Array(buf.byteLength);
  out.set(buf);
  return out;
}

/** Constant-time-ish equality for short public values. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Bytewise lexicographic comparison. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.byteLength - b.byteLength;
}
