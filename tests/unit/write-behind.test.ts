/** WriteBehind (relay/protocol/write-behind.ts): order, batching, one write at a time, backpressure, and errors. */
import { describe, expect, it } from 'vitest';
import { WriteBehind } from '../../relay/protocol/write-behind.js';

const piece = (n: number, v: number) => new Uint8Array(n).fill(v);

describe('WriteBehind', () => {
  it('writes every byte in order, in batches of at least minBatch (the rest at flush), one write at a time', async () => {
    const written: number[] = [];
    const batches: number[] = [];
    let inFlight = 0;
    const w = new WriteBehind(
      async (bufs) => {
        expect(++inFlight).toBe(1);
        await new Promise((r) => setTimeout(r, 1));
        for (const b of bufs) written.push(...b);
        batches.push(bufs.reduce((n, b) => n + b.byteLength, 0));
        inFlight--;
      },
      { minBatch: 10, maxQueued: 40 },
    );
    for (let i = 0; i < 20; i++) await w.push(piece(3, i));
    await w.flush();
    expect(written).toEqual(Array.from({ length: 20 }, (_, i) => [i, i, i]).flat());
    expect(batches.slice(0, -1).every((n) => n >= 10)).toBe(true);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(60);
  });

  it('makes the producer wait once maxQueued bytes are queued', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const w = new WriteBehind(() => gate, { minBatch: 4, maxQueued: 8 });
    await w.push(piece(4, 1)); // starts the (blocked) write
    await w.push(piece(4, 2));
    let waited = true;
    const p = w.push(piece(4, 3)).then(() => (waited = false));
    await new Promise((r) => setTimeout(r, 5));
    expect(waited).toBe(true);
    release();
    await p;
    await w.flush();
  });

  it('a failed write is thrown by the next push or by flush, and nothing after it is written', async () => {
    let calls = 0;
    const w = new WriteBehind(
      async () => {
        calls++;
        throw new Error('disk full');
      },
      { minBatch: 1 },
    );
    await w.push(piece(1, 1));
    await expect(w.flush()).rejects.toThrow('disk full');
    await expect(w.push(piece(1, 2))).rejects.toThrow('disk full');
    await w.settle();
    expect(calls).toBe(1);
  });
});

describe('WriteBehind background sync', () => {
  it('syncs every syncEvery bytes while writing, one sync at a time, and flush waits for the sync in flight', async () => {
    const events: string[] = [];
    let syncing = 0;
    const w = new WriteBehind(
      async (bufs) => {
        events.push(`w${bufs.reduce((n, b) => n + b.byteLength, 0)}`);
        await new Promise((r) => setTimeout(r, 1));
      },
      {
        minBatch: 4,
        syncEvery: 8,
        sync: async () => {
          expect(++syncing).toBe(1);
          events.push('s');
          await new Promise((r) => setTimeout(r, 5));
          syncing--;
          events.push('s-done');
        },
      },
    );
    for (let i = 0; i < 8; i++) await w.push(piece(4, i));
    await w.flush();
    expect(events.filter((e) => e === 's').length).toBeGreaterThanOrEqual(1);
    expect(events.at(-1)).toBe('s-done'); // flush returned only after the last sync finished
  });

  it('a failed background sync fails the writer (never retried)', async () => {
    const w = new WriteBehind(async () => undefined, { minBatch: 1, syncEvery: 1, sync: () => Promise.reject(new Error('EIO')) });
    await w.push(piece(2, 1));
    await expect(w.flush()).rejects.toThrow('EIO');
  });
});
