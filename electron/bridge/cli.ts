/**
 * Runs one Parley core (ParleyService) behind the browser bridge — DEVELOPMENT AND TESTS ONLY.
 *
 *   npm run bridge -- --profile ./.tmp/alice [--port 0] [--relay URL] [--insecure-relay] [--backup ./alice.parley-backup]
 *     [--downloads ./alice-downloads]
 *
 * Secrets never go on the command line, where `ps` and /proc/<pid>/cmdline show them to every local user: the
 * page token comes from PARLEY_BRIDGE_TOKEN or a 0600 file named by --token-file (random when neither is given),
 * the file vault's passphrase from PARLEY_PASSPHRASE. Both variables are removed from this process's environment
 * once read, so nothing it spawns inherits them.
 *
 * Prints one line `PARLEY_BRIDGE_READY {"url":…,"port":…,"token":…}` when serving; open the url in Chromium.
 * Reads commands on stdin (never from the page): `rotate` (new identity signed by the old one; contacts see a key
 * change), `quit`. SIGTERM/SIGINT close the core cleanly.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { ParleyService } from '../core/service.js';
import { createDesktopLog } from '../main/desktop-log.js';
import { parseRelayUrl } from '../core/transport/relay-url.js';
import { startBridge } from './server.js';

const { values } = parseArgs({
  options: {
    profile: { type: 'string' },
    port: { type: 'string', default: '0' },
    'token-file': { type: 'string' },
    relay: { type: 'string' },
    'insecure-relay': { type: 'boolean', default: false },
    backup: { type: 'string' },
    downloads: { type: 'string' },
    'kdf-iterations': { type: 'string' },
    renderer: { type: 'string', default: path.resolve(__dirname, '../../out/renderer') },
  },
  strict: true,
});

if (!values.profile) {
  process.stderr.write('usage: bridge --profile <dir> [--port N] [--token-file FILE] [--relay URL] [--insecure-relay] [--backup FILE]\n');
  process.exit(2);
}

/** The page token: PARLEY_BRIDGE_TOKEN, else the first line of --token-file (which must not be readable by others). */
function readToken(): string | undefined {
  const fromEnv = process.env['PARLEY_BRIDGE_TOKEN'];
  delete process.env['PARLEY_BRIDGE_TOKEN'];
  if (fromEnv) return fromEnv;
  const file = values['token-file'];
  if (!file) return undefined;
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    throw new Error(`--token-file ${file} is readable by other users: chmod 600 it`);
  }
  const token = readFileSync(file, 'utf8').split(/\r?\n/)[0]!.trim();
  if (token === '') throw new Error(`--token-file ${file} is empty`);
  return token;
}

/** `dir/name`, or `dir/name (n).ext` when that exists already. */
function downloadPath(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 0; n < 1000; n++) {
    const candidate = path.join(dir, n === 0 ? name : `${stem} (${n})${ext}`);
    if (!existsSync(candidate)) return candidate;
  }
  throw new Error('too many files with this name in the downloads folder');
}

async function main(): Promise<void> {
  if (process.platform !== 'win32') process.umask(0o077); // files this process creates are private from birth
  const token = readToken();
  const passphrase = process.env['PARLEY_PASSPHRASE'];
  delete process.env['PARLEY_PASSPHRASE'];
  const insecureRelay = values['insecure-relay'] === true;
  const relayUrl = values.relay ? parseRelayUrl(values.relay, { allowInsecure: insecureRelay }).url : undefined;
  // The same diagnostics as the desktop app: rotating files in the profile's logs/, secrets registered to be scrubbed.
  const desktopLog = createDesktopLog({ dir: path.join(path.resolve(values.profile!), 'logs') });
  desktopLog.forget(token);
  desktopLog.forget(passphrase);
  const backup = values.backup ? path.resolve(values.backup) : path.resolve(values.profile!, '..', `${path.basename(values.profile!)}.parley-backup`);
  const downloads = values.downloads ? path.resolve(values.downloads) : path.resolve(values.profile!, '..', `${path.basename(values.profile!)}-downloads`);
  const core = new ParleyService({
    profileDir: path.resolve(values.profile!),
    ...(relayUrl ? { relayUrl } : {}),
    ...(insecureRelay ? { insecureRelay } : {}),
    ...(passphrase ? { passphrase } : {}),
    ...(values['kdf-iterations'] ? { kdfIterations: Number(values['kdf-iterations']) } : {}),
    log: desktopLog.core,
    debugLog: () => desktopLog.recent(),
    // The page never names a file: export/import use the path configured here.
    pickBackupFile: async () => backup,
    // "Save as…" in the browser runtime: the file lands in the downloads folder configured here (like a browser's
    // download), under its own name made unique.
    attachments: { pickSavePath: async (name) => downloadPath(downloads, name) },
  });
  void core.start().catch((e: unknown) => process.stderr.write(`bridge: core start: ${(e as Error).message}\n`));
  const bridge = await startBridge({
    core,
    rendererDir: values.renderer!,
    port: Number(values.port),
    ...(token ? { token } : {}),
    log: desktopLog.core,
  });
  desktopLog.forget(bridge.token);
  desktopLog.scope('bridge').info({ port: bridge.port }, 'serving');
  process.stdout.write(`PARLEY_BRIDGE_READY ${JSON.stringify({ url: bridge.url, port: bridge.port, token: bridge.token, backup })}\n`);

  let closing = false;
  const shutdown = async (code: number): Promise<void> => {
    if (closing) return;
    closing = true;
    await bridge.close().catch(() => undefined);
    await core.close().catch(() => undefined);
    desktopLog.close();
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'quit') void shutdown(0);
    else if (cmd === 'rotate') {
      core.rotateIdentity().then(
        (p) => process.stdout.write(`PARLEY_BRIDGE_ROTATED ${JSON.stringify({ fingerprint: p.fingerprint })}\n`),
        (e: unknown) => process.stdout.write(`PARLEY_BRIDGE_ERROR ${JSON.stringify({ message: (e as Error).message })}\n`),
      );
    }
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`bridge: ${(e as Error).message}\n`);
  process.exit(1);
});
