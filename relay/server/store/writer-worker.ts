/**
 * Writer thread of the SQLite store: owns the write connection so that COMMIT's fsync (synchronous=FULL) never
 * blocks the relay's event loop. Messages: {id, ops} → {id, results: BatchResult} | {id, error}; {close: true} → checkpoint, exit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase, Writer, type Synchronous, type WriteOp } from './sqlite-ops.js';

const { file, synchronous } = workerData as { file: string; synchronous: Synchronous };
const writer = new Writer(openDatabase(file, synchronous));
parentPort!.on('message', (m: { id: number; ops: WriteOp[] } | { close: true }) => {
  if ('close' in m) {
    writer.close();
    parentPort!.postMessage({ closed: true });
    parentPort!.close();
    return;
  }
  try {
    parentPort!.postMessage({ id: m.id, results: writer.applyBatch(m.ops) });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
parentPort!.postMessage({ ready: true });
