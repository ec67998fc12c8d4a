/**
 * Link listener: the TCP (or TLS) port a node accepts node links on, up to the WebSocket
 * upgrade — what may reach the handshake at all.
 *
 * Owns: every accepted socket's deadline from TCP accept (upgrade and handshake together, one
 * timer per socket: `deadlineMs`, 1 s by default — an idle socket or a slow header drip is
 * destroyed when it runs out), the cap on sockets not yet authenticated (beyond
 * `maxUnauthenticated` a new connection is closed at once), refusing upgrades that carry an
 * `Origin` (a browser page: 403 before the handshake), answering a plain HTTP request with 426
 * and closing, and TLS: with {@link LinkTls} the port speaks TLS only; with a CA a peer whose
 * certificate is missing or not signed by it is cut before any HTTP is read (mutual TLS). Each
 * refusal is reported with its reason ({@link AcceptRefusal}).
 * Does not own: the WebSocket protocol or the handshake (transport/node-link.ts, the only
 * importer of ws, hands each upgrade to ws and calls {@link Admission.admit} once it
 * authenticated), or whether listening is allowed (transport/link-policy.ts).
 * A socket is known by its remote `host:port` (unique among live connections to one port):
 * the TLS socket that carries the upgrade is not the TCP socket that was accepted.
 * Threads: the node's thread 0. Time: the given clock's timers.
 */
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Clock, TimerHandle } from '../actors/foundation/clock.js';
import { linkScheme, pemOf, type LinkTls } from './link-policy.js';

/**
 * Why the listener closed a socket before its handshake:
 * - `timeout`: no WebSocket upgrade within the deadline from TCP accept;
 * - `origin`: the upgrade carried an `Origin` header (a browser page);
 * - `busy`: `maxUnauthenticated` sockets were already waiting to authenticate;
 * - `tls`: the TLS handshake failed (a plaintext client, a bad record) or the peer's
 *   certificate is missing or not signed by this node's CA.
 */
export type AcceptRefusal = 'timeout' | 'origin' | 'busy' | 'tls';

export interface LinkListenerOptions {
  clock: Clock;
  /** TLS material: the port speaks TLS (`wss://`); with `ca`, peers must present a certificate signed by it. */
  tls?: LinkTls;
  /** ms from TCP accept by which the socket must have authenticated (upgrade and handshake). */
  deadlineMs: number;
  /** Sockets accepted but not authenticated at once; beyond, a new connection is closed at accept. */
  maxUnauthenticated: number;
  /** Told of every socket the listener closes before its handshake, with why (`peer`: `host:port`). */
  onRefused(reason: AcceptRefusal, peer: string, detail: string): void;
}

/** An upgraded socket on its way through the handshake. */
export interface Admission {
  /** The socket's remote `host:port`. */
  readonly peer: string;
  /** It authenticated: its deadline is cleared and it no longer counts as unauthenticated. */
  admit(): void;
  /**
   * What to do when its deadline runs out before {@link admit} (the handshake's own timeout:
   * refuse with a reason); without one the socket is destroyed.
   */
  onDeadline(handler: () => void): void;
}

export interface LinkListener {
  /** `host:port` actually bound. */
  readonly address: string;
  /** `ws://host:port`, or `wss://host:port` with TLS. */
  readonly url: string;
  /** Sockets accepted and not (yet) authenticated. */
  readonly unauthenticated: number;
  /** Stops accepting and destroys every socket it accepted. */
  close(): Promise<void>;
}

interface Pending {
  socket: Socket;
  timer: TimerHandle;
  deadline?: () => void;
}

/** `host:port` of a socket's remote end (IPv6 in brackets). */
export function remoteOf(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  const host = socket.remoteAddress ?? 'unknown';
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? 0}`;
}

/** TLS failures worth reporting (not a peer that merely hung up mid-handshake). */
function isTlsFailure(err: NodeJS.ErrnoException): boolean {
  return typeof err.code === 'string' && /^(ERR_SSL_|ERR_TLS_)/.test(err.code);
}

/** Ends `socket` with a bare HTTP status and destroys it once written. */
function answer(socket: Duplex, status: string): void {
  socket.once('finish', () => socket.destroy());
  socket.once('error', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Listens on `listen` and hands each WebSocket upgrade that passed the checks to `onUpgrade`
 * with its {@link Admission}. Rejects if the port cannot be bound.
 */
export async function openLinkListener(
  listen: { host: string; port: number },
  options: LinkListenerOptions,
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer, admission: Admission) => void,
): Promise<LinkListener> {
  const { clock, tls, deadlineMs, maxUnauthenticated, onRefused } = options;
  const pending = new Map<string, Pending>();
  const sockets = new Set<Socket>();
  let closed = false;

  /** Stops tracking `key` as unauthenticated; true if it was. */
  const release = (key: string, p?: Pending): boolean => {
    const q = pending.get(key);
    if (q === undefined || (p !== undefined && q !== p)) return false;
    clock.clearTimeout(q.timer);
    pending.delete(key);
    return true;
  };
  const expire = (key: string, p: Pending): void => {
    if (!release(key, p)) return;
    if (p.deadline !== undefined) return p.deadline();
    onRefused('timeout', key, `no WebSocket upgrade within ${deadlineMs} ms of accepting the socket`);
    p.socket.destroy();
  };

  // the HTTP parser: never listens itself; every accepted (and, with TLS, decrypted) socket is handed to it
  const http = createHttpServer();
  http.on('clientError', (_err, socket: Duplex) => socket.destroy());
  http.on('request', (_req, res) => {
    res.writeHead(426, { Connection: 'close', Upgrade: 'websocket', 'Content-Type': 'text/plain' });
    res.end('apiary node links: WebSocket upgrades only\n');
  });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const key = remoteOf(req.socket);
    const p = pending.get(key);
    if (p === undefined) return void socket.destroy(); // its deadline ran out meanwhile
    const origin = req.headers.origin ?? req.headers['sec-websocket-origin'];
    if (origin !== undefined) {
      release(key, p);
      onRefused('origin', key, `a WebSocket upgrade from a browser page (Origin ${String(origin).slice(0, 100)}): refused before the handshake`);
      return answer(socket, '403 Forbidden');
    }
    onUpgrade(req, socket, head, {
      peer: key,
      admit: () => void release(key, p),
      onDeadline: (handler) => void (p.deadline = handler),
    });
  });

  const accept = (raw: Socket): void => {
    raw.on('error', () => {});
    if (closed) return void raw.destroy();
    const key = remoteOf(raw);
    if (pending.size >= maxUnauthenticated) {
      onRefused('busy', key, `${pending.size} sockets are already waiting to authenticate (at most ${maxUnauthenticated}): closed at accept`);
      return void raw.destroy();
    }
    sockets.add(raw);
    const p: Pending = { socket: raw, timer: clock.setTimeout(() => expire(key, p), deadlineMs) };
    pending.set(key, p);
    raw.once('close', () => {
      sockets.delete(raw);
      release(key, p);
    });
    if (tls === undefined) http.emit('connection', raw);
  };

  let front: Server;
  if (tls === undefined) front = createNetServer();
  else {
    const mutual = tls.ca !== undefined;
    // rejectUnauthorized is checked here (below) rather than by node, so a refused certificate is reported
    front = createTlsServer({ cert: pemOf(tls.cert), key: pemOf(tls.key), ...(mutual ? { ca: pemOf(tls.ca!), requestCert: true } : {}), rejectUnauthorized: false });
    front.on('secureConnection', (socket: TLSSocket) => {
      const key = remoteOf(socket);
      if (!pending.has(key)) return void socket.destroy();
      if (mutual && !socket.authorized) {
        release(key);
        onRefused('tls', key, `the peer's certificate is missing or not signed by this node's CA (${String(socket.authorizationError ?? 'unverified')})`);
        return void socket.destroy();
      }
      http.emit('connection', socket);
    });
    front.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      const key = remoteOf(socket);
      socket.destroy();
      if (!isTlsFailure(err) || !release(key)) return;
      const plaintext = err.code === 'ERR_SSL_HTTP_REQUEST' || err.code === 'ERR_SSL_WRONG_VERSION_NUMBER';
      onRefused('tls', key, plaintext ? `not TLS (${err.code}): this node accepts wss:// links only` : `TLS handshake failed (${err.code})`);
    });
  }
  front.on('connection', accept);
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen({ host: listen.host, port: listen.port }, () => {
      front.off('error', reject);
      resolve();
    });
  });
  front.on('error', () => {});
  const addr = front.address() as AddressInfo;
  const address = `${addr.address}:${addr.port}`;
  return {
    address,
    url: `${linkScheme(tls)}://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
    get unauthenticated() {
      return pending.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        for (const key of [...pending.keys()]) release(key);
        for (const s of sockets) s.destroy();
        front.close(() => resolve());
      }),
  };
}
