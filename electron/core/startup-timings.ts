/**
 * Where an unlock's time goes, phase by phase, from the moment the core is asked to unlock a profile until the
 * conversation list is served (read by `npm run bench -- startup`; the service keeps the last unlock's phases).
 * Durations only: never a key, a name or a message.
 */
import { performance } from 'node:perf_hooks';

export type StartupPhaseName =
  /** Reading the vault: the passphrase's key derivation (file vault) or the keychain, and decrypting the secrets. */
  | 'vault unlock'
  /** Importing the identity's private keys for this (main) thread. */
  | 'identity import'
  /** Opening the history database and checking its key (first read). */
  | 'database open'
  /** Reading the schema version and applying any pending migration. */
  | 'migrations check'
  /** Making the database's new side files (-wal, -shm) private to the user. */
  | 'profile files'
  /** Building the messenger and wiring its events; the relay connection starts after this, without being awaited. */
  | 'messenger'
  /** The first conversation list served after the unlock (the query and its rows). */
  | 'list query';

export interface StartupPhase {
  phase: StartupPhaseName;
  ms: number;
}

export class StartupTimer {
  private readonly phases: StartupPhase[] = [];
  private mark = performance.now();

  /** Records the time since the previous lap (or the start) as `phase`. */
  lap(phase: StartupPhaseName): void {
    const t = performance.now();
    this.add(phase, t - this.mark);
  }

  /** Records a phase measured elsewhere; the next lap starts now. */
  add(phase: StartupPhaseName, ms: number): void {
    this.phases.push({ phase, ms });
    this.mark = performance.now();
  }

  has(phase: StartupPhaseName): boolean {
    return this.phases.some((p) => p.phase === phase);
  }

  /** Runs `fn`, recording its duration as `phase` the first time only (later calls are not start-up). */
  once<T>(phase: StartupPhaseName, fn: () => T): T {
    if (this.has(phase)) return fn();
    const t0 = performance.now();
    const r = fn();
    this.add(phase, performance.now() - t0);
    return r;
  }

  entries(): StartupPhase[] {
    return this.phases.map((p) => ({ ...p }));
  }
}
