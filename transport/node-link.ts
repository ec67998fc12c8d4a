/**
 * Node links: one authenticated WebSocket between two nodes (the only importer of ws).
 *
 * Owns: the join handshake and the socket rules of DESIGN §6. The accepting side opens with
 * a challenge (its name, incarnation, a random nonce); the connecting side answers with its
 * own and an HMAC-SHA256 over both nonces, both names, both incarnations and the protocol
 * version; the acceptor checks it (timingSafeEqual) and proves itself with an HMAC of its
 * own, which the connector checks. Nothing else is processed before that: any other frame,
 * a bad MAC, a protocol mismatch or silence past the handshake timeout closes the socket at
 * once. After the handshake only binary frames pass; `maxPayload` (1 MiB) and
 * permessage-deflate off, as measured in DESIGN §8.
 * Probes (`apiary doctor`): a hello with `probe: true`, MAC'd under its own role, is checked
 * like any other; the acceptor answers with a welcome that also carries its wall-clock time
 * (under the MAC) and closes, without adopting a link: a probe never becomes a member.
 * Links that are not probes are unchanged, so this needs no new protocol version.
 * Does not own: what the frames mean (membership, remote actors come on top).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Clock } from '../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';

/**
 * The node frame vocabulary's version: nodes of different versions refuse each other at the
 * handshake. 2: ask cancels, name lookups, remote watches through worker threads and actors
 * spawned on a peer's worker threads (`cancel`, `lookup`, `lost`).
 */
export const PROTOCOL_VERSION = 2;

export const NODE_LINK_DEFAULTS = {
  /** Largest frame accepted, bytes. */
  maxPayload: 1024 * 1024,
  /** A peer that has not completed the handshake by then is disconnected, ms. */
  handshakeTimeoutMs: 1000,
} as const;

export interface NodeIdentity {
  name: string;
  incarnation: number;
  /** The cluster secret; both sides must hold the same bytes. */
  secret: Uint8Array;
}

export interface NodeLinkOptions {
  clock: Clock;
  maxPayload?: number;
  handshakeTimeoutMs?: number;
}

/** An authenticated link to a peer node. */
export interface NodeLink {
  readonly peer: { name: string; incarnation: number };
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

function wrap(ws: WebSocket, peer: { name: string; incarnation: number }, clock: Clock): NodeLink {
  const frameHandlers: ((frame: Uint8Array) => void)[] = [];
  const closeHandlers: ((code: number, reason: string) => void)[] = [];
  ws.on('message', (data, isBinary) => {
    // after the handshake only binary frames are allowed
    if (!isBinary) return ws.terminate();
    const bytes = toBytes(data);
    for (const h of frameHandlers) h(bytes);
  });
  ws.on('close', (code, reason) => {
    for (const h of closeHandlers) h(code, reason.toString());
  });
  return {
    peer,
    send(frame, written) {
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(frame, { binary: true }, written === undefined ? undefined : () => written());
      return true;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    onFrame: (h) => void frameHandlers.push(h),
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
  close(): Promise<void>;
}

/**
 * Accepts node links on `host:port`; `onLink` gets each authenticated one. A socket that
 * fails the handshake is terminated (and `onRejected` told why).
 */
export async function listenNodeLinks(
  listen: { host: string; port: number },
  self: NodeIdentity,
  options: NodeLinkOptions,
  onLink: (link: NodeLink) => void,
  onRejected: (why: string) => void = () => {},
): Promise<NodeLinkServer> {
  const wss = new WebSocketServer({
    host: listen.host,
    port: listen.port,
    maxPayload: options.maxPayload ?? NODE_LINK_DEFAULTS.maxPayload,
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', () => resolve());
    wss.once('error', reject);
  });
  wss.on('error', () => {});
  wss.on('connection', (ws) => {
    const challenge: Challenge = { t: 'challenge', v: PROTOCOL_VERSION, node: self.name, inc: self.incarnation, nonce: randomBytes(32).toString('base64') };
    const reject = (why: string): void => {
      clearTimer();
      onRejected(why);
      ws.terminate();
    };
    const timer = options.clock.setTimeout(() => reject('handshake timeout'), options.handshakeTimeoutMs ?? NODE_LINK_DEFAULTS.handshakeTimeoutMs);
    const clearTimer = () => options.clock.clearTimeout(timer);
    ws.on('error', () => {});
    ws.once('message', (data, isBinary) => {
      const hello = parse(data, isBinary) as Partial<Hello> | undefined;
      if (!hello || hello.t !== 'hello') return reject('expected hello');
      if (hello.v !== PROTOCOL_VERSION) return reject(`protocol ${String(hello.v)} is not ${PROTOCOL_VERSION}`);
      if (typeof hello.node !== 'string' || typeof hello.inc !== 'number' || typeof hello.nonce !== 'string') return reject('malformed hello');
      const fields = { v: hello.v, node: hello.node, inc: hello.inc, nonce: hello.nonce };
      if (hello.probe === true) {
        if (!sameMac(mac(self.secret, 'probe', challenge, fields), hello.mac)) return reject('bad MAC');
        clearTimer();
        return answerProbe(ws, self.secret, challenge, fields, options.clock);
      }
      if (!sameMac(mac(self.secret, 'connector', challenge, fields), hello.mac)) return reject('bad MAC');
      clearTimer();
      const welcome: Welcome = { t: 'welcome', mac: mac(self.secret, 'acceptor', challenge, fields).toString('base64') };
      ws.send(JSON.stringify(welcome));
      onLink(wrap(ws, { name: hello.node, incarnation: hello.inc }, options.clock));
    });
    ws.send(JSON.stringify(challenge));
  });
  const addr = wss.address() as AddressInfo;
  return {
    address: `${addr.address}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

/**
 * Connects to a node at `url` (`ws://host:port`) and runs the handshake. Rejects
 * `ERR_HANDSHAKE_FAILED` (wrong secret, protocol mismatch, timeout, socket error).
 */
export function connectNodeLink(url: string, self: NodeIdentity, options: NodeLinkOptions): Promise<NodeLink> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: options.maxPayload ?? NODE_LINK_DEFAULTS.maxPayload, perMessageDeflate: false });
    let done = false;
    const fail = (why: string): void => {
      if (done) return;
      done = true;
      options.clock.clearTimeout(timer);
      ws.terminate();
      reject(new ApiaryError(ErrorCodes.HANDSHAKE_FAILED, `handshake with ${url} failed: ${why}`));
    };
    const timer = options.clock.setTimeout(() => fail('timeout'), options.handshakeTimeoutMs ?? NODE_LINK_DEFAULTS.handshakeTimeoutMs);
    ws.on('error', (err) => fail(err.message));
    ws.on('close', () => fail('closed by the peer'));
    ws.once('message', (data, isBinary) => {
      const challenge = parse(data, isBinary) as Partial<Challenge> | undefined;
      if (!challenge || challenge.t !== 'challenge' || typeof challenge.nonce !== 'string' || typeof challenge.node !== 'string' || typeof challenge.inc !== 'number') {
        return fail('expected a challenge');
      }
      if (challenge.v !== PROTOCOL_VERSION) return fail(`protocol ${String(challenge.v)} is not ${PROTOCOL_VERSION}`);
      const fields = { v: PROTOCOL_VERSION, node: self.name, inc: self.incarnation, nonce: randomBytes(32).toString('base64') };
      const hello: Hello = { t: 'hello', ...fields, mac: mac(self.secret, 'connector', challenge as Challenge, fields).toString('base64') };
      ws.once('message', (reply, replyBinary) => {
        const welcome = parse(reply, replyBinary) as Partial<Welcome> | undefined;
        if (!welcome || welcome.t !== 'welcome' || !sameMac(mac(self.secret, 'acceptor', challenge as Challenge, fields), welcome.mac)) {
          return fail('the peer could not prove it holds the secret');
        }
        done = true;
        options.clock.clearTimeout(timer);
        ws.removeAllListeners('close');
        resolve(wrap(ws, { name: challenge.node!, incarnation: challenge.inc! }, options.clock));
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
      ws = new WebSocket(url, { maxPayload: options.maxPayload ?? NODE_LINK_DEFAULTS.maxPayload, perMessageDeflate: false });
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
