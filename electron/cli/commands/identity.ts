/** Identity commands: init, whoami, export-identity, import-identity, rotate-identity. */
import { readFileSync } from 'node:fs';
import type { ParleyService } from '../../core/service.js';
import { EXIT, need, UsageError, type Args } from '../args.js';
import { jsonLine, out, passphrase } from '../output.js';
import { identitySecretSchema, type IdentitySecret } from '../../core/crypto/index.js';
import { errorMessage } from '../../core/messenger/errors.js';
import type { CliCommand } from './types.js';

async function initCommand(svc: ParleyService, a: Args, pass: string | undefined): Promise<number> {
  const [username] = need(a.rest, 1, '<username>');
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

async function whoamiCommand(svc: ParleyService, a: Args): Promise<number> {
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

async function exportIdentityCommand(svc: ParleyService, a: Args): Promise<number> {
  const [file] = need(a.rest, 1, '<file>');
  const bp = await passphrase('PARLEY_BACKUP_PASSPHRASE', 'Backup passphrase: ', 'PARLEY_PASSPHRASE');
  if (!bp) throw Object.assign(new Error('the backup needs a passphrase: set PARLEY_BACKUP_PASSPHRASE'), { code: 'PASSPHRASE_REQUIRED' });
  await svc.exportIdentityTo(file!, bp);
  out(`Identity backup written to ${file}`);
  return EXIT.ok;
}

async function importIdentityCommand(svc: ParleyService, a: Args, pass: string | undefined): Promise<number> {
  const [file] = need(a.rest, 1, '<file>');
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

async function rotateIdentityCommand(svc: ParleyService, a: Args): Promise<number> {
  await svc.waitOnline(a.timeoutMs);
  const info = await svc.rotateIdentity();
  out(`Rotated the identity of ${info.username}; new fingerprint ${svc.whoami().fingerprintFormatted}`);
  out('Contacts will see a key change signed by your previous key.');
  return EXIT.ok;
}

export const IDENTITY_COMMANDS: Record<string, CliCommand> = {
  'init': { connect: false, creates: true, run: initCommand },
  'whoami': { connect: false, run: whoamiCommand },
  'export-identity': { connect: false, run: exportIdentityCommand },
  'import-identity': { connect: false, creates: true, run: importIdentityCommand },
  'rotate-identity': { connect: true, run: rotateIdentityCommand },
};
