/**
 * Gossip checks: what of a peer's member list this node may believe and act on.
 *
 * Owns: the shape of a believable gossip entry — a node name within limits (letters,
 * digits, `.`, `_`, `-`, up to 64, as the config schema allows), an incarnation that is a
 * positive safe integer, a URL that is a well-formed `ws://host:port` or `wss://host:port`
 * (no path, query, user info; port 1–65535; at most 300 characters) or '' (a node that
 * does not listen), and a known state — and the dial budget that bounds how fast this node
 * opens links to members it has only heard of (a token bucket).
 * The frame around the list is checked earlier (transport/frame-checks.ts); an entry that
 * fails here is skipped and counted, the link stays (the peer is authenticated; a newer
 * version may gossip more).
 * Does not own: what an accepted entry does (runtime/cluster/cluster.ts).
 * Threads: thread 0. Time: `now` from the caller's clock.
 */
import type { GossipMember } from '../../transport/frames.js';

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NODE_URL = /^wss?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?):(\d{1,5})\/?$/;
const STATES = new Set(['joining', 'up', 'unreachable', 'down']);
const MAX_URL_LENGTH = 300;

/** True for a node name a peer may tell of. */
export function validNodeName(node: unknown): boolean {
  return typeof node === 'string' && NODE_NAME.test(node);
}

/** True for '' or a `ws://host:port` / `wss://host:port` URL this node would dial. */
export function validNodeUrl(url: unknown): url is string {
  if (typeof url !== 'string') return false;
  if (url === '') return true;
  if (url.length > MAX_URL_LENGTH) return false;
  const m = NODE_URL.exec(url);
  if (m === null) return false;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535;
}

/** True for a gossip entry whose every field is believable. */
export function validGossipMember(g: GossipMember): boolean {
  return validNodeName(g.node) && Number.isSafeInteger(g.incarnation) && g.incarnation > 0 && validNodeUrl(g.url) && STATES.has(g.state);
}

/**
 * A token bucket: at most `perSecond` takes per second on average, `perSecond` at once.
 * Bounds the links opened to members heard of by gossip (an invented member is dialled at
 * most at this rate).
 */
export class DialBudget {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = perSecond;
    this.last = now;
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
