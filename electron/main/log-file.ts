/**
 * A size-rotated log file for the desktop app: `<dir>/parley.log`, and when it would pass `maxBytes` it becomes
 * `parley.log.1` (older ones shift up to `parley.log.<keep>`, the oldest is deleted). Writes are synchronous: the
 * desktop writes a few lines a minute, and a line written just before a crash is the one worth having.
 * Files are 0600 and the folder 0700 (logs are the user's alone, like the rest of the profile).
 * Electron-free: used by the main process, the browser bridge and tests.
 */
import { chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export interface LogFileOptions {
  /** Folder for the files (created 0700). */
  dir: string;
  /** Rotate when the current file would pass this size (default 1 MiB). */
  maxBytes?: number;
  /** Rotated files kept besides the current one (default 3). */
  keep?: number;
  /** File name (default parley.log). */
  name?: string;
}

export class RotatingLogFile {
  readonly file: string;
  private fd: number | null = null;
  private size = 0;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(private readonly o: LogFileOptions) {
    this.file = path.join(o.dir, o.name ?? 'parley.log');
    this.maxBytes = o.maxBytes ?? 1024 * 1024;
    this.keep = Math.max(1, o.keep ?? 3);
  }

  /** The current file and the rotated ones, newest first (only those that exist). */
  files(): string[] {
    return [this.file, ...Array.from({ length: this.keep }, (_, i) => `${this.file}.${i + 1}`)].filter((f) => existsSync(f));
  }

  /** Appends one chunk (pino hands over whole lines); rotates first when it would not fit. */
  write(chunk: string): void {
    const buf = Buffer.from(chunk, 'utf8');
    const fd = this.open();
    if (this.size > 0 && this.size + buf.length > this.maxBytes) {
      this.rotate();
      return this.write(chunk);
    }
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    this.size += buf.length;
  }

  /** The last `maxBytes` bytes of the log across files, oldest first, starting at a whole line. */
  tail(maxBytes = 256 * 1024): string {
    const parts: Buffer[] = [];
    let total = 0;
    for (const f of this.files()) {
      if (total >= maxBytes) break;
      let b: Buffer;
      try {
        b = readFileSync(f);
      } catch {
        continue; // rotated away meanwhile
      }
      const take = b.subarray(Math.max(0, b.length - (maxBytes - total)));
      parts.unshift(take);
      total += take.length;
    }
    const text = Buffer.concat(parts).toString('utf8');
    const cut = total >= maxBytes ? text.indexOf('\n') + 1 : 0;
    return text.slice(cut);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private open(): number {
    if (this.fd !== null) return this.fd;
    mkdirSync(this.o.dir, { recursive: true, mode: 0o700 });
    if (process.platform !== 'win32') chmodSync(this.o.dir, 0o700);
    this.fd = openSync(this.file, 'a', 0o600);
    if (process.platform !== 'win32') chmodSync(this.file, 0o600);
    this.size = fstatSync(this.fd).size;
    return this.fd;
  }

  private rotate(): void {
    this.close();
    rmSync(`${this.file}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      if (existsSync(`${this.file}.${i}`)) renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
    }
    renameSync(this.file, `${this.file}.1`);
    this.size = 0;
  }
}
