/**
 * Whether a relay announces itself over mDNS, decided only from where it listens. Kept apart from relay.ts so every
 * case (a wildcard address above all, which a test must not bind) is checked without sending anything on a network.
 */

export interface AdvertisingDecision {
  /** Publish the relay (DNS-SD `_parley._tcp`) on the address it listens on. */
  advertise: boolean;
  /** Why advertising was asked for but is not done; logged as a warning at start. */
  warning?: string;
}

export const WILDCARD_WARNING = 'mDNS advertising needs a concrete LAN address (not a wildcard); not advertising';

/**
 * `loopback`: the relay listens on a loopback address (nobody on the LAN could reach it, so nothing to announce).
 * `advertise`: the operator's choice (`advertise: false` / `--no-advertise`); undefined means the default, on.
 */
export function advertisingDecision(host: string, loopback: boolean, advertise: boolean | undefined): AdvertisingDecision {
  if (loopback || advertise === false) return { advertise: false };
  // A wildcard listens on every interface: there is no one address to announce, and announcing on all of them would
  // publish the relay on networks the operator never named.
  if (host === '0.0.0.0' || host === '::') return { advertise: false, warning: WILDCARD_WARNING };
  return { advertise: true };
}
