/**
 * Topics: cluster-wide publish/subscribe over named groups of actors — Erlang/OTP's `pg`
 * (process groups: join, leave, members, each node the authority on its own members) with
 * Akka Distributed Pub-Sub's `publish` on top.
 *
 * Owns: this node's table — its own subscribers by topic (actors of this node, any thread;
 * each watched once, dropped from every topic when it dies) and what every other member
 * last told about its own subscribers — and the protocol between nodes, carried by one
 * runtime-service actor per node ({@link TopicScope}, registered as {@link TOPIC_SCOPE_NAME},
 * the one internal actor peers may address besides user actors):
 * - a member coming up is looked up and sent `discover`; a `discover` from a node not known
 *   yet is answered with one back; every `discover` is answered with `sync`, this node's whole
 *   table of its own subscribers (so both sides end up with each other's);
 * - a subscribe or unsubscribe here is sent to every known peer as `join` / `leave`; links
 *   are FIFO, so a peer applies this node's changes in the order they were made;
 * - a member down or removed takes its subscribers with it; a new incarnation starts afresh.
 * Publishing: to this node's subscribers directly, and one message per other node that has
 * subscribers of the topic (as this node last heard), whose scope fans it out to its own —
 * with the publisher's `sender` kept. At most once, as `tell`; per publisher and subscriber
 * in order (one link, one scope, FIFO).
 * Bounds: topic names of 1–256 characters; at most `maxTopics` topics with subscribers here
 * and per peer, `maxSubscribers` subscribers per topic here and per peer; a peer's entries
 * past those, or naming actors not on that peer, are dropped and counted
 * (`rejectedFromPeers`). A peer may only speak for its own actors.
 * Actors on any thread use it through {@link topicsOf} (asks and tells to the node's scope).
 * Does not own: membership (cluster.ts: `members$`), watching (the system's `watch`), the
 * HTTP route (runtime/admin).
 * Threads: thread 0 of a node (its `system.topics`). Time: none.
 */
import type { Observable, Subscription } from 'rxjs';
import { Actor, type ActorContext } from '../../actors/actor.js';
import type { ActorRef } from '../../actors/actor-ref.js';
import type { ExitReason } from '../../actors/exit-reason.js';
import { ApiaryError, ErrorCodes, type ErrorCode } from '../../actors/foundation/errors.js';
import type { MemberEvent } from '../../transport/membership.js';

/** The bounds of a node's topics table. */
export interface TopicLimits {
  /** Longest topic name, characters. */
  maxTopicLength: number;
  /** Topics with subscribers on one node (here, and as told by each peer). */
  maxTopics: number;
  /** Subscribers of one topic on one node (here, and as told by each peer). */
  maxSubscribers: number;
}

/** Defaults of topics (OTP's `pg` has no limits; these bound what a peer can make a node hold). */
export const TOPIC_DEFAULTS: Readonly<TopicLimits> = Object.freeze({
  /** Longest topic name, characters. */
  maxTopicLength: 256,
  /** Topics with subscribers on one node (here, and as told by each peer). */
  maxTopics: 10_000,
  /** Subscribers of one topic on one node (here, and as told by each peer). */
  maxSubscribers: 100_000,
});

/** The registered name of every node's topics scope. */
export const TOPIC_SCOPE_NAME = '$apiary.topics';

/** One topic as `topics()` lists it. */
export interface TopicInfo {
  topic: string;
  /** Subscribers on this node. */
  local: number;
  /** Subscribers on each other node, as it last told this one. */
  nodes: Record<string, number>;
}

/** What `publish` did: tells queued to this node's subscribers, messages sent to other nodes' scopes. */
export interface PublishResult {
  local: number;
  nodes: number;
}

/** The messages between scopes (plain data and refs). */
type ScopeMessage =
  | { $t: 'discover'; node: string; incarnation: number; scope: ActorRef }
  | { $t: 'sync'; node: string; incarnation: number; topics: [string, ActorRef[]][] }
  | { $t: 'join' | 'leave'; node: string; incarnation: number; topic: string; refs: ActorRef[] }
  | { $t: 'publish'; topic: string; message: unknown }
  // from an actor of this node (any thread), through topicsOf(context)
  | { $t: 'subscribe' | 'unsubscribe'; topic: string; ref: ActorRef }
  | { $t: 'publish-all'; topic: string; message: unknown };

/** The scope's answer to a subscribe or unsubscribe asked by an actor of this node. */
type ScopeAnswer = { ok: true; value?: unknown } | { ok: false; code: string; message: string; field?: string };

/** Subscribers of one topic on one node, by {@link keyOf}: adding, finding and removing one is O(1). */
type Members = Map<string, ActorRef>;

interface Peer {
  incarnation: number;
  /** Its scope, once it told (discover) or was looked up. */
  scope: ActorRef | undefined;
  topics: Map<string, Members>;
}

/** What {@link Topics} needs of its node. */
export interface TopicsHost {
  readonly node: string;
  readonly incarnation: number;
  /** Resolves with the exit reason when `ref` dies (the system's `watch`). */
  watch(ref: ActorRef): Promise<ExitReason>;
  /** The topics scope registered on `node`, or undefined (the system's `lookupOn`). */
  lookupScope(node: string): Promise<ActorRef | undefined>;
  /** Member changes of the cluster; undefined outside one. */
  readonly members$: Observable<MemberEvent> | undefined;
}

const keyOf = (ref: ActorRef): string => `${ref.node}#${ref.incarnation}/${ref.thread}/${ref.id}`;

export class Topics {
  private readonly local = new Map<string, Members>();
  /** The topics each subscriber of this node is in, by {@link keyOf}: what its death removes. */
  private readonly topicsOfRef = new Map<string, Set<string>>();
  /** Refs of this node watched (once each, for as long as they live). */
  private readonly watching = new Set<string>();
  private readonly peers = new Map<string, Peer>();
  private readonly limits: TopicLimits;
  private scope: ActorRef | undefined;
  private readonly subscription: Subscription | undefined;
  private closed = false;
  /** Entries of peers' messages dropped: malformed, past a bound, or naming actors not on that peer. */
  rejectedFromPeers = 0;

  constructor(
    private readonly host: TopicsHost,
    limits: Partial<TopicLimits> = {},
  ) {
    this.limits = { ...TOPIC_DEFAULTS, ...limits };
    this.subscription = host.members$?.subscribe((e) => this.memberChanged(e));
  }

  /** Called once the scope actor runs: from now on peers are discovered and told. */
  attach(scope: ActorRef, upNow: readonly string[]): void {
    this.scope = scope;
    for (const node of upNow) void this.discover(node);
  }

  /**
   * Adds `ref` — an actor of this node, on any thread — to `topic` (once: subscribing again
   * changes nothing) and tells every peer. It leaves every topic when it dies. Throws
   * `ERR_INVALID_ARGUMENT` (`field` `topic` or `ref`) for a bad name or an actor elsewhere,
   * `ERR_LIMIT_REACHED` past `maxTopics` / `maxSubscribers`.
   */
  subscribe(topic: string, ref: ActorRef): void {
    this.checkTopic(topic);
    if (ref === null || typeof ref !== 'object' || typeof ref.tell !== 'function') throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'subscribe needs an ActorRef', { field: 'ref' });
    if (ref.node !== this.host.node || ref.incarnation !== this.host.incarnation) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `${ref.path} is on node ${ref.node}: subscribe an actor of this node (its own node subscribes the others)`, { field: 'ref' });
    }
    const key = keyOf(ref);
    let members = this.local.get(topic);
    if (members?.has(key)) return;
    if (members === undefined && this.local.size >= this.limits.maxTopics) {
      throw new ApiaryError(ErrorCodes.LIMIT_REACHED, `this node has subscribers on ${this.local.size} topics, the most it keeps (maxTopics)`, { field: 'topic' });
    }
    if (members !== undefined && members.size >= this.limits.maxSubscribers) {
      throw new ApiaryError(ErrorCodes.LIMIT_REACHED, `topic ${topic} has ${members.size} subscribers on this node, the most it keeps (maxSubscribers)`, { field: 'ref' });
    }
    if (members === undefined) this.local.set(topic, (members = new Map()));
    members.set(key, ref);
    let topics = this.topicsOfRef.get(key);
    if (topics === undefined) this.topicsOfRef.set(key, (topics = new Set()));
    topics.add(topic);
    this.watchOnce(key, ref);
    this.broadcast({ $t: 'join', node: this.host.node, incarnation: this.host.incarnation, topic, refs: [ref] });
  }

  /** Removes `ref` from `topic` and tells every peer; false if it was not subscribed. */
  unsubscribe(topic: string, ref: ActorRef): boolean {
    if (!this.removeLocal(topic, ref)) return false;
    this.broadcast({ $t: 'leave', node: this.host.node, incarnation: this.host.incarnation, topic, refs: [ref] });
    return true;
  }

  /**
   * Tells `message` to every subscriber of `topic`: this node's directly, each other node's
   * through one message to that node's scope. At most once (as `tell`); in order per publisher
   * and subscriber. `sender` reaches the subscribers as `context.sender`. Throws
   * `ERR_INVALID_ARGUMENT` for a bad topic name.
   */
  publish(topic: string, message: unknown, options: { sender?: ActorRef } = {}): PublishResult {
    this.checkTopic(topic);
    const local = this.deliverLocally(topic, message, options.sender);
    let nodes = 0;
    for (const peer of this.peers.values()) {
      if (peer.scope === undefined || !peer.topics.has(topic)) continue;
      peer.scope.tell({ $t: 'publish', topic, message }, options.sender === undefined ? undefined : { sender: options.sender });
      nodes++;
    }
    return { local, nodes };
  }

  /** Every subscriber of `topic` this node knows of: its own first, then each peer's as last told. */
  subscribers(topic: string): ActorRef[] {
    const out = [...(this.local.get(topic)?.values() ?? [])];
    for (const peer of this.peers.values()) out.push(...(peer.topics.get(topic)?.values() ?? []));
    return out;
  }

  /** Every topic with subscribers anywhere (as this node knows), sorted by name. */
  topics(): TopicInfo[] {
    const all = new Map<string, TopicInfo>();
    const info = (topic: string): TopicInfo => {
      let i = all.get(topic);
      if (i === undefined) all.set(topic, (i = { topic, local: 0, nodes: {} }));
      return i;
    };
    for (const [topic, refs] of this.local) info(topic).local = refs.size;
    for (const [node, peer] of this.peers) for (const [topic, refs] of peer.topics) info(topic).nodes[node] = refs.size;
    return [...all.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  }

  /** Stops listening to membership; later subscribes still work locally. */
  close(): void {
    this.closed = true;
    this.subscription?.unsubscribe();
  }

  /**
   * A message for the scope actor: from a peer's scope, or from an actor of this node
   * ({@link topicsOf}); answers what an actor's subscribe or unsubscribe asked for.
   */
  received(msg: unknown, sender: ActorRef | undefined): ScopeAnswer | undefined {
    if (msg === null || typeof msg !== 'object') return undefined;
    const m = msg as ScopeMessage;
    switch (m.$t) {
      case 'publish':
        if (typeof m.topic === 'string') this.deliverLocally(m.topic, m.message, sender);
        return undefined;
      case 'subscribe':
      case 'unsubscribe':
      case 'publish-all':
        return this.forActor(m, sender);
      case 'discover':
        this.onDiscover(m);
        return undefined;
      case 'sync':
        this.onSync(m);
        return undefined;
      case 'join':
      case 'leave':
        this.onChange(m);
        return undefined;
      default:
        this.rejectedFromPeers++;
        return undefined;
    }
  }

  /** A subscribe, unsubscribe or publish an actor of this node asked for; a refusal is answered, never thrown. */
  private forActor(m: Extract<ScopeMessage, { $t: 'subscribe' | 'unsubscribe' | 'publish-all' }>, sender: ActorRef | undefined): ScopeAnswer {
    try {
      if (m.$t === 'publish-all') return { ok: true, value: this.publish(m.topic, m.message, sender === undefined ? {} : { sender }) };
      if (m.$t === 'subscribe') {
        this.subscribe(m.topic, m.ref);
        return { ok: true };
      }
      return { ok: true, value: this.unsubscribe(m.topic, m.ref) };
    } catch (err) {
      if (!(err instanceof ApiaryError)) throw err;
      return { ok: false, code: err.code, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) };
    }
  }

  private deliverLocally(topic: string, message: unknown, sender: ActorRef | undefined): number {
    const members = this.local.get(topic);
    if (members === undefined) return 0;
    const options = sender === undefined ? undefined : { sender };
    let n = 0;
    for (const ref of members.values()) if (ref.tell(message, options)) n++;
    return n;
  }

  private checkTopic(topic: string): void {
    if (typeof topic !== 'string' || topic.length === 0 || topic.length > this.limits.maxTopicLength) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `a topic is a name of 1 to ${this.limits.maxTopicLength} characters`, { field: 'topic' });
    }
  }

  private watchOnce(key: string, ref: ActorRef): void {
    if (this.watching.has(key)) return;
    this.watching.add(key);
    void this.host.watch(ref).then(() => {
      this.watching.delete(key);
      for (const topic of [...(this.topicsOfRef.get(key) ?? [])]) {
        if (this.removeLocal(topic, ref)) this.broadcast({ $t: 'leave', node: this.host.node, incarnation: this.host.incarnation, topic, refs: [ref] });
      }
    });
  }

  private removeLocal(topic: string, ref: ActorRef): boolean {
    const key = keyOf(ref);
    const members = this.local.get(topic);
    if (members === undefined || !members.delete(key)) return false;
    if (members.size === 0) this.local.delete(topic);
    const topics = this.topicsOfRef.get(key);
    topics?.delete(topic);
    if (topics?.size === 0) this.topicsOfRef.delete(key);
    return true;
  }

  private broadcast(msg: ScopeMessage): void {
    if (this.scope === undefined) return; // not attached yet: `sync` will carry it
    for (const peer of this.peers.values()) peer.scope?.tell(msg);
  }

  private memberChanged(e: MemberEvent): void {
    if (e.node === this.host.node || this.closed) return;
    if (e.state === 'up') {
      const known = this.peers.get(e.node);
      if (known === undefined || known.incarnation !== e.incarnation || known.scope === undefined) void this.discover(e.node);
    } else if (e.state === 'down' || e.state === 'removed') {
      const known = this.peers.get(e.node);
      if (known !== undefined && known.incarnation <= e.incarnation) this.peers.delete(e.node);
    }
  }

  /** Looks up `node`'s scope and sends it `discover` (it answers with `sync`). */
  private async discover(node: string): Promise<void> {
    const self = this.scope;
    if (self === undefined) return;
    let scope: ActorRef | undefined;
    try {
      scope = await this.host.lookupScope(node);
    } catch {
      return; // not up any more, or stopping: a later `up` discovers it again
    }
    if (scope === undefined || this.closed) return; // its scope is not running yet: it discovers this node when it starts
    this.peerOf(node, scope.incarnation).scope = scope;
    scope.tell({ $t: 'discover', node: this.host.node, incarnation: this.host.incarnation, scope: self });
  }

  /** The entry of `node` at `incarnation`: made, or made afresh when the incarnation is newer. */
  private peerOf(node: string, incarnation: number): Peer {
    let peer = this.peers.get(node);
    if (peer === undefined || peer.incarnation < incarnation) this.peers.set(node, (peer = { incarnation, scope: undefined, topics: new Map() }));
    return peer;
  }

  /** A message from `node` that is not from its current incarnation or a node name at all: ignored. */
  private fromPeer(m: { node?: unknown; incarnation?: unknown }): Peer | undefined {
    if (typeof m.node !== 'string' || m.node === this.host.node || !Number.isSafeInteger(m.incarnation)) {
      this.rejectedFromPeers++;
      return undefined;
    }
    const known = this.peers.get(m.node);
    if (known !== undefined && known.incarnation > (m.incarnation as number)) return undefined; // an old incarnation's late word
    return this.peerOf(m.node, m.incarnation as number);
  }

  private onDiscover(m: Extract<ScopeMessage, { $t: 'discover' }>): void {
    const peer = this.fromPeer(m);
    if (peer === undefined || this.scope === undefined) return;
    if (!isRefOn(m.scope, m.node, m.incarnation)) {
      this.rejectedFromPeers++;
      return;
    }
    const isNew = peer.scope === undefined;
    peer.scope = m.scope;
    if (isNew) m.scope.tell({ $t: 'discover', node: this.host.node, incarnation: this.host.incarnation, scope: this.scope });
    m.scope.tell({ $t: 'sync', node: this.host.node, incarnation: this.host.incarnation, topics: [...this.local].map(([t, refs]) => [t, [...refs.values()]]) });
  }

  private onSync(m: Extract<ScopeMessage, { $t: 'sync' }>): void {
    const peer = this.fromPeer(m);
    if (peer === undefined) return;
    peer.topics.clear();
    if (!Array.isArray(m.topics)) {
      this.rejectedFromPeers++;
      return;
    }
    for (const entry of m.topics) {
      if (!Array.isArray(entry)) {
        this.rejectedFromPeers++;
        continue;
      }
      this.addRemote(peer, m.node, entry[0], entry[1]);
    }
  }

  private onChange(m: Extract<ScopeMessage, { $t: 'join' | 'leave' }>): void {
    const peer = this.fromPeer(m);
    if (peer === undefined) return;
    if (m.$t === 'join') return this.addRemote(peer, m.node, m.topic, m.refs);
    if (typeof m.topic !== 'string' || !Array.isArray(m.refs)) {
      this.rejectedFromPeers++;
      return;
    }
    const members = peer.topics.get(m.topic);
    if (members === undefined) return;
    for (const gone of m.refs) if (isRef(gone)) members.delete(keyOf(gone));
    if (members.size === 0) peer.topics.delete(m.topic);
  }

  /** Adds a peer's subscribers of `topic`, within the bounds; anything else is counted and dropped. */
  private addRemote(peer: Peer, node: string, topic: unknown, refs: unknown): void {
    if (typeof topic !== 'string' || topic.length === 0 || topic.length > this.limits.maxTopicLength || !Array.isArray(refs)) {
      this.rejectedFromPeers++;
      return;
    }
    let members = peer.topics.get(topic);
    if (members === undefined) {
      if (peer.topics.size >= this.limits.maxTopics) {
        this.rejectedFromPeers++;
        return;
      }
      peer.topics.set(topic, (members = new Map()));
    }
    for (const ref of refs) {
      if (!isRefOn(ref, node, peer.incarnation) || members.size >= this.limits.maxSubscribers) {
        this.rejectedFromPeers++;
        continue;
      }
      members.set(keyOf(ref), ref);
    }
    if (members.size === 0) peer.topics.delete(topic);
  }
}

function isRef(v: unknown): v is ActorRef {
  return v !== null && typeof v === 'object' && typeof (v as ActorRef).tell === 'function' && typeof (v as ActorRef).equals === 'function';
}

function isRefOn(v: unknown, node: string, incarnation: number): v is ActorRef {
  return isRef(v) && v.node === node && v.incarnation === incarnation;
}

/** The scope actor of a node: hands what peers and this node's actors send to its {@link Topics}. */
export class TopicScope extends Actor<unknown, unknown> {
  constructor(private readonly topics: Topics) {
    super();
  }

  receive(msg: unknown): unknown {
    return this.topics.received(msg, this.context.sender);
  }
}

/** Topics as an actor uses them ({@link topicsOf}). */
export interface ActorTopics {
  /** Subscribes this actor to `topic`; resolves once this node's table has it (peers hear of it next). Rejects as `system.topics.subscribe` throws. */
  subscribe(topic: string): Promise<void>;
  /** Unsubscribes this actor from `topic`; resolves false if it was not subscribed. */
  unsubscribe(topic: string): Promise<boolean>;
  /**
   * Publishes `message` to every subscriber of `topic` on every node, with this actor as the
   * sender — a tell to this node's topics scope, which publishes it (in order after this
   * actor's earlier publishes). Throws `ERR_INVALID_ARGUMENT` for a bad topic name; false if
   * the scope did not take it (a dead letter).
   */
  publish(topic: string, message: unknown): boolean;
}

/**
 * Topics from inside an actor, on any thread of a node (Akka's `DistributedPubSub.mediator`):
 * its own subscriptions and publishing go through the node's topics scope on thread 0
 * (`$apiary.topics`, found by `context.lookup`). Call it in `started()` or `receive`.
 * Throws `ERR_UNSUPPORTED` if this node has no topics scope (a system made before topics).
 *
 * ```ts
 * class Watcher extends Actor {
 *   async started() { await topicsOf(this.context).subscribe('prices'); }
 *   receive(msg) { … }
 * }
 * ```
 */
export function topicsOf(context: ActorContext): ActorTopics {
  const scope = context.lookup(TOPIC_SCOPE_NAME);
  if (scope === undefined) throw new ApiaryError(ErrorCodes.UNSUPPORTED, `${context.path}: this node has no topics scope`);
  const self = context.self;
  const ask = async (msg: ScopeMessage): Promise<unknown> => {
    const answer = (await scope.ask(msg, { sender: self })) as ScopeAnswer;
    if (!answer.ok) throw new ApiaryError(answer.code as ErrorCode, answer.message, answer.field === undefined ? {} : { field: answer.field });
    return answer.value;
  };
  return {
    subscribe: async (topic) => void (await ask({ $t: 'subscribe', topic, ref: self })),
    unsubscribe: async (topic) => (await ask({ $t: 'unsubscribe', topic, ref: self })) as boolean,
    publish: (topic, message) => {
      if (typeof topic !== 'string' || topic.length === 0 || topic.length > TOPIC_DEFAULTS.maxTopicLength) {
        throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `a topic is a name of 1 to ${TOPIC_DEFAULTS.maxTopicLength} characters`, { field: 'topic' });
      }
      return scope.tell({ $t: 'publish-all', topic, message }, { sender: self });
    },
  };
}
