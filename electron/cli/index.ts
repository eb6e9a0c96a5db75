/**
 * Parley's headless client: the same core (ParleyService) the app uses, for bots, headless machines and tests.
 *
 *   npm run cli -- --profile <dir> [--relay <url>] [--vault keychain|file] <command> [args]
 *
 * The file vault's passphrase comes from PARLEY_PASSPHRASE or is asked for on a terminal. Every error prints one
 * clear line on stderr and exits non-zero (see EXIT below).
 */
import { readFileSync } from 'node:fs';
import { formatSafetyNumber } from '../../relay/protocol/index.js';
import type { MessageView } from '../contract/api.js';
import type { IdentitySecret } from '../core/crypto/index.js';
import { identitySecretSchema } from '../core/crypto/index.js';
import { errorCode, errorMessage } from '../core/messenger/errors.js';
import { ParleyService, type ParleyServiceOptions } from '../core/service.js';
import { parseRelayUrl } from '../core/transport/relay-url.js';
import { confirmSafetyNumber } from './confirm.js';
import { askHidden, askLine } from './prompt.js';
import { serveRpc } from './rpc.js';

export const EXIT = { ok: 0, error: 1, usage: 2, queued: 3 } as const;

const USAGE = `Usage: npm run cli -- --profile <dir> [--relay <url>] [--vault keychain|file] <command> [args]

Commands:
  init <username>            create an identity (keys in the OS keychain, or --vault file) and register it
                             (--invite <code> for a relay that admits new users by invite only)
  whoami                     your username, fingerprint, relay and where the keys are
  add <username>             look a user up on the relay and pin their identity
  contacts                   list contacts (verified, blocked, request, key change pending)
  send <username> <text>     send a message (queued and retried if the relay is unreachable)
  listen                     print received messages and events as JSON lines until interrupted
  history <username>         print the latest messages of a conversation (--limit N, --json)
  verify <username>          show the safety number of you and <username>; with --confirm <60 digits> (or the
                             digits typed at the prompt on a terminal) that match it, mark them verified
  accept-key <username> [fp] accept a contact's new key [only if it is still fingerprint fp] (re-opens held messages)
  reject-key <username>      reject a contact's new key (sending stays blocked)
  block <username> | unblock <username>
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

class UsageError extends Error {}

interface Args {
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
}

function parseArgs(argv: string[]): Args {
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
        if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
        if (a.command === null) a.command = arg;
        else a.rest.push(arg);
    }
  }
  return a;
}

function need(rest: string[], n: number, what: string): string[] {
  if (rest.length < n) throw new UsageError(`missing ${what}`);
  return rest;
}

async function passphrase(envName: string, prompt: string, fallbackEnv?: string): Promise<string | undefined> {
  const v = process.env[envName] ?? (fallbackEnv ? process.env[fallbackEnv] : undefined);
  if (v !== undefined && v !== '') return v;
  if (process.stdin.isTTY) return askHidden(prompt);
  return undefined;
}

function out(line: string): void {
  process.stdout.write(line + '\n');
}

function jsonLine(o: unknown): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function formatMessage(m: MessageView): string {
  const when = new Date(m.sentAt).toISOString().replace('T', ' ').slice(0, 19);
  const arrow = m.direction === 'in' ? `<- ${m.contact}` : `-> ${m.contact}`;
  const body = m.body ?? (m.state === 'undecryptable' ? `[undecryptable: ${m.error ?? 'unknown reason'}]` : '[deleted]');
  return `${when} ${arrow} [${m.state}] ${body}`;
}

/** Network commands: connect and wait for the relay (or fail clearly). */
const NETWORK = new Set(['add', 'send', 'listen', 'rotate-identity', 'accept-key', 'rpc']);

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

  const known = [
    'init', 'whoami', 'add', 'contacts', 'send', 'listen', 'history', 'verify', 'accept-key', 'reject-key', 'block',
    'unblock', 'export-identity', 'import-identity', 'rotate-identity', 'rpc',
  ];
  if (!known.includes(a.command)) throw new UsageError(`unknown command ${a.command}`);

  // Peek at the profile to know whether its vault needs a passphrase.
  const peek = new ParleyService({ profileDir: a.profile, connect: false });
  const profileVault = peek.profile.meta.vault;
  await peek.close();

  const creating = a.command === 'init' || a.command === 'import-identity';
  const vaultKind = creating ? (a.vault ?? 'keychain') : profileVault;
  let pass: string | undefined;
  if (vaultKind === 'file') {
    pass = await passphrase('PARLEY_PASSPHRASE', 'Passphrase of the identity file: ');
    if (!pass) throw Object.assign(new Error('the identity file needs its passphrase: set PARLEY_PASSPHRASE or run on a terminal'), { code: 'PASSPHRASE_REQUIRED' });
  }

  const opts: ParleyServiceOptions = {
    profileDir: a.profile,
    connect: NETWORK.has(a.command) || a.command === 'verify',
    ...(vaultKind ? { vault: vaultKind } : {}),
    ...(pass !== undefined ? { passphrase: pass } : {}),
    ...(a.relay && !creating ? { relayUrl: a.relay } : {}),
    ...(a.insecureRelay ? { insecureRelay: true } : {}),
    log: process.env.PARLEY_DEBUG ? (m, o) => process.stderr.write(`debug: [${o?.scope ?? 'core'}] ${m}\n`) : undefined,
    // test hook for tests/integration/cli-crash.test.ts (never acknowledge to the relay); undocumented on purpose
    ...(process.env.PARLEY_TEST_HOLD_ACKS === '1' ? { testHoldAcks: true } : {}),
  };
  const svc = new ParleyService(opts);
  try {
    return await command(svc, a, pass);
  } finally {
    await svc.close();
  }
}

async function command(svc: ParleyService, a: Args, pass: string | undefined): Promise<number> {
  const rest = a.rest;
  switch (a.command) {
    case 'init': {
      const [username] = need(rest, 1, '<username>');
      if (!a.relay) throw new UsageError('init needs --relay <url>');
      const req = {
        username: username!,
        relayUrl: a.relay,
        vault: a.vault ?? 'keychain',
        ...(pass ? { passphrase: pass } : {}),
        ...(a.invite ? { invite: a.invite } : {}),
      } as const;
      svc.on('onboarding-progress', (p) => process.stderr.write(`${p.step}${p.detail ? `: ${p.detail}` : ''}\n`));
      let info;
      if (a.testIdentity) {
        let secret: IdentitySecret;
        try {
          secret = identitySecretSchema.parse(JSON.parse(readFileSync(a.testIdentity, 'utf8'))) as IdentitySecret;
        } catch (err) {
          throw new UsageError(`--test-identity: not an IdentitySecret JSON file (${errorMessage(err)})`);
        }
        info = await svc.createIdentityFrom(secret, req);
      } else {
        info = await svc.createIdentity(req);
      }
      const who = svc.whoami();
      out(`Created identity ${info.username}`);
      out(`Fingerprint: ${who.fingerprintFormatted}`);
      out(`Relay: ${info.relayUrl}`);
      out(`Keys: ${info.vault === 'keychain' ? 'OS keychain' : `identity file ${svc.profile.paths.vaultFile}`}`);
      return EXIT.ok;
    }
    case 'whoami': {
      const who = svc.whoami();
      if (!who.username) throw Object.assign(new Error('this profile has no identity yet: run init <username>'), { code: 'NO_IDENTITY' });
      if (a.json) {
        jsonLine(who);
        return EXIT.ok;
      }
      out(`Username: ${who.username}`);
      out(`Fingerprint: ${who.fingerprintFormatted}`);
      out(`Relay: ${who.relayUrl ?? '(none)'}`);
      out(`Keys: ${who.vault === 'keychain' ? 'OS keychain' : 'identity file'}`);
      out(`Safety numbers are per contact: run verify <username> and compare it with theirs.`);
      return EXIT.ok;
    }
    case 'add': {
      const [username] = need(rest, 1, '<username>');
      await svc.waitOnline(a.timeoutMs);
      const c = await svc.addContact({ username: username! });
      out(`Added ${c.username} (fingerprint ${c.fingerprint.match(/.{4}/g)!.join(' ')})`);
      return EXIT.ok;
    }
    case 'contacts': {
      const list = await svc.listContacts();
      if (a.json) {
        for (const c of list) jsonLine(c);
        return EXIT.ok;
      }
      if (list.length === 0) out('No contacts yet. Add one with: add <username>');
      for (const c of list) {
        const flags = [
          c.verified ? 'verified' : null,
          c.blocked ? 'blocked' : null,
          c.request ? 'message request' : null,
          c.keyChangePending ? 'KEY CHANGED: accept-key or reject-key' : null,
        ].filter(Boolean);
        out(`${c.username}  ${c.fingerprint.slice(0, 16)}…${flags.length ? `  (${flags.join(', ')})` : ''}`);
      }
      return EXIT.ok;
    }
    case 'send': {
      const [username, ...words] = need(rest, 2, '<username> <text>');
      const text = words.join(' ');
      let online = true;
      try {
        await svc.waitOnline(a.timeoutMs);
      } catch (err) {
        if (errorCode(err) !== 'OFFLINE') throw err;
        online = false;
      }
      let pendingId = '';
      const settled = new Promise<{ state: string; error: string | null }>((resolve) => {
        svc.on('message-state', (s) => {
          if (s.id === pendingId && s.state !== 'sending') resolve(s);
        });
      });
      const m = await svc.sendMessage({ conversation: `d:${username!}`, text });
      pendingId = m.id;
      if (online) {
        const fresh = await svc.loadMessages({ conversation: `d:${username!}`, limit: 50 });
        const now = fresh.messages.find((x) => x.id === m.id);
        const result =
          now && now.state !== 'sending'
            ? { state: now.state, error: now.error }
            : await Promise.race([settled, new Promise<null>((r) => setTimeout(() => r(null), a.timeoutMs))]);
        if (result && result.state === 'failed') {
          throw Object.assign(new Error(`message ${m.id} failed: ${result.error ?? 'unknown reason'}`), { code: 'SEND_FAILED' });
        }
        if (result) {
          out(`${result.state} ${m.id}`);
          return EXIT.ok;
        }
      }
      const c = (await svc.listContacts()).find((x) => x.username === username);
      const conn = (await svc.getState()).connection;
      const why = c?.keyChangePending
        ? `${username}'s key changed: run verify/accept-key ${username} or reject-key ${username}`
        : `the relay is not reachable (${conn.status === 'offline' ? conn.reason : conn.status})`;
      process.stderr.write(`queued ${m.id}: ${why}; it will be sent on the next run\n`);
      out(`queued ${m.id}`);
      return EXIT.queued;
    }
    case 'listen': {
      svc.on('message-received', (m) => jsonLine({ event: 'message', ...m }));
      svc.on('message-state', (s) => jsonLine({ event: 'state', ...s }));
      svc.on('contact-key-changed', (k) => jsonLine({ event: 'key-changed', ...k }));
      svc.on('contacts-changed', (c) => jsonLine({ event: 'contacts-changed', ...c }));
      let fatal: string | null = null;
      const stop = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
        svc.on('connection-changed', (s) => {
          jsonLine({ event: 'connection', ...s });
          if (s.status === 'offline' && /another device|different identity|refused/i.test(s.reason)) {
            fatal = s.reason;
            resolve();
          }
        });
      });
      await svc.start();
      await stop;
      await svc.idle().catch(() => undefined);
      if (fatal) {
        process.stderr.write(`parley: ${fatal}\n`);
        return EXIT.error;
      }
      return EXIT.ok;
    }
    case 'rpc': {
      const stop = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      const backup = process.env.PARLEY_BACKUP_PASSPHRASE || process.env.PARLEY_PASSPHRASE;
      await serveRpc(svc, { input: process.stdin, output: process.stdout }, { timeoutMs: a.timeoutMs, ...(backup ? { backupPassphrase: backup } : {}) }, stop);
      await svc.idle().catch(() => undefined);
      return EXIT.ok;
    }
    case 'history': {
      const [username] = need(rest, 1, '<username>');
      const page = await svc.loadMessages({ conversation: `d:${username!}`, limit: a.limit ?? 50 });
      for (const m of page.messages) {
        if (a.json) jsonLine(m);
        else out(formatMessage(m));
      }
      if (!a.json && page.messages.length === 0) out(`No messages with ${username} yet.`);
      return EXIT.ok;
    }
    case 'verify': {
      const [username] = need(rest, 1, '<username>');
      await svc.waitOnline(Math.min(a.timeoutMs, 5000)).catch(() => undefined);
      await svc.checkContactKey({ username: username! }).catch(() => undefined);
      const d = await svc.getContact({ username: username! });
      out(`Safety number with ${username}:`);
      out(formatSafetyNumber(d.safetyNumber));
      if (d.keyChangePending) {
        out(`${username}'s key changed (new safety number: ${formatSafetyNumber(d.pendingSafetyNumber ?? '')}).`);
        out(`Compare it with ${username}, then run accept-key ${username} (or reject-key ${username}).`);
        return EXIT.error;
      }
      // Printing the number proves nothing: only digits the user compared and typed back mark the contact verified.
      let typed = a.confirm;
      if (typed === null && process.stdin.isTTY) {
        typed = await askLine(`Compare these digits with ${username} in person or over a trusted channel, then type them here (empty: cancel): `);
      }
      if (typed === null || typed.trim() === '') {
        process.stderr.write(
          `parley: ${username} is NOT marked verified. Compare the digits above with ${username}, then run ` +
            `verify ${username} --confirm "<the 60 digits>"\n`,
        );
        return EXIT.error;
      }
      const check = confirmSafetyNumber(typed, d.safetyNumber);
      if (!check.ok) throw Object.assign(new Error(`${username} is NOT marked verified: ${check.reason}`), { code: 'MISMATCH' });
      await svc.setVerified({ username: username!, verified: true });
      out(`Marked ${username} as verified: the digits you confirmed match.`);
      return EXIT.ok;
    }
    case 'accept-key':
    case 'reject-key': {
      const [username] = need(rest, 1, '<username>');
      // The key the user reviewed: given as the second argument, else the pending key `verify` showed.
      const reviewed = rest[1] ?? (await svc.getContact({ username: username! })).keyChanges.filter((k) => k.resolution === 'pending').at(-1)?.newFingerprint ?? '';
      const c =
        a.command === 'accept-key'
          ? await svc.acceptKeyChange({ username: username!, fingerprint: reviewed })
          : await svc.rejectKeyChange({ username: username! });
      await svc.idle();
      await svc.waitOnline(Math.min(a.timeoutMs, 5000)).then(() => svc.flushOutbox(), () => undefined);
      out(`${a.command === 'accept-key' ? 'Accepted' : 'Rejected'} the new key of ${c.username}`);
      return EXIT.ok;
    }
    case 'block':
    case 'unblock': {
      const [username] = need(rest, 1, '<username>');
      await svc.setBlocked({ username: username!, blocked: a.command === 'block' });
      out(`${a.command === 'block' ? 'Blocked' : 'Unblocked'} ${username}`);
      return EXIT.ok;
    }
    case 'export-identity': {
      const [file] = need(rest, 1, '<file>');
      const bp = await passphrase('PARLEY_BACKUP_PASSPHRASE', 'Backup passphrase: ', 'PARLEY_PASSPHRASE');
      if (!bp) throw Object.assign(new Error('the backup needs a passphrase: set PARLEY_BACKUP_PASSPHRASE'), { code: 'PASSPHRASE_REQUIRED' });
      await svc.exportIdentityTo(file!, bp);
      out(`Identity backup written to ${file}`);
      return EXIT.ok;
    }
    case 'import-identity': {
      const [file] = need(rest, 1, '<file>');
      if (!a.relay) throw new UsageError('import-identity needs --relay <url>');
      const bp = await passphrase('PARLEY_BACKUP_PASSPHRASE', 'Backup passphrase: ', 'PARLEY_PASSPHRASE');
      if (!bp) throw Object.assign(new Error('the backup needs its passphrase: set PARLEY_BACKUP_PASSPHRASE'), { code: 'PASSPHRASE_REQUIRED' });
      const info = await svc.importIdentityFrom(file!, bp, {
        relayUrl: a.relay,
        vault: a.vault ?? 'keychain',
        ...(pass ? { vaultPassphrase: pass } : {}),
      });
      out(`Imported identity ${info.username} (fingerprint ${svc.whoami().fingerprintFormatted})`);
      out('This device is now the active one for this identity.');
      return EXIT.ok;
    }
    case 'rotate-identity': {
      await svc.waitOnline(a.timeoutMs);
      const info = await svc.rotateIdentity();
      out(`Rotated the identity of ${info.username}; new fingerprint ${svc.whoami().fingerprintFormatted}`);
      out('Contacts will see a key change signed by your previous key.');
      return EXIT.ok;
    }
  }
  throw new UsageError(`unknown command ${a.command ?? ''}`);
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
