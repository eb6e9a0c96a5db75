import { describe, expect, it } from 'vitest';
import { coalesce } from '../../renderer/src/lib/coalesce.js';

describe('coalesce', () => {
  it('turns a burst of requests into one call in flight plus one trailing call', async () => {
    const releases: Array<() => void> = [];
    let calls = 0;
    const c = coalesce(() => {
      calls++;
      return new Promise<void>((r) => releases.push(r));
    });
    for (let i = 0; i < 1000; i++) c.request();
    expect(calls).toBe(1);
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(2); // the trailing call covers the 999 requests made meanwhile
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(2);
    c.request(); // idle again: runs at once
    expect(calls).toBe(3);
  });

  it('keeps working after a call fails', async () => {
    let calls = 0;
    const c = coalesce(() => {
      calls++;
      return Promise.reject(new Error('core went away'));
    });
    c.request();
    c.request();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(2);
    c.request();
    expect(calls).toBe(3);
  });
});
