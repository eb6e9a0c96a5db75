import type { ParleyService } from '../../core/service.js';
import type { Args } from '../args.js';

/** One CLI command. Modules export a Record<name, CliCommand>; commands/index.ts merges them. */
export interface CliCommand {
  /** Connect to the relay when the service starts (network commands wait for it or fail clearly). */
  connect: boolean;
  /** Creates the identity (init, import-identity): the vault kind comes from --vault, not from the profile. */
  creates?: boolean;
  /** Runs the command; returns the exit code (EXIT). `pass` is the identity file's passphrase, when it has one. */
  run(svc: ParleyService, a: Args, pass: string | undefined): Promise<number>;
}
