/**
 * CPU pinning for benchmarks with a relay process and a load generator: on a machine with more than one core (and
 * util-linux's taskset), relays go to the last core and this process (the load generator) to the others, so the
 * generator does not eat the relay's CPU. Every existing thread of a process is pinned (taskset -a); threads it
 * starts later inherit the mask of the thread that starts them.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface Pinning {
  relayCpus: string;
  generatorCpus: string;
  pinRelay(pid: number): void;
  /** Back to every core (for the benchmarks that run after this one). */
  release(): void;
  describe: string;
}

function taskset(cpus: string, pid: number): void {
  execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' });
}

/** Pins this process to the generator cores and returns how to pin relays; null when it cannot (one core, no taskset). */
export function pinForBench(): Pinning | null {
  const n = os.cpus().length;
  if (n < 2) return null;
  const relayCpus = String(n - 1);
  const generatorCpus = n === 2 ? '0' : `0-${n - 2}`;
  try {
    taskset(generatorCpus, process.pid);
  } catch {
    return null; // taskset missing or not permitted
  }
  return {
    relayCpus,
    generatorCpus,
    pinRelay: (pid) => taskset(relayCpus, pid),
    release: () => {
      try {
        taskset(`0-${n - 1}`, process.pid);
      } catch {
        /* best effort */
      }
    },
    describe: `relays pinned to CPU ${relayCpus}, load generator to CPU ${generatorCpus} (taskset)`,
  };
}
