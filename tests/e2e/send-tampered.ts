/**
 * Test actor (run with tsx as a child process): "mallory", a registered stranger, sends `to` one honest message and
 * one whose ciphertext was altered after encryption and then re-signed, so the relay accepts it (the signature is
 * valid) but it cannot be decrypted. Uses the real crypto and relay client.
 * Usage: tsx tests/e2e/send-tampered.ts <relayUrl> <to>   → prints `SENT {"good":id,"bad":id}`
 */
import { LABELS, envelopeSignedParts, fromB64u, toB64u } from '../../relay/protocol/index.js';
import { loadIdentity, seal, signLabeled } from '../../electron/core/crypto/index.js';
import { RelayClient } from '../../electron/core/transport/relay-client.js';
import { fixtureIdentity } from '../helpers/identities.js';

async function main(): Promise<void> {
  const [url, to] = process.argv.slice(2);
  if (!url || !to) throw new Error('usage: send-tampered <relayUrl> <to>');
  const keys = await loadIdentity(await fixtureIdentity(5));
  const client = new RelayClient({ url, identity: keys, registerAs: 'mallory', reconnect: { enabled: false } });
  client.connect();
  await client.waitOnline(20_000);
  const recipient = await client.lookup({ username: to });

  const good = await seal({ sender: keys, recipients: [recipient.identity], payload: { v: 1, type: 'text', ts: Date.now(), body: 'Hi, we met at the conference.' } });
  await client.send(good);

  const sealed = await seal({ sender: keys, recipients: [recipient.identity], payload: { v: 1, type: 'text', ts: Date.now() + 1, body: 'you will never read this' } });
  const ct = fromB64u(sealed.ct);
  ct[0]! ^= 0xff;
  const { sig: _sig, ...unsigned } = { ...sealed, ct: toB64u(ct) };
  const sig = await signLabeled(keys, LABELS.envelope, ...envelopeSignedParts(unsigned));
  const bad = { ...unsigned, sig: toB64u(sig) };
  await client.send(bad);
  client.close();
  process.stdout.write(`SENT ${JSON.stringify({ good: good.id, bad: bad.id })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`send-tampered: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
