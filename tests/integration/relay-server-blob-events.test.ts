/**
 * The blob events' own work in relay/server/blobs/handlers.ts: the operator's log of an upload begun, completed and
 * deleted once every recipient has it (ids, sizes and counts; never bytes), and the refusal of a recipient the relay
 * does not know. A real relay in this process on 127.0.0.1 (its log read as JSON lines), real clients.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRelay } from '../../relay/server/index.js';
import { cleanupAll, onCleanup, tmpDir } from '../helpers/core.js';
import { jsonLogger, makeParties, refusal, type Party } from '../helpers/relay.js';
import { loginUntilCleanup as as } from '../helpers/relay-session.js';

let alice: Party;
let bob: Party;
let carol: Party;
let dave: Party; // never registered on the relay

beforeAll(async () => {
  [alice, bob, carol, dave] = (await makeParties('alice', 'bob', 'carol', 'dave')) as [Party, Party, Party, Party];
});

afterEach(cleanupAll);

describe('blob events', () => {
  it('log an upload begun, completed and deleted once its recipient acknowledged it; never its bytes', async () => {
    const { lines, logger } = jsonLogger();
    const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir: tmpDir('relay-blob-events'), logger });
    onCleanup(() => relay.close());
    const [a, b, c] = [await as(relay, alice), await as(relay, bob), await as(relay, carol)];
    const bytes = Buffer.from('secret bytes of a file');
    const begun = await a.call<{ blob: string }>('blob-begin', { size: bytes.length });
    if (!begun.ok) throw new Error(begun.error.code);
    const blob = begun.blob;
    expect(lines.filter((l) => l.msg === 'blob upload begun')).toEqual([expect.objectContaining({ level: 30, fp: alice.fingerprint, blob, size: bytes.length })]);

    expect(await a.call('blob-put', { blob, offset: 0, data: bytes })).toMatchObject({ ok: true });
    const sha256 = createHash('sha256').update(bytes).digest('base64url');
    expect(refusal(await a.call('blob-complete', { blob, sha256, recipients: [bob.fingerprint, dave.fingerprint] }))).toEqual({
      code: 'NOT_FOUND',
      message: `recipient ${dave.fingerprint.slice(0, 12)}… is not registered here`,
    });
    expect(lines.some((l) => l.msg === 'blob complete')).toBe(false);
    expect(await a.call('blob-complete', { blob, sha256, recipients: [bob.fingerprint, carol.fingerprint] })).toMatchObject({ ok: true });
    expect(lines.filter((l) => l.msg === 'blob complete')).toEqual([
      expect.objectContaining({ level: 30, fp: alice.fingerprint, blob, size: bytes.length, recipients: 2 }),
    ]);

    // bob's ack deletes nothing (carol has not downloaded it yet): nothing logged
    expect(await b.call('blob-ack', { blob })).toMatchObject({ ok: true, deleted: false });
    expect(lines.some((l) => l.msg === 'blob downloaded by every recipient; deleted')).toBe(false);
    expect(await c.call('blob-ack', { blob })).toMatchObject({ ok: true, deleted: true });
    expect(lines.filter((l) => l.msg === 'blob downloaded by every recipient; deleted')).toEqual([expect.objectContaining({ level: 30, blob })]);
    expect(JSON.stringify(lines)).not.toContain('secret bytes');
    expect(JSON.stringify(lines)).not.toContain(bytes.toString('base64'));
  });
});
