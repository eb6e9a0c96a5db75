/**
 * Display names: a name Alice sets in her settings reaches Bob inside her encrypted messages (payload `name`) and
 * shows on his contact; the relay never holds it. A real relay on 127.0.0.1 with its SQLite files, real
 * ParleyServices on encrypted SQLite files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { decodePayload, encodePayload } from '../../electron/core/crypto/index.js';
import { aliceAndBob, cleanupAll, collect, startTestRelay, waitUntil } from '../helpers/core.js';

afterAll(cleanupAll);

/** Every byte the relay keeps on disk (database, WAL, keys): where a leaked name would be. */
function relayBytes(dataDir: string): Buffer {
  const files = readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  return Buffer.concat(files.map((f) => readFileSync(path.join(f.parentPath, f.name))));
}

describe('display names', () => {
  test('Bob sees the name Alice chose; the relay has no trace of it', async () => {
    const relay = await startTestRelay();
    const { alice, bob } = await aliceAndBob(relay.url);
    const NAME = 'Alice Liddell ✨';

    expect((await alice.updateSettings({ displayName: `  ${NAME} ` })).displayName).toBe(NAME);
    const changed = collect(bob, 'contacts-changed');
    await alice.sendMessage({ conversation: 'd:bob', text: 'hello, it is me' });
    await waitUntil(async () => (await bob.getContact({ username: 'alice' })).displayName === NAME, 20_000, 'Bob sees the name');
    expect(changed.some((c) => c.username === 'alice')).toBe(true);
    const row = (await bob.listConversations({})).find((c) => c.id === 'd:alice');
    expect(row?.kind === 'direct' && row.contact.displayName).toBe(NAME);
    // Bob chose none: Alice's view of him has no display name.
    expect((await alice.getContact({ username: 'bob' })).displayName).toBeNull();

    await bob.idle();
    const onDisk = relayBytes(relay.dataDir);
    expect(onDisk.length).toBeGreaterThan(0);
    expect(onDisk.includes(Buffer.from('Alice Liddell'))).toBe(false);
    expect(onDisk.includes(Buffer.from('Liddell', 'utf16le'))).toBe(false);
  });

  test('a bad name is refused in settings with a typed error, and the old one stays', async () => {
    const relay = await startTestRelay();
    const { alice } = await aliceAndBob(relay.url, { contacts: 'none' });
    await alice.updateSettings({ displayName: 'Al' });
    await expect(alice.updateSettings({ displayName: 'x'.repeat(65) })).rejects.toMatchObject({ code: 'INVALID' });
    await expect(alice.updateSettings({ displayName: 'bell\u0007' })).rejects.toMatchObject({ code: 'INVALID' });
    expect((await alice.getState()).settings.displayName).toBe('Al');
    expect((await alice.updateSettings({ displayName: '' })).displayName).toBe('');
  });
});

describe('payload name field', () => {
  test('optional and last: without it the bytes are as before; with it, it round-trips; bad names are malformed', () => {
    const plain = encodePayload({ v: 1, type: 'text', ts: 1700000000000, body: 'hello' });
    expect(new TextDecoder().decode(plain.subarray(4, 4 + 55))).toBe('{"v":1,"type":"text","ts":1700000000000,"body":"hello"}');
    const named = encodePayload({ v: 1, type: 'text', ts: 1700000000000, body: 'hello', name: 'Alice' });
    const json = new TextDecoder().decode(named).replace(/\0+$/, '').slice(4);
    expect(json).toBe('{"v":1,"type":"text","ts":1700000000000,"body":"hello","name":"Alice"}');
    expect(decodePayload(named)).toEqual({ v: 1, type: 'text', ts: 1700000000000, body: 'hello', name: 'Alice' });
    for (const name of ['', ' Alice', 'a\nb', 'x'.repeat(65), '\ud800']) {
      expect(() => encodePayload({ v: 1, type: 'text', ts: 1, body: 'b', name })).toThrow(/name/);
    }
    expect(() => encodePayload({ v: 1, type: 'text', ts: 1, body: 'b', name: '😀'.repeat(64) })).not.toThrow();
  });
});
