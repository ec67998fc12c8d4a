/**
 * ActorSystem: one apiary node as its users see it.
 *
 * Owns: spawning top-level actors and supervisors, stopping everything in reverse start
 * order, the tree snapshot, kills, names and `events$` (and, given a `logger`, logging
 * them: runtime/logging/event-log.ts). Does not own: message delivery
 * (actors/) or restart policy (supervisor/).
 * Threads: the system lives on the thread that creates it (thread 0), with supervisors and
 * any actor placed there; `ActorSystem.start()` also starts worker threads (1…N) that host
 * actors placed on them (see runtime/threads/thread-manager.ts).
 * Time: the injected clock (default: the real one).
 */
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { ActorClass, ArgsOfClass, RefOf } from '../../actors/actor.js';
import { ActorCell } from '../../actors/actor-cell.js';
import { ActorRef } from '../../actors/actor-ref.js';
import type { SystemEvent } from '../../actors/events.js';
import type { ExitReason } from '../../actors/exit-reason.js';
import { Host } from '../../actors/host.js';
import { isSupervisorSpec, type SupervisorSpec } from '../../supervisor/child-spec.js';
import { Supervisor } from '../../supervisor/supervisor.js';
import { SupervisorRef } from '../../supervisor/supervisor-ref.js';
import { snapshotCell, type TreeSnapshot } from '../../supervisor/tree.js';
import { stopWithin, type Shutdown } from '../../actors/shutdown.js';
import { RealClock, type Clock } from '../../actors/foundation/clock.js';
import { availableParallelism } from 'node:os';
import { Actor, isTerminated, type Terminated } from '../../actors/actor.js';
import type { ChildHandle } from '../../actors/child-handle.js';
import { formatAddress } from '../../actors/address.js';
import { errorFrom } from '../../transport/frames.js';
import { PeerRoutes } from '../../transport/peer-routes.js';
import { threadSpinner } from '../../transport/spinner.js';
import { RemoteChild } from './remote-child.js';
import { ThreadPlacement } from '../threads/thread-placement.js';
import { NodePlacement } from '../cluster/node-placement.js';
import type { HostConnections, PlacedChildRequest } from '../../actors/routes.js';
import { startPool, type Pool, type PoolOptions } from '../threads/pool.js';
import { ThreadManager } from '../threads/thread-manager.js';
import type { ActorSystemOptions, NodeHealth, SystemSpawnOptions } from './system-options.js';
import type { Heartbeat } from '../observability/heartbeat.js';
import type { MetricsSnapshot } from '../observability/node-stats.js';
import { Observability } from '../observability/observability.js';
import { mergeHistograms, type HistogramData } from '../../actors/foundation/latency-histogram.js';
import { worst, type HealthStatus, type ThreadHealth } from '../observability/health.js';
import { DEFAULTS } from './defaults.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { Cluster } from '../cluster/cluster.js';
import type { Member, MemberEvent } from '../../transport/membership.js';
import { SILENT_LOGGER, type Logger } from '../logging/logger.js';
import { logEvents } from '../logging/event-log.js';
import { checkSystemOptions } from '../config/schema.js';
import { LiveSettings } from '../config/live-settings.js';
import { DEFAULT_RULES } from '../observability/alerts.js';
import { isStore, openStore } from '../persistence/open-store.js';
import type { Store, StoreSpec } from '../persistence/store.js';
import type { WorkflowHost, WorkflowSource } from './workflow-source.js';
import { TOPIC_SCOPE_NAME, TopicScope, Topics } from '../cluster/topics.js';
import { Singletons, type SingletonHost } from '../cluster/singletons.js';
import { Entities, type EntitiesHost } from '../cluster/entities.js';

export type { ActorSystemOptions, NodeHealth, SystemSpawnOptions };

export class ActorSystem implements WorkflowHost {
  readonly name: string;
  readonly clock: Clock;
  /** @internal */
  readonly host: Host;
  /** Lifecycle events: started, stopped, failed, restarted, escalated, supervisor-decision, dead-letter. */
  readonly events$: Observable<SystemEvent>;
  private stopping: Promise<void> | undefined;
  private readonly shutdowns = new WeakMap<object, Shutdown>();
  /** Worker threads; undefined for a single-thread system. */
  readonly threads: ThreadManager | undefined;
  /** Top-level actors that run on worker threads, in spawn order. */
  private readonly remoteTop = new Set<RemoteChild>();

  /** Watches actors on other threads for {@link watch} (threaded systems only). */
  private readonly watcherCell: ActorCell | undefined;
  private readonly waiters: Waiters = new Map();
  private readonly observability: Observability;
  /** Every thread's heartbeats (after `ready()`): event-loop lag, utilization, load. */
  readonly heartbeats$: Observable<Heartbeat>;
  /** A snapshot of the node's vital numbers every `metricsMs` (after `ready()`). */
  readonly metrics$: Observable<MetricsSnapshot>;
  /** Cluster member state changes (joining, up, unreachable, down, removed), after `ready()`. */
  readonly members$: Observable<MemberEvent>;
  private readonly memberEvents = new Subject<MemberEvent>();
  /** This node's routes beyond thread 0. */
  private readonly routes: PeerRoutes;
  /** The cluster, made with the system; `cluster` once it listens and joins (after `ready()`). */
  private readonly clusterNode: Cluster | undefined;
  /** The cluster this node is a member of (after `ready()` with `cluster`). */
  cluster: Cluster | undefined;
  /** Where this node logs (silent unless the `logger` option gave one); apps may log through it too. */
  readonly logger: Logger;
  private readonly eventLog: Subscription | undefined;
  /**
   * The settings that change while the node runs (alert rules and channels, named rate
   * limits and degradation settings); a config reload updates them, followers pick it up.
   */
  readonly settings: LiveSettings;
  private readonly storeOption: StoreSpec | Store | undefined;
  private openedStore: Store | undefined;

  /**
   * A system on this thread only; with `threads: N` (N > 0) call {@link ready} — or use
   * {@link ActorSystem.start} — before placing actors on worker threads.
   * Throws `ERR_INVALID_ARGUMENT` (`field`: the first bad option, e.g. `threads`) when an
   * option is out of range; nothing is started then.
   */
  constructor(options: ActorSystemOptions = {}) {
    checkSystemOptions(options);
    this.settings = new LiveSettings({
      alerts: { rules: options.alerts?.rules ?? DEFAULT_RULES, channels: options.alerts?.channels ?? [] },
      rateLimits: options.rateLimits,
      degradation: options.degradation,
    });
    this.name = options.name ?? DEFAULTS.nodeName;
    this.storeOption = options.store;
    if (options.store !== undefined && isStore(options.store)) this.openedStore = options.store;
    this.clock = options.clock ?? new RealClock();
    const incarnation = options.incarnation ?? (options.cluster ? Math.floor(this.clock.wallTime()) : 1);
    const events = new Subject<SystemEvent>();
    this.logger = options.logger ?? SILENT_LOGGER;
    let wired: { routes: PeerRoutes; threads: ThreadManager | undefined; cluster: Cluster | undefined } | undefined;
    this.host = new Host({
      ...options,
      node: this.name,
      incarnation,
      thread: 0,
      clock: this.clock,
      events,
      store: () => this.store, // issue 15: persistent actors on thread 0 find the node's store here
      connect: (host) => (wired = this.connect(host, options)).connections,
    });
    this.routes = wired!.routes;
    this.threads = wired!.threads;
    this.clusterNode = wired!.cluster;
    this.members$ = this.memberEvents.asObservable();
    this.events$ = events.asObservable();
    if (this.logger !== SILENT_LOGGER) this.eventLog = logEvents(this.logger, this);
    this.startedAt = this.clock.now();
    this.observability = new Observability(this, options);
    this.heartbeats$ = this.observability.heartbeats$;
    this.metrics$ = this.observability.metrics$;
    if (this.threads !== undefined || options.cluster !== undefined) {
      this.watcherCell = this.host.createCell(SystemWatcher, { args: this.waiters }, { segment: WATCHER_NAME, internal: true });
      void this.watcherCell.startNow();
    }
    const host = this.host;
    this.topics = new Topics({
      node: this.name,
      get incarnation() {
        return host.incarnation;
      },
      watch: (ref) => this.watch(ref),
      lookupScope: (node) => this.lookupOn(node, TOPIC_SCOPE_NAME),
      members$: options.cluster === undefined ? undefined : this.members$,
    });
    // the node's topics scope: what actors on any thread reach by name (topicsOf), and the one runtime service peers address
    this.topics.attach(this.startService(TOPIC_SCOPE_NAME, TopicScope, this.topics, '$topics'), []);
    // what singletons and sharded entities need of this node
    const services: SingletonHost & EntitiesHost = {
      name: this.name,
      get incarnation() {
        return host.incarnation;
      },
      clock: this.clock,
      topics: this.topics,
      store: () => this.openedStore,
      service: (name, actor, args) => this.startService(name, actor, args),
      spawnSupervisor: (spec, name) => this.spawn(spec, { name }),
      watch: (ref) => this.watch(ref),
      kill: (ref, reason) => this.kill(ref, reason),
      stopActor: (ref) => this.stopActor(ref),
      lookup: (name) => this.lookup(name),
      lookupOn: (node, name) => this.lookupOn(node, name),
    };
    this.singletons = new Singletons(services);
    this.entities = new Entities(services);
  }

  /** Makes and starts a runtime service actor on this thread: internal (not in the tree), registered under `name`, addressable by peers. */
  private startService(name: string, actor: ActorClass, args: unknown, segment = name): ActorRef {
    const cell = this.host.createCell(actor, { args, name }, { segment, internal: true, service: true });
    void cell.startNow();
    return cell.ref;
  }

  /**
   * Cluster-wide publish/subscribe (OTP `pg` groups with a `publish`): subscribe actors of this
   * node to named topics, publish to every subscriber on every node (runtime/cluster/topics.ts).
   */
  readonly topics: Topics;

  /**
   * Actors that run on one node at a time, guarded by a lease on the node's store
   * (runtime/cluster/singletons.ts): `start(name, Actor)` on every node that may run it,
   * `ref(name)` to reach it wherever it runs.
   */
  readonly singletons: Singletons;

  /**
   * Sharded entities (Akka Cluster Sharding, Orleans' virtual actors): `define(type, Actor)` on
   * every node that may run them, `ref(type, id)` to reach one wherever it runs
   * (runtime/cluster/entities.ts).
   */
  readonly entities: Entities;

  /**
   * How thread 0 reaches beyond itself, made with the host: its routes (peers of the worker
   * threads and, in a cluster, of the other nodes), the thread manager, the cluster (not yet
   * listening), and where supervised children placed elsewhere come from.
   */
  private connect(
    host: Host,
    options: ActorSystemOptions,
  ): { routes: PeerRoutes; threads: ThreadManager | undefined; cluster: Cluster | undefined; connections: HostConnections } {
    const hasThreads = (options.threads ?? 0) > 0;
    let cluster: Cluster | undefined;
    const spinner = hasThreads
      ? threadSpinner(host.dispatcher, options, () => {
          for (const p of routes.threadPeers()) p.endpoint.flush();
        })
      : undefined;
    const nodes =
      options.cluster === undefined
        ? undefined
        : { peer: (node: string, incarnation: number) => cluster?.peer(node, incarnation), sendTerminated: (...a: Parameters<Cluster['sendTerminated']>) => cluster?.sendTerminated(...a) };
    const routes = new PeerRoutes(host, { spinner, nodes });
    const threads = hasThreads
      ? new ThreadManager(host, routes, options, { heartbeat: (hb) => this.observability.heartbeat(hb) }, (thread) => cluster?.threadDown(thread))
      : undefined;
    if (options.cluster !== undefined) cluster = new Cluster(host, routes, options.cluster, threads, this.logger.child({ component: 'cluster' }));
    const placeChild = (req: PlacedChildRequest): RemoteChild | undefined => {
      const path = `${req.parent.path}/${req.segment}`;
      const child = { actor: req.actor, options: req.options, parent: req.parent, thread: req.thread };
      if (req.node !== undefined) return cluster === undefined ? undefined : new RemoteChild(host, new NodePlacement(cluster, req.node, req.placement ?? 'failover'), child, path);
      return threads === undefined ? undefined : new RemoteChild(host, new ThreadPlacement(host, threads, routes), child, path);
    };
    return { routes, threads, cluster, connections: { routes, placeChild } };
  }

  /**
   * Creates a system and starts its worker threads (default: one per core); resolves when
   * every worker answers.
   */
  static async start(options: ActorSystemOptions = {}): Promise<ActorSystem> {
    const system = new ActorSystem({ ...options, threads: options.threads ?? availableParallelism() });
    await system.ready();
    return system;
  }

  private booting: Promise<void> | undefined;

  /**
   * Starts the worker threads (if any) and the heartbeats and health monitor; resolves once
   * the workers answer. Idempotent.
   */
  ready(): Promise<void> {
    return (this.booting ??= (async () => {
      if (this.storeOption !== undefined && !isStore(this.storeOption)) this.openedStore = await openStore(this.storeOption);
      this.observability.start(this.threads?.count ?? 0);
      await this.threads?.start();
      const cluster = this.clusterNode;
      if (cluster !== undefined) {
        cluster.members$.subscribe((e) => this.memberEvents.next(e));
        await cluster.start();
        this.cluster = cluster;
      }
    })());
  }

  /**
   * The node's persistence store (option `store`): open after `ready()` (at once when an
   * opened store was passed), closed by `stop()` when the system opened it; undefined
   * without the option.
   */
  get store(): Store | undefined {
    return this.openedStore;
  }

  private workflowSource: WorkflowSource | undefined;

  /**
   * The durable-workflow engine that registered itself (toolkit `DurableWorkflows` given
   * `system`): what `GET /workflows` and `apiary workflows` read. Undefined without one.
   */
  get workflows(): WorkflowSource | undefined {
    return this.workflowSource;
  }

  /**
   * Makes `source` this node's durable-workflow engine (the engine calls it; one at a time:
   * a second is refused `ERR_NAME_TAKEN`). The function returned unregisters it.
   */
  registerWorkflows(source: WorkflowSource): () => void {
    if (this.workflowSource !== undefined && this.workflowSource !== source) throw new ApiaryError(ErrorCodes.NAME_TAKEN, `node ${this.name} has a durable-workflow engine already`, { field: 'workflows' });
    this.workflowSource = source;
    return () => {
      if (this.workflowSource === source) this.workflowSource = undefined;
    };
  }

  /**
   * Starts a top-level actor, or a supervisor tree from `supervisor({...})`. Resolves once
   * its `started` hook (for a supervisor: every child, in order) has run; rejects
   * `ERR_START_FAILED` if that throws, `ERR_NAME_TAKEN` if the name is in use,
   * `ERR_SYSTEM_STOPPED` after `stop()`.
   */
  spawn(spec: SupervisorSpec, options?: SystemSpawnOptions<never>): Promise<SupervisorRef>;
  spawn<C extends ActorClass>(actor: C, options?: SystemSpawnOptions<ArgsOfClass<C>>): Promise<RefOf<InstanceType<C>>>;
  // not `async`: a local actor that starts synchronously costs one resolved promise (spawn rate);
  // every error still surfaces as a rejection
  spawn(actor: ActorClass | SupervisorSpec, options: SystemSpawnOptions = NO_OPTIONS): Promise<ActorRef<any, any>> {
    try {
      if (this.stopping) throw new ApiaryError(ErrorCodes.SYSTEM_STOPPED, 'the actor system is stopped');
      const isSup = isSupervisorSpec(actor);
      if (options.node !== undefined && options.node !== this.name) {
        if (isSup) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'supervisors run on the node that spawns them', { field: 'node' });
        return this.spawnOnNode(actor as ActorClass, options, options.node);
      }
      if (options.thread !== undefined && options.thread !== 0) {
        if (isSup) throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'supervisors run on the main thread (0)', { field: 'thread' });
        return this.spawnOnWorker(actor as ActorClass, options, options.thread);
      }
      const cell = this.host.createCell(isSup ? Supervisor : actor, isSup ? { ...options, args: actor } : options);
      // only non-default shutdowns are kept (every lookup falls back to 5000): one WeakMap entry less per actor
      const shutdown = options.shutdown ?? (isSup ? 'infinity' : undefined);
      if (shutdown !== undefined) this.shutdowns.set(cell, shutdown);
      const started = this.host.startCell(cell);
      return isSup ? started.then((ref) => SupervisorRef.of(ref)) : started;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async spawnOnWorker(actor: ActorClass, options: SystemSpawnOptions, thread: number | 'auto'): Promise<ActorRef> {
    const threads = this.threads;
    if (threads === undefined) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'this system has no worker threads (create it with ActorSystem.start)', {
        field: 'thread',
      });
    }
    await this.ready();
    const name = options.name;
    if (name !== undefined && this.host.registry.lookup(name) !== undefined) {
      throw new ApiaryError(ErrorCodes.NAME_TAKEN, `name '${name}' is already registered`, { field: 'name' });
    }
    const segment = name ?? `$${this.host.allocId()}`;
    const handle = new RemoteChild(this.host, new ThreadPlacement(this.host, threads, this.routes), { actor, options, parent: undefined, thread }, `/${segment}`);
    await handle.startNow();
    const ref = handle.ref;
    this.remoteTop.add(handle);
    this.shutdowns.set(handle, options.shutdown ?? 5000);
    handle.onDead = () => this.remoteTop.delete(handle);
    return ref;
  }

  private async spawnOnNode(actor: ActorClass, options: SystemSpawnOptions, node: string): Promise<ActorRef> {
    await this.ready();
    const cluster = this.cluster;
    if (cluster === undefined) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'this system is not in a cluster (create it with the cluster option)', { field: 'node' });
    }
    if (options.name !== undefined && this.host.registry.lookup(options.name) !== undefined) {
      throw new ApiaryError(ErrorCodes.NAME_TAKEN, `name '${options.name}' is already registered`, { field: 'name' });
    }
    const segment = options.name ?? `$${this.host.allocId()}`;
    const handle = new RemoteChild(this.host, new NodePlacement(cluster, node, 'pinned'), { actor, options, parent: undefined, thread: options.thread ?? 0 }, `/${segment}`);
    await handle.startNow();
    this.remoteTop.add(handle);
    this.shutdowns.set(handle, options.shutdown ?? 5000);
    handle.onDead = () => this.remoteTop.delete(handle);
    return handle.ref;
  }

  /** Cluster members as this node sees them (a node outside a cluster lists itself, `up`). */
  members(): Member[] {
    return (
      this.cluster?.members() ?? [{ node: this.name, incarnation: this.host.incarnation, url: '', state: 'up', since: this.startedAt, self: true }]
    );
  }

  /**
   * Starts a piscina pool for stateless CPU-bound jobs: `module` (a file URL or path) has
   * a default export that handles one job. The returned ref takes jobs as messages: `ask`
   * resolves with the result; a job that throws rejects only its own ask.
   */
  spawnPool<J = unknown, R = unknown>(module: string | URL, options: PoolOptions = {}): ActorRef<J, R> {
    if (this.stopping) throw new ApiaryError(ErrorCodes.SYSTEM_STOPPED, 'the actor system is stopped');
    const name = options.name;
    const pool = startPool(this.host, module, options, `/${name ?? `$pool${this.host.allocId()}`}`);
    this.pools.push(pool);
    if (name !== undefined) this.host.registry.register(name, pool.ref);
    return pool.ref as ActorRef<J, R>;
  }

  private readonly pools: Pool[] = [];

  /** The ref registered under `name`, or undefined. */
  lookup<M = unknown, R = unknown>(name: string): ActorRef<M, R> | undefined {
    return this.host.registry.lookup(name) as ActorRef<M, R> | undefined;
  }

  /**
   * The ref registered under `name` on cluster member `node` (names of actors on its worker
   * threads included), or undefined if that node has no such name — Erlang's `{Name, Node}`.
   * This node's own name looks up locally. Rejects `ERR_NODE_DOWN` if `node` is not up, and
   * `ERR_INVALID_ARGUMENT` outside a cluster.
   */
  async lookupOn<M = unknown, R = unknown>(node: string, name: string): Promise<ActorRef<M, R> | undefined> {
    if (node === this.name) return this.lookup<M, R>(name);
    if (typeof name !== 'string' || name.length === 0) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'a registered name must be a non-empty string', { field: 'name' });
    }
    await this.ready();
    const cluster = this.cluster;
    if (cluster === undefined) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, 'this system is not in a cluster (create it with the cluster option)', { field: 'node' });
    }
    const [session] = cluster.placementCandidates(node, 'pinned');
    if (session === undefined) throw new ApiaryError(ErrorCodes.NODE_DOWN, `node ${node} is not up`);
    const res = await session.endpoint.request(-1, 0, { k: 'lookup', name });
    if (!res.ok) throw errorFrom(res.error);
    return (res.ref ?? undefined) as ActorRef<M, R> | undefined;
  }

  /** Registers `ref` under `name`; throws `ERR_NAME_TAKEN`. Released when the actor dies. */
  register(name: string, ref: ActorRef<any, any>): void {
    this.host.registry.register(name, ref);
    const target = ref.target as Partial<ActorCell>;
    target.onTermination?.(() => this.host.registry.unregister(name, ref));
  }

  /** The ref of the live actor at a tree path (e.g. `/app/reports/ingest`), wherever it runs, or undefined. */
  at<M = unknown, R = unknown>(path: string): ActorRef<M, R> | undefined {
    const handle = this.handleAt(path);
    return handle === undefined || handle.status === 'dead' ? undefined : (handle.ref as ActorRef<M, R>);
  }

  /**
   * Makes an actor exit abnormally at once, as OTP's `exit(Pid, kill)`: its current
   * message is abandoned and its supervisor applies its strategy. Returns false if no live
   * actor matches.
   */
  kill(target: ActorRef<any, any> | string, reason: ExitReason = 'killed'): boolean {
    if (typeof target !== 'string') {
      const cell = this.cellOf(target);
      if (cell !== undefined) {
        if (cell.status === 'dead') return false;
        cell.exitNow(reason);
        return true;
      }
      const remote = target.target;
      return !remote.dead && remote.adminExit !== undefined && remote.adminExit(reason);
    }
    const handle = this.handleAt(target);
    if (handle === undefined || handle.status === 'dead') return false;
    if (handle instanceof ActorCell || handle instanceof RemoteChild) handle.exitNow(reason);
    return true;
  }

  /** The child handle at a tree path, wherever it runs. */
  private handleAt(path: string): ChildHandle | undefined {
    const local = this.host.cellAt(path);
    if (local !== undefined) return local;
    for (const h of this.remoteTop) if (h.path === path && h.status !== 'dead') return h;
    // a child on a worker thread under a supervisor of this thread
    const parentPath = path.slice(0, path.lastIndexOf('/'));
    const parent = parentPath === '' ? undefined : this.host.cellAt(parentPath);
    const instance = parent?.instance;
    if (instance instanceof Supervisor) {
      for (const r of instance.childRecords) if (r.cell !== undefined && r.cell.path === path && r.cell.status !== 'dead') return r.cell;
    }
    return undefined;
  }

  /** Resolves with the exit reason when `ref` dies for good (at once if it is dead). */
  async watch(ref: ActorRef<any, any>): Promise<ExitReason> {
    const cell = this.cellOf(ref);
    if (cell !== undefined) return new Promise((resolve) => cell.onTermination(resolve));
    if (ref.target.dead || this.watcherCell === undefined) return 'noproc';
    // an actor on another thread: watched (now, in order with later messages) by a small actor of this thread
    const key = formatAddress(ref.address);
    const answer = new Promise<ExitReason>((resolve) => {
      const list = this.waiters.get(key);
      if (list) list.push(resolve);
      else this.waiters.set(key, [resolve]);
    });
    this.watcherCell.watch(ref);
    return answer;
  }

  /** Stops one top-level actor (or tree) within its shutdown; resolves with its exit reason. */
  stopActor(ref: ActorRef<any, any>): Promise<ExitReason> {
    const cell = this.cellOf(ref);
    if (cell !== undefined) return stopWithin(cell, 'shutdown', this.shutdowns.get(cell) ?? 5000, this.clock);
    for (const h of this.remoteTop) {
      if (h.status !== 'dead' && h.ref.equals(ref)) return stopWithin(h, 'shutdown', this.shutdowns.get(h) ?? 5000, this.clock);
    }
    return Promise.resolve('noproc');
  }

  /** The supervisor tree of this node: the `/tree` JSON (a contract: README, docs/architecture.md). */
  tree(): TreeSnapshot {
    const local = [...this.host.topLevel].map((c) => snapshotCell(c, c.path.slice(1), this.clock.now()));
    const remote = [...this.remoteTop].map((h) => snapshotCell(h, h.path.slice(1), this.clock.now()));
    return { node: this.name, children: [...local, ...remote] };
  }

  /**
   * Sampled `receive` durations and ask round trips, merged over all threads (workers as of
   * their last report).
   */
  latencies(): { processing: HistogramData; ask: HistogramData } {
    const workers = this.threads?.histograms() ?? [];
    return {
      processing: mergeHistograms([this.host.processing.data(), ...workers.map((w) => w.processing)]),
      ask: mergeHistograms([this.host.asks.latency.data(), ...workers.map((w) => w.askLatency)]),
    };
  }

  /** Messages handed to `receive` since start, over all threads (workers as of their last report, ≤ 1 s old). */
  messagesProcessed(): number {
    return this.host.processed + (this.threads?.processed() ?? 0);
  }

  /**
   * Dead letters since start by reason, over all threads (the main thread exact, workers as
   * of their last report, ≤ 1 s old; a dead worker's last report is kept). What
   * `apiary_dead_letters_total` shows. Worker dead letters also reach `events$`, sampled
   * (at most 100 a second per worker).
   */
  deadLetterCounts(): Map<string, number> {
    const out = new Map<string, number>(this.host.deadLetterCounts);
    for (const [reason, n] of this.threads?.deadLetters() ?? []) out.set(reason, (out.get(reason) ?? 0) + n);
    return out;
  }

  /** Durable writes of persistent actors on every thread of this node, by kind (`events`, `snapshot`, `state`, `state-cleared`). */
  journalWriteCounts(): Map<string, number> {
    const out = new Map<string, number>(this.host.journalWriteCounts);
    for (const [kind, n] of this.threads?.journalWrites() ?? []) out.set(kind, (out.get(kind) ?? 0) + n);
    return out;
  }

  /**
   * Health of the node and its threads: heartbeat-based states (after `ready()`); a
   * stopped system is `failed`.
   */
  health(): NodeHealth {
    const uptimeMs = Math.round(this.clock.now() - this.startedAt);
    const threads: ThreadHealth[] = this.observability.threadHealth() ?? [
      { thread: 0, status: 'healthy', phi: 0, lagMs: 0, utilization: 0, silentMs: undefined },
    ];
    const status: HealthStatus = this.stopping ? 'failed' : worst(threads.map((t) => t.status));
    if (this.degradation.size === 0) return { node: this.name, status, uptimeMs, threads };
    return { node: this.name, status, uptimeMs, threads, degradation: Object.fromEntries(this.degradation) };
  }

  /** Current level of each degradation controller on this node (kept by the controllers). */
  readonly degradation = new Map<string, 'FULL' | 'REDUCED' | 'MINIMAL' | 'EMERGENCY'>();

  /** Publishes a toolkit event (breaker, degradation, workflow) on `events$`. */
  publish(event: SystemEvent): void {
    this.host.emit(event);
  }

  private readonly startedAt: number;

  /** Resolves when no actor has a message it could process now (timers and pending I/O aside). */
  whenIdle(): Promise<void> {
    return this.host.dispatcher.whenIdle();
  }

  /**
   * Stops every top-level actor in reverse spawn order (each tree stops its children in
   * reverse start order), rejects open asks `ERR_SYSTEM_STOPPED`, completes `events$`.
   * Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.entities.stopAll(); // shards handed off: entities stopped, leases given up for other nodes
      await this.singletons.stopAll(); // their instances stop and their leases are given up first
      for (const handle of [...this.remoteTop].reverse()) {
        await stopWithin(handle, 'shutdown', this.shutdowns.get(handle) ?? 5000, this.clock);
      }
      for (const cell of [...this.host.topLevel].reverse()) {
        await stopWithin(cell, 'shutdown', this.shutdowns.get(cell) ?? 5000, this.clock);
      }
      this.topics.close();
      await this.cluster?.stop();
      this.memberEvents.complete();
      this.observability.stop();
      this.settings.close();
      await this.threads?.stop();
      if (this.watcherCell !== undefined) await this.watcherCell.terminate('shutdown');
      await Promise.all(this.pools.map((p) => p.close()));
      this.host.asks.rejectAll(new ApiaryError(ErrorCodes.SYSTEM_STOPPED, 'the actor system stopped'));
      this.host.close();
      if (this.openedStore !== undefined && this.openedStore !== this.storeOption) await this.openedStore.close();
      this.eventLog?.unsubscribe();
    })();
    return this.stopping;
  }

  private cellOf(ref: ActorRef<any, any>): ActorCell | undefined {
    const target = ref.target;
    return target instanceof ActorCell && target.host === this.host ? target : undefined;
  }
}

const WATCHER_NAME = '$watcher';

/** `spawn` without options: one shared empty object, not a new one per spawn (never written). */
const NO_OPTIONS: SystemSpawnOptions = Object.freeze({});

type Waiters = Map<string, ((reason: ExitReason) => void)[]>;

/** Watches actors of other threads for `system.watch`; the waiters live with the system. */
class SystemWatcher extends Actor<Terminated, void> {
  constructor(private readonly waiters: Waiters) {
    super();
  }

  receive(msg: Terminated): void {
    if (!isTerminated(msg)) return;
    const key = formatAddress(msg.ref.address);
    const waiting = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    for (const w of waiting) w(msg.reason);
  }
}
