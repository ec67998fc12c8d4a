/**
 * Who may use the HTTP admin API: the checks every request passes before it is routed.
 *
 * - `Host` (DNS rebinding): a loopback name (`localhost`, `*.localhost`), an IP literal (an
 *   address cannot be rebound: a page whose origin is an address is served by that address),
 *   the name the server is bound to, or a configured name (`adminHosts`). Else 421.
 * - `Origin` (a browser page): a request that carries one must come from the server's own
 *   origin (`http://` + its Host) or a configured one (`adminOrigins`); a browser's
 *   `Sec-Fetch-Site` other than `same-origin`/`none` without such an Origin is refused too.
 *   Scripts and the CLI send neither. Else 403. No CORS header is ever granted.
 * - The bearer token (`adminToken`), when set: `Authorization: Bearer <token>`, compared in
 *   constant time (sha256 of both, then timingSafeEqual). Else 401.
 *
 * Owns: those rules as pure functions of the request's headers, and the codes of their
 * refusals. Does not own: which routes need the token (admin-server.ts) or where the
 * settings come from (runtime/config). Time and threads: none; pure.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';

/** The stable codes in the JSON error bodies of refused admin requests (tests assert these). */
export const ADMIN_REFUSALS = {
  /** 421: the `Host` header names neither this machine's loopback, an address, the bound host nor an `adminHosts` entry. */
  HOST_NOT_ALLOWED: 'ERR_HOST_NOT_ALLOWED',
  /** 403: the request comes from a browser page of another origin than the server's own or an `adminOrigins` entry. */
  ORIGIN_NOT_ALLOWED: 'ERR_ORIGIN_NOT_ALLOWED',
  /** 401: a token is configured and the request carries none, or another one. */
  UNAUTHORIZED: 'ERR_UNAUTHORIZED',
} as const;

/** A refused request: the HTTP status and the body's `{ code, message }`. */
export interface Refusal {
  status: 401 | 403 | 421;
  code: (typeof ADMIN_REFUSALS)[keyof typeof ADMIN_REFUSALS];
  message: string;
}

/** What the admin server accepts, fixed when it starts. */
export interface AdminAccess {
  /** Lower-case host names besides loopback names and addresses; `.example.com` matches its subdomains. */
  readonly hosts: readonly string[];
  /** Origins (`scheme://host[:port]`, normalised) besides the server's own. */
  readonly origins: ReadonlySet<string>;
  /** sha256 of the token, or undefined: no token needed. */
  readonly tokenDigest: Buffer | undefined;
}

export interface AdminAccessOptions {
  /** The host the server binds (accepted as a `Host` too). */
  bindHost: string;
  hosts?: readonly string[];
  origins?: readonly string[];
  token?: string;
}

/** True for a host only this machine reaches: `localhost`, 127.0.0.0/8, `::1` (bracketed or not). */
export function isLoopbackHost(host: string): boolean {
  const h = unbracket(host).toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7));
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * The access rules for a server bound to `bindHost`. Throws `ERR_INVALID_ARGUMENT` (field
 * `origins`) for an origin that is not `http(s)://host[:port]`, and (field `token`) for an
 * empty token.
 */
export function adminAccess(options: AdminAccessOptions): AdminAccess {
  const origins = new Set<string>();
  for (const o of options.origins ?? []) {
    const normal = normaliseOrigin(o);
    if (normal === undefined) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `origins: '${o}' is not an origin (http(s)://HOST[:PORT])`, { field: 'origins' });
    origins.add(normal);
  }
  if (options.token !== undefined && options.token.length === 0) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'the admin token must not be empty', { field: 'token' });
  const bound = unbracket(options.bindHost).toLowerCase();
  return {
    hosts: [...(options.hosts ?? []).map((h) => unbracket(h).toLowerCase()), ...(bound === '' ? [] : [bound])],
    origins,
    tokenDigest: options.token === undefined ? undefined : digest(options.token),
  };
}

/** `http(s)://host[:port]` as URL.origin spells it, or undefined when `value` is not just an origin. */
export function normaliseOrigin(value: string): string | undefined {
  if (!URL.canParse(value)) return undefined;
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || url.pathname !== '/') return undefined;
  return url.origin;
}

/**
 * Checks `Host` and `Origin` (and `Sec-Fetch-Site`); the token is {@link checkToken}'s. A
 * refusal says why; undefined: go on.
 */
export function checkRequestSource(access: AdminAccess, headers: IncomingHttpHeaders): Refusal | undefined {
  const host = headers.host;
  const name = host === undefined ? undefined : hostName(host);
  if (name === undefined || !hostAllowed(access, name)) {
    return {
      status: 421,
      code: ADMIN_REFUSALS.HOST_NOT_ALLOWED,
      message: `Host '${host ?? ''}' is not a name of this admin server (add it to adminHosts to accept it)`,
    };
  }
  const origin = headers.origin;
  if (origin !== undefined) {
    const own = `http://${host!.toLowerCase()}`;
    const normal = origin === 'null' ? undefined : normaliseOrigin(origin);
    if (normal === own || (normal !== undefined && access.origins.has(normal))) return undefined;
    return { status: 403, code: ADMIN_REFUSALS.ORIGIN_NOT_ALLOWED, message: `requests from origin '${origin}' are refused (add it to adminOrigins to accept it)` };
  }
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return { status: 403, code: ADMIN_REFUSALS.ORIGIN_NOT_ALLOWED, message: `requests from a ${site} page are refused` };
  }
  return undefined;
}

/** The bearer token check (none configured: every request passes). */
export function checkToken(access: AdminAccess, headers: IncomingHttpHeaders): Refusal | undefined {
  if (access.tokenDigest === undefined) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(headers.authorization ?? '');
  if (m !== null && timingSafeEqual(digest(m[1]!), access.tokenDigest)) return undefined;
  return {
    status: 401,
    code: ADMIN_REFUSALS.UNAUTHORIZED,
    message: m === null ? 'this admin server needs Authorization: Bearer <token>' : 'wrong admin token',
  };
}

function hostAllowed(access: AdminAccess, name: string): boolean {
  if (name === 'localhost' || name.endsWith('.localhost') || isIP(name) !== 0) return true;
  return access.hosts.some((h) => h === name || (h.startsWith('.') && (name.endsWith(h) || name === h.slice(1))));
}

/** The name in a Host header (`name`, `name:port`, `[v6]`, `[v6]:port`), lower case; undefined when malformed. */
function hostName(host: string): string | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/@]+)(?::\d{1,5})?$/.exec(host.trim());
  return m === null ? undefined : unbracket(m[1]!).toLowerCase().replace(/\.$/, '');
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
