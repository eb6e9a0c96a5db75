/**
 * Photo metadata is removed before sending: a JPEG carrying an Exif segment with GPS tags (built here byte by byte),
 * an IPTC segment and a comment comes out byte-identical to the same picture without them; the same for a PNG with
 * text, Exif and time chunks. Broken files are refused with MetadataStripError, never passed through.
 * Fixture: tests/fixtures/attachments/plain.jpg is CPython's test image Lib/test/test_email/data/python.jpg (PSF).
 */
import { readFileSync } from 'node:fs';
import { crc32, deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MetadataStripError, stripMetadata, strippableType } from '../../electron/core/attachments/strip-metadata.js';

const PLAIN_JPEG = readFileSync(new URL('../fixtures/attachments/plain.jpg', import.meta.url));

async function strip(kind: 'jpeg' | 'png', bytes: Buffer, pieceSize = 7): Promise<Buffer> {
  async function* pieces() {
    for (let i = 0; i < bytes.length; i += pieceSize) yield bytes.subarray(i, i + pieceSize);
  }
  const out: Uint8Array[] = [];
  for await (const p of stripMetadata(kind, pieces())) out.push(p);
  return Buffer.concat(out);
}

/** A big-endian TIFF/Exif block: IFD0 → GPS IFD with latitude 48°51'24.11" N, longitude 2°17'40.00" E. */
function exifWithGps(): Buffer {
  const u16 = (v: number) => Buffer.from([v >> 8, v & 0xff]);
  const u32 = (v: number) => Buffer.from([v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
  const entry = (tag: number, type: number, count: number, value: Buffer) => Buffer.concat([u16(tag), u16(type), u32(count), value]);
  const tiff = Buffer.from('4d4d002a00000008', 'hex');
  const ifd0 = Buffer.concat([u16(1), entry(0x8825, 4, 1, u32(26)), u32(0)]); // GPSInfo → offset 26
  const gpsEntries = 4;
  const gpsStart = 26;
  const dataStart = gpsStart + 2 + gpsEntries * 12 + 4;
  const rationals = (vals: Array<[number, number]>) => Buffer.concat(vals.flatMap(([n, d]) => [u32(n), u32(d)]));
  const lat = rationals([[48, 1], [51, 1], [2411, 100]]);
  const lon = rationals([[2, 1], [17, 1], [4000, 100]]);
  const gps = Buffer.concat([
    u16(gpsEntries),
    entry(0x0001, 2, 2, Buffer.from('N\0\0\0', 'latin1')),
    entry(0x0002, 5, 3, u32(dataStart)),
    entry(0x0003, 2, 2, Buffer.from('E\0\0\0', 'latin1')),
    entry(0x0004, 5, 3, u32(dataStart + 24)),
    u32(0),
  ]);
  return Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff, ifd0, gps, lat, lon]);
}

function segment(marker: number, body: Buffer): Buffer {
  const len = body.length + 2;
  return Buffer.concat([Buffer.from([0xff, marker, len >> 8, len & 0xff]), body]);
}

function jpegWithMetadata(): Buffer {
  const app0End = 2 + 2 + 16; // SOI, then APP0 (marker + 16-byte segment)
  return Buffer.concat([
    PLAIN_JPEG.subarray(0, app0End),
    segment(0xe1, exifWithGps()),
    segment(0xe1, Buffer.from('http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>48,51.40N</exif:GPSLatitude></x:xmpmeta>', 'latin1')),
    segment(0xed, Buffer.from('Photoshop 3.0\x008BIM\x04\x04\0\0\0\0\0\x0c\x1c\x02\x5a\0\x05Paris', 'latin1')),
    segment(0xfe, Buffer.from('taken at home', 'latin1')),
    PLAIN_JPEG.subarray(app0End),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A 4×4 RGBA PNG built by hand (signature, IHDR, IDAT, IEND), and its raw scanlines. */
const RAW = Buffer.from(Array.from({ length: 4 * (1 + 16) }, (_, i) => (i % 17 === 0 ? 0 : (i * 37) % 256)));
function plainPng(): Buffer {
  const ihdr = Buffer.from([0, 0, 0, 4, 0, 0, 0, 4, 8, 6, 0, 0, 0]);
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(RAW)), pngChunk('IEND', Buffer.alloc(0))]);
}

/** The concatenated IDAT data of a PNG, inflated: what a decoder would draw. */
function pngPixels(png: Buffer): Buffer {
  const idat: Buffer[] = [];
  for (let off = 8; off < png.length; ) {
    const len = png.readUInt32BE(off);
    if (png.toString('latin1', off + 4, off + 8) === 'IDAT') idat.push(png.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  return inflateSync(Buffer.concat(idat));
}

describe('metadata stripping', () => {
  it('a JPEG with Exif GPS, XMP, IPTC and a comment comes out as the same picture without them', async () => {
    const dirty = jpegWithMetadata();
    expect(dirty.includes(Buffer.from('Exif\0\0', 'latin1'))).toBe(true);
    for (const piece of [1, 7, 4096]) {
      const clean = await strip('jpeg', dirty, piece);
      expect(clean.equals(PLAIN_JPEG)).toBe(true);
    }
    const clean = await strip('jpeg', dirty);
    for (const needle of ['Exif', 'GPSLatitude', 'Photoshop', 'Paris', 'taken at home']) {
      expect(clean.includes(Buffer.from(needle, 'latin1'))).toBe(false);
    }
    expect(clean.includes(Buffer.from('000000300000000100000033', 'hex'))).toBe(false); // 48/1, 51/1 rationals
  });

  it('keeps JFIF, ICC and Adobe segments and every byte from the scan on', async () => {
    const icc = segment(0xe2, Buffer.from('ICC_PROFILE\0\x01\x01profile-bytes', 'latin1'));
    const adobe = segment(0xee, Buffer.from('Adobe\0\x64\0\0\0\0\x01', 'latin1'));
    const withKept = Buffer.concat([PLAIN_JPEG.subarray(0, 20), icc, adobe, segment(0xe1, exifWithGps()), PLAIN_JPEG.subarray(20)]);
    const expected = Buffer.concat([PLAIN_JPEG.subarray(0, 20), icc, adobe, PLAIN_JPEG.subarray(20)]);
    expect((await strip('jpeg', withKept)).equals(expected)).toBe(true);
  });

  it('a PNG with text, iTXt (XMP), eXIf and tIME chunks comes out without them and still decodes', async () => {
    const plain = plainPng();
    const ihdrEnd = 8 + 12 + 13;
    const dirty = Buffer.concat([
      plain.subarray(0, ihdrEnd),
      pngChunk('tEXt', Buffer.from('Comment\0GPS 48.8567 N', 'latin1')),
      pngChunk('iTXt', Buffer.from('XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>GPSLatitude</x:xmpmeta>', 'latin1')),
      pngChunk('eXIf', exifWithGps().subarray(6)),
      pngChunk('tIME', Buffer.from([0x07, 0xe9, 1, 2, 3, 4, 5])),
      pngChunk('zTXt', Buffer.from('Author\0\0x', 'latin1')),
      plain.subarray(ihdrEnd),
    ]);
    const clean = await strip('png', dirty);
    expect(clean.equals(plain)).toBe(true);
    expect(pngPixels(clean).equals(RAW)).toBe(true);
  });

  it('refuses files that are not well formed instead of passing them through', async () => {
    const cases: Array<['jpeg' | 'png', Buffer]> = [
      ['jpeg', Buffer.from('not a jpeg')],
      ['jpeg', jpegWithMetadata().subarray(0, 40)], // ends inside the Exif segment
      ['jpeg', Buffer.concat([PLAIN_JPEG.subarray(0, 20), Buffer.from([0x12, 0x34])])], // garbage where a marker belongs
      ['jpeg', Buffer.concat([PLAIN_JPEG.subarray(0, 20), Buffer.from([0xff, 0xe1, 0x00, 0x01])])], // length < 2
      ['png', Buffer.from('\x89PNG\r\n\x1a\n', 'latin1')], // signature only: no IEND
      ['png', Buffer.from('GIF89a')],
      ['png', Buffer.concat([plainPng().subarray(0, 33), Buffer.from([0, 0, 0, 1, 0x31, 0x32, 0x33, 0x34])])], // bad type
    ];
    for (const [kind, bytes] of cases) await expect(strip(kind, bytes)).rejects.toBeInstanceOf(MetadataStripError);
  });

  it('knows which media types it strips', () => {
    expect(strippableType('image/jpeg')).toBe('jpeg');
    expect(strippableType('image/png')).toBe('png');
    expect(strippableType('application/pdf')).toBeNull();
  });
});
