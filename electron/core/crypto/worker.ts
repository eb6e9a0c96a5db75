/**
 * CryptoPool worker: imports the identity once, then opens and seals envelopes on request.
 * Entry point of a worker thread (bundled as out/main/crypto-worker.js in the Electron build).
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { open, seal } from './envelope.js';
import { loadIdentity, signLabeled, type IdentityKeys } from './identity.js';
import { toWireError, type WorkerInit, type WorkerRequest, type WorkerResponse } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('crypto worker must run in a worker thread');

const init = workerData as WorkerInit;

// Below the event loop and the UI when the pool asks (pool.ts workerNice; off by default). On Linux pid 0 means this
// thread alone. Lowering one's own priority needs no privilege; if a sandbox refuses it anyway, the worker runs at
// normal priority.
if (init.nice !== undefined) {
  try {
    setPriority(0, init.nice);
  } catch {
    /* normal priority */
  }
}
const post = (m: WorkerResponse) => port.postMessage(m);

const ready: Promise<IdentityKeys> = loadIdentity(init.secret);
ready.then(
  () => post({ type: 'ready' }),
  (e: unknown) => post({ type: 'init-error', error: toWireError(e) }),
);

port.on('message', (req: WorkerRequest) => {
  void (async () => {
    try {
      const me = await ready;
      if (req.op === 'open') {
        const { payload } = await open({ envelope: req.envelope, me, sender: req.sender });
        post({ type: 'result', id: req.id, ok: true, value: { payload } });
      } else if (req.op === 'sign') {
        post({ type: 'result', id: req.id, ok: true, value: await signLabeled(me, req.label, req.data) });
      } else {
        const value = await seal({ sender: me, recipients: req.recipients, payload: req.payload, ...(req.msgId ? { id: req.msgId } : {}) });
        post({ type: 'result', id: req.id, ok: true, value });
      }
    } catch (e) {
      post({ type: 'result', id: req.id, ok: false, error: toWireError(e) });
    }
  })();
});
