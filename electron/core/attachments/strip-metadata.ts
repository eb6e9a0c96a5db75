/**
 * Removes the metadata a photo carries (camera, time, GPS position, comments) before it is sent, streaming: only the
 * segment headers are parsed, image data passes through untouched and the file is never held whole in memory.
 *
 * - JPEG: drops APP1 (Exif, XMP), APP13 (IPTC / Photoshop), APP3…APP12 and APP15 (vendor data) and COM segments
 *   before the first SOS; keeps APP0 (JFIF), APP2 (ICC colour profile) and APP14 (Adobe colour transform), which are
 *   needed to show the picture right. After SOS the bytes are copied as they are. (Dropping Exif also drops the
 *   orientation tag: a rotated phone photo may show unrotated.)
 * - PNG: drops tEXt, zTXt, iTXt (text, often XMP), eXIf and tIME chunks; every other chunk is copied.
 *
 * A file that is not well formed is refused with MetadataStripError rather than sent with its metadata.
 */
export class MetadataStripError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataStripError';
  }
}

/** The image formats this module strips; anything else is sent as it is. */
export function strippableType(mediaType: string): 'jpeg' | 'png' | null {
  if (mediaType === 'image/jpeg' || mediaType === 'image/jpg' || mediaType === 'image/pjpeg') return 'jpeg';
  if (mediaType === 'image/png') return 'png';
  return null;
}

export async function* stripMetadata(kind: 'jpeg' | 'png', source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const r = new ByteReader(source[Symbol.asyncIterator]());
  if (kind === 'jpeg') yield* stripJpeg(r);
  else yield* stripPng(r);
}

const JPEG_KEEP_APP = new Set([0xe0, 0xe2, 0xee]);

async function* stripJpeg(r: ByteReader): AsyncGenerator<Uint8Array> {
  const soi = await r.read(2);
  if (soi[0] !== 0xff || soi[1] !== 0xd8) throw new MetadataStripError('not a JPEG (no SOI marker)');
  yield soi;
  for (;;) {
    let b = (await r.read(1))[0]!;
    if (b !== 0xff) throw new MetadataStripError('JPEG: expected a marker');
    do b = (await r.read(1))[0]!; while (b === 0xff); // fill bytes
    const marker = b;
    if (marker === 0xd9) {
      yield Uint8Array.of(0xff, 0xd9); // EOI before any scan: nothing more to copy
      return;
    }
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      yield Uint8Array.of(0xff, marker); // parameterless markers
      continue;
    }
    const lenBytes = await r.read(2);
    const len = (lenBytes[0]! << 8) | lenBytes[1]!;
    if (len < 2) throw new MetadataStripError('JPEG: bad segment length');
    const isApp = marker >= 0xe0 && marker <= 0xef;
    const drop = (isApp && !JPEG_KEEP_APP.has(marker)) || marker === 0xfe;
    if (drop) {
      await r.skip(len - 2);
      continue;
    }
    yield Uint8Array.of(0xff, marker, lenBytes[0]!, lenBytes[1]!);
    yield* r.pass(len - 2);
    if (marker === 0xda) {
      // Start of scan: entropy-coded data and everything after it are image data.
      yield* r.rest();
      return;
    }
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_DROP = new Set(['tEXt', 'zTXt', 'iTXt', 'eXIf', 'tIME']);

async function* stripPng(r: ByteReader): AsyncGenerator<Uint8Array> {
  const sig = await r.read(8);
  if (!PNG_SIGNATURE.every((v, i) => sig[i] === v)) throw new MetadataStripError('not a PNG (bad signature)');
  yield sig;
  for (;;) {
    const head = await r.read(8);
    const len = ((head[0]! << 24) >>> 0) + (head[1]! << 16) + (head[2]! << 8) + head[3]!;
    if (len > 0x7fffffff) throw new MetadataStripError('PNG: bad chunk length');
    const type = String.fromCharCode(head[4]!, head[5]!, head[6]!, head[7]!);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new MetadataStripError('PNG: bad chunk type');
    if (PNG_DROP.has(type)) {
      await r.skip(len + 4);
      continue;
    }
    yield head;
    yield* r.pass(len + 4); // data and CRC
    if (type === 'IEND') return;
  }
}

/** Exact reads, skips and pass-through over an async byte source. */
class ByteReader {
  private buf: Uint8Array = new Uint8Array(0);
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  private async more(): Promise<boolean> {
    const n = await this.it.next();
    if (n.done) return false;
    this.buf = this.buf.byteLength === 0 ? n.value : Buffer.concat([this.buf, n.value]);
    return true;
  }

  async read(n: number): Promise<Uint8Array> {
    while (this.buf.byteLength < n) if (!(await this.more())) throw new MetadataStripError('the image ends early');
    const out = this.buf.slice(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.pass(n)) {
      /* discard */
    }
  }

  /** The next n bytes, in pieces as they arrive. */
  async *pass(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (this.buf.byteLength === 0 && !(await this.more())) throw new MetadataStripError('the image ends early');
      const take = Math.min(left, this.buf.byteLength);
      yield this.buf.slice(0, take);
      this.buf = this.buf.subarray(take);
      left -= take;
    }
  }

  async *rest(): AsyncGenerator<Uint8Array> {
    if (this.buf.byteLength > 0) yield this.buf;
    this.buf = new Uint8Array(0);
    for (;;) {
      const n = await this.it.next();
      if (n.done) return;
      yield n.value;
    }
  }
}
