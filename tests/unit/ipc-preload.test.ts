/**
 * The preload and the main-side registration, run against a stand-in for the `electron` module (the Electron
 * binary is the one thing tests may replace: it is absent here). What matters is what the renderer gets.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENTS, METHODS, eventChannel, methodChannel } from '../../electron/contract/api.js';
import type { ParleyBridge } from '../../electron/contract/api.js';

const exposed: Record<string, unknown> = {};
const invoked: Array<{ channel: string; args: unknown[] }> = [];
const listeners = new Map<string, Set<(...a: unknown[]) => void>>();
let nextResult: unknown = { ok: true, value: 'fine' };
const handlers = new Map<string, (e: unknown, ...a: unknown[]) => unknown>();

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
  ipcRenderer: {
    invoke: async (channel: string, ...args: unknown[]) => {
      invoked.push({ channel, args });
      return nextResult;
    },
    on: (channel: string, fn: (...a: unknown[]) => void) => {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(fn);
    },
    removeListener: (channel: string, fn: (...a: unknown[]) => void) => listeners.get(channel)?.delete(fn),
  },
  ipcMain: {
    handle: (channel: string, fn: (e: unknown, ...a: unknown[]) => unknown) => handlers.set(channel, fn),
    removeHandler: (channel: string) => handlers.delete(channel),
  },
}));

let parley: ParleyBridge;
beforeAll(async () => {
  await import('../../electron/preload/index.js');
  parley = exposed['parley'] as ParleyBridge;
});

describe('preload', () => {
  it('exposes exactly the contract methods plus on(), and nothing of ipcRenderer', () => {
    expect(Object.keys(exposed)).toEqual(['parley']);
    expect(Object.keys(parley).sort()).toEqual([...METHODS, 'on'].sort());
    expect(Object.isFrozen(parley)).toBe(true);
    for (const k of ['invoke', 'send', 'ipcRenderer', 'sendSync']) expect(k in parley).toBe(false);
  });

  it('calls the method channel with the arguments and unwraps results', async () => {
    nextResult = { ok: true, value: { contact: 'bob' } };
    await expect(parley.addContact({ username: 'bob' })).resolves.toEqual({ contact: 'bob' });
    expect(invoked.at(-1)).toEqual({ channel: methodChannel('addContact'), args: [{ username: 'bob' }] });
  });

  it('rejects with a plain {code, message} (no stack crosses the bridge)', async () => {
    nextResult = { ok: false, error: { code: 'NOT_FOUND', message: 'No user named bob' } };
    const err = await parley.addContact({ username: 'bob' }).catch((e: unknown) => e);
    expect(err).toEqual({ code: 'NOT_FOUND', message: 'No user named bob' });
    expect(err).not.toBeInstanceOf(Error);
  });

  it('event listeners get the payload only, never the IpcRendererEvent, and can unsubscribe', () => {
    const got: unknown[][] = [];
    const off = parley.on('message-state', (...args: unknown[]) => got.push(args));
    const channel = eventChannel('message-state');
    const fakeEvent = { sender: { send: () => undefined }, ports: [] };
    for (const l of listeners.get(channel) ?? []) l(fakeEvent, { id: 'x', contact: 'bob', state: 'sent', error: null });
    expect(got).toEqual([[{ id: 'x', contact: 'bob', state: 'sent', error: null }]]);
    off();
    expect(listeners.get(channel)?.size ?? 0).toBe(0);
  });

  it('refuses unknown events and non-function listeners', () => {
    expect(() => parley.on('ipc-anything' as 'state-changed', () => undefined)).toThrow(/Unknown event/);
    expect(() => parley.on('state-changed', 'x' as unknown as () => void)).toThrow(/function/);
    expect(EVENTS.length).toBeGreaterThan(0);
  });
});

describe('main registration', () => {
  it('registers one handler per method that checks the sender before the core runs', async () => {
    const { registerIpc } = await import('../../electron/main/ipc.js');
    const calls: string[] = [];
    const api = Object.fromEntries(METHODS.map((m) => [m, async () => (calls.push(m), 'ok')]));
    const win = { isDestroyed: () => false, webContents: { id: 7 } };
    const trusted = { rendererFileUrl: 'file:///app/out/renderer/index.html', devServerOrigin: null };
    const unregister = registerIpc(api as never, () => win as never, trusted);
    expect([...handlers.keys()].sort()).toEqual(METHODS.map((m) => methodChannel(m)).sort());

    const top = { url: 'file:///app/out/renderer/index.html', parent: null };
    const good = { sender: { id: 7 }, senderFrame: top };
    await expect(handlers.get(methodChannel('getState'))!(good)).resolves.toEqual({ ok: true, value: 'ok' });
    const iframe = { sender: { id: 7 }, senderFrame: { url: top.url, parent: top } };
    await expect(handlers.get(methodChannel('getState'))!(iframe)).resolves.toMatchObject({ ok: false, error: { code: 'FORBIDDEN_SENDER' } });
    const otherWindow = { sender: { id: 8 }, senderFrame: top };
    await expect(handlers.get(methodChannel('getState'))!(otherWindow)).resolves.toMatchObject({ ok: false, error: { code: 'FORBIDDEN_SENDER' } });
    await expect(handlers.get(methodChannel('addContact'))!(good, { username: '<script>' })).resolves.toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENTS' } });
    expect(calls).toEqual(['getState']);
    unregister();
    expect(handlers.size).toBe(0);
  });
});
