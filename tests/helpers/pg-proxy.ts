/**
 * A TCP proxy on 127.0.0.1 in front of a real PostgreSQL, for one race a restart produces only now and then: the
 * server ends a connection (FATAL 57P01 "terminating connection due to administrator command", as every backend gets
 * when PostgreSQL shuts down) right after that connection's startup, and the client reads both in ONE chunk.
 * Connections pass through untouched; the one trapNext() catches has every server byte held back: once its startup
 * answer (ReadyForQuery) has come, its backend (pid from BackendKeyData) is terminated through `terminate`, and when the
 * server has closed, everything (startup, ReadyForQuery, the FATAL) goes to the client in one write.
 */
import net from 'node:net';

export interface PgProxy {
  port: number;
  url(db: string): string;
  /** Backend pids of the connections open through the proxy. */
  pids(): number[];
  /** Catch the next new connection as described above; resolves with its backend pid once it has been delivered. */
  trapNext(): Promise<number>;
  close(): Promise<void>;
}

export async function startPgProxy(targetPort: number, terminate: (pid: number) => Promise<void>): Promise<PgProxy> {
  const open = new Map<net.Socket, { pid: number | null }>();
  let trap: ((pid: number) => void) | null = null;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    const conn = { pid: null as number | null };
    open.set(client, conn);
    const trapped = trap;
    trap = null;
    const held: Buffer[] = [];
    let parse = Buffer.alloc(0);
    let terminating = false;
    client.on('data', (d: Buffer) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      if (!trapped) {
        // untrapped: forwarded as is; BackendKeyData read for pids()
        if (conn.pid === null) conn.pid = backendPid(Buffer.concat([parse, d]));
        parse = conn.pid === null ? Buffer.concat([parse, d]) : Buffer.alloc(0);
        client.write(d);
        return;
      }
      held.push(d);
      parse = Buffer.concat([parse, d]);
      conn.pid ??= backendPid(parse);
      // server messages: type byte, int32 length (itself included); 'Z' = ReadyForQuery, the end of the startup
      if (!terminating && conn.pid !== null && hasMessage(parse, 0x5a)) {
        terminating = true;
        void terminate(conn.pid);
      }
    });
    upstream.on('end', () => {
      if (trapped) {
        client.end(Buffer.concat(held)); // startup, ReadyForQuery and the FATAL in one write
        if (conn.pid !== null) trapped(conn.pid);
      } else client.end();
    });
    const done = () => {
      open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', done);
    upstream.on('close', () => (trapped ? undefined : done()));
    client.on('error', done);
    upstream.on('error', done);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: (db) => `postgres://parley@127.0.0.1:${port}/${db}`,
    pids: () => [...open.values()].map((c) => c.pid).filter((p): p is number => p !== null),
    trapNext: () => new Promise<number>((r) => (trap = r)),
    close: async () => {
      for (const c of open.keys()) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Walk complete server messages in `buf`; call `f(type, body)` for each. */
function messages(buf: Buffer, f: (type: number, body: Buffer) => void): void {
  for (let at = 0; at + 5 <= buf.length; ) {
    const len = buf.readInt32BE(at + 1);
    if (at + 1 + len > buf.length) return;
    f(buf[at]!, buf.subarray(at + 5, at + 1 + len));
    at += 1 + len;
  }
}

function backendPid(buf: Buffer): number | null {
  let pid: number | null = null;
  messages(buf, (type, body) => {
    if (type === 0x4b) pid = body.readInt32BE(0); // 'K' BackendKeyData: pid, secret
  });
  return pid;
}

function hasMessage(buf: Buffer, type: number): boolean {
  let found = false;
  messages(buf, (t) => (found ||= t === type));
  return found;
}
