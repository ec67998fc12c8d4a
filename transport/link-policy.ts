/**
 * Link policy: when a node may accept node links at all, and what its links are made of.
 *
 * Owns: the rule of docs/architecture.md § Security defaults for listening — no listening
 * without a cluster secret unless `insecure` says so, and then on loopback only; no plaintext
 * (`ws://`) listening beyond loopback unless TLS is configured or `insecure` says so — the
 * same rule for dialling (no `ws://` link to a host beyond loopback unless `insecure`), and the
 * shape of the TLS material a node holds ({@link LinkTls}: its certificate and key, and the CA
 * that, when given, every peer's certificate must be signed by, both ways: mutual TLS).
 * Does not own: sockets (transport/link-listener.ts, node-link.ts) or reading files named by
 * a config (runtime/config/build-options.ts).
 * Threads and time: pure functions.
 */
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';

/** PEM text, as a string or its bytes. */
export type Pem = string | Uint8Array;

/**
 * The TLS material of a node: links are `wss://`. `cert`/`key` are this node's certificate
 * (chain) and private key: presented when it accepts a link and when it dials one. With `ca`,
 * mutual TLS: an accepting node refuses a peer whose certificate is missing or not signed by
 * `ca` (before any HTTP is read), and a dialling node trusts only servers signed by `ca`.
 * Without `ca`, a dialling node verifies servers against the system's CAs and an accepting
 * node asks for no client certificate.
 */
export interface LinkTls {
  cert: Pem;
  key: Pem;
  ca?: Pem;
}

/** `pem` as node's TLS options take it (a string, or a Buffer over the same bytes). */
export function pemOf(pem: Pem): string | Buffer {
  return typeof pem === 'string' ? pem : Buffer.from(pem.buffer, pem.byteOffset, pem.byteLength);
}

/** True for hosts only this machine reaches: `localhost`, `127.x.y.z`, `::1`. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `wss` for a node with TLS, else `ws`. */
export function linkScheme(tls: LinkTls | undefined): 'ws' | 'wss' {
  return tls === undefined ? 'ws' : 'wss';
}

/** What {@link checkListenPolicy} decides on. */
export interface ListenPolicyInput {
  /** The host the node would bind. */
  host: string;
  /** The cluster secret; empty: none. */
  secret: Uint8Array;
  /** The node holds TLS material (its links are `wss://`). */
  tls: boolean;
  /** The operator said links may be unprotected (`--insecure`, `insecure: true`). */
  insecure: boolean;
}

/**
 * Throws `ERR_INSECURE_LISTEN` (nothing listens) when a node may not accept node links on
 * `host`: without a secret, unless `insecure` and `host` is loopback (`field`:
 * `cluster.secret`, or `cluster.listen` when insecure beyond loopback); in plaintext beyond
 * loopback, unless `insecure` (`field`: `cluster.tls`).
 */
export function checkListenPolicy(input: ListenPolicyInput): void {
  const at = input.host;
  const loopback = isLoopbackHost(at);
  if (input.secret.byteLength === 0) {
    if (!input.insecure) {
      throw new ApiaryError(
        ErrorCodes.INSECURE_LISTEN,
        `no cluster secret: refusing to accept node links on ${at} (give a secret; insecure: true accepts unauthenticated links, on loopback only)`,
        { field: 'cluster.secret' },
      );
    }
    if (!loopback) {
      throw new ApiaryError(ErrorCodes.INSECURE_LISTEN, `no cluster secret: unauthenticated node links are accepted on loopback only, not on ${at} (give a secret)`, {
        field: 'cluster.listen',
      });
    }
  }
  if (!input.tls && !loopback && !input.insecure) {
    throw new ApiaryError(
      ErrorCodes.INSECURE_LISTEN,
      `plaintext node links beyond loopback: refusing to listen on ${at} without TLS (give tls { cert, key, ca }; insecure: true allows ws:// there)`,
      { field: 'cluster.tls' },
    );
  }
}

/** The host of a `ws://` / `wss://` node URL (brackets of an IPv6 literal kept), or undefined if it is not one. */
function hostOf(url: string): { scheme: string; host: string } | undefined {
  const m = /^(wss?):\/\/(\[[^\]]*\]|[^:/]+)(?::\d+)?\/?$/.exec(url);
  return m === null ? undefined : { scheme: m[1]!, host: m[2]! };
}

/**
 * Why this node must not dial `url` (`'plaintext'`: a `ws://` link to a host beyond loopback,
 * which anyone on the path could read and hijack — TLS or `insecure` needed), or undefined
 * when it may. A URL that is not a node URL is not this function's to refuse.
 */
export function dialRefusal(url: string, insecure: boolean): 'plaintext' | undefined {
  if (insecure) return undefined;
  const at = hostOf(url);
  return at !== undefined && at.scheme === 'ws' && !isLoopbackHost(at.host) ? 'plaintext' : undefined;
}

/** Throws `ERR_INSECURE_DIAL` (`field`: `cluster.seeds`) for the first seed {@link dialRefusal} refuses. */
export function checkSeedsPolicy(seeds: readonly string[], insecure: boolean): void {
  for (const seed of seeds) {
    if (dialRefusal(seed, insecure) !== undefined) {
      throw new ApiaryError(
        ErrorCodes.INSECURE_DIAL,
        `plaintext node link beyond loopback: refusing to dial the seed ${seed} (use wss:// with TLS on both nodes; insecure: true allows ws:// there)`,
        { field: 'cluster.seeds' },
      );
    }
  }
}
