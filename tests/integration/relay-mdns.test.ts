/**
 * LAN discovery between two network namespaces this test creates (veth pair 10.77.0.1/24 ↔ 10.77.0.2/24); never on
 * the machine's real interfaces. The relay runs in namespace A on its LAN address (TLS and mDNS on); a browser in
 * namespace B finds it with discoverRelays(), then reaches it over TLS and checks the advertised fingerprint.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, spawnRelay, removeDir, tempDir, type SpawnedRelay } from '../helpers/relay.js';

const tag = `${process.pid % 100000}`;
const NS_A = `parley-a-${tag}`;
const NS_B = `parley-b-${tag}`;
const VETH_A = `pva${tag}`;
const VETH_B = `pvb${tag}`;
const ADDR_A = '10.77.0.1';
const ADDR_B = '10.77.0.2';
let relay: SpawnedRelay | null = null;
let loopRelay: SpawnedRelay | null = null;
const dir = tempDir('parley-mdns-');

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Run a TypeScript snippet with tsx inside namespace `ns`; resolves with its stdout. */
function runInNs(ns: string, file: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', file], { cwd: REPO_ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`${file} in ${ns} exited ${code}: ${err}`));
    });
  });
}

beforeAll(() => {
  try {
    ip('netns', 'add', NS_A);
    ip('netns', 'add', NS_B);
  } catch (e) {
    throw new Error(
      `mDNS test needs network namespaces (root, iproute2): 'ip netns add' failed: ${(e as { stderr?: Buffer }).stderr?.toString().trim() ?? e}`,
    );
  }
  ip('link', 'add', VETH_A, 'type', 'veth', 'peer', 'name', VETH_B);
  ip('link', 'set', VETH_A, 'netns', NS_A);
  ip('link', 'set', VETH_B, 'netns', NS_B);
  for (const [ns, dev, addr] of [
    [NS_A, VETH_A, ADDR_A],
    [NS_B, VETH_B, ADDR_B],
  ] as const) {
    ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', ns, 'route', 'add', 'default', 'dev', dev);
  }
});

afterAll(async () => {
  await relay?.stop();
  await loopRelay?.stop();
  for (const ns of [NS_A, NS_B]) {
    try {
      ip('netns', 'del', ns); // removes the veth pair with it
    } catch {
      /* not created */
    }
  }
  removeDir(dir);
});

describe('relay mDNS discovery', () => {
  it('a LAN relay in one namespace is discovered from the other, with its fingerprint, and reachable over TLS', async () => {
    const inA = ['ip', 'netns', 'exec', NS_A];
    relay = await spawnRelay({ host: ADDR_A, port: 0, wrap: inA, dataDir: path.join(dir, 'lan') });
    expect(relay.url).toMatch(new RegExp(`^https://${ADDR_A.replace(/\./g, '\\.')}:\\d+$`)); // TLS forced on a LAN address
    expect(relay.logs.join('\n')).toContain('"advertise":true');
    // a loopback relay in namespace A must not advertise
    loopRelay = await spawnRelay({ wrap: inA, dataDir: path.join(dir, 'loop') });
    expect(loopRelay.logs.join('\n')).toContain('"advertise":false');

    const script = path.join(dir, 'browse.mts');
    writeFileSync(
      script,
      // default imports: the repo is CommonJS, so its modules arrive as one exports object
      `import mdns from ${JSON.stringify(path.join(REPO_ROOT, 'relay/server/mdns.ts'))};
import protocol from ${JSON.stringify(path.join(REPO_ROOT, 'relay/protocol/index.ts'))};
const { discoverRelays } = mdns;
const { relayFingerprintFromCert } = protocol;
import tls from 'node:tls';
const found = await discoverRelays(2500, { interfaceAddress: ${JSON.stringify(ADDR_B)} });
const checked = [];
for (const r of found) {
  const certFp = await new Promise((resolve, reject) => {
    const s = tls.connect({ host: r.host, port: r.port, rejectUnauthorized: false }, () => {
      resolve(relayFingerprintFromCert(new Uint8Array(s.getPeerX509Certificate().raw)));
      s.end();
    });
    s.on('error', reject);
  });
  checked.push({ ...r, certFp });
}
process.stdout.write(JSON.stringify(checked));
`,
    );
    const found = JSON.parse(await runInNs(NS_B, script)) as Array<{
      host: string;
      port: number;
      fingerprint: string;
      tls: boolean;
      version: number;
      url: string;
      certFp: string;
    }>;
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      host: ADDR_A,
      port: relay.port,
      fingerprint: relay.fingerprint,
      certFp: relay.fingerprint,
      tls: true,
      version: 1,
      url: relay.url,
    });
  });
});
