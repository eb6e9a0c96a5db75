/**
 * One side of the `attachment` benchmark in its own process, so its RSS is its own:
 *
 *   node --expose-gc --import tsx bench/lib/attachment-client.ts send <profile> <to> <file>
 *   node --expose-gc --import tsx bench/lib/attachment-client.ts receive <profile> <out>
 *
 * Both unlock and connect, exchange one warm-up text (the sender waits for its delivery receipt), settle (two forced GCs), print {"ready":true,"rss":<bytes>} and sample their RSS every
 * 10 ms from then on. The sender waits for a "go" line on stdin, sends the file and prints {"sent":ms} once the
 * message is 'sent'; the receiver saves the first file that arrives (download, verify, decrypt to <out>) and prints
 * {"saved":true}. Both then print {"peakRss":<bytes>} and exit. The passphrase comes from PARLEY_PASSPHRASE.
 * Along the way both print {"mark":<stage>,"t":<epoch ms>} (one clock for both processes) for the bench's stage
 * breakdown: go, queued, up-first, up-done, sent (sender); received, down-first, down-done, saved (receiver).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { ParleyService } from '../../electron/core/service.js';

const [role, profileDir, a1, a2] = process.argv.slice(2);
const emit = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');
const marked = new Set<string>();
/** The first time a stage is reached, on the wall clock the other process shares. */
const mark = (stage: string): void => {
  if (marked.has(stage)) return;
  marked.add(stage);
  emit({ mark: stage, t: performance.timeOrigin + performance.now(), mono: Number(process.hrtime.bigint() / 1000n) });
};

async function main(): Promise<void> {
  const svc = new ParleyService({ profileDir: profileDir!, vault: 'file', passphrase: process.env.PARLEY_PASSPHRASE ?? '', kdfIterations: 600_000 });
  await svc.start();
  await svc.waitOnline(60_000);
  // Warm up before the baseline: one text message each way boots the crypto workers (sealing, opening, the
  // receipt) and the relay paths, which a running client has anyway; the growth measured is the transfer's own.
  if (role === 'send') {
    const warm = await svc.sendMessage({ conversation: `d:${a1!}`, text: 'warm-up' });
    await new Promise<void>((resolve) => {
      svc.on('message-state', (s) => s.id === warm.id && s.state === 'delivered' && resolve());
    });
  } else {
    await new Promise<void>((resolve) => svc.on('message-received', (x) => x.body === 'warm-up' && resolve()));
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  let peak = process.memoryUsage.rss();
  svc.on('attachment-progress', (p) => {
    const side = p.direction === 'upload' ? 'up' : 'down';
    mark(`${side}-first`);
    if (p.done === p.total) mark(`${side}-done`);
  });
  let gcMs = 0;
  let gcs = 0;
  const gcObs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      gcMs += e.duration;
      gcs++;
    }
  });
  gcObs.observe({ entryTypes: ['gc'] });
  const cpu0 = process.cpuUsage();
  emit({ ready: true, rss: peak });
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  try {
    if (role === 'send') {
      const go = createInterface({ input: process.stdin });
      await new Promise<void>((r) => go.once('line', () => r()));
      go.close();
      mark('go');
      const t0 = performance.now();
      let id = '';
      const done = new Promise<void>((resolve, reject) =>
        svc.on('message-state', (s) => {
          if (s.id !== id) return;
          if (s.state === 'failed') reject(new Error(`send failed: ${s.error ?? ''}`));
          else if (s.state !== 'sending') resolve();
        }),
      );
      id = (await svc.sendFiles({ conversation: `d:${a1!}`, paths: [a2!] })).id;
      mark('queued');
      await done;
      mark('sent');
      emit({ sent: performance.now() - t0 });
    } else {
      const m = await new Promise<{ id: string }>((resolve) => svc.on('message-received', (x) => x.attachments && resolve(x)));
      mark('received');
      await svc.saveAttachment({ messageId: m.id, index: 0, path: a1! });
      mark('saved');
      emit({ saved: true });
    }
  } finally {
    clearInterval(sampler);
    gcObs.disconnect();
    const cpu = process.cpuUsage(cpu0);
    emit({ gcMs, gcs, cpuMs: (cpu.user + cpu.system) / 1000 });
    peak = Math.max(peak, process.memoryUsage.rss());
    emit({ peakRss: peak });
    await svc.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`attachment-client ${role}: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
