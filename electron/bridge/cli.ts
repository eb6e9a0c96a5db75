/**
 * Runs one Parley core (ParleyService) behind the browser bridge — DEVELOPMENT AND TESTS ONLY.
 *
 *   npm run bridge -- --profile ./.tmp/alice [--port 0] [--token T] [--relay URL] [--backup ./alice.parley-backup]
 *
 * Prints one line `PARLEY_BRIDGE_READY {"url":…,"port":…,"token":…}` when serving; open the url in Chromium.
 * Reads commands on stdin (never from the page): `rotate` (new identity signed by the old one; contacts see a key
 * change), `quit`. SIGTERM/SIGINT close the core cleanly.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { ParleyService } from '../core/service.js';
import { startBridge } from './server.js';

const { values } = parseArgs({
  options: {
    profile: { type: 'string' },
    port: { type: 'string', default: '0' },
    token: { type: 'string' },
    relay: { type: 'string' },
    backup: { type: 'string' },
    passphrase: { type: 'string' },
    'kdf-iterations': { type: 'string' },
    renderer: { type: 'string', default: path.resolve(__dirname, '../../out/renderer') },
  },
  strict: true,
});

if (!values.profile) {
  process.stderr.write('usage: bridge --profile <dir> [--port N] [--token T] [--relay URL] [--backup FILE]\n');
  process.exit(2);
}

async function main(): Promise<void> {
  const backup = values.backup ? path.resolve(values.backup) : path.resolve(values.profile!, '..', `${path.basename(values.profile!)}.parley-backup`);
  const core = new ParleyService({
    profileDir: path.resolve(values.profile!),
    ...(values.relay ? { relayUrl: values.relay } : {}),
    ...(values.passphrase ? { passphrase: values.passphrase } : {}),
    ...(values['kdf-iterations'] ? { kdfIterations: Number(values['kdf-iterations']) } : {}),
    // The page never names a file: export/import use the path configured here.
    pickBackupFile: async () => backup,
  });
  void core.start().catch((e: unknown) => process.stderr.write(`bridge: core start: ${(e as Error).message}\n`));
  const bridge = await startBridge({
    core,
    rendererDir: values.renderer!,
    port: Number(values.port),
    ...(values.token ? { token: values.token } : {}),
  });
  process.stdout.write(`PARLEY_BRIDGE_READY ${JSON.stringify({ url: bridge.url, port: bridge.port, token: bridge.token, backup })}\n`);

  let closing = false;
  const shutdown = async (code: number): Promise<void> => {
    if (closing) return;
    closing = true;
    await bridge.close().catch(() => undefined);
    await core.close().catch(() => undefined);
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
