/** The remote address of a connection, as the relay keys its per-address limits (IPv4-mapped IPv6 as IPv4). */
import type { AnySocket } from './context.js';

export function remoteAddress(socket: Pick<AnySocket, 'handshake'>): string {
  return (socket.handshake.address || 'unknown').replace(/^::ffff:/, '');
}
