/**
 * Cluster: this node as a member of a swarm of nodes linked over WebSocket.
 *
 * Owns: accepting and opening node links (one per pair of nodes), full-mesh gossip of the
 * member table, heartbeats on every link feeding a phi-accrual detector per peer, the member
 * states (transport/membership.ts), reconnecting with backoff and jitter, name uniqueness
 * (a second live node with a taken name is refused; a restarted node — new incarnation —
 * replaces the old one once that one's link is gone), remote spawn, and the routes that let
 * refs reach actors on other nodes. And, so that the cluster heals and has one truth:
 * - Healing: seeds and the URLs of members lost after a handshake are dialled again with
 *   backoff while nobody is up there (runtime/cluster/redials.ts), so a seed restarted with
 *   the same command line converges with the others.
 * - Downing: a member is downed by the split-brain resolver (runtime/cluster/split-brain.ts:
 *   keep-majority by default, after the view has been stable for `downAfterMs`), or at once
 *   when its process is known gone (its link closed and reconnecting is refused). A downed
 *   incarnation is finished cluster-wide: it becomes a tombstone (tombstones.ts) that gossip
 *   spreads, whoever holds it downs that incarnation too, and its handshake is refused with
 *   the reason `quarantined` (close code 4010) if it comes back.
 * - Rejoining: a node that learns it was downed — refused or closed as `quarantined`, its own
 *   incarnation in a tombstone, or the resolver downing its own side — closes every session
 *   (what it ran for other nodes stops; its children placed elsewhere exit `node-down`),
 *   takes a new incarnation and dials its seeds and former members again. Refs keep the
 *   host's incarnation inside the node; the codec of node links sends this node's refs under
 *   the member incarnation and takes refs to the finished one as dead.
 * - Bounded gossip: entries are checked (gossip-checks.ts), members only heard of are kept
 *   up to `maxMembers`, dialled at most `dialsPerSecond`, never passed on (a member is `up`
 *   only after its own handshake and heartbeats here), and this node's own gossip stays
 *   within the receiver's frame check.
 * - A loopback (loopback.ts) where failover children go when no other member is up.
 * - A test-only link fault injector (link-faults.ts), present only with APIARY_TEST_FAULTS=1.
 * What a peer spawned here, and relaying its lifecycle orders to worker threads, is
 * runtime/cluster/hosted-children.ts. Refused handshakes — on either side, with their
 * reason — are kept in `refusals` and logged (at most once a minute per kind and place;
 * runtime/cluster/refusals.ts); member state changes are logged from `members$` by
 * runtime/logging/event-log.ts.
 * Does not own: the wire (transport/node-session.ts, node-link.ts) or supervision decisions.
 * Threads: thread 0 of the node. Time: the system clock only (its random for jitter).
 */
import type { Observable } from 'rxjs';
import type { ActorRef } from '../../actors/actor-ref.js';
import type { Address } from '../../actors/address.js';
import type { ExitReason } from '../../actors/exit-reason.js';
import type { Host } from '../../actors/host.js';
import { Codec, UNTRUSTED_BUDGET } from '../../transport/codec.js';
import { MAX_GOSSIP_MEMBERS } from '../../transport/frame-checks.js';
import type { GossipMember, ResPayload, SpawnRequest } from '../../transport/frames.js';
import {
  connectNodeLink,
  listenNodeLinks,
  NODE_LINK_DEFAULTS,
  REFUSAL_CLOSE_CODES,
  type LinkRefusal,
  type NodeIdentity,
  type NodeLink,
  type NodeLinkOptions,
  type NodeLinkServer,
} from '../../transport/node-link.js';
import { dialRefusal, linkScheme, type LinkTls } from '../../transport/link-policy.js';
import { DNS_SEED_DEFAULTS, parseDnsSeed, resolveDnsSeed, type DnsSeed } from './dns-seeds.js';
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
import { SplitBrainResolver, type DowningStrategy, type ViewMember } from './split-brain.js';
import { Tombstones } from './tombstones.js';
import { Redials } from './redials.js';
import { DialBudget, validGossipMember, validNodeName } from './gossip-checks.js';
import { LinkFaults, testFaultsEnabled } from './link-faults.js';
import { advertisedUrl } from './advertise.js';
import { Loopback } from './loopback.js';

/** Close code of a link refused because a live node already has the connecting node's name. */
const NAME_TAKEN = REFUSAL_CLOSE_CODES['name-taken'];
/** Close code of a link to a downed incarnation: it is finished, and told so. */
const QUARANTINED = REFUSAL_CLOSE_CODES.quarantined;

export interface ClusterOptions {
  /**
   * Where to accept node links; omit for a node that only connects out. Without a secret
   * (empty bytes) or, beyond loopback, without `tls`, the system refuses to be made
   * (`ERR_INSECURE_LISTEN`) unless `insecure` (and, without a secret, loopback only even then).
   */
  listen?: { host: string; port: number };
  /**
   * `HOST:PORT` other nodes dial to reach this one (what it gossips), when it differs from
   * `listen`: behind NAT, in a container, or listening on `0.0.0.0` (without it, a wildcard
   * listen address advertises this machine's first non-internal address).
   */
  advertise?: string;
  /**
   * `ws://host:port` or `wss://host:port` of nodes to join through (any live one will do; each
   * dialled again while nobody is up there), or `dns:NAME:PORT`: every address NAME resolves to
   * (a Kubernetes headless Service), resolved again every `dnsRefreshMs`.
   */
  seeds?: string[];
  /** How often `dns:NAME:PORT` seeds are resolved again, ms (default 5000). */
  dnsRefreshMs?: number;
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
  /**
   * ms the set of unreachable members must stay unchanged before the downing strategy acts
   * (with `downing: 'off'`: ms a member stays unreachable before this node downs it). Default 10000.
   */
  downAfterMs?: number;
  /** What to do with members that stay unreachable (see CLUSTER_DEFAULTS.downing). Default `keep-majority`. */
  downing?: DowningStrategy;
  /** The side that keeps waits this much longer before it downs the others, ms. Default 2000. */
  downRemovalMarginMs?: number;
  /** `static-quorum`: members a side needs to keep running (0: more than half of the known members). */
  quorumSize?: number;
  /** ms a down member stays listed before it is removed. Default 10000. */
  removeAfterMs?: number;
  /** ms between gossip rounds. Default 1000. */
  gossipMs?: number;
  /** Reconnect backoff: min, max (ms) and ±jitter factor. */
  reconnect?: { minMs?: number; maxMs?: number; randomFactor?: number };
  /** Healing: backoff of the dials to lost members (seeds use `reconnect`'s), and when a lost member's URL is forgotten, ms. */
  rejoin?: { minMs?: number; maxMs?: number; forgetAfterMs?: number };
  /** Members kept in the table; members heard of by gossip past it are ignored. Default 256. */
  maxMembers?: number;
  /** Links opened per second to members heard of by gossip. Default 10. */
  dialsPerSecond?: number;
  /** Downed incarnations remembered (one per name). Default 256. */
  maxTombstones?: number;
  /** ms a downed incarnation is remembered. Default 24 h. */
  tombstoneMs?: number;
  /** Largest frame accepted, bytes. Default 1 MiB. */
  maxPayload?: number;
  /** Unsent bytes per link before frames wait in its queue. Default 4 MiB. */
  highWaterBytes?: number;
  /** Bytes waiting per link before messages are refused (dead letters `link-overflow`). Default 64 MiB. */
  maxQueuedBytes?: number;
}

type Settings = Required<Omit<ClusterOptions, 'listen' | 'advertise' | 'seeds' | 'dnsRefreshMs' | 'failureDetector' | 'reconnect' | 'rejoin' | 'tls' | 'insecure' | 'handshakeTimeoutMs' | 'maxUnauthenticated'>> & {
  failureDetector: PhiOptions;
  reconnect: { minMs: number; maxMs: number; randomFactor: number };
  rejoin: { minMs: number; maxMs: number; forgetAfterMs: number };
};

export class Cluster implements SessionHandler, NodePeers {
  readonly membership: Membership;
  /** Member state changes. */
  readonly members$: Observable<MemberEvent>;
  /** `ws://host:port` (`wss://` with TLS) this node accepts links on ('' if it does not listen, or before `start`). */
  url = '';
  /**
   * The test-only link fault injector: present only when the process runs with
   * `APIARY_TEST_FAULTS=1` (and `NODE_ENV` is not `production`); undefined otherwise.
   */
  readonly faults: LinkFaults | undefined;
  private readonly sessions = new Map<string, NodeSession>();
  private readonly detectors = new Map<string, PhiAccrual>();
  /** Nodes with a connect or reconnect attempt under way (by name, or by url for redials). */
  private readonly dialing = new Set<string>();
  /** Frames from other nodes carry no record structures (see codec.ts); refs decode through this node's host. */
  private readonly codec: Codec;
  private readonly settings: Settings;
  private readonly clock: Clock;
  /** Who this node is on node links: its name and member incarnation (new after a rejoin). */
  private readonly identity: NodeIdentity;
  private readonly tombstones: Tombstones;
  private readonly redials: Redials;
  private readonly dialBudget: DialBudget;
  private readonly resolver: SplitBrainResolver;
  /** Members only heard of: when each may be dialled again. */
  private readonly heardOfDialAt = new Map<string, number>();
  /** `node@incarnation` of the members that have been `up` here (only they count for the downing strategy). */
  private readonly wasUp = new Set<string>();
  private loop: Loopback | undefined;
  private timer: TimerHandle | undefined;
  private lastTick: number;
  private lastGossip = 0;
  private seq = 0;
  private stopped = false;
  /** Links closed because a frame failed its checks (for metrics and tests). */
  malformedFrames = 0;
  /** Gossip entries skipped: not well formed (bad name, URL, incarnation or state). */
  gossipRejected = 0;
  /** Gossip entries about new members ignored because the table was full (`maxMembers`). */
  gossipIgnored = 0;
  /** Times this node learnt it was downed and rejoined as a new incarnation. */
  rejoins = 0;
  /** Handshakes refused on either side, by reason and recent (for /health, status, metrics). */
  readonly refusals: Refusals;
  /** Frames and bytes over all node links since start, both ways (read by metrics at scrape time). */
  readonly traffic: LinkTraffic = linkTraffic();

  private server: NodeLinkServer | undefined;

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
    const now = this.clock.now();
    this.refusals = new Refusals(host.clock);
    this.identity = { name: host.node, incarnation: host.incarnation, secret: options.secret };
    this.codec = new Codec({
      resolveRef: (address, path) => host.resolveRef(this.received(address), path),
      sendAddress: (address) => this.sent(address),
    });
    const d = CLUSTER_DEFAULTS;
    this.settings = {
      secret: options.secret,
      heartbeatMs: options.heartbeatMs ?? d.heartbeatMs,
      downAfterMs: options.downAfterMs ?? d.downAfterMs,
      downing: options.downing ?? d.downing,
      downRemovalMarginMs: options.downRemovalMarginMs ?? d.downRemovalMarginMs,
      quorumSize: options.quorumSize ?? d.quorumSize,
      removeAfterMs: options.removeAfterMs ?? d.removeAfterMs,
      gossipMs: options.gossipMs ?? d.gossipMs,
      maxMembers: options.maxMembers ?? d.maxMembers,
      dialsPerSecond: options.dialsPerSecond ?? d.dialsPerSecond,
      maxTombstones: options.maxTombstones ?? d.maxTombstones,
      tombstoneMs: options.tombstoneMs ?? d.tombstoneMs,
      maxPayload: options.maxPayload ?? NODE_LINK_DEFAULTS.maxPayload,
      highWaterBytes: options.highWaterBytes ?? d.highWaterBytes,
      maxQueuedBytes: options.maxQueuedBytes ?? d.maxQueuedBytes,
      failureDetector: { ...d.failureDetector, ...options.failureDetector },
      reconnect: { ...d.reconnect, ...options.reconnect },
      rejoin: { ...d.rejoin, ...options.rejoin },
    };
    const st = this.settings;
    this.tombstones = new Tombstones(st.maxTombstones, st.tombstoneMs);
    this.dnsSeeds = (options.seeds ?? []).flatMap((s) => parseDnsSeed(s) ?? []);
    this.redials = new Redials(
      { ...st.rejoin, seedMinMs: st.reconnect.minMs, seedMaxMs: st.reconnect.maxMs, randomFactor: st.reconnect.randomFactor, limit: st.maxMembers },
      (options.seeds ?? []).filter((s) => s.length > 0 && parseDnsSeed(s) === undefined),
      now,
      () => this.clock.random(),
    );
    this.dialBudget = new DialBudget(st.dialsPerSecond, now);
    this.resolver = new SplitBrainResolver({ strategy: st.downing, stableAfterMs: st.downAfterMs, marginMs: st.downRemovalMarginMs, quorumSize: st.quorumSize }, now);
    this.faults = testFaultsEnabled() ? new LinkFaults() : undefined;
    this.membership = new Membership({ node: host.node, incarnation: host.incarnation, url: '' }, now);
    this.members$ = this.membership.changes$;
    this.lastTick = now;
  }

  /** Listens (if asked) and starts joining through the seeds. */
  async start(): Promise<void> {
    const host = this.host;
    const options = this.options;
    if (options.listen !== undefined) {
      this.server = await listenNodeLinks(
        options.listen,
        this.identity,
        { ...this.linkOptions(), insecure: options.insecure === true, maxUnauthenticated: options.maxUnauthenticated },
        (link) => this.adopt(link, true),
        (r) => this.refused('accepting', r),
      );
      try {
        this.url = advertisedUrl(this.server.url, options.advertise);
      } catch (err) {
        await this.server.close();
        this.server = undefined;
        throw err;
      }
      this.membership.listeningAt(this.url);
    }
    if (this.faults !== undefined) {
      this.log.warn('test fault injection is enabled (APIARY_TEST_FAULTS=1): links to other nodes can be cut on command; never run a production node like this', {
        event: 'test-faults',
      });
    }
    this.lastTick = this.clock.now();
    this.tick();
    if (this.dnsSeeds.length > 0) await this.resolveDnsSeeds();
  }

  /** `dns:NAME:PORT` seeds, resolved at start and every `dnsRefreshMs` into seeds of {@link redials}. */
  private readonly dnsSeeds: DnsSeed[];
  private dnsTimer: TimerHandle | undefined;

  private async resolveDnsSeeds(): Promise<void> {
    const scheme = linkScheme(this.options.tls);
    const urls: string[] = [];
    for (const seed of this.dnsSeeds) {
      try {
        urls.push(...(await resolveDnsSeed(seed, scheme, this.url)));
      } catch (err) {
        this.log.warn(`dns seed ${seed.name}:${seed.port} did not resolve: ${(err as Error).message}`, { event: 'dns-seed-failed', seed: `${seed.name}:${seed.port}` });
      }
    }
    if (this.stopped) return;
    this.redials.setDnsSeeds(urls, this.clock.now());
    this.heal(this.clock.now());
    this.dnsTimer = this.clock.setTimeout(() => void this.resolveDnsSeeds(), this.options.dnsRefreshMs ?? DNS_SEED_DEFAULTS.refreshMs);
  }

  /** This node's incarnation as a member (its start time; new after it rejoined). */
  get incarnation(): number {
    return this.identity.incarnation;
  }

  /** Downed incarnations remembered here (one per name). */
  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  /** The addresses this node dials while nobody is up there (seeds, lost members). */
  redialTargets(): { url: string; seed: boolean; node: string | undefined }[] {
    return this.redials.list();
  }

  // ---- refs across a rejoin -------------------------------------------------------------------

  /** The address a ref of this node is sent with: its member incarnation. */
  private sent(a: Address): Address {
    const inc = this.identity.incarnation;
    const host = this.host;
    if (inc === host.incarnation || a.node !== host.node || a.incarnation !== host.incarnation) return a;
    return { node: a.node, incarnation: inc, thread: a.thread, id: a.id };
  }

  /** A received address: this node's member incarnation is its own; its finished incarnation is nobody's. */
  private received(a: Address): Address {
    const inc = this.identity.incarnation;
    const host = this.host;
    if (a.node !== host.node || inc === host.incarnation) return a;
    if (a.incarnation === inc) return { node: a.node, incarnation: host.incarnation, thread: a.thread, id: a.id };
    // a ref into an incarnation of this node that was downed: it stays dead
    if (a.incarnation === host.incarnation) return { node: a.node, incarnation: -1, thread: a.thread, id: a.id };
    return a;
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

  /**
   * This node as a placement target (failover with no other member up): a session whose
   * spawns run here. Undefined once the cluster stopped.
   */
  loopback(): NodeSession | undefined {
    if (this.stopped) return undefined;
    this.loop ??= new Loopback(this.host, this.routes, this.threads);
    return this.loop.session;
  }

  /**
   * The actors other nodes spawned here and that still run, by the node that spawned them
   * (failover children among them): what this node stops when it learns it was downed.
   */
  hosted(): { node: string; thread: number; id: number; path?: string }[] {
    const out: { node: string; thread: number; id: number; path?: string }[] = [];
    for (const [node, s] of this.sessions) {
      if (!s.closed) for (const a of (s.hosted as HostedChildren).list()) out.push({ node, ...a });
    }
    return out;
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

  /** The name last seen at `url` (a redial target's answer, or a member's). */
  private nodeAt(url: string): string | undefined {
    const t = this.redials.list().find((r) => r.url === url);
    if (t?.node !== undefined) return t.node;
    return this.membership.list().find((m) => !m.self && m.url === url)?.node;
  }

  /**
   * Opens a link to `url`; 'refused' when nothing listens there (the process is gone),
   * 'failed' for anything else (unreachable, a refused handshake, a test fault).
   */
  private async dial(url: string, key: string): Promise<'ok' | 'refused' | 'failed'> {
    if (this.dialing.has(key)) return 'failed';
    if (dialRefusal(url, this.options.insecure === true) !== undefined) {
      // a gossiped ws:// address beyond loopback (seeds were checked at construction): never dialled
      this.refused('connecting', { reason: 'plaintext', peer: url, ...(key === url ? {} : { node: key }), detail: 'a plaintext (ws://) node link beyond loopback: not dialled (TLS on both nodes, or insecure: true)' });
      return 'failed';
    }
    const faults = this.faults;
    if (faults !== undefined) {
      const node = this.membership.get(key) !== undefined ? key : this.nodeAt(url);
      if (node !== undefined && faults.isCut(node)) return 'failed';
    }
    this.dialing.add(key);
    try {
      const link = await connectNodeLink(
        url,
        { name: this.identity.name, incarnation: this.identity.incarnation, secret: this.identity.secret },
        this.linkOptions(),
        (r) => this.refused('connecting', r),
      );
      if (this.stopped) {
        link.close(1001, 'stopping');
        return 'failed';
      }
      this.redials.answered(url, link.peer.name);
      if (faults?.isCut(link.peer.name)) {
        link.close(1001, 'cut by a test fault');
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
   * incarnations, the one opened by the node with the smaller name stays. A downed
   * incarnation is refused (`quarantined`).
   */
  private adopt(raw: NodeLink, accepted: boolean, url = ''): void {
    const { name, incarnation } = raw.peer;
    const now = this.clock.now();
    if (this.stopped) return raw.close(1001, 'stopping');
    if (this.faults?.isCut(name)) return raw.close(1001, 'cut by a test fault');
    const side: RefusalSide = accepted ? 'accepting' : 'connecting';
    const nameTaken = (detail: string): void => {
      this.refused(side, { reason: 'name-taken', peer: raw.address, node: name, detail });
      raw.close(NAME_TAKEN, 'a live node has this name');
    };
    if (name === this.host.node) return nameTaken("the peer has this node's own name");
    if (!validNodeName(name)) {
      this.refused(side, { reason: 'malformed', peer: raw.address, node: name.slice(0, 100), detail: 'the peer\'s name is not a node name (letters, digits, . _ -; up to 64)' });
      return raw.close(REFUSAL_CLOSE_CODES.malformed, 'not a node name');
    }
    if (this.tombstones.quarantined(name, incarnation)) {
      this.refused(side, { reason: 'quarantined', peer: raw.address, node: name, detail: `${name} incarnation ${incarnation} was downed in the cluster: it may not come back (a new incarnation may)` });
      return raw.close(QUARANTINED, 'quarantined: this incarnation was downed');
    }
    const link = this.faults === undefined ? raw : this.faults.wrap(raw);
    let session = this.sessions.get(name);
    if (session !== undefined && session.peer.incarnation !== incarnation) {
      const live = session.link !== undefined && this.membership.get(name)?.state === 'up';
      if (live || incarnation < session.peer.incarnation) {
        return nameTaken(live ? `a live node (incarnation ${session.peer.incarnation}) has this name` : `a newer incarnation (${session.peer.incarnation}) has this name`);
      }
      this.replaced(name);
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
    this.heardOfDialAt.delete(name);
    session.openedBy = accepted ? name : this.host.node;
    const known = this.membership.get(name);
    this.membership.set(name, incarnation, url || (known?.incarnation === incarnation ? known.url : ''), known?.state === 'up' ? 'up' : 'joining', now);
    const s = session;
    link.onClose((code) => this.linkLost(s, link, code, side));
    s.attach(link);
    s.endpoint.sendGossip(this.gossipView());
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
      this.closeSession(name);
      this.membership.remove(name, this.clock.now());
      return;
    }
    if (code === QUARANTINED) {
      // the peer downed this incarnation of ours (or learnt that someone did)
      this.refused(side, { reason: 'quarantined', peer: link.address, node: name, detail: `the peer refused this node: its incarnation ${this.identity.incarnation} was downed in the cluster` });
      return this.rejoin(`refused as quarantined by ${name}`);
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
        return this.markDown(name, 'its process is gone (reconnecting was refused)');
      }
      if (session.link !== undefined || session.closed) return;
      await this.wait(this.backoff(attempt));
    }
  }

  private backoff(attempt: number): number {
    const { minMs, maxMs, randomFactor } = this.settings.reconnect;
    const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
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
      this.wasUp.add(`${name}@${m.incarnation}`);
      this.membership.set(name, m.incarnation, m.url, 'up', this.clock.now());
    }
  }

  gossip(session: NodeSession, members: GossipMember[]): void {
    const now = this.clock.now();
    const from = session.peer.name;
    for (const g of members) {
      if (!validGossipMember(g)) {
        this.gossipRejected++;
        continue;
      }
      if (g.state === 'down') {
        this.learnDown(g.node, g.incarnation, g.url, from);
        if (session.closed) return; // this node rejoined
        continue;
      }
      if (g.node === this.host.node || this.tombstones.quarantined(g.node, g.incarnation)) continue;
      const known = this.membership.get(g.node);
      if (known !== undefined && known.incarnation >= g.incarnation) {
        if (known.url === '' && g.url !== '' && known.incarnation === g.incarnation) known.url = g.url;
        continue;
      }
      if (known !== undefined) {
        // a newer incarnation of a member this node knows
        if (this.sessions.get(g.node)?.link !== undefined) continue; // a live node keeps its name
        if (this.sessions.has(g.node)) this.replaced(g.node);
        else this.membership.remove(g.node, now);
      }
      // only members the peer has a handshake with; a member is up here only after its own
      if ((g.state !== 'up' && g.state !== 'unreachable') || g.url === '') continue;
      if (this.membership.size >= this.settings.maxMembers) {
        this.gossipIgnored++;
        continue;
      }
      this.membership.set(g.node, g.incarnation, g.url, 'joining', now);
      this.dialHeardOf(g.node, g.url, now);
    }
  }

  /**
   * Dials a member only heard of, within the dial budget: the node with the smaller name
   * opens the link (one link per pair), or this node when it does not listen.
   */
  private dialHeardOf(node: string, url: string, now: number): void {
    if (!(this.host.node < node || this.url === '') || this.dialing.has(node) || url === this.url) return;
    if ((this.heardOfDialAt.get(node) ?? 0) > now) return;
    if (!this.dialBudget.take(now)) return;
    this.heardOfDialAt.set(node, now + this.settings.reconnect.maxMs);
    void this.dial(url, node);
  }

  /** A peer says `node`@`incarnation` is down: it is finished here too (or this node rejoins, if it is this one). */
  private learnDown(node: string, incarnation: number, url: string, from: string): void {
    if (node === this.host.node && incarnation >= this.identity.incarnation) {
      return this.rejoin(`${from} says this node (incarnation ${this.identity.incarnation}) is down`);
    }
    if (!this.tombstones.add(node, incarnation, url, this.clock.now())) return;
    const m = this.membership.get(node);
    if (m !== undefined && m.incarnation <= incarnation && m.state !== 'down') this.markDown(node, `${from} downed it`);
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

  // ---- heartbeats, failure detection, gossip, downing, healing -------------------------------

  /** What this node gossips: itself, the members it has a handshake with, the tombstones — never more than a receiver accepts. */
  private gossipView(): GossipMember[] {
    const members = this.membership.gossip(Math.min(this.settings.maxMembers, MAX_GOSSIP_MEMBERS));
    const room = Math.max(0, Math.min(this.settings.maxTombstones, MAX_GOSSIP_MEMBERS - members.length));
    return members.concat(this.tombstones.gossip(room));
  }

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
      this.tombstones.expire(now);
      const view = this.gossipView();
      for (const s of this.sessions.values()) if (s.link !== undefined) s.endpoint.sendGossip(view);
    }
    if (selfPaused) this.resolver.reset(now);
    else this.detect(now);
    if (!this.stopped) this.heal(now);
    this.timer = this.clock.setTimeout(() => this.tick(), this.settings.heartbeatMs);
  }

  private detect(now: number): void {
    for (const m of this.membership.list()) {
      if (m.self) continue;
      if (m.state === 'up') {
        const phi = this.detectors.get(m.node)?.phi(now) ?? 0;
        if (phi > this.settings.failureDetector.threshold) this.membership.set(m.node, m.incarnation, m.url, 'unreachable', now);
      } else if (m.state === 'joining' && !this.sessions.has(m.node) && now - m.since >= this.settings.downAfterMs) {
        this.membership.remove(m.node, now); // heard of, never reached
      } else if (m.state === 'unreachable' && !this.wasUp.has(`${m.node}@${m.incarnation}`) && now - m.since >= this.settings.downAfterMs) {
        // linked once, never up, gone since: forgotten, not downed (it never counted)
        this.closeSession(m.node);
        this.membership.remove(m.node, now);
      } else if (m.state === 'down' && now - m.since >= this.settings.removeAfterMs) {
        this.membership.remove(m.node, now);
      }
    }
    this.downing(now);
  }

  /** The downing strategy's turn: down the unreachable members, or this node itself. */
  private downing(now: number): void {
    const strategy = this.settings.downing;
    const members = this.membership.list().filter((m) => !m.self && (m.state === 'up' || (m.state === 'unreachable' && this.wasUp.has(`${m.node}@${m.incarnation}`))));
    if (strategy === 'off') {
      for (const m of members) if (m.state === 'unreachable' && now - m.since >= this.settings.downAfterMs) this.markDown(m.node, `unreachable for ${this.settings.downAfterMs} ms`);
      return;
    }
    const view: ViewMember[] = [{ node: this.host.node, incarnation: this.identity.incarnation, reachable: true }];
    for (const m of members) view.push({ node: m.node, incarnation: m.incarnation, reachable: m.state === 'up' });
    const decision = this.resolver.check(view, now);
    if (decision === 'none') return;
    const unreachable = members.filter((m) => m.state === 'unreachable');
    if (decision === 'down-self') {
      return this.rejoin(`the split-brain resolver (${strategy}) downed this node's side: it reaches ${view.length - unreachable.length} of ${view.length} members`);
    }
    for (const m of unreachable) this.markDown(m.node, `the split-brain resolver (${strategy}) kept this side: ${view.length - unreachable.length} of ${view.length} members`);
  }

  /** Dials the seeds and lost members nobody is up at, and members only heard of (within the dial budget). */
  private heal(now: number): void {
    const isUp = (node: string) => node === this.host.node || (this.membership.get(node)?.state === 'up' && this.sessions.get(node)?.link !== undefined);
    const upUrls = new Set<string>([this.url]);
    for (const m of this.membership.list()) if (m.state === 'up' && m.url !== '') upUrls.add(m.url);
    for (const url of this.redials.due(now, isUp, (u) => upUrls.has(u))) void this.dial(url, url);
    for (const node of this.heardOfDialAt.keys()) if (this.membership.get(node)?.state !== 'joining') this.heardOfDialAt.delete(node);
    for (const m of this.membership.list()) {
      if (m.state === 'joining' && !this.sessions.has(m.node) && m.url !== '') this.dialHeardOf(m.node, m.url, now);
    }
  }

  /**
   * Declares `node` down: its incarnation becomes a tombstone (gossiped; refused if it comes
   * back), it is told so if its link still works (close code 4010), its session closes
   * (node-down for watchers, asks, children), and its URL is dialled again for a successor.
   */
  private markDown(node: string, why: string): void {
    const m = this.membership.get(node);
    if (m === undefined || m.state === 'down' || m.self) return;
    const now = this.clock.now();
    this.tombstones.add(node, m.incarnation, m.url, now);
    this.log.warn(`downed ${node} (incarnation ${m.incarnation}): ${why}`, { event: 'downed', peerNode: node, incarnation: m.incarnation, reason: why });
    this.membership.set(node, m.incarnation, m.url, 'down', now);
    this.redials.lost(m.url, node, now);
    this.closeSession(node, QUARANTINED);
  }

  /** `node` restarted (a newer incarnation): the old one is finished (a tombstone) and removed. */
  private replaced(node: string): void {
    const m = this.membership.get(node);
    const s = this.sessions.get(node);
    const now = this.clock.now();
    if (s !== undefined) this.tombstones.add(node, s.peer.incarnation, m?.url ?? '', now);
    this.closeSession(node);
    this.membership.remove(node, now);
  }

  /** Closes the session with `node` (telling it why with `code`, if its link still works). */
  private closeSession(node: string, code?: number): void {
    const session = this.sessions.get(node);
    this.sessions.delete(node);
    this.detectors.delete(node);
    if (session === undefined) return;
    this.wasUp.delete(`${node}@${session.peer.incarnation}`);
    if (code !== undefined) session.link?.close(code, 'quarantined: this incarnation was downed');
    session.close();
  }

  /**
   * This node learnt it was downed: its incarnation is finished. Every session closes (what
   * it ran for other nodes stops; its own children placed elsewhere exit `node-down`), the
   * member table is cleared (their URLs are dialled again), and it rejoins as a new
   * incarnation.
   */
  private rejoin(why: string): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const old = this.identity.incarnation;
    const next = Math.max(old + 1, Math.floor(this.clock.wallTime()));
    this.rejoins++;
    this.log.warn(`this node was downed (${why}): it stops what it ran for other nodes and rejoins as incarnation ${next}`, {
      event: 'rejoin',
      reason: why,
      incarnation: old,
      newIncarnation: next,
    });
    this.tombstones.add(this.host.node, old, this.url, now);
    const others = this.membership.list().filter((m) => !m.self);
    // dialled again: the members it had a link with, never those only heard of
    for (const m of others) if (m.state !== 'joining' || this.sessions.has(m.node)) this.redials.lost(m.url, m.node, now);
    for (const name of [...this.sessions.keys()]) this.closeSession(name);
    for (const m of others) this.membership.remove(m.node, now);
    this.heardOfDialAt.clear();
    this.identity.incarnation = next;
    this.membership.reincarnate(next, now);
    this.resolver.reset(now);
    this.redials.hurry(now);
  }

  /** Leaves: closes every link and the listener. Members see this node's links close. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.dnsTimer);
    for (const s of this.sessions.values()) s.link?.close(1001, 'node stopping');
    this.loop?.close();
    await this.server?.close();
    this.membership.complete();
  }
}
