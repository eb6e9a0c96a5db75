/**
 * LAN relay discovery: the relay module browses mDNS/DNS-SD (`_parley._tcp`, TXT fp/v/tls) with bonjour-service;
 * the core maps its answers to the contract's DiscoveredRelay. Discovery only suggests relays: the user still
 * confirms one, and its fingerprint is pinned on first connect.
 */
import type { DiscoveredRelay } from '../../contract/api.js';
import { discoverRelays } from '../../../relay/server/mdns.js';

export async function discoverLanRelays(timeoutMs = 2000): Promise<DiscoveredRelay[]> {
  try {
    const found = await discoverRelays(timeoutMs);
    const seen = new Set<string>();
    const out: DiscoveredRelay[] = [];
    for (const r of found) {
      if (seen.has(r.url)) continue;
      seen.add(r.url);
      out.push({ name: r.name, url: r.url, fingerprint: r.fingerprint });
    }
    return out;
  } catch {
    return []; // no multicast-capable interface: nothing discovered, not an error
  }
}
