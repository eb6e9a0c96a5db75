/**
 * Parley's headless client: the same core (ParleyService) the app uses, for bots, headless machines and tests.
 *
 *   npm run cli -- --profile <dir> [--relay <url>] [--vault keychain|file] <command> [args]
 *
 * The file vault's passphrase comes from PARLEY_PASSPHRASE or is asked for on a terminal. Every error prints one
 * clear line on stderr and exits non-zero (see EXIT below).
 */
import { errorCode, errorMessage } from '../core/messenger/errors.js';
import { ParleyService, type ParleyServiceOptions } from '../core/service.js';
import { parseRelayUrl } from '../core/transport/relay-url.js';
import { EXIT, parseArgs, UsageError } from './args.js';
import { COMMANDS } from './commands/index.js';
import { out, passphrase } from './output.js';

export { EXIT } from './args.js';

const USAGE = `Usage: npm run cli -- --profile <dir> [--relay <url>] [--vault keychain|file] <command> [args]

Commands:
  init <username>            create an identity (keys in the OS keychain, or --vault file) and register it
                             (--invite <code> for a relay that admits new users by invite only)
  whoami                     your username, fingerprint, relay and where the keys are
  add <username>             look a user up on the relay and pin their identity
  contacts                   list contacts (verified, blocked, request, key change pending)
  send <ref> <text>          send a message to <username> or #<groupId> (queued and retried if the relay is unreachable)
  listen                     print received messages and events as JSON lines until interrupted (a message's files
                             as attachments: [{index, name, size, type}])
  send-file <ref> <path>     encrypt and upload a file to <username> or #<groupId> (--caption <text>, --progress);
                             prints sent <id>, or queued <id> (exit 3) when the relay is unreachable
  save-attachment <messageId> <index> <path>   download (if needed), verify and write file <index> of a message
  history <ref>              print the latest messages of a conversation: <username> or #<groupId> (--limit N, --json)
  search <query>             search every conversation, newest first; matches between ** (--in <ref> for one
                             conversation, --limit N up to 200, --json); CJK and emoji match anywhere in a word
  group-create <name> <username>...   create a group (prints group #<groupId>); you are its admin
  group-add|group-remove <#groupId> <username>...   add / remove members (admins)
  group-admin <#groupId> <username>   make a member admin; group-rename <#groupId> <name>
  group-leave <#groupId>     leave a group
  group-accept|group-block <#groupId>   accept a group request (added by a non-contact), or block it
  group-info <#groupId>      name, version, members with roles (--json adds events and counts)
  groups                     list your groups
  verify <username>          show the safety number of you and <username>; with --confirm <60 digits> (or the
                             digits typed at the prompt on a terminal) that match it, mark them verified
  accept-key <username> [fp] accept a contact's new key [only if it is still fingerprint fp] (re-opens held messages)
  reject-key <username>      reject a contact's new key (sending stays blocked)
  block <username>           block a user (their messages are dropped; group-block refuses a group request)
  unblock <username|#groupId>   lift a block: they come back as a message request (nothing sent meanwhile is kept)
  blocked                    list blocked users and groups (--json)
  export-identity <file>     write a passphrase-protected identity backup
  import-identity <file>     restore a backup into an empty profile and take the identity over (needs --relay)
  rotate-identity            make a new identity signed by the current one and register it
  rpc                        JSON-RPC 2.0 on stdin/stdout: every command above as a method, one unlock and
                             connection for all of them (see electron/cli/README.md)

Options:
  --profile <dir>            profile folder (or PARLEY_PROFILE)
  --relay <url>              relay address, e.g. https://192.168.1.20:7447 or http://127.0.0.1:7070 (init,
                             import-identity; changes the relay otherwise). http:// and ws:// are refused for a
                             host that is not this computer unless --insecure-relay is given
  --insecure-relay           allow a relay without TLS on another machine (nothing authenticates it: anyone on
                             the network path can pose as the relay)
  --confirm <digits>         verify: the 60-digit safety number you compared (spaces allowed, quote it)
  --vault keychain|file      where init/import store the private keys (default keychain)
  --timeout <seconds>        how long network commands wait for the relay (default 15)

Environment:
  PARLEY_PASSPHRASE          passphrase of the identity file (file vault); asked on a terminal when unset
  PARLEY_BACKUP_PASSPHRASE   passphrase of export/import backups (default: PARLEY_PASSPHRASE, else asked)

Testing only:
  init <username> --test-identity <file>   use the IdentitySecret JSON in <file> instead of generating keys
                                           (tests use cached fixture identities; RSA-4096 generation is slow)

Exit codes: 0 ok, 1 error, 2 usage, 3 message queued but the relay was not reachable.`;

async function run(argv: string[]): Promise<number> {
  // Everything this process creates (profile files, SQLite's -wal/-shm, logs, backups) is private from birth; the
  // core also tightens the profile itself, this closes the window between creating a file and that check.
  if (process.platform !== 'win32') process.umask(0o077);
  const a = parseArgs(argv);
  if (a.command === null || a.command === 'help') {
    out(USAGE);
    return a.command === 'help' ? EXIT.ok : EXIT.usage;
  }
  if (!a.profile) throw new UsageError('--profile <dir> is required (or set PARLEY_PROFILE)');
  // Refuse a bad or insecure relay address before touching the profile (the core checks it again, the same way).
  if (a.relay !== null) a.relay = parseRelayUrl(a.relay, { allowInsecure: a.insecureRelay }).url;

  const cmd = Object.hasOwn(COMMANDS, a.command) ? COMMANDS[a.command] : undefined;
  if (!cmd) throw new UsageError(`unknown command ${a.command}`);

  // Peek at the profile to know whether its vault needs a passphrase.
  const peek = new ParleyService({ profileDir: a.profile, connect: false });
  const profileVault = peek.profile.meta.vault;
  await peek.close();

  const creating = cmd.creates === true;
  const vaultKind = creating ? (a.vault ?? 'keychain') : profileVault;
  let pass: string | undefined;
  if (vaultKind === 'file') {
    pass = await passphrase('PARLEY_PASSPHRASE', 'Passphrase of the identity file: ');
    if (!pass) throw Object.assign(new Error('the identity file needs its passphrase: set PARLEY_PASSPHRASE or run on a terminal'), { code: 'PASSPHRASE_REQUIRED' });
  }

  const opts: ParleyServiceOptions = {
    profileDir: a.profile,
    connect: cmd.connect,
    ...(vaultKind ? { vault: vaultKind } : {}),
    ...(pass !== undefined ? { passphrase: pass } : {}),
    ...(a.relay && !creating ? { relayUrl: a.relay } : {}),
    ...(a.insecureRelay ? { insecureRelay: true } : {}),
    log: process.env.PARLEY_DEBUG ? (m, o) => process.stderr.write(`debug: [${o?.scope ?? 'core'}] ${m}\n`) : undefined,
    // A command lives seconds, never the app's 30 s delay: expired dedupe marks go right away, in batches that yield
    // while the command waits for the relay (stopped at close; the next command carries on).
    seenPruneDelayMs: 0,
    // test hook for tests/integration/cli-crash.test.ts (never acknowledge to the relay); undocumented on purpose
    ...(process.env.PARLEY_TEST_HOLD_ACKS === '1' ? { testHoldAcks: true } : {}),
  };
  const svc = new ParleyService(opts);
  try {
    return await cmd.run(svc, a, pass);
  } finally {
    await svc.close();
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`parley: ${err.message}\n(run with --help for usage)\n`);
      process.exit(EXIT.usage);
    }
    process.stderr.write(`parley: ${errorMessage(err)} [${errorCode(err)}]\n`);
    if (process.env.PARLEY_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    process.exit(EXIT.error);
  },
);
