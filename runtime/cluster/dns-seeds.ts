/**
 * DNS seeds: `dns:NAME:PORT` — join through whatever addresses NAME resolves to (a Kubernetes
 * headless Service, a DNS round robin), resolved again from time to time so nodes that appear
 * later are found.
 *
 * Owns: parsing the spec, turning a resolution into node URLs (`ws://ADDR:PORT`, `wss://` for a
 * node with TLS; IPv6 in brackets), leaving out this node's own URL, and the bound on how many
 * addresses one name may give (the first {@link DNS_SEED_DEFAULTS.maxAddresses}). Resolution
 * goes through the system resolver (`dns.lookup`, so /etc/hosts counts), or an injected one.
 * Does not own: dialling them or the dial policy (cluster.ts, transport/link-policy.ts: a
 * plaintext address beyond loopback is not dialled without `insecure`), or when to resolve
 * (cluster.ts: at start and every `dnsRefreshMs`).
 * Threads: thread 0. Time: none here.
 */
import { lookup } from 'node:dns/promises';

export const DNS_SEED_DEFAULTS = Object.freeze({
  /** How often the names are resolved again, ms. */
  refreshMs: 5000,
  /** Addresses taken from one name at most. */
  maxAddresses: 64,
});

/** A `dns:NAME:PORT` seed. */
export interface DnsSeed {
  name: string;
  port: number;
}

const DNS_SEED = /^dns:([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/;

/** The `dns:NAME:PORT` seed `text` names, or undefined when it is not one. */
export function parseDnsSeed(text: string): DnsSeed | undefined {
  const m = DNS_SEED.exec(text);
  if (m === null) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { name: m[1]!, port } : undefined;
}

/** Resolves a name to its addresses (default: the system resolver, every address). */
export type Resolve = (name: string) => Promise<string[]>;

export const systemResolve: Resolve = async (name) => (await lookup(name, { all: true })).map((a) => a.address);

/**
 * The node URLs `seed` resolves to now, without `self` (this node's own URL): deduplicated,
 * at most `maxAddresses`. Rejects as the resolver does (an unknown name: ENOTFOUND).
 */
export async function resolveDnsSeed(seed: DnsSeed, scheme: 'ws' | 'wss', self: string, resolve: Resolve = systemResolve): Promise<string[]> {
  const out = new Set<string>();
  for (const address of await resolve(seed.name)) {
    if (out.size >= DNS_SEED_DEFAULTS.maxAddresses) break;
    const host = address.includes(':') ? `[${address}]` : address;
    const url = `${scheme}://${host}:${seed.port}`;
    if (url !== self) out.add(url);
  }
  return [...out];
}
