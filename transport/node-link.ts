/**
 * Node links: one authenticated WebSocket between two nodes (the only importer of ws).
 *
 * Owns: the join handshake and the socket rules of docs/architecture.md § Security defaults. The accepting side opens with
 * a challenge (its name, incarnation, a random nonce); the connecting side answers with its
 * own and an HMAC-SHA256 over both nonces, both names, both incarnations and the protocol
 * version; the acceptor checks it (timingSafeEqual) and proves itself with an HMAC of its
 * own, which the connector checks. Nothing else is processed before that: any other frame,
 * a bad MAC, a protocol mismatch or silence past the handshake timeout closes the socket at
 * once. After the handshake only binary frames pass; `maxPayload` (1 MiB) and
 * permessage-deflate off, as measured (docs/architecture.md § Facts). Frames that arrive
 * before the link is adopted (a peer's first frames can come in the same tick as its welcome)
 * wait for the first frame handler.
 * A refused handshake has a reason ({@link HandshakeRefusal}) on both sides: the side that
 * refuses sends it as a WebSocket close code ({@link REFUSAL_CLOSE_CODES}) before cutting
 * the socket (at most {@link NODE_LINK_DEFAULTS}.refusalGraceMs later), so the other side
 * knows a wrong secret from a silent peer. The code says only what the refused peer already
 * knows (its MAC or version did not check out); nothing about names is said before both
 * sides are authenticated.
 * Before any of that, transport/link-listener.ts decides what reaches the handshake: a
 * deadline from TCP accept (upgrade and handshake within `handshakeTimeoutMs`), a cap on
 * unauthenticated sockets, no upgrade carrying an `Origin` (browsers), TLS (`wss://`, mutual
 * with a CA); transport/link-policy.ts whether the node may listen at all (a secret, or
 * `insecure` on loopback; TLS or `insecure` beyond loopback). Dialling a `wss://` URL uses the
 * node's TLS material (its CA to verify the peer, its certificate to present).
 * Probes (`apiary doctor`): a hello with `probe: true`, MAC'd under its own role, is checked
 * like any other; the acceptor answers with a welcome that also carries its wall-clock time
 * (under the MAC) and closes, without adopting a link: a probe never becomes a member.
 * Links that are not probes are unchanged, so this needs no new protocol version.
 * Does not own: what the frames mean (membership, remote actors come on top), or what is
 * kept and logged about refusals (runtime/cluster/refusals.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WebSocket, WebSocketServer, type ClientOptions, type RawData } from 'ws';
import type { Clock } from '../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import { openLinkListener, type AcceptRefusal, type Admission } from './link-listener.js';
import { checkListenPolicy, pemOf, type LinkTls } from './link-policy.js';

/**
 * The node frame vocabulary's version: nodes of different versions refuse each other at the
 * handshake. 2: ask cancels, name lookups, remote watches through worker threads and actors
 * spawned on a peer's worker threads (`cancel`, `lookup`, `lost`). 3: flow control (`CREDIT`
 * frames; a sender stays within the receiver's window).
 */
export const PROTOCOL_VERSION = 3;

export const NODE_LINK_DEFAULTS = {
  /** Largest frame accepted, bytes. */
  maxPayload: 1024 * 1024,
  /**
   * A socket that has not completed the WebSocket upgrade and the handshake this long after
   * TCP accept is disconnected, ms (the dialling side gives up after as long).
   */
  handshakeTimeoutMs: 1000,
  /** Sockets accepted but not yet authenticated at once; beyond, new connections are closed at accept. */
  maxUnauthenticated: 64,
  /** After a refusal's close frame, ms until the socket is cut whether or not the peer answered. */
  refusalGraceMs: 200,
} as const;

/**
 * Why a node link's handshake was refused:
 * - `bad-secret`: a MAC did not verify — the two nodes hold different cluster secrets;
 * - `name-taken`: both authenticated, but a live node already has the connecting node's name;
 * - `quarantined`: both authenticated, but this incarnation of the peer was downed in the
 *   cluster: it is finished and may not come back (it rejoins as a new incarnation);
 * - `protocol`: the nodes speak different protocol versions;
 * - `timeout`: the handshake did not complete within the handshake timeout (from TCP accept
 *   on the accepting side: a socket that never upgrades is refused so too);
 * - `malformed`: a handshake frame was not what the protocol says (not an apiary node?);
 * - `closed`: the socket closed before the handshake completed, without a reason;
 * - `origin`: the upgrade carried an `Origin` header — a browser page (403, accepting side);
 * - `busy`: too many sockets were waiting to authenticate; closed at accept (accepting side);
 * - `tls`: the TLS handshake failed: a plaintext client on a `wss://` port, a certificate not
 *   signed by the node's CA, or (connecting side) a server certificate that does not verify.
 */
export type HandshakeRefusal = 'bad-secret' | 'name-taken' | 'quarantined' | 'protocol' | 'timeout' | 'malformed' | 'closed' | 'plaintext' | AcceptRefusal;

export const HANDSHAKE_REFUSALS: readonly HandshakeRefusal[] = ['bad-secret', 'name-taken', 'quarantined', 'protocol', 'timeout', 'malformed', 'closed', 'plaintext', 'origin', 'busy', 'tls'];

/** The WebSocket close code that carries each refusal reason to the other side (4000–4999: private use). */
export const REFUSAL_CLOSE_CODES = {
  'bad-secret': 4001,
  protocol: 4002,
  malformed: 4003,
  timeout: 4008,
  'name-taken': 4009,
  quarantined: 4010,
} as const satisfies Partial<Record<HandshakeRefusal, number>>;

/** The refusal a close code stands for; `closed` for any other code (e.g. 1006, cut without a close frame). */
export function refusalOfCloseCode(code: number): HandshakeRefusal {
  for (const [reason, c] of Object.entries(REFUSAL_CLOSE_CODES)) if (c === code) return reason as HandshakeRefusal;
  return 'closed';
}

/** One refused handshake, as the side that saw it tells it. */
export interface LinkRefusal {
  reason: HandshakeRefusal;
  /** The other end: `host:port` of the socket (accepting side) or of the URL dialled (connecting side). */
  peer: string;
  /** The name the peer gave (unauthenticated unless the reason is `name-taken`); absent if it gave none. */
  node?: string;
  /** What exactly happened, for people. */
  detail: string;
}

export interface NodeIdentity {
  name: string;
  incarnation: number;
  /** The cluster secret; both sides must hold the same bytes. */
  secret: Uint8Array;
}

export interface NodeLinkOptions {
  clock: Clock;
  maxPayload?: number;
  /** ms for the upgrade and the handshake (from TCP accept when accepting). Default 1000. */
  handshakeTimeoutMs?: number;
  /** TLS material: listen on `wss://` (mutual TLS with a CA); dial `wss://` URLs with it. */
  tls?: LinkTls;
  /** Accepting: allow listening without a secret (loopback only) or in plaintext beyond loopback. */
  insecure?: boolean;
  /** Accepting: sockets not yet authenticated at once. Default 64. */
  maxUnauthenticated?: number;
}

/** An authenticated link to a peer node. */
export interface NodeLink {
  readonly peer: { name: string; incarnation: number };
  /** The other end's `host:port` (the socket's remote address, or the URL dialled). */
  readonly address: string;
  /** Sends one binary frame; false if the link is closed. `written` runs once it left this process. */
  send(frame: Uint8Array, written?: () => void): boolean;
  /** Bytes handed to `send` that the socket has not written yet (backpressure). */
  readonly bufferedAmount: number;
  onFrame(handler: (frame: Uint8Array) => void): void;
  onClose(handler: (code: number, reason: string) => void): void;
  close(code?: number, reason?: string): void;
}

type Challenge = { t: 'challenge'; v: number; node: string; inc: number; nonce: string };
type Hello = { t: 'hello'; v: number; node: string; inc: number; nonce: string; mac: string; probe?: true };
type Welcome = { t: 'welcome'; mac: string; time?: number };

/**
 * The handshake MAC. Probe roles are separate MAC domains, so a probe hello cannot be
 * replayed as a joining one, and the acceptor's `time` (appended) is authenticated.
 */
function mac(
  secret: Uint8Array,
  role: 'connector' | 'acceptor' | 'probe' | 'acceptor-probe',
  c: Challenge,
  h: Pick<Hello, 'v' | 'node' | 'inc' | 'nonce'>,
  time?: number,
): Buffer {
  const fields = [role, PROTOCOL_VERSION, c.node, c.inc, c.nonce, h.node, h.inc, h.nonce];
  if (time !== undefined) fields.push(time);
  return createHmac('sha256', secret).update(fields.join('\n')).digest();
}

function sameMac(expected: Buffer, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const actual = Buffer.from(given, 'base64');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function parse(data: RawData, isBinary: boolean): Record<string, unknown> | undefined {
  if (isBinary) return undefined;
  try {
    const v = JSON.parse(data.toString()) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/**
 * Refuses a socket mid-handshake: sends `reason` as a close code when the peer is worth
 * telling, and cuts the socket `refusalGraceMs` later at the latest.
 */
function refuse(ws: WebSocket, reason: HandshakeRefusal, clock: Clock): void {
  const code = (REFUSAL_CLOSE_CODES as Partial<Record<HandshakeRefusal, number>>)[reason];
  if (code === undefined || ws.readyState !== WebSocket.OPEN) return ws.terminate();
  ws.close(code, reason);
  const t = clock.setTimeout(() => ws.terminate(), NODE_LINK_DEFAULTS.refusalGraceMs);
  ws.once('close', () => clock.clearTimeout(t));
}

function wrap(ws: WebSocket, peer: { name: string; incarnation: number }, address: string, clock: Clock): NodeLink {
  const frameHandlers: ((frame: Uint8Array) => void)[] = [];
  const closeHandlers: ((code: number, reason: string) => void)[] = [];
  // frames that arrive before anyone listens (ws emits the peer's first frames in the same
  // tick as its welcome, before the link is adopted) wait for the first handler
  let early: Uint8Array[] | undefined = [];
  ws.on('message', (data, isBinary) => {
    // after the handshake only binary frames are allowed
    if (!isBinary) return ws.terminate();
    const bytes = toBytes(data);
    if (early !== undefined) early.push(bytes);
    else for (const h of frameHandlers) h(bytes);
  });
  ws.on('close', (code, reason) => {
    for (const h of closeHandlers) h(code, reason.toString());
  });
  return {
    peer,
    address,
    send(frame, written) {
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(frame, { binary: true }, written === undefined ? undefined : () => written());
      return true;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    onFrame: (h) => {
      frameHandlers.push(h);
      const waiting = early;
      early = undefined;
      for (const bytes of waiting ?? []) h(bytes);
    },
    onClose: (h) => void closeHandlers.push(h),
    close: (code = 1000, reason = '') => {
      ws.close(code, reason);
      // a peer that does not answer the close handshake is cut off
      const t = clock.setTimeout(() => ws.terminate(), 1000);
      ws.once('close', () => clock.clearTimeout(t));
    },
  };
}

export interface NodeLinkServer {
  /** `host:port` actually bound. */
  readonly address: string;
  /** `ws://host:port`, or `wss://host:port` with TLS: what peers dial. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Accepts node links on `host:port`; `onLink` gets each authenticated one. Rejects
 * `ERR_INSECURE_LISTEN` without listening when the link policy forbids it (no secret without
 * `insecure`, or beyond loopback; plaintext beyond loopback without `insecure`). A socket that
 * has not upgraded and authenticated within the handshake timeout of TCP accept is closed (its
 * reason sent as a close code once it is a WebSocket, within `refusalGraceMs` more), so is one
 * that fails the handshake, an upgrade with an `Origin` (403), and every connection beyond
 * `maxUnauthenticated` waiting ones; `onRefused` is told why.
 */
export async function listenNodeLinks(
  listen: { host: string; port: number },
  self: NodeIdentity,
  options: NodeLinkOptions,
  onLink: (link: NodeLink) => void,
  onRefused: (refusal: LinkRefusal) => void = () => {},
): Promise<NodeLinkServer> {
  checkListenPolicy({ host: listen.host, secret: self.secret, tls: options.tls !== undefined, insecure: options.insecure === true });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload ?? NODE_LINK_DEFAULTS.maxPayload,
    perMessageDeflate: false,
  });
  wss.on('error', () => {});
  const listener = await openLinkListener(
    listen,
    {
      clock: options.clock,
      tls: options.tls,
      deadlineMs: options.handshakeTimeoutMs ?? NODE_LINK_DEFAULTS.handshakeTimeoutMs,
      maxUnauthenticated: options.maxUnauthenticated ?? NODE_LINK_DEFAULTS.maxUnauthenticated,
      onRefused: (reason, peer, detail) => onRefused({ reason, peer, detail }),
    },
    (req, socket, head, admission) => wss.handleUpgrade(req, socket, head, (ws) => handshake(ws, admission)),
  );
  const handshake = (ws: WebSocket, admission: Admission): void => {
    const peer = admission.peer;
    const challenge: Challenge = { t: 'challenge', v: PROTOCOL_VERSION, node: self.name, inc: self.incarnation, nonce: randomBytes(32).toString('base64') };
    let done = false;
    let claimed: string | undefined;
    const reject = (reason: HandshakeRefusal, detail: string): void => {
      if (done) return;
      done = true;
      onRefused(claimed === undefined ? { reason, peer, detail } : { reason, peer, node: claimed, detail });
      refuse(ws, reason, options.clock);
    };
    // the deadline runs from TCP accept (link-listener.ts); a socket refused but still open then is cut
    admission.onDeadline(() => (done ? ws.terminate() : reject('timeout', 'no valid hello within the handshake timeout')));
    // an oversized or broken frame before the handshake (ws closes the socket itself)
    const onError = (err: Error): void => reject('malformed', err.message);
    const onClose = (code: number): void => {
      const reason = refusalOfCloseCode(code);
      reject(reason, reason === 'closed' ? `the peer closed the socket (code ${code}) before the handshake completed` : `the peer refused the handshake (${reason})`);
    };
    ws.on('error', onError);
    ws.on('close', onClose);
    const accepted = (): void => {
      done = true;
      admission.admit();
      // only ours: the server's own 'close' listener keeps its list of clients
      ws.off('close', onClose);
      ws.off('error', onError);
      ws.on('error', () => {});
    };
    ws.once('message', (data, isBinary) => {
      const hello = parse(data, isBinary) as Partial<Hello> | undefined;
      if (!hello || hello.t !== 'hello') return reject('malformed', 'expected a hello');
      if (typeof hello.node === 'string') claimed = hello.node.slice(0, 100);
      if (hello.v !== PROTOCOL_VERSION) return reject('protocol', `the peer speaks protocol ${String(hello.v)}, this node ${PROTOCOL_VERSION}`);
      if (typeof hello.node !== 'string' || typeof hello.inc !== 'number' || typeof hello.nonce !== 'string') return reject('malformed', 'malformed hello');
      const fields = { v: hello.v, node: hello.node, inc: hello.inc, nonce: hello.nonce };
      const badSecret = "the peer's MAC does not verify: it does not hold this cluster's secret";
      if (hello.probe === true) {
        if (!sameMac(mac(self.secret, 'probe', challenge, fields), hello.mac)) return reject('bad-secret', badSecret);
        accepted();
        return answerProbe(ws, self.secret, challenge, fields, options.clock);
      }
      if (!sameMac(mac(self.secret, 'connector', challenge, fields), hello.mac)) return reject('bad-secret', badSecret);
      accepted();
      const welcome: Welcome = { t: 'welcome', mac: mac(self.secret, 'acceptor', challenge, fields).toString('base64') };
      ws.send(JSON.stringify(welcome));
      onLink(wrap(ws, { name: hello.node, incarnation: hello.inc }, peer, options.clock));
    });
    ws.send(JSON.stringify(challenge));
  };
  return {
    address: listener.address,
    url: listener.url,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await listener.close();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** The ws client options for dialling `url`: this node's TLS material for a `wss://` URL. */
function clientOptions(options: NodeLinkOptions): ClientOptions {
  const tls = options.tls;
  return {
    maxPayload: options.maxPayload ?? NODE_LINK_DEFAULTS.maxPayload,
    perMessageDeflate: false,
    ...(tls === undefined ? {} : { cert: pemOf(tls.cert), key: pemOf(tls.key), ...(tls.ca === undefined ? {} : { ca: pemOf(tls.ca) }) }),
  };
}

/** A client-side TLS failure (the server's certificate does not verify, or the TLS handshake broke). */
function isTlsError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return /^(ERR_SSL_|ERR_TLS_)|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code);
}

/**
 * Connects to a node at `url` (`ws://host:port`, or `wss://host:port` verified against
 * `options.tls.ca` — the system's CAs without one — and presenting `options.tls.cert`) and
 * runs the handshake. Rejects `ERR_HANDSHAKE_FAILED` when the socket cannot be opened
 * (nothing listens, unreachable) or the handshake fails; in the second case `onRefused` is
 * told why first (a wrong secret — ours or theirs —, a protocol mismatch, a timeout, a
 * malformed frame, the socket closed, a TLS certificate that does not verify).
 */
export function connectNodeLink(
  url: string,
  self: NodeIdentity,
  options: NodeLinkOptions,
  onRefused: (refusal: LinkRefusal) => void = () => {},
): Promise<NodeLink> {
  return new Promise((resolve, reject) => {
    let peer = url;
    try {
      peer = new URL(url).host;
    } catch {
      // ws rejects it below
    }
    const ws = new WebSocket(url, clientOptions(options));
    let done = false;
    let opened = false;
    let claimed: string | undefined;
    const fail = (reason: HandshakeRefusal | 'unreachable', detail: string): void => {
      if (done) return;
      done = true;
      options.clock.clearTimeout(timer);
      if (reason !== 'unreachable') onRefused(claimed === undefined ? { reason, peer, detail } : { reason, peer, node: claimed, detail });
      if (reason === 'unreachable' || !opened) ws.terminate();
      else refuse(ws, reason, options.clock);
      reject(new ApiaryError(ErrorCodes.HANDSHAKE_FAILED, `handshake with ${url} failed: ${reason === 'unreachable' ? '' : `${reason}: `}${detail}`));
    };
    const timer = options.clock.setTimeout(
      () => (opened ? fail('timeout', 'the peer did not complete the handshake in time') : fail('unreachable', 'timeout opening the socket')),
      options.handshakeTimeoutMs ?? NODE_LINK_DEFAULTS.handshakeTimeoutMs,
    );
    ws.on('open', () => (opened = true));
    ws.on('error', (err) =>
      opened ? fail('malformed', err.message) : isTlsError(err) ? fail('tls', `the TLS handshake failed: ${err.message}`) : fail('unreachable', err.message),
    );
    ws.on('close', (code) => {
      const reason = refusalOfCloseCode(code);
      if (!opened) return fail('unreachable', `closed before it opened (code ${code})`);
      fail(
        reason,
        reason === 'bad-secret'
          ? "the peer could not verify this node's MAC: the two nodes hold different cluster secrets"
          : reason === 'closed'
            ? `the peer closed the socket (code ${code}) before the handshake completed`
            : `the peer refused the handshake (${reason})`,
      );
    });
    ws.once('message', (data, isBinary) => {
      const challenge = parse(data, isBinary) as Partial<Challenge> | undefined;
      if (!challenge || challenge.t !== 'challenge' || typeof challenge.nonce !== 'string' || typeof challenge.node !== 'string' || typeof challenge.inc !== 'number') {
        return fail('malformed', 'expected a challenge');
      }
      claimed = challenge.node.slice(0, 100);
      if (challenge.v !== PROTOCOL_VERSION) return fail('protocol', `the peer speaks protocol ${String(challenge.v)}, this node ${PROTOCOL_VERSION}`);
      const fields = { v: PROTOCOL_VERSION, node: self.name, inc: self.incarnation, nonce: randomBytes(32).toString('base64') };
      const hello: Hello = { t: 'hello', ...fields, mac: mac(self.secret, 'connector', challenge as Challenge, fields).toString('base64') };
      ws.once('message', (reply, replyBinary) => {
        const welcome = parse(reply, replyBinary) as Partial<Welcome> | undefined;
        if (!welcome || welcome.t !== 'welcome') return fail('malformed', 'expected a welcome');
        if (!sameMac(mac(self.secret, 'acceptor', challenge as Challenge, fields), welcome.mac)) {
          return fail('bad-secret', "the peer's MAC does not verify: it could not prove it holds this cluster's secret");
        }
        done = true;
        options.clock.clearTimeout(timer);
        ws.removeAllListeners('close');
        ws.removeAllListeners('error');
        ws.on('error', () => {});
        resolve(wrap(ws, { name: challenge.node!, incarnation: challenge.inc! }, peer, options.clock));
      });
      ws.send(JSON.stringify(hello));
    });
  });
}

// ---- probes (apiary doctor): a full handshake that never becomes a link ---------------------

/** How a probe of a node went: its identity and wall-clock time, or why it failed. */
export type ProbeResult =
  | {
      ok: true;
      peer: { name: string; incarnation: number };
      /** The peer's wall-clock time when it answered, ms since the epoch (authenticated). */
      peerTime: number;
      /** This side's wall-clock time when the hello left and when the welcome arrived, ms. */
      sentAt: number;
      receivedAt: number;
    }
  | {
      ok: false;
      /**
       * `unreachable`: no WebSocket to it (refused, unknown host, not a WebSocket server);
       * `timeout`: no answer within the handshake timeout; `refused`: it closed the socket
       * during the handshake (a different secret, or it refuses this peer); `protocol`: not
       * an apiary node of this protocol version; `unauthenticated`: it answered but could
       * not prove it holds the secret.
       */
      failure: 'unreachable' | 'timeout' | 'refused' | 'protocol' | 'unauthenticated';
      reason: string;
    };

/** The acceptor's side of a probe: an authenticated welcome with its wall-clock time, then close. */
function answerProbe(ws: WebSocket, secret: Uint8Array, c: Challenge, h: Pick<Hello, 'v' | 'node' | 'inc' | 'nonce'>, clock: Clock): void {
  const time = clock.wallTime();
  const welcome: Welcome = { t: 'welcome', time, mac: mac(secret, 'acceptor-probe', c, h, time).toString('base64') };
  ws.send(JSON.stringify(welcome));
  ws.close(1000, 'probe answered');
  const t = clock.setTimeout(() => ws.terminate(), 1000);
  ws.once('close', () => clock.clearTimeout(t));
}

/**
 * Runs the handshake with the node at `url` as a probe: both sides authenticate as for a
 * link, but the peer answers with its wall-clock time and closes; it adopts no link and
 * lists no member. Never rejects: resolves with what happened.
 */
export function probeNodeLink(url: string, self: NodeIdentity, options: NodeLinkOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const clock = options.clock;
    let settled = false;
    let helloSent = false;
    let ws: WebSocket;
    const settle = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      ws.removeAllListeners('close');
      if (result.ok) ws.close(1000, 'probe done');
      else ws.terminate();
      resolve(result);
    };
    const fail = (failure: Extract<ProbeResult, { ok: false }>['failure'], reason: string): void => settle({ ok: false, failure, reason });
    const timer = clock.setTimeout(() => fail('timeout', `no handshake within ${options.handshakeTimeoutMs ?? NODE_LINK_DEFAULTS.handshakeTimeoutMs} ms`), options.handshakeTimeoutMs ?? NODE_LINK_DEFAULTS.handshakeTimeoutMs);
    try {
      ws = new WebSocket(url, clientOptions(options));
    } catch (err) {
      clock.clearTimeout(timer);
      resolve({ ok: false, failure: 'unreachable', reason: (err as Error).message });
      return;
    }
    ws.on('error', (err) => fail(helloSent ? 'refused' : 'unreachable', err.message));
    ws.on('close', (code, reason) => {
      const why = `closed by the peer (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`;
      fail('refused', helloSent ? `${why} after our hello` : why);
    });
    ws.once('message', (data, isBinary) => {
      const challenge = parse(data, isBinary) as Partial<Challenge> | undefined;
      if (!challenge || challenge.t !== 'challenge' || typeof challenge.nonce !== 'string' || typeof challenge.node !== 'string' || typeof challenge.inc !== 'number') {
        return fail('protocol', 'expected a challenge: not an apiary node');
      }
      if (challenge.v !== PROTOCOL_VERSION) return fail('protocol', `protocol ${String(challenge.v)} is not ${PROTOCOL_VERSION}`);
      const fields = { v: PROTOCOL_VERSION, node: self.name, inc: self.incarnation, nonce: randomBytes(32).toString('base64') };
      const hello: Hello = { t: 'hello', ...fields, probe: true, mac: mac(self.secret, 'probe', challenge as Challenge, fields).toString('base64') };
      let sentAt = 0;
      ws.once('message', (reply, replyBinary) => {
        const receivedAt = clock.wallTime();
        const welcome = parse(reply, replyBinary) as Partial<Welcome> | undefined;
        if (!welcome || welcome.t !== 'welcome' || typeof welcome.time !== 'number') return fail('protocol', 'expected a welcome with the time');
        if (!sameMac(mac(self.secret, 'acceptor-probe', challenge as Challenge, fields, welcome.time), welcome.mac)) {
          return fail('unauthenticated', 'the peer could not prove it holds the secret');
        }
        settle({ ok: true, peer: { name: challenge.node!, incarnation: challenge.inc! }, peerTime: welcome.time, sentAt, receivedAt });
      });
      sentAt = clock.wallTime();
      helloSent = true;
      ws.send(JSON.stringify(hello));
    });
  });
}
