import { describe, expect, it } from 'vitest';
import { METHODS } from '../../electron/contract/api.js';
import type { ParleyApi } from '../../electron/contract/api.js';
import { IPC_SCHEMAS } from '../../electron/main/ipc-schemas.js';
import { IpcError, assertTrustedSender, dispatch, isTrustedUrl, toApiError, validateArgs } from '../../electron/main/ipc-validate.js';
import type { SenderInfo, TrustedOrigins } from '../../electron/main/ipc-validate.js';

const trusted: TrustedOrigins = { rendererFileUrl: 'file:///opt/Parley/resources/app.asar/out/renderer/index.html', devServerOrigin: null };
const good: SenderInfo = { url: 'file:///opt/Parley/resources/app.asar/out/renderer/index.html#/chat', isTopFrame: true, isMainWindow: true };

/** A recording ParleyApi: every method resolves with its name and arguments. */
function recordingApi(): { api: ParleyApi; calls: Array<[string, unknown[]]> } {
  const calls: Array<[string, unknown[]]> = [];
  const api = {} as Record<string, unknown>;
  for (const m of METHODS) {
    api[m] = async (...args: unknown[]) => {
      calls.push([m, args]);
      return { method: m };
    };
  }
  return { api: api as unknown as ParleyApi, calls };
}

describe('sender checks', () => {
  it('accepts our page in the main window top frame', () => {
    expect(() => assertTrustedSender(good, trusted)).not.toThrow();
  });
  it.each<[string, SenderInfo]>([
    ['another file', { ...good, url: 'file:///tmp/evil.html' }],
    ['a web page', { ...good, url: 'https://evil.example/' }],
    ['a subframe', { ...good, isTopFrame: false }],
    ['another window', { ...good, isMainWindow: false }],
    ['a destroyed frame', { ...good, url: null }],
    ['garbage url', { ...good, url: 'not a url' }],
  ])('rejects %s', (_name, sender) => {
    // one assertion on the thrown error: a try/catch here would pass if the call stopped throwing
    expect(() => assertTrustedSender(sender, trusted)).toThrow(expect.objectContaining({ name: IpcError.name, code: 'FORBIDDEN_SENDER' }));
    expect(() => assertTrustedSender(sender, trusted)).toThrow(IpcError);
  });
  it('accepts the dev server origin only when configured', () => {
    expect(isTrustedUrl('http://localhost:5173/', trusted)).toBe(false);
    expect(isTrustedUrl('http://localhost:5173/', { ...trusted, devServerOrigin: 'http://localhost:5173' })).toBe(true);
    expect(isTrustedUrl('http://localhost:5174/', { ...trusted, devServerOrigin: 'http://localhost:5173' })).toBe(false);
  });
});

describe('argument schemas', () => {
  it('has one schema per method, no more', () => {
    expect(Object.keys(IPC_SCHEMAS).sort()).toEqual([...METHODS].sort());
  });
  it('passes good arguments through', () => {
    expect(validateArgs('sendMessage', [{ conversation: 'd:bob', text: 'hi' }])).toEqual([{ conversation: 'd:bob', text: 'hi' }]);
    expect(validateArgs('markRead', [{ conversation: `g:${'0a'.repeat(16)}` }])).toHaveLength(1);
    expect(validateArgs('getState', [])).toEqual([]);
    expect(validateArgs('createIdentity', [{ username: 'alice', relayUrl: 'https://127.0.0.1:7447', vault: 'keychain' }])).toHaveLength(1);
    expect(validateArgs('loadMessages', [{ conversation: 'd:bob', before: null, limit: 50 }])).toHaveLength(1);
    expect(validateArgs('listConversations', [{}])).toEqual([{}]);
  });
  it.each<[string, string, unknown]>([
    ['extra key', 'sendMessage', [{ conversation: 'd:bob', text: 'hi', path: '/etc/passwd' }]],
    ['missing arg', 'sendMessage', []],
    ['wrong type', 'sendMessage', [{ conversation: 'd:bob', text: 42 }]],
    ['empty text', 'sendMessage', [{ conversation: 'd:bob', text: '' }]],
    ['bad username', 'addContact', [{ username: '../Bob' }]],
    ['bare username as conversation', 'sendMessage', [{ conversation: 'bob', text: 'hi' }]],
    ['old contact argument', 'loadMessages', [{ contact: 'bob' }]],
    ['short group id', 'markRead', [{ conversation: 'g:abcd' }]],
    ['uppercase group id', 'deleteConversation', [{ conversation: `g:${'AB'.repeat(16)}` }]],
    ['too many args', 'getState', [1]],
    ['not an array', 'getState', 'x'],
    ['file vault without passphrase', 'createIdentity', [{ username: 'alice', relayUrl: 'https://x.test', vault: 'file' }]],
    ['short passphrase', 'exportIdentity', [{ passphrase: 'short' }]],
    ['javascript: relay url', 'testRelay', [{ url: 'javascript:alert(1)' }]],
    ['relay url with credentials', 'setRelay', [{ url: 'https://u:p@relay.test' }]],
    ['export with a path from the page', 'exportIdentity', [{ passphrase: 'long enough pass', path: '/tmp/x' }]],
    ['negative cursor', 'loadMessages', [{ conversation: 'd:bob', before: -1 }]],
    ['unknown setting value', 'updateSettings', [{ theme: 'neon' }]],
  ])('rejects %s with a typed error', (_name, method, args) => {
    try {
      validateArgs(method as 'getState', args);
      expect.unreachable('should have thrown');
    } catch (e) {
      expect(e).toBeInstanceOf(IpcError);
      expect((e as IpcError).code).toBe('BAD_ARGUMENTS');
      expect((e as IpcError).message).toContain(method);
    }
  });
});

describe('dispatch', () => {
  it('calls the core with validated arguments', async () => {
    const { api, calls } = recordingApi();
    const r = await dispatch(api, 'addContact', [{ username: 'bob' }], good, trusted);
    expect(r).toEqual({ ok: true, value: { method: 'addContact' } });
    expect(calls).toEqual([['addContact', [{ username: 'bob' }]]]);
  });
  it('never calls the core for a wrong sender or bad arguments', async () => {
    const { api, calls } = recordingApi();
    const r1 = await dispatch(api, 'addContact', [{ username: 'bob' }], { ...good, isTopFrame: false }, trusted);
    const r2 = await dispatch(api, 'addContact', [{ username: 'B O B' }], good, trusted);
    const r3 = await dispatch(api, 'constructor', [], good, trusted);
    expect(r1).toEqual({ ok: false, error: { code: 'FORBIDDEN_SENDER', message: expect.any(String) } });
    expect(r2).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENTS' } });
    expect(r3).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    expect(calls).toEqual([]);
  });
  it('turns core failures into {code, message} without a stack', async () => {
    const { api } = recordingApi();
    api.addContact = async () => {
      throw Object.assign(new Error('No user named bob on this relay\n    at secret/path.ts:1'), { code: 'NOT_FOUND' });
    };
    const r = await dispatch(api, 'addContact', [{ username: 'bob' }], good, trusted);
    expect(r).toEqual({ ok: false, error: { code: 'NOT_FOUND', message: 'No user named bob on this relay' } });
    expect(JSON.stringify(r)).not.toContain('secret/path');
  });
});

describe('toApiError', () => {
  it('keeps typed codes and reasons, hides internals', () => {
    expect(toApiError(Object.assign(new Error('bad sig'), { reason: 'bad-signature' }))).toEqual({ code: 'BAD_SIGNATURE', message: 'bad sig' });
    expect(toApiError(new TypeError("Cannot read properties of undefined (reading 'x')"))).toEqual({
      code: 'INTERNAL',
      message: expect.not.stringContaining('undefined'),
    });
    expect(toApiError('a string')).toMatchObject({ code: 'INTERNAL' });
    expect(toApiError(null)).toMatchObject({ code: 'INTERNAL' });
    expect(Object.keys(toApiError(new Error('x')))).toEqual(['code', 'message']);
  });
});
