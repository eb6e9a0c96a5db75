/**
 * The crypto error classes (electron/core/crypto/errors.ts): their names are what logs, String(err) and the IPC
 * error mapping show, so each class names itself; the default OpenError message is its reason.
 */
import { describe, expect, it } from 'vitest';
import { BackupError, IdentityError, OpenError, PayloadError, UnwrapError, UNWRAP_FAILED_MESSAGE } from '../../electron/core/crypto/index.js';

describe('crypto errors', () => {
  it('each names its class and keeps its code and message', () => {
    const cases: Array<[Error, string, string]> = [
      [new OpenError('tampered', 'damaged'), 'OpenError', 'damaged'],
      [new BackupError('wrong-passphrase', 'wrong passphrase or damaged file'), 'BackupError', 'wrong passphrase or damaged file'],
      [new IdentityError('mismatch', 'keys differ'), 'IdentityError', 'keys differ'],
      [new PayloadError('too-large', 'too big'), 'PayloadError', 'too big'],
      [new UnwrapError(), 'UnwrapError', UNWRAP_FAILED_MESSAGE],
    ];
    for (const [e, name, message] of cases) {
      expect(e).toBeInstanceOf(Error);
      expect(e.name).toBe(name);
      expect(e.message).toBe(message);
      expect(String(e)).toBe(`${name}: ${message}`);
    }
    expect(cases).toHaveLength(5);
  });

  it('an OpenError without a message says its reason', () => {
    const e = new OpenError('not-recipient');
    expect(e.reason).toBe('not-recipient');
    expect(e.message).toBe('not-recipient');
    expect(new BackupError('malformed', 'x').code).toBe('malformed');
    expect(new IdentityError('malformed', 'x').code).toBe('malformed');
    expect(new PayloadError('malformed', 'x').code).toBe('malformed');
  });
});
