/**
 * LAN discovery over mDNS / DNS-SD (bonjour-service): a relay listening on a LAN address publishes
 * `_parley._tcp` with TXT {fp, v, tls}; clients browse with discoverRelays(). Loopback relays never advertise.
 */
import { Bonjour, type Service, type ServiceConfig } from 'bonjour-service';

/**
 * bonjour-service hands these options to multicast-dns (its typings do not say so). `interface` picks where queries
 * and announcements go out; `bind` stays the wildcard, because on Linux a socket bound to a unicast address never
 * receives datagrams sent to the 224.0.0.251 group.
 */
const mdnsOpts = (iface?: string) => (iface ? { interface: iface, bind: '0.0.0.0' } : {}) as unknown as Partial<ServiceConfig>;
import { PROTOCOL_VERSION, RELAY_SERVICE_TYPE, fingerprintSchema } from '../protocol/index.js';

export interface DiscoveredRelay {
  name: string;
  /** Best address to dial (the responder's source address when it is among the advertised ones). */
  host: string;
  addresses: string[];
  port: number;
  fingerprint: string;
  tls: boolean;
  version: number;
  /** `https://host:port` or `http://host:port`. */
  url: string;
}

export interface Advertisement {
  stop(): Promise<void>;
}

/** Publish this relay; `host` is the address it listens on (used as the mDNS interface). */
export function advertiseRelay(o: { host: string; port: number; fingerprint: string; tls: boolean }): Advertisement {
  const bonjour = new Bonjour(mdnsOpts(o.host), (err: unknown) => void err);
  const service = bonjour.publish({
    name: `Parley relay ${o.fingerprint.slice(0, 12)}`,
    type: RELAY_SERVICE_TYPE,
    protocol: 'tcp',
    port: o.port,
    txt: { fp: o.fingerprint, v: String(PROTOCOL_VERSION), tls: o.tls ? '1' : '0' },
    disableIPv6: true,
    probe: false,
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => bonjour.destroy(() => resolve());
        try {
          service.stop?.(done);
        } catch {
          done();
        }
        setTimeout(done, 1000).unref();
      }),
  };
}

function parseService(s: Service): DiscoveredRelay | null {
  const txt = (s.txt ?? {}) as Record<string, unknown>;
  const fp = typeof txt.fp === 'string' ? txt.fp : '';
  if (!fingerprintSchema.safeParse(fp).success) return null;
  const version = Number(txt.v);
  if (version !== PROTOCOL_VERSION) return null;
  if (!Number.isInteger(s.port) || s.port <= 0 || s.port > 65535) return null;
  const addresses = (s.addresses ?? []).filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
  const referer = s.referer?.address;
  const host = referer && (addresses.length === 0 || addresses.includes(referer)) ? referer : (addresses[0] ?? s.host);
  const tls = txt.tls === '1' || txt.tls === true;
  return { name: s.name, host, addresses, port: s.port, fingerprint: fp, tls, version, url: `${tls ? 'https' : 'http'}://${host}:${s.port}` };
}

/**
 * Browse the LAN for relays for `timeoutMs`; returns each distinct relay (by fingerprint and port) once.
 * `interfaceAddress` picks the interface to query on (default: the OS default).
 */
export async function discoverRelays(timeoutMs = 2000, opts: { interfaceAddress?: string } = {}): Promise<DiscoveredRelay[]> {
  const bonjour = new Bonjour(mdnsOpts(opts.interfaceAddress), (err: unknown) => void err);
  const found = new Map<string, DiscoveredRelay>();
  const browser = bonjour.find({ type: RELAY_SERVICE_TYPE, protocol: 'tcp' }, (s: Service) => {
    const r = parseService(s);
    if (r) found.set(`${r.fingerprint}@${r.host}:${r.port}`, r);
  });
  const requery = setInterval(() => browser.update(), Math.max(250, Math.floor(timeoutMs / 4)));
  await new Promise((r) => setTimeout(r, timeoutMs));
  clearInterval(requery);
  browser.stop();
  await new Promise<void>((resolve) => bonjour.destroy(() => resolve()));
  return [...found.values()];
}
