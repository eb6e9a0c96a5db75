/** The desktop log's pieces: size rotation with a bounded number of files, scopes and levels, redaction, scrubbing. */
import { readFileSync, statSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { createDesktopLog } from '../../electron/main/desktop-log.js';
import { RotatingLogFile } from '../../electron/main/log-file.js';
import { cleanupAll, tmpDir } from '../helpers/core.js';

afterAll(cleanupAll);

describe('RotatingLogFile', () => {
  test('rotates by size, keeps a few files, each within the limit, all private', () => {
    const dir = `${tmpDir('logrot')}/logs`;
    const f = new RotatingLogFile({ dir, maxBytes: 1000, keep: 2 });
    for (let i = 0; i < 100; i++) f.write(`line ${String(i).padStart(3, '0')} ${'x'.repeat(80)}\n`);
    f.close();
    const files = f.files();
    expect(files.map((p) => p.slice(dir.length + 1))).toEqual(['parley.log', 'parley.log.1', 'parley.log.2']);
    for (const p of files) {
      expect(statSync(p).size).toBeLessThanOrEqual(1000);
      expect(statSync(p).mode & 0o777).toBe(0o600);
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(files[0]!, 'utf8')).toContain('line 099');
    // Older lines rotated away: at most keep+1 files' worth is kept.
    expect(files.map((p) => readFileSync(p, 'utf8')).join('')).not.toContain('line 000');
    const tail = f.tail(500);
    expect(tail.endsWith('\n')).toBe(true);
    expect(tail.startsWith('line ')).toBe(true); // starts at a whole line
    expect(tail).toContain('line 099');
  });
});

describe('createDesktopLog', () => {
  test('scopes, levels, redacted fields and forgotten secrets', () => {
    const dir = `${tmpDir('dlog')}/logs`;
    const log = createDesktopLog({ dir, level: 'info' });
    log.forget('hunter2-passphrase');
    log.forget('tok"en\\with-escapes');
    log.forget('abc'); // too short to scrub safely: ignored
    log.core('relay online', { scope: 'relay' });
    log.core('not shown at info', { scope: 'relay', level: 'debug' });
    log.core('unlock with hunter2-passphrase failed', { level: 'warn' });
    log.scope('bridge').info({ token: 'field-token-123', nested: { body: 'field-body-456' } }, 'hello');
    log.scope('bridge').info({ raw: 'tok"en\\with-escapes' }, 'escaped');
    log.close();
    const text = readFileSync(`${dir}/parley.log`, 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.scope, l.msg])).toEqual([
      ['relay', 'relay online'],
      ['core', 'unlock with [redacted] failed'],
      ['bridge', 'hello'],
      ['bridge', 'escaped'],
    ]);
    expect(lines[1]!.level).toBe(40);
    for (const secret of ['hunter2-passphrase', 'field-token-123', 'field-body-456', 'with-escapes']) expect(text).not.toContain(secret);
    expect(log.recent()).toContain('relay online');
  });
});
