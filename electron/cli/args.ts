/** The CLI's command line: global options, the command and its arguments, and the exit codes. */

export const EXIT = { ok: 0, error: 1, usage: 2, queued: 3 } as const;

/** A mistake in the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

export interface Args {
  profile: string | null;
  relay: string | null;
  vault: 'keychain' | 'file' | null;
  timeoutMs: number;
  limit: number | null;
  json: boolean;
  testIdentity: string | null;
  insecureRelay: boolean;
  confirm: string | null;
  invite: string | null;
  command: string | null;
  rest: string[];
  /** Command-specific options that take a value (VALUE_OPTIONS), by name without the dashes. */
  options: Record<string, string>;
  /** Command-specific flags (FLAG_OPTIONS), by name without the dashes. */
  flags: Set<string>;
}

/**
 * Options that only some commands read. A command module adds its own here (one line) instead of growing the
 * switch in parseArgs; the command reads them from `a.options` / `a.flags`.
 */
export const VALUE_OPTIONS = new Set<string>(['--caption', '--in']);
export const FLAG_OPTIONS = new Set<string>(['--everyone', '--progress']);

export function parseArgs(argv: string[]): Args {
  const a: Args = {
    profile: process.env.PARLEY_PROFILE ?? null,
    relay: null,
    vault: null,
    timeoutMs: 15_000,
    limit: null,
    json: false,
    testIdentity: null,
    insecureRelay: false,
    confirm: null,
    invite: null,
    command: null,
    rest: [],
    options: {},
    flags: new Set(),
  };
  const value = (i: number, name: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      a.rest.push(...argv.slice(i + 1));
      break;
    }
    switch (arg) {
      case '--profile':
        a.profile = value(i++, arg);
        break;
      case '--relay':
        a.relay = value(i++, arg);
        break;
      case '--vault': {
        const v = value(i++, arg);
        if (v !== 'keychain' && v !== 'file') throw new UsageError('--vault is keychain or file');
        a.vault = v;
        break;
      }
      case '--timeout': {
        const n = Number(value(i++, arg));
        if (!Number.isFinite(n) || n <= 0) throw new UsageError('--timeout is a positive number of seconds');
        a.timeoutMs = n * 1000;
        break;
      }
      case '--limit': {
        const n = Number(value(i++, arg));
        if (!Number.isInteger(n) || n < 1 || n > 500) throw new UsageError('--limit is an integer from 1 to 500');
        a.limit = n;
        break;
      }
      case '--test-identity':
        a.testIdentity = value(i++, arg);
        break;
      case '--json':
        a.json = true;
        break;
      case '--insecure-relay':
        a.insecureRelay = true;
        break;
      case '--confirm':
        a.confirm = value(i++, arg);
        break;
      case '--invite':
        a.invite = value(i++, arg);
        break;
      case '-h':
      case '--help':
        a.command = 'help';
        break;
      default:
        if (VALUE_OPTIONS.has(arg)) {
          a.options[arg.slice(2)] = value(i++, arg);
          break;
        }
        if (FLAG_OPTIONS.has(arg)) {
          a.flags.add(arg.slice(2));
          break;
        }
        if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
        if (a.command === null) a.command = arg;
        else a.rest.push(arg);
    }
  }
  return a;
}

export function need(rest: string[], n: number, what: string): string[] {
  if (rest.length < n) throw new UsageError(`missing ${what}`);
  return rest;
}
