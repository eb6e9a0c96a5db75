/** File helpers of the blob store: a folder's fsync (after a rename into it) and a file's SHA-256 read in 1 MiB pieces. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';

/** fsync a folder, so a rename into it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** SHA-256 of a file, base64url (a blob's hash when the running one is gone, e.g. after a restart). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(piece as Buffer);
  return hash.digest('base64url');
}
