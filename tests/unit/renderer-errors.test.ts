/**
 * Words a person understands: every code the core, the shell and the relay can report has a sentence in both
 * catalogs; free-text reasons from the core are read back to their code; the raw text never becomes the sentence.
 */
import { describe, expect, it } from 'vitest';
import { ERROR_CODES as PROTOCOL_CODES } from '../../relay/protocol/errors.js';
import { LIMITS } from '../../relay/protocol/limits.js';
import type { CoreErrorCode } from '../../electron/core/messenger/errors.js';
import type { TransportErrorCode } from '../../electron/core/transport/errors.js';
import { parseRelayUrl } from '../../electron/core/transport/relay-url.js';
import { ERROR_CODES, failureCode, reasonCode } from '../../renderer/src/lib/failure.js';
import type { ErrorCode } from '../../renderer/src/lib/failure.js';
import { normalizeRelayUrl } from '../../renderer/src/lib/relay-address.js';
import { MAX_TEXT_BYTES, textBudget } from '../../renderer/src/lib/text-limit.js';
import { en } from '../../renderer/src/i18n/en.js';
import { de } from '../../renderer/src/i18n/de.js';
import { describeError, describeReason } from '../../renderer/src/runtime/errors.js';

// Compile-time: a new core or transport code without a sentence fails the typecheck.
const coreCovered: CoreErrorCode extends ErrorCode ? true : false = true;
const transportCovered: TransportErrorCode extends ErrorCode ? true : false = true;

describe('one map from every error code to a sentence', () => {
  it('covers every relay protocol code, core code and transport code', () => {
    expect(coreCovered && transportCovered).toBe(true);
    for (const c of PROTOCOL_CODES) expect(ERROR_CODES).toContain(c);
  });

  it('has a sentence for each code in English and German that is not the code or internal text', () => {
    for (const code of ERROR_CODES) {
      for (const cat of [en, de]) {
        const s = cat.errors[code];
        expect(s, code).toMatch(/^\p{Lu}.*[.!]$/u);
        expect(s).not.toContain(code);
        expect(s).not.toMatch(/[a-z]+[A-Z][a-z]+\(|\b\d+\.[a-z]+:|websocket|envelope is/);
      }
    }
  });

  it('reads the three failures from the issue back to their codes', () => {
    expect(reasonCode('The relay refused the message (TOO_LARGE): envelope is 23716 bytes; limit 16384')).toBe('TOO_LARGE');
    expect(reasonCode('TOO_LARGE: envelope is 23716 bytes; limit 16384')).toBe('TOO_LARGE');
    expect(reasonCode('Cannot reach the relay: websocket error')).toBe('UNREACHABLE');
    expect(failureCode({ code: 'BAD_ARGUMENTS', message: 'testRelay: 0.url: relay address: Not a relay address: "x"' })).toBe('ADDRESS_SYNTAX');
  });

  it('shows the sentence, never the raw message', () => {
    const d = describeReason('The relay refused the message (TOO_LARGE): envelope is 23716 bytes; limit 16384');
    expect(d).toEqual({ code: 'TOO_LARGE', text: en.errors.TOO_LARGE });
    expect(d.text).toContain('too long to send');
    const e = describeError({ code: 'BAD_ARGUMENTS', message: 'testRelay: 0.url: relay address: nope' });
    expect(e.text).not.toContain('testRelay');
  });

  it('maps other reasons the core writes', () => {
    expect(reasonCode('tampered: authentication tag mismatch')).toBe('OPEN_TAMPERED');
    expect(reasonCode('not-recipient: envelope is not addressed to this identity')).toBe('OPEN_NOT_RECIPIENT');
    expect(reasonCode('Disconnected: transport close')).toBe('UNREACHABLE');
    // A download the relay answers NOT_FOUND is about the file, not the generic NOT_FOUND (a username).
    const gone = 'Attachment 0 of message x: the file is no longer on the relay, or was not shared with this key (BLOB_UNAVAILABLE)';
    expect(failureCode({ code: 'RELAY', message: gone })).toBe('BLOB_UNAVAILABLE');
    expect(describeReason(gone).text).toBe(en.errors.BLOB_UNAVAILABLE);
    expect(reasonCode('10.0.0.5:7447 is not this computer and the address has no TLS (https:// or wss://)')).toBe('INSECURE_RELAY');
    expect(failureCode({ code: 'INVALID', message: `A message can be at most ${LIMITS.maxTextBytes} bytes` })).toBe('TOO_LARGE');
    expect(failureCode({ code: 'USERNAME_TAKEN', message: 'whatever' })).toBe('USERNAME_TAKEN');
    expect(failureCode({ code: 'SOMETHING_NEW', message: 'x' })).toBe('UNKNOWN');
    expect(reasonCode('a sentence nobody planned for')).toBe('UNKNOWN');
    expect(reasonCode(null)).toBe('UNKNOWN');
  });
});

describe('relay address check in the forms', () => {
  const cases = [
    '192.168.1.20:7447', 'https://relay.example:7447', 'http://127.0.0.1:7070/', 'ws://localhost:1', 'wss://h:2',
    'http://10.0.0.5:7447', 'https://h:1/path', 'https://h:1?x=1', 'https://h:1#f', 'https://u:p@h:1', 'ftp://h',
    'http://', 'not an address', 'https://[::1]:9',
  ];
  it('accepts exactly what the core accepts, with the same normalized address', () => {
    for (const input of cases) {
      for (const allowInsecure of [false, true]) {
        const mine = normalizeRelayUrl(input, { allowInsecure });
        const withScheme = /^[a-z]+:\/\//i.test(input.trim()) ? input : `https://${input}`;
        let core: string | null = null;
        try {
          core = parseRelayUrl(withScheme, { allowInsecure }).url;
        } catch {
          core = null;
        }
        expect('url' in mine ? mine.url : null, `${input} (insecure allowed: ${allowInsecure})`).toBe(core);
      }
    }
  });
  it('names the problem', () => {
    expect(normalizeRelayUrl('')).toEqual({ error: 'ADDRESS_EMPTY' });
    expect(normalizeRelayUrl('https://h:1/path')).toEqual({ error: 'ADDRESS_PATH' });
    expect(normalizeRelayUrl('https://u:p@h:1')).toEqual({ error: 'ADDRESS_CREDENTIALS' });
    expect(normalizeRelayUrl('ftp://h')).toEqual({ error: 'ADDRESS_SCHEME' });
    expect(normalizeRelayUrl('http://10.0.0.5:7447')).toEqual({ error: 'INSECURE_RELAY' });
  });
});

describe('character counter', () => {
  it('uses the protocol text limit', () => {
    expect(MAX_TEXT_BYTES).toBe(LIMITS.maxTextBytes);
  });
  it('stays hidden for everyday messages and counts bytes near the limit', () => {
    expect(textBudget('hello')).toMatchObject({ showCounter: false, over: false });
    expect(textBudget('a'.repeat(MAX_TEXT_BYTES - 10))).toEqual({ left: 10, showCounter: true, over: false });
    expect(textBudget('a'.repeat(MAX_TEXT_BYTES + 3))).toEqual({ left: -3, showCounter: true, over: true });
    // 4-byte emoji: 20 000 of them are 80 000 bytes, over the limit though only 40 000 UTF-16 units.
    expect(textBudget('😀'.repeat(20_000)).over).toBe(true);
  });
});
