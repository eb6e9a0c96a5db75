/** parseRelayUrl: the one validator every relay entry point uses (CLI, bridge, settings, onboarding, saved profile, IPC). */
import { describe, expect, test } from 'vitest';
import { isLoopbackHost, parseRelayUrl, RelayUrlError, usesTls } from '../../electron/core/transport/relay-url.js';
import { IPC_SCHEMAS } from '../../electron/main/ipc-schemas.js';

function problem(raw: unknown, o = {}): string | null {
  try {
    parseRelayUrl(raw, o);
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(RelayUrlError);
    expect((err as RelayUrlError).code).toBe('INVALID');
    return (err as RelayUrlError).problem;
  }
}

describe('parseRelayUrl', () => {
  test('accepts the four schemes and normalizes to an http(s) origin', () => {
    expect(parseRelayUrl('https://relay.example:7447')).toEqual({ url: 'https://relay.example:7447', tls: true, loopback: false });
    expect(parseRelayUrl('wss://relay.example:7447/')).toEqual({ url: 'https://relay.example:7447', tls: true, loopback: false });
    expect(parseRelayUrl('http://127.0.0.1:7070')).toEqual({ url: 'http://127.0.0.1:7070', tls: false, loopback: true });
    expect(parseRelayUrl('ws://localhost:7070')).toEqual({ url: 'http://localhost:7070', tls: false, loopback: true });
    expect(parseRelayUrl('  HTTP://[::1]:7070  ').url).toBe('http://[::1]:7070');
  });

  test('refuses other schemes, missing hosts, credentials and path junk', () => {
    expect(problem('ftp://relay.example')).toBe('scheme');
    expect(problem('file:///etc/passwd')).toBe('scheme');
    expect(problem('javascript:alert(1)')).toBe('scheme');
    expect(problem('relay.example:7447')).toBe('scheme'); // "relay.example:" parses as a scheme
    expect(problem('not a url')).toBe('syntax');
    expect(problem('')).toBe('syntax');
    expect(problem(42)).toBe('syntax');
    expect(problem(`https://${'a'.repeat(2100)}.example`)).toBe('syntax');
    expect(problem('https://')).toBe('syntax');
    expect(problem('https://user:pw@relay.example')).toBe('credentials');
    expect(problem('https://user@relay.example')).toBe('credentials');
    expect(problem('https://relay.example/socket')).toBe('path');
    expect(problem('https://relay.example/?x=1')).toBe('path');
    expect(problem('https://relay.example#frag')).toBe('path');
    expect(problem('https://relay.example?')).toBe('path');
  });

  test('plain http/ws off loopback is refused unless the user explicitly allows an insecure relay', () => {
    for (const raw of ['http://192.168.1.20:7070', 'ws://relay.example:7070', 'http://10.0.0.1', 'http://127.example.com']) {
      expect(problem(raw)).toBe('insecure');
      expect(parseRelayUrl(raw, { allowInsecure: true }).tls).toBe(false);
    }
    expect(() => parseRelayUrl('http://192.168.1.20:7070')).toThrow(/--insecure-relay/);
    for (const raw of ['http://127.0.0.1:1', 'http://127.5.6.7:1', 'http://localhost:1', 'http://[::1]:1', 'ws://a.localhost:1']) {
      expect(problem(raw)).toBeNull();
    }
  });

  test('TLS is a property of the scheme, whatever its spelling', () => {
    expect(usesTls('wss://relay.example')).toBe(true);
    expect(usesTls('https://relay.example')).toBe(true);
    expect(usesTls('WSS://relay.example')).toBe(true);
    expect(usesTls('ws://relay.example')).toBe(false);
    expect(usesTls('garbage')).toBe(false);
    expect(isLoopbackHost('[::ffff:127.0.0.1]')).toBe(true);
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
  });

  test('the IPC schema checks the same form (the core decides about insecure relays)', () => {
    expect(IPC_SCHEMAS.setRelay.safeParse([{ url: 'https://relay.example:7447' }]).success).toBe(true);
    expect(IPC_SCHEMAS.setRelay.safeParse([{ url: 'http://192.168.1.20:7070' }]).success).toBe(true);
    expect(IPC_SCHEMAS.setRelay.safeParse([{ url: 'https://relay.example/path' }]).success).toBe(false);
    expect(IPC_SCHEMAS.setRelay.safeParse([{ url: 'https://u:p@relay.example' }]).success).toBe(false);
    expect(IPC_SCHEMAS.updateSettings.safeParse([{ insecureRelay: true }]).success).toBe(true);
    expect(IPC_SCHEMAS.updateSettings.safeParse([{ insecureRelay: 'yes' }]).success).toBe(false);
  });
});
