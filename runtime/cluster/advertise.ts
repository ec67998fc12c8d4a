/**
 * The URL a node gives other nodes to dial it (what it gossips and sends in its handshake):
 * `advertise` when set; else the address it listens on, unless that is a wildcard (`0.0.0.0`,
 * `::`), which no peer can dial — then this machine's first non-internal address (IPv4
 * first), with the port it listens on.
 * Owns: that choice. Does not own: listening (transport/link-listener.ts).
 * Threads: thread 0. Time: none.
 */
import { networkInterfaces } from 'node:os';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';

/** Addresses of this machine's interfaces: `{ address, family, internal }` per address. */
export type InterfaceAddresses = ReturnType<typeof networkInterfaces>;

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

/**
 * `scheme://host:port` peers should dial. `listening`: the URL the listener reports;
 * `advertise`: `HOST:PORT` the operator gave (`--advertise`, `cluster.advertise`). Throws
 * `ERR_INVALID_ARGUMENT` (field `cluster.advertise`) for a wildcard listen address on a
 * machine with no other address, or a malformed `advertise`.
 */
export function advertisedUrl(listening: string, advertise: string | undefined, interfaces: InterfaceAddresses = networkInterfaces()): string {
  const m = /^(wss?):\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(listening);
  if (m === null) return listening;
  const [, scheme, host, port] = m;
  if (advertise !== undefined) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:/@[\]]+):\d{1,5}$/.test(advertise)) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `advertise: expected HOST:PORT, got ${JSON.stringify(advertise)}`, { field: 'cluster.advertise' });
    }
    return `${scheme}://${advertise}`;
  }
  if (!WILDCARDS.has(host!)) return listening;
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const pick = all.find((a) => !a.internal && a.family === 'IPv4') ?? all.find((a) => !a.internal && a.family === 'IPv6');
  if (pick === undefined) {
    throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `listening on ${host} (every interface), but this machine has no address other nodes can dial: give --advertise HOST:PORT`, {
      field: 'cluster.advertise',
    });
  }
  return `${scheme}://${pick.family === 'IPv6' ? `[${pick.address}]` : pick.address}:${port}`;
}
