/**
 * The `files` payload (PROTOCOL.md §10.2): round trip through the padded payload, canonical key order, and strict
 * rejection of every malformed descriptor (a bad one makes the whole payload malformed, never half-read).
 */
import { describe, expect, it } from 'vitest';
import { decodePayload, encodePayload, PayloadError, type Payload } from '../../electron/core/crypto/index.js';
import { MAX_ATTACHMENTS, type AttachmentDescriptor } from '../../electron/core/attachments/descriptor.js';
import { fromUtf8, toB64u } from '../../relay/protocol/index.js';

const d: AttachmentDescriptor = {
  blob: toB64u(new Uint8Array(16).fill(1)),
  key: toB64u(new Uint8Array(32).fill(2)),
  size: 150_000,
  chunk: 65_536,
  sha256: toB64u(new Uint8Array(32).fill(3)),
  name: 'holiday photo.jpg',
  type: 'image/jpeg',
  width: 640,
  height: 480,
  thumb: toB64u(new Uint8Array(8192).fill(4)),
};
const files = (attachments: unknown[], body = 'caption'): Payload => ({ v: 1, type: 'files', ts: 1_700_000_000_000, body, attachments }) as Payload;

describe('files payload', () => {
  it('round-trips, with the keys in canonical order whatever order they were given in', () => {
    const shuffled = { thumb: d.thumb, height: d.height, width: d.width, type: d.type, name: d.name, sha256: d.sha256, chunk: d.chunk, size: d.size, key: d.key, blob: d.blob };
    const bytes = encodePayload(files([shuffled, { ...d, width: undefined, height: undefined, thumb: undefined, name: 'log.txt', type: 'text/plain' }], ''));
    const json = fromUtf8(bytes.subarray(4, 4 + new DataView(bytes.buffer).getUint32(0)));
    expect(json.startsWith('{"v":1,"type":"files","ts":1700000000000,"body":"","attachments":[{"blob":"AQEB')).toBe(true);
    expect(json).toContain('"name":"holiday photo.jpg","type":"image/jpeg","width":640,"height":480,"thumb":"BAQE');
    expect(json).toContain('"name":"log.txt","type":"text/plain"}]}');
    const back = decodePayload(bytes);
    expect(back).toEqual(files([d, { ...d, width: undefined, height: undefined, thumb: undefined, name: 'log.txt', type: 'text/plain' }], ''));
  });

  it.each([
    ['no attachments', []],
    ['too many', Array(MAX_ATTACHMENTS + 1).fill({ ...d, thumb: undefined })],
    ['a path in the name', [{ ...d, name: '../../.bashrc' }]],
    ['a backslash in the name', [{ ...d, name: 'a\\b' }]],
    ['a control character in the name', [{ ...d, name: 'a\u0000b' }]],
    ['the name ..', [{ ...d, name: '..' }]],
    ['an empty name', [{ ...d, name: '' }]],
    ['a name over 255 bytes', [{ ...d, name: 'é'.repeat(128) }]],
    ['a media type with parameters', [{ ...d, type: 'text/plain; charset=utf-8' }]],
    ['an upper-case media type', [{ ...d, type: 'Image/JPEG' }]],
    ['a thumbnail over 8 KiB', [{ ...d, thumb: toB64u(new Uint8Array(8193)) }]],
    ['width without height', [{ ...d, height: undefined }]],
    ['a zero width', [{ ...d, width: 0 }]],
    ['a short key', [{ ...d, key: toB64u(new Uint8Array(31)) }]],
    ['a short blob id', [{ ...d, blob: toB64u(new Uint8Array(15)) }]],
    ['a chunk size below 1 KiB', [{ ...d, chunk: 512 }]],
    ['a negative size', [{ ...d, size: -1 }]],
    ['an unknown field', [{ ...d, url: 'https://example.com' }]],
  ])('refuses %s', (_what, attachments) => {
    expect(() => encodePayload(files(attachments as unknown[]))).toThrow(PayloadError);
  });
});
