/**
 * What a running relay keeps tidy on its sweep timer, and the frame size it accepts (relay/server/relay.ts):
 * rate-limit buckets are dropped only once they are full again and their sender is gone (a sweep never hands a
 * sender or an address a fresh allowance), expired blobs are deleted and logged, and a frame holds a full blob piece
 * and an oversize envelope that is then refused, not dropped.
 *
 * Real relays in this process (so mutation testing reaches them) on 127.0.0.1 with real SQLite stores and real
 * sealed envelopes. The store's sweeps are counted (countSweeps), so a test waits for sweeps instead of sleeping.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BLOB_PIECE_BYTES, type Ack } from '../../relay/protocol/index.js';
import { startRelay, type RunningRelay, type StartRelayOptions } from '../../relay/server/index.js';
import { cleanupAll, onCleanup, tmpDir, waitUntil } from '../helpers/core.js';
import { jsonLogger, makeParties, RelayClient, sealText, type Party } from '../helpers/relay.js';
import { countSweeps, openSqliteStore } from '../helpers/stores.js';

let alice: Party;
let bob: Party;

beforeAll(async () => {
  [alice, bob] = (await makeParties('alice', 'bob')) as [Party, Party];
});

afterEach(cleanupAll);

interface Started {
  relay: RunningRelay;
  lines: Record<string, unknown>[];
  /** Resolves once the relay has finished at least `n` more sweeps after this call. */
  sweeps(n: number): Promise<void>;
}

async function start(o: Partial<StartRelayOptions> = {}): Promise<Started> {
  const dataDir = tmpDir('relay-housekeeping');
  const store = await openSqliteStore(dataDir);
  const swept = countSweeps(store);
  const { lines, logger } = jsonLogger();
  const relay = await startRelay({ host: '127.0.0.1', port: 0, dataDir, logger, store, ...o });
  onCleanup(() => relay.close());
  // A sweep starts with the store's sweep and ends with the pruning; once a later sweep has started, the earlier one
  // has finished (they run in order on one timer).
  const sweeps = (n: number) => {
    const target = swept() + n + 1;
    return waitUntil(() => swept() >= target, 10_000, `${n} sweeps`).then(() => undefined);
  };
  return { relay, lines, sweeps };
}

function code(r: Ack): string {
  return r.ok ? 'ok' : r.error.code;
}

async function connectAs(relay: RunningRelay, p: Party, register: boolean): Promise<RelayClient> {
  const c = await RelayClient.connect(relay.url);
  onCleanup(() => c.close());
  if (register) expect(code(await c.register(p))).toBe('ok');
  expect(code(await c.auth(p, relay.fingerprint))).toBe('ok');
  return c;
}

describe('rate-limit buckets across sweeps', () => {
  it("an exhausted allowance survives sweeps, while its sender is connected and after it reconnects; so does an address's", async () => {
    // Buckets that would take minutes to refill: nothing here is full again before the test ends.
    const { relay, sweeps } = await start({
      limits: { sweepIntervalMs: 30, sendBurst: 2, sendPerSec: 0.01, newSendFactor: 1, registrationBurst: 1, registrationPerHour: 1 },
    });
    const a = await connectAs(relay, alice, true);
    expect(code(await a.send(await sealText(alice, [alice], 'one')))).toBe('ok');
    expect(code(await a.send(await sealText(alice, [alice], 'two')))).toBe('ok');
    expect(code(await a.send(await sealText(alice, [alice], 'three')))).toBe('RATE_LIMITED');
    expect(relay.metrics().rateBuckets).toBe(2); // alice's sends, 127.0.0.1's registrations

    await sweeps(2);
    expect(code(await a.send(await sealText(alice, [alice], 'after a sweep')))).toBe('RATE_LIMITED');
    a.close();
    await waitUntil(() => relay.metrics().authenticated === 0, 10_000, 'alice gone');
    await sweeps(2);
    expect(relay.metrics().rateBuckets).toBe(2); // gone, but not full again: kept
    const again = await connectAs(relay, alice, false);
    expect(code(await again.send(await sealText(alice, [alice], 'after reconnecting')))).toBe('RATE_LIMITED');

    // the address spent its one registration on alice; a sweep does not give it another
    const b = await RelayClient.connect(relay.url);
    onCleanup(() => b.close());
    expect(code(await b.register(bob))).toBe('RATE_LIMITED');
  });

  it('buckets full again are dropped, except the send bucket of a sender still connected', async () => {
    // Buckets that refill within a millisecond.
    const { relay, sweeps } = await start({
      limits: { sweepIntervalMs: 30, sendBurst: 2, sendPerSec: 100_000, newSendFactor: 1, registrationBurst: 2, registrationPerHour: 3_600_000_000 },
    });
    const a = await connectAs(relay, alice, true);
    expect(code(await a.send(await sealText(alice, [alice], 'hi')))).toBe('ok');
    await sweeps(2);
    expect(relay.metrics().rateBuckets).toBe(1); // the address's went; alice is connected, hers stays
    a.close();
    await waitUntil(() => relay.metrics().authenticated === 0, 10_000, 'alice gone');
    await sweeps(2);
    expect(relay.metrics().rateBuckets).toBe(0);
  });
});

describe('expired blobs', () => {
  it('are deleted by the sweep and logged with their count; a sweep with none logs nothing', async () => {
    let now = Date.now();
    const { relay, lines, sweeps } = await start({ limits: { sweepIntervalMs: 30, blobTtlMs: 60_000 }, blobClock: () => now });
    const a = await connectAs(relay, alice, true);
    const begun = await a.call<{ blob: string }>('blob-begin', { size: 3 });
    if (!begun.ok) throw new Error(`blob-begin: ${begun.error.code}`);
    expect(code(await a.call('blob-put', { blob: begun.blob, offset: 0, data: Buffer.from('abc') }))).toBe('ok');
    await sweeps(2);
    expect(lines.filter((l) => l.msg === 'expired blobs deleted')).toEqual([]);

    now += 60_001;
    await waitUntil(() => lines.some((l) => l.msg === 'expired blobs deleted'), 10_000, 'the blob swept');
    await sweeps(2);
    expect(lines.filter((l) => l.msg === 'expired blobs deleted')).toEqual([expect.objectContaining({ level: 30, blobs: 1 })]);
    expect(code(await a.call('blob-offset', { blob: begun.blob }))).toBe('NOT_FOUND');
  });
});

describe('frame size', () => {
  it('a full blob piece fits a frame even when envelopes are limited to far less', async () => {
    const { relay } = await start({ limits: { maxEnvelopeBytes: 16 * 1024 } });
    const a = await connectAs(relay, alice, true);
    const begun = await a.call<{ blob: string }>('blob-begin', { size: MAX_BLOB_PIECE_BYTES });
    if (!begun.ok) throw new Error(`blob-begin: ${begun.error.code}`);
    const put = await a.call<{ offset: number }>('blob-put', { blob: begun.blob, offset: 0, data: Buffer.alloc(MAX_BLOB_PIECE_BYTES, 7) });
    expect(put).toMatchObject({ ok: true, offset: MAX_BLOB_PIECE_BYTES });
    expect(a.connected).toBe(true);
  });

  it('an envelope up to twice the limit (and a little more) arrives and is refused as TOO_LARGE; a far larger frame drops the connection', async () => {
    const { relay } = await start(); // default limits: 256 KiB envelopes
    const a = await connectAs(relay, alice, true);
    const sealed = await sealText(alice, [alice], 'big');
    // ~530 KiB: more than twice the envelope limit (512 KiB), less than that plus the frame's 64 KiB allowance
    expect(code(await a.send({ ...sealed, ct: 'A'.repeat(530 * 1024) }))).toBe('TOO_LARGE');
    expect(a.connected).toBe(true);
    expect(code(await a.send(await sealText(alice, [alice], 'still here')))).toBe('ok');

    a.timeoutMs = 3_000;
    const huge = await a.send({ ...sealed, ct: 'A'.repeat(600 * 1024) }).then(code, (e: Error) => e.message);
    expect(huge).not.toBe('TOO_LARGE');
    await waitUntil(() => !a.connected, 10_000, 'the connection dropped');
  });
});
