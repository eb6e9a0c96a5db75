/**
 * The relay that spawnRelay() starts, run in this process instead of a child (only under PARLEY_INPROCESS_RELAY=1,
 * which vitest.mutation.config.mts sets): mutation testing switches a mutant on inside the test process, so a relay in
 * a child process would run unmutated code and kill nothing. Same interface as a spawned relay: `logs` collects the
 * pino JSON lines the CLI would print, `child` stands for a process that has not exited, and both `stop` and `kill9`
 * close the relay (a real SIGKILL needs a child process; the tests that need one are not in the mutation set).
 */
import type { ChildProcess } from 'node:child_process';
import pino from 'pino';
import { startRelay } from '../../relay/server/index.js';
import type { SpawnedRelay, SpawnOptions } from './relay.js';

/** Whether spawnRelay(o) can run in-process: no child process asked for, no wrapper command, CLI arguments or environment. */
export function canRunInProcess(o: SpawnOptions): boolean {
  return process.env.PARLEY_INPROCESS_RELAY === '1' && !o.childProcess && !o.wrap && !o.extraArgs && !o.env && process.env.PARLEY_TEST_STORE !== 'postgres';
}

export async function startInProcessRelay(o: SpawnOptions, dataDir: string): Promise<SpawnedRelay> {
  const logs: string[] = [];
  const logger = pino({ name: 'parley-relay', level: o.logLevel ?? 'info' }, { write: (line: string) => void logs.push(line.trimEnd()) });
  const relay = await startRelay({
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
    dataDir,
    ...(o.tls ? { tls: true } : {}),
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.allowOrigins ? { allowOrigins: o.allowOrigins } : {}),
    logger,
  });
  const child = { exitCode: null, signalCode: null } as unknown as ChildProcess;
  const stop = async (): Promise<number | null> => {
    await relay.close();
    return 0;
  };
  return {
    url: relay.url,
    port: relay.port,
    fingerprint: relay.fingerprint,
    dataDir,
    child,
    logs,
    exit: null,
    describe: (lines = 40) => `relay ${relay.url} (in this process); last log lines:\n${logs.slice(-lines).join('\n')}`,
    stop,
    kill9: async () => void (await stop()),
  };
}
