/**
 * Cluster: this node as a member of a swarm of nodes linked over WebSocket.
 *
 * Owns: accepting and opening node links (one per pair of nodes), joining through seeds
 * (retrying), full-mesh gossip of the member table, heartbeats on every link feeding a
 * phi-accrual detector per peer, the member states (transport/membership.ts), reconnecting
 * with backoff and jitter, declaring a member down (after `downAfterMs` unreachable, or at
 * once when its process is known gone: its link closed and reconnecting is refused), name
 * uniqueness (a second live node with a taken name is refused; a restarted node — new
 * incarnation — replaces the old one once that one's link is gone), remote spawn, and the
 * routes that let refs reach actors on other nodes. What a peer spawned here, and relaying
 * its lifecycle orders to worker threads, is runtime/cluster/hosted-children.ts. Refused
 * handshakes — on either side, with their reason — are kept in `refusals` and logged (at
 * most once a minute per kind and place; runtime/cluster/refusals.ts); member state changes
 * are logged from `members$` by runtime/logging/event-log.ts.
 * Does not own: the wire (transport/node-session.ts, node-link.ts) or supervision decisions.
 * Threads: thread 0 of the node. Time: the system clock only.
 */
import type { Observable } from 'rxjs';
import type { ActorRef } from '../../actors/actor-ref.js';
import type { ExitReason } from '../../actors/exit-reason.js';
import type { Host } from '../../actors/host.js';
import { Codec, UNTRUSTED_BUDGET } from '../../transport/codec.js';
import type { GossipMember, ResPayload, SpawnRequest } from '../../transport/frames.js';
import {
  connectNodeLink,
  listenNodeLinks,
  NODE_LINK_DEFAULTS,
  REFUSAL_CLOSE_CODES,
  type LinkRefusal,
  type NodeLink,
  type NodeLinkOptions,
  type NodeLinkServer,
} from '../../transport/node-link.js';
import type { LinkTls } from '../../transport/link-policy.js';
import { Membership, type Member, type MemberEvent } from '../../transport/membership.js';
import { linkTraffic, type LinkTraffic } from '../../transport/endpoint.js';
import { NodeSession, type SessionHandler } from '../../transport/node-session.js';
import type { NodePeers, PeerRoutes } from '../../transport/peer-routes.js';
import type { Clock, TimerHandle } from '../../actors/foundation/clock.js';
import { ApiaryError, ErrorCodes, serializeError } from '../../actors/foundation/errors.js';
import { HostedChildren } from './hosted-children.js';
import type { ThreadManager } from '../threads/thread-manager.js';
import { PhiAccrual, type PhiOptions } from './phi-accrual.js';
import { CLUSTER_DEFAULTS } from './defaults.js';
import { Refusals, type RefusalSide } from './refusals.js';
import { SILENT_LOGGER, type Logger } from '../logging/logger.js';

/** Close code of a link refused because a live node already has the connecting node's name. */
const NAME_TAKEN = REFUSAL_CLOSE_CODES['name-taken'];

export interface ClusterOptions {
  /**
   * Where to accept node links; omit for a node that only connects out. Without a secret
   * (empty bytes) or, beyond loopback, without `tls`, the system refuses to be made
   * (`ERR_INSECURE_LISTEN`) unless `insecure` (and, without a secret, loopback only even then).
   */
  listen?: { host: string; port: number };
  /** `ws://host:port` or `wss://host:port` of nodes to join through (any live one will do; retried until one answers). */
  seeds?: string[];
  /** The cluster secret (every node holds the same bytes). */
  secret: Uint8Array;
  /**
   * TLS (PEM text or bytes): links are `wss://` — this node's URL, what it gossips, what it
   * accepts — and `wss://` seeds are dialled with it. With `ca`, mutual TLS: peers must
   * present a certificate signed by `ca`, and servers are verified against it.
   */
  tls?: LinkTls;
  /** Allow listening without a secret (loopback only) or in plaintext beyond loopback. Default false. */
  insecure?: boolean;
  /** ms from TCP accept for the upgrade and the handshake; dialling gives up after as long. Default 1000. */
  handshakeTimeoutMs?: number;
  /** Accepted sockets not yet authenticated at once; beyond, new connections are closed at accept. Default 64. */
  maxUnauthenticated?: number;
  /** ms between heartbeats on every link. Default 200. */
  heartbeatMs?: number;
  /** Phi-accrual settings per peer (threshold 8, min std-dev 100 ms, acceptable pause 1000 ms). */
  failureDetector?: Partial<PhiOptions>;
  /** ms a member stays unreachable before it is declared down. Default 10000. */
  downAfterMs?: number;
  /** ms a down member stays listed before it is removed. Default 10000. */
  removeAfterMs?: number;
  /** ms between gossip rounds. Default 1000. */
  gossipMs?: number;
  /** Reconnect backoff: min, max (ms) and ±jitter factor. */
  reconnect?: { minMs?: number; maxMs?: number; randomFactor?: number };
  /** Largest frame accepted, bytes. Default 1 MiB. */
  maxPayload?: number;
  /** Unsent bytes per link before frames wait in its queue. Default 4 MiB. */
  highWaterBytes?: number;
  /** Bytes waiting per link before messages are refused (dead letters `link-overflow`). Default 64 MiB. */
  maxQueuedBytes?: number;
}

type Settings = Required<Omit<ClusterOptions, 'listen' | 'seeds' | 'failureDetector' | 'reconnect' | 'tls' | 'insecure' | 'handshakeTimeoutMs' | 'maxUnauthenticated'>> & {
  failureDetector: PhiOptions;
  reconnect: { minMs: number; maxMs: number; randomFactor: number };
};

export class Cluster implements SessionHandler, NodePeers {
  readonly membership: Membership;
  /** Member state changes. */
  readonly members$: Observable<MemberEvent>;
  /** `ws://host:port` (`wss://` with TLS) this node accepts links on ('' if it does not listen, or before `start`). */
  url = '';
  private readonly sessions = new Map<string, NodeSession>();
  private readonly detectors = new Map<string, PhiAccrual>();
  /** Nodes with a connect or reconnect attempt under way (by name, or by url for seeds). */
  private readonly dialing = new Set<string>();
  /** Frames from other nodes carry no record structures (see codec.ts); refs decode through this node's host. */
  private readonly codec: Codec;
  private readonly settings: Settings;
  private readonly clock: Clock;
  private timer: TimerHandle | undefined;
  private lastTick: number;
  private lastGossip = 0;
  private seq = 0;
  private stopped = false;
  /** Links closed because a frame failed its checks (for metrics and tests). */
  malformedFrames = 0;
  /** Handshakes refused on either side, by reason and recent (for /health, status, metrics). */
  readonly refusals: Refusals;
  /** Frames and bytes over all node links since start, both ways (read by metrics at scrape time). */
  readonly traffic: LinkTraffic = linkTraffic();

  private server: NodeLinkServer | undefined;
  private readonly seeds: string[];

  /**
   * A member-to-be: nothing listens or dials until {@link start}. `routes` are this thread's
   * (a session reaches worker threads through them); `log` gets the refused handshakes.
   */
  constructor(
    readonly host: Host,
    private readonly routes: PeerRoutes,
    private readonly options: ClusterOptions,
    private readonly threads: ThreadManager | undefined,
    private readonly log: Logger = SILENT_LOGGER,
  ) {
    this.clock = host.clock;
    this.refusals = new Refusals(host.clock);
    this.codec = new Codec({ resolveRef: (address, path) => host.resolveRef(address, path) });
    this.seeds = (options.seeds ?? []).filter((s) => s.length > 0);
    const d = CLUSTER_DEFAULTS;
    this.settings = {
      secret: options.secret,
      heartbeatMs: options.heartbeatMs ?? d.heartbeatMs,
      downAfterMs: options.downAfterMs ?? d.downAfterMs,
      removeAfterMs: options.removeAfterMs ?? d.removeAfterMs,
      gossipMs: options.gossipMs ?? d.gossipMs,
      maxPayload: options.maxPayload ?? NODE_LINK_DEFAULTS.maxPayload,
      highWaterBytes: options.highWaterBytes ?? d.highWaterBytes,
      maxQueuedBytes: options.maxQueuedBytes ?? d.maxQueuedBytes,
      failureDetector: { ...d.failureDetector, ...options.failureDetector },
      reconnect: { ...d.reconnect, ...options.reconnect },
    };
    this.membership = new Membership({ node: host.node, incarnation: host.incarnation, url: '' }, this.clock.now());
    this.members$ = this.membership.changes$;
    this.lastTick = this.clock.now();
  }

  /** Listens (if asked) and starts joining through the seeds. */
  async start(): Promise<void> {
    const host = this.host;
    const options = this.options;
    if (options.listen !== undefined) {
      const self = { name: host.node, incarnation: host.incarnation, secret: options.secret };
      this.server = await listenNodeLinks(
        options.listen,
        self,
        { ...this.linkOptions(), insecure: options.insecure === true, maxUnauthenticated: options.maxUnauthenticated },
        (link) => this.adopt(link, true),
        (r) => this.refused('accepting', r),
      );
      this.url = this.server.url;
      this.membership.listeningAt(this.url);
    }
    this.lastTick = this.clock.now();
    this.tick();
    void this.join();
  }

  /** What every link of this node is opened and accepted with (its clock, frame limit, deadline, TLS). */
  private linkOptions(): NodeLinkOptions {
    const o = this.options;
    return { clock: this.clock, maxPayload: this.settings.maxPayload, handshakeTimeoutMs: o.handshakeTimeoutMs, ...(o.tls === undefined ? {} : { tls: o.tls }) };
  }

  // ---- routes (NodePeers) -------------------------------------------------------------------

  /** The live session with that node incarnation (the peer routes use). */
  peer(node: string, incarnation: number): NodeSession | undefined {
    return this.session(node, incarnation);
  }

  sendTerminated(watcher: ActorRef, ref: ActorRef, reason: ExitReason): void {
    this.session(watcher.node, watcher.incarnation)?.sendTerminated(watcher, ref, reason);
  }

  /** Worker thread `thread` of this node died: the watches that crossed through it end. */
  threadDown(thread: number): void {
    for (const s of this.sessions.values()) if (!s.closed) s.threadDown(thread);
  }

  session(node: string, incarnation: number): NodeSession | undefined {
    const s = this.sessions.get(node);
    return s !== undefined && s.peer.incarnation === incarnation && !s.closed ? s : undefined;
  }

  /** Where a child for `node` may go: that node if up, then (failover) the other up members by name. */
  placementCandidates(node: string, placement: 'failover' | 'pinned'): NodeSession[] {
    const up = (name: string) => {
      const m = this.membership.get(name);
      const s = this.sessions.get(name);
      return m?.state === 'up' && s !== undefined && !s.closed && s.link !== undefined ? s : undefined;
    };
    const first = up(node);
    if (placement === 'pinned') return first ? [first] : [];
    const others = this.membership
      .list()
      .filter((m) => !m.self && m.node !== node)
      .map((m) => up(m.node))
      .filter((s): s is NodeSession => s !== undefined);
    return first ? [first, ...others] : others;
  }

  /** The member table as this node sees it. */
  members(): Member[] {
    return this.membership.list();
  }

  // ---- links ------------------------------------------------------------------------------

  /** Handshakes refused on either side, since start, all reasons. */
  get refusedLinks(): number {
    return this.refusals.total;
  }

  /** Keeps a refused handshake and logs it (the first of its kind and place, then once a minute). */
  private refused(side: RefusalSide, r: LinkRefusal): void {
    const { log, unlogged } = this.refusals.record(side, r);
    if (!log || this.stopped) return;
    const fields: Record<string, unknown> = { event: 'link-refused', side, reason: r.reason, peer: r.peer };
    if (r.node !== undefined) fields.peerNode = r.node;
    fields.detail = r.detail;
    if (unlogged > 0) fields.repeats = unlogged;
    const again = unlogged > 0 ? ` (${unlogged} more like it since the last line)` : '';
    const msg =
      side === 'accepting'
        ? `refused a node link from ${r.peer}${r.node === undefined ? '' : ` (says it is ${r.node})`}: ${r.reason}${again}`
        : `node link to ${r.peer}${r.node === undefined ? '' : ` (${r.node})`} refused: ${r.reason}${again}`;
    this.log.warn(msg, fields);
  }

  private async join(): Promise<void> {
    let attempt = 0;
    while (!this.stopped && this.seeds.length > 0 && !this.joined()) {
      for (const url of this.seeds) {
        if (this.stopped || this.joined()) return;
        if (url === this.url) continue;
        await this.dial(url, url);
      }
      if (this.joined() || this.seeds.every((u) => u === this.url)) return;
      await this.wait(this.backoff(attempt++));
    }
  }

  private joined(): boolean {
    for (const s of this.sessions.values()) if (!s.closed && s.link !== undefined) return true;
    return false;
  }

  /** Opens a link to `url`; resolves 'refused' when nothing listens there (the process is gone). */
  private async dial(url: string, key: string): Promise<'ok' | 'refused' | 'failed'> {
    if (this.dialing.has(key)) return 'failed';
    this.dialing.add(key);
    try {
      const link = await connectNodeLink(
        url,
        { name: this.host.node, incarnation: this.host.incarnation, secret: this.settings.secret },
        this.linkOptions(),
        (r) => this.refused('connecting', r),
      );
      if (this.stopped) {
        link.close(1001, 'stopping');
        return 'failed';
      }
      this.adopt(link, false, url);
      return 'ok';
    } catch (err) {
      return /ECONNREFUSED/.test((err as Error).message) ? 'refused' : 'failed';
    } finally {
      this.dialing.delete(key);
    }
  }

  /**
   * An authenticated link to a peer. One link per pair: of two links between the same
   * incarnations, the one opened by the node with the smaller name stays.
   */
  private adopt(link: NodeLink, accepted: boolean, url = ''): void {
    const { name, incarnation } = link.peer;
    const now = this.clock.now();
    if (this.stopped) return link.close(1001, 'stopping');
    const side: RefusalSide = accepted ? 'accepting' : 'connecting';
    const nameTaken = (detail: string): void => {
      this.refused(side, { reason: 'name-taken', peer: link.address, node: name, detail });
      link.close(NAME_TAKEN, 'a live node has this name');
    };
    if (name === this.host.node) return nameTaken("the peer has this node's own name");
    let session = this.sessions.get(name);
    if (session !== undefined && session.peer.incarnation !== incarnation) {
      const live = session.link !== undefined && this.membership.get(name)?.state === 'up';
      if (live || incarnation < session.peer.incarnation) {
        return nameTaken(live ? `a live node (incarnation ${session.peer.incarnation}) has this name` : `a newer incarnation (${session.peer.incarnation}) has this name`);
      }
      this.down(name, 'replaced');
      this.membership.remove(name, now);
      session = undefined;
    }
    if (session !== undefined && session.link !== undefined) {
      const initiator = (l: 'old' | 'new') => (l === 'new' ? (accepted ? name : this.host.node) : session!.openedBy);
      if (initiator('old') <= initiator('new')) return link.close(4000, 'duplicate link');
      session.link.close(4000, 'duplicate link');
    }
    if (session === undefined) {
      session = new NodeSession(
        this.host,
        this.routes,
        this.codec,
        { name, incarnation },
        this,
        {
          highWaterBytes: this.settings.highWaterBytes,
          maxQueuedBytes: this.settings.maxQueuedBytes,
          budget: { ...UNTRUSTED_BUDGET, maxBytes: this.settings.maxPayload },
          traffic: this.traffic,
        },
        (s) => new HostedChildren(this.host, this.routes, this.threads, s.endpoint),
      );
      this.sessions.set(name, session);
      this.detectors.set(name, new PhiAccrual(this.settings.failureDetector, this.settings.heartbeatMs));
    }
    session.openedBy = accepted ? name : this.host.node;
    const known = this.membership.get(name);
    this.membership.set(name, incarnation, url || (known?.incarnation === incarnation ? known.url : ''), known?.state === 'up' ? 'up' : 'joining', now);
    const s = session;
    link.onClose((code) => this.linkLost(s, link, code, side));
    s.attach(link);
    s.endpoint.sendGossip(this.membership.gossip());
    s.endpoint.sendHeartbeat(++this.seq);
  }

  private linkLost(session: NodeSession, link: NodeLink, code: number, side: RefusalSide): void {
    if (session.link !== link) return; // a replaced duplicate
    session.detach();
    if (session.closed || this.stopped) return;
    const name = session.peer.name;
    if (code === NAME_TAKEN) {
      // the peer refused us: a live node already has our name there
      this.refused(side, { reason: 'name-taken', peer: link.address, node: name, detail: 'the peer refused this node: a live node already has its name there' });
      this.down(name, 'replaced');
      this.membership.remove(name, this.clock.now());
      return;
    }
    const m = this.membership.get(name);
    if (m !== undefined && m.incarnation === session.peer.incarnation && (m.state === 'up' || m.state === 'joining')) {
      this.membership.set(name, m.incarnation, m.url, 'unreachable', this.clock.now());
    }
    void this.reconnect(session);
  }

  private async reconnect(session: NodeSession): Promise<void> {
    const name = session.peer.name;
    for (let attempt = 0; !this.stopped && !session.closed && session.link === undefined; attempt++) {
      const url = this.membership.get(name)?.url ?? '';
      if (url === '') return; // it connects to us, or the failure detector gives up on it
      const result = await this.dial(url, name);
      if (result === 'refused' && session.link === undefined && !session.closed) {
        // nothing listens where it did: the process is gone
        return this.markDown(name);
      }
      if (session.link !== undefined || session.closed) return;
      await this.wait(this.backoff(attempt));
    }
  }

  private backoff(attempt: number): number {
    const { minMs, maxMs, randomFactor } = this.settings.reconnect;
    const base = Math.min(maxMs, minMs * 2 ** attempt);
    return base * (1 + randomFactor * (2 * this.clock.random() - 1));
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  // ---- SessionHandler ---------------------------------------------------------------------

  heartbeat(session: NodeSession): void {
    const name = session.peer.name;
    this.detectors.get(name)?.heartbeat(this.clock.now());
    const m = this.membership.get(name);
    if (m !== undefined && m.incarnation === session.peer.incarnation && (m.state === 'joining' || m.state === 'unreachable')) {
      this.membership.set(name, m.incarnation, m.url, 'up', this.clock.now());
    }
  }

  gossip(session: NodeSession, members: GossipMember[]): void {
    const now = this.clock.now();
    for (const g of members) {
      if (g.node === this.host.node) continue;
      const known = this.membership.get(g.node);
      if (known !== undefined && known.incarnation >= g.incarnation) {
        if (known.url === '' && g.url !== '' && known.incarnation === g.incarnation) known.url = g.url;
        continue;
      }
      if (known !== undefined && this.sessions.get(g.node)?.link !== undefined) continue; // a live node keeps its name
      if (g.state === 'down' || g.state === 'removed' || g.url === '') continue;
      this.membership.set(g.node, g.incarnation, g.url, 'joining', now);
      // the node with the smaller name opens the link (one link per pair)
      if (this.host.node < g.node || this.url === '') void this.dial(g.url, g.node);
    }
    void session;
  }

  spawn(session: NodeSession, req: SpawnRequest): Promise<ResPayload> {
    if (session.closed) return Promise.resolve({ ok: false, error: serializeError(new ApiaryError(ErrorCodes.NODE_DOWN, `node ${session.peer.name} is down`)) });
    return (session.hosted as HostedChildren).fromPeer(req);
  }

  malformed(session: NodeSession, err: unknown): void {
    this.malformedFrames++;
    this.host.emit({ type: 'failed', path: `/node-link/${session.peer.name}`, reason: { error: serializeError(err) }, at: this.clock.now() });
    session.link?.close(1008, 'malformed frame');
  }

  // ---- heartbeats, failure detection, gossip -----------------------------------------------

  private tick(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    // this node's own event loop stalled (a long GC, SIGSTOP): the silence was ours, not theirs
    const selfPaused = now - this.lastTick > this.settings.heartbeatMs + this.settings.failureDetector.acceptablePauseMs / 2;
    this.lastTick = now;
    this.seq++;
    for (const s of this.sessions.values()) if (s.link !== undefined) s.endpoint.sendHeartbeat(this.seq);
    if (now - this.lastGossip >= this.settings.gossipMs) {
      this.lastGossip = now;
      const view = this.membership.gossip();
      for (const s of this.sessions.values()) if (s.link !== undefined) s.endpoint.sendGossip(view);
    }
    if (!selfPaused) this.detect(now);
    this.timer = this.clock.setTimeout(() => this.tick(), this.settings.heartbeatMs);
  }

  private detect(now: number): void {
    for (const m of this.membership.list()) {
      if (m.self) continue;
      if (m.state === 'up') {
        const phi = this.detectors.get(m.node)?.phi(now) ?? 0;
        if (phi > this.settings.failureDetector.threshold) this.membership.set(m.node, m.incarnation, m.url, 'unreachable', now);
      } else if (m.state === 'unreachable' && now - m.since >= this.settings.downAfterMs) {
        this.markDown(m.node);
      } else if (m.state === 'joining' && !this.sessions.has(m.node) && now - m.since >= this.settings.downAfterMs) {
        this.membership.remove(m.node, now); // heard of, never reached
      } else if (m.state === 'down' && now - m.since >= this.settings.removeAfterMs) {
        this.membership.remove(m.node, now);
      }
    }
  }

  /** Declares `node` down: its session closes (node-down for watchers, asks, children). */
  private markDown(node: string): void {
    const m = this.membership.get(node);
    if (m === undefined || m.state === 'down') return;
    this.membership.set(node, m.incarnation, m.url, 'down', this.clock.now());
    this.down(node, 'down');
  }

  private down(node: string, _why: 'down' | 'replaced'): void {
    const session = this.sessions.get(node);
    this.sessions.delete(node);
    this.detectors.delete(node);
    session?.close();
  }

  /** Leaves: closes every link and the listener. Members see this node's links close. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    for (const s of this.sessions.values()) s.link?.close(1001, 'node stopping');
    await this.server?.close();
    this.membership.complete();
  }
}
