/**
 * When a relay announces itself on the LAN (relay/server/advertising.ts, and relay.ts's use of it): every kind of
 * address and the operator's switch, the warning for a wildcard, and what a relay started in this process hands to
 * its advertiser and when it stops it.
 *
 * The relays here run in the machine's own network namespace, where no test may send mDNS, so they get an advertiser
 * that records the call instead of multicasting (the `advertiser` option). relay-mdns.test.ts advertises and
 * discovers for real, between two network namespaces it creates, with a relay process.
 */
import https from 'node:https';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { advertisingDecision, WILDCARD_WARNING } from '../../relay/server/advertising.js';
import { startRelay, type StartRelayOptions } from '../../relay/server/index.js';
import { cleanupAll, onCleanup, tmpDir, waitUntil } from '../helpers/core.js';
import { jsonLogger } from '../helpers/relay.js';

afterEach(cleanupAll);

describe('advertisingDecision', () => {
  it('advertises on a concrete LAN address unless the operator turned it off', () => {
    for (const host of ['10.77.0.1', '192.168.1.20', 'fe80::1', '::ffff:10.0.0.2', 'relay.lan']) {
      expect(advertisingDecision(host, false, undefined)).toEqual({ advertise: true });
      expect(advertisingDecision(host, false, true)).toEqual({ advertise: true });
      expect(advertisingDecision(host, false, false)).toEqual({ advertise: false });
    }
  });

  it('never advertises a loopback relay, whatever was asked', () => {
    for (const host of ['127.0.0.1', '127.3.4.5', '::1', 'localhost']) {
      for (const advertise of [undefined, true, false]) expect(advertisingDecision(host, true, advertise)).toEqual({ advertise: false });
    }
  });

  it('a wildcard address is not advertised, with a warning unless advertising was turned off', () => {
    for (const host of ['0.0.0.0', '::']) {
      expect(advertisingDecision(host, false, undefined)).toEqual({ advertise: false, warning: WILDCARD_WARNING });
      expect(advertisingDecision(host, false, true)).toEqual({ advertise: false, warning: WILDCARD_WARNING });
      expect(advertisingDecision(host, false, false)).toEqual({ advertise: false });
    }
    expect(WILDCARD_WARNING).toBe('mDNS advertising needs a concrete LAN address (not a wildcard); not advertising');
  });
});

describe('a relay and its advertiser', () => {
  interface Published {
    o: { host: string; port: number; fingerprint: string; tls: boolean };
    stops: number;
  }

  /** Start a relay whose advertisements are recorded in `published`. */
  async function start(o: Partial<StartRelayOptions>) {
    const published: Published[] = [];
    const { lines, logger } = jsonLogger();
    const relay = await startRelay({
      port: 0,
      dataDir: tmpDir('relay-advert'),
      logger,
      advertiser: (a) => {
        const p: Published = { o: a, stops: 0 };
        published.push(p);
        return {
          stop: async () => {
            p.stops++;
          },
        };
      },
      ...o,
    });
    onCleanup(() => relay.close());
    return { relay, published, lines };
  }

  it('a relay on a non-loopback address publishes its address, port, fingerprint and TLS, and withdraws it on close', async () => {
    // ::ffff:127.0.0.1 is not written as loopback, so the relay treats it as a LAN address (TLS, advertising), while
    // its traffic stays on this machine.
    const { relay, published, lines } = await start({ host: '::ffff:127.0.0.1' });
    expect(published.map((p) => p.o)).toEqual([{ host: '::ffff:127.0.0.1', port: relay.port, fingerprint: relay.fingerprint, tls: true }]);
    expect(lines.find((l) => l.msg === 'relay listening')).toMatchObject({ advertise: true, tls: true });
    expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]); // no warning
    expect(published[0]!.stops).toBe(0);
    await relay.close();
    await relay.close();
    expect(published[0]!.stops).toBe(1);
  });

  it('while its advertisement is withdrawn at close, the relay takes no new connection and /healthz says it is not ok', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let stopping = false;
    const { relay } = await start({
      host: '::ffff:127.0.0.1',
      advertiser: () => ({
        stop: async () => {
          stopping = true;
          await held;
        },
      }),
    });
    onCleanup(() => release()); // runs before the relay's own close if an assertion below fails
    const healthz = () =>
      new Promise<{ ok: boolean }>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port: relay.port, path: '/healthz', rejectUnauthorized: false }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve(JSON.parse(body) as { ok: boolean }));
          })
          .once('error', reject);
      });
    expect(await healthz()).toMatchObject({ ok: true });
    const closed = relay.close();
    await waitUntil(() => stopping, 10_000, 'the advertisement being withdrawn');
    expect(await healthz()).toMatchObject({ ok: false });
    // a client that connects now is dropped before it is challenged
    const s = io(`https://127.0.0.1:${relay.port}`, { transports: ['websocket'], forceNew: true, reconnection: false, rejectUnauthorized: false });
    const outcome = await new Promise<string>((resolve) => {
      s.once('challenge', () => resolve('challenged'));
      s.once('disconnect', () => resolve('dropped'));
      s.once('connect_error', (e) => resolve(`connect error: ${e.message}`));
    });
    s.close();
    expect(outcome).toBe('dropped');
    release();
    await closed;
  });

  it('advertise: false, or a loopback address, publishes nothing and warns of nothing', async () => {
    for (const o of [{ host: '::ffff:127.0.0.1', advertise: false }, { host: '127.0.0.1' }, { host: '::1', advertise: true }]) {
      const { relay, published, lines } = await start(o);
      expect(published).toEqual([]);
      expect(lines.find((l) => l.msg === 'relay listening')).toMatchObject({ advertise: false });
      expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
      await relay.close();
    }
  });
});
