/**
 * Prometheus metrics of a node (prom-client; this is the only file that imports it).
 *
 * Owns: the `apiary_` metric names and their registration in a prom-client `Registry` —
 * apiary's own (with prom-client's default `process_*` / `nodejs_*` metrics) or one the app
 * passes, so they can be served together or merged with `Registry.merge`. Names follow the
 * Prometheus conventions: counters end `_total`, base units (seconds, bytes). Values come
 * from `events$` (restarts, escalations, thread restarts, breakers, workflow tasks and runs, durable tasks) and are
 * read at scrape time from the tree, the threads, health, the member table, the dead-letter
 * counts of every thread and the link traffic counters. Labels are bounded: no per-actor labels.
 * Does not own: what the numbers mean (the system, the cluster, the threads keep them) or
 * serving them (runtime/admin/admin-server.ts, or the app's own server).
 * Threads: the main thread; worker threads' numbers arrive in their reports (≤ 1 s old).
 * Time: nothing here reads a clock.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import type { TreeEntry } from '../../supervisor/tree.js';
import type { ActorSystem } from '../node/actor-system.js';
import { LATENCY_BUCKETS_MS, type HistogramData } from '../../actors/foundation/latency-histogram.js';
import { HANDSHAKE_REFUSALS } from '../../transport/node-link.js';

/** A prom-client `Registry` (the type apps pass in, or merge with `Registry.merge`). */
export type MetricsRegistry = Registry;

export interface MetricsOptions {
  /**
   * Register apiary's metrics in this registry (the app's own) instead of a new one. One
   * node per registry: a second node's metrics in the same registry throw (duplicate names).
   */
  registry?: Registry;
  /**
   * Also collect prom-client's default `process_*` and `nodejs_*` metrics into the registry
   * (less `nodejs_active_{handles,requests,resources}_total`, gauges named like counters:
   * `sum(nodejs_active_handles)` is the same number).
   * Default: true for apiary's own registry, false for one passed in (an app that wants them
   * there calls `collectDefaultMetrics({ register })` itself, once).
   */
  defaultMetrics?: boolean;
}

const LEVEL = { healthy: 0, degraded: 1, critical: 2, failed: 3 } as const;
const BREAKER = { closed: 0, 'half-open': 1, open: 2 } as const;
const DEGRADATION = { FULL: 0, REDUCED: 1, MINIMAL: 2, EMERGENCY: 3 } as const;
/** prom-client defaults that are gauges ending `_total` (against the Prometheus conventions). */
const NON_CONFORMING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];
/** Kinds listed by `apiary_journal_writes_total` (every one present, 0 when none). */
const JOURNAL_WRITE_KINDS = ['events', 'snapshot', 'state', 'state-cleared'] as const;

/** Member states listed by `apiary_cluster_members` (every one present, 0 when none). */
const MEMBER_STATES = ['joining', 'up', 'unreachable', 'down'] as const;

/** The node's metrics in a registry; {@link close} stops them (and unregisters them from an app's registry). */
export class NodeMetrics {
  readonly registry: Registry;
  private readonly sub: Subscription;
  private readonly names: string[] = [];
  private readonly ownRegistry: boolean;

  constructor(
    system: ActorSystem,
    options: MetricsOptions = {},
  ) {
    this.ownRegistry = options.registry === undefined;
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    const names = this.names;
    const counter = <L extends string>(c: { name: string; help: string; labelNames?: readonly L[]; collect?: (this: Counter<L>) => void }) => {
      names.push(c.name);
      return new Counter<L>({ ...c, registers });
    };
    const gauge = <L extends string>(c: { name: string; help: string; labelNames?: readonly L[]; collect?: (this: Gauge<L>) => void }) => {
      names.push(c.name);
      return new Gauge<L>({ ...c, registers });
    };

    // ---- counters fed by events$ --------------------------------------------------------
    const restarts = counter({ name: 'apiary_restarts_total', help: 'Actor restarts by their supervisors' });
    const escalations = counter({ name: 'apiary_escalations_total', help: 'Supervisors that gave up or escalated' });
    const threadRestarts = counter({ name: 'apiary_thread_restarts_total', help: 'Worker threads replaced after a crash' });
    const breakerTransitions = counter({ name: 'apiary_breaker_transitions_total', help: 'Circuit breaker state changes, by new state', labelNames: ['state'] });
    const tasks = counter({ name: 'apiary_workflow_tasks_total', help: 'Workflow task state changes, by state', labelNames: ['state'] });
    const runs = counter({ name: 'apiary_workflow_runs_total', help: 'Durable workflow run state changes, by state', labelNames: ['state'] });
    const durableTasks = counter({ name: 'apiary_tasks_total', help: 'Durable task state changes made on this node, by queue and new state (queued, running, done, failed, dead)', labelNames: ['queue', 'state'] });

    // ---- counters read at scrape time (monotonic sources) --------------------------------
    counter({
      name: 'apiary_dead_letters_total',
      help: 'Messages that could not be delivered, by reason, all threads (main exact, workers as of their last report)',
      labelNames: ['reason'],
      collect() {
        // counted by every thread's host (runtime/node/actor-system.ts deadLetterCounts): worker drops included
        this.reset();
        for (const [reason, n] of system.deadLetterCounts()) if (n > 0) this.inc({ reason }, n);
      },
    });
    counter({
      name: 'apiary_messages_processed_total',
      help: 'Messages handed to receive since start, all threads (main exact, workers as of their last report)',
      collect() {
        this.reset();
        this.inc(system.messagesProcessed());
      },
    });
    counter({
      name: 'apiary_link_frames_total',
      help: 'Node frames (tells, asks, replies, heartbeats, gossip) over node links since start, by direction (in, out)',
      labelNames: ['direction'],
      collect() {
        const t = system.cluster?.traffic;
        this.reset();
        this.inc({ direction: 'in' }, t?.framesIn ?? 0);
        this.inc({ direction: 'out' }, t?.framesOut ?? 0);
      },
    });
    counter({
      name: 'apiary_link_bytes_total',
      help: 'Bytes of the WebSocket messages carrying node frames since start (handshakes excluded), by direction (in, out)',
      labelNames: ['direction'],
      collect() {
        const t = system.cluster?.traffic;
        this.reset();
        this.inc({ direction: 'in' }, t?.bytesIn ?? 0);
        this.inc({ direction: 'out' }, t?.bytesOut ?? 0);
      },
    });
    counter({
      name: 'apiary_handshake_refusals_total',
      help: 'Node link handshakes refused since start, either side, by reason (bad-secret, name-taken, quarantined, protocol, timeout, malformed, closed)',
      labelNames: ['reason'],
      collect() {
        // counted by the cluster (runtime/cluster/refusals.ts), refusals before this registry included
        const counts = system.cluster?.refusals.counts();
        this.reset();
        for (const reason of HANDSHAKE_REFUSALS) this.inc({ reason }, counts?.[reason] ?? 0);
      },
    });

    counter({
      name: 'apiary_journal_writes_total',
      help: 'Durable writes of persistent actors on every thread, by kind: events (one per append), snapshot, state, state-cleared',
      labelNames: ['kind'],
      collect() {
        const counts = system.journalWriteCounts();
        this.reset();
        for (const kind of JOURNAL_WRITE_KINDS) this.inc({ kind }, counts.get(kind) ?? 0);
      },
    });
    counter({
      name: 'apiary_cluster_rejoins_total',
      help: 'Times this node learnt it was downed and rejoined the cluster as a new incarnation',
      collect() {
        this.reset();
        this.inc(system.cluster?.rejoins ?? 0);
      },
    });
    counter({
      name: 'apiary_gossip_entries_dropped_total',
      help: 'Gossip entries about members not taken in, by reason: malformed (bad name, URL, incarnation or state), table-full (past maxMembers)',
      labelNames: ['reason'],
      collect() {
        const c = system.cluster;
        this.reset();
        this.inc({ reason: 'malformed' }, c?.gossipRejected ?? 0);
        this.inc({ reason: 'table-full' }, c?.gossipIgnored ?? 0);
      },
    });

    // ---- gauges read at scrape time --------------------------------------------------------
    gauge({
      name: 'apiary_actors',
      help: 'Actors in the supervisor tree, by status',
      labelNames: ['status'],
      collect() {
        const counts = { running: 0, restarting: 0, stopped: 0 };
        walk(system.tree().children, (e) => counts[e.status]++);
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });
    gauge({
      name: 'apiary_mailbox_depth',
      help: 'User messages waiting in mailboxes of the tree (actors on workers: as of their last report)',
      collect() {
        let depth = 0;
        walk(system.tree().children, (e) => (depth += e.mailbox));
        this.set(depth);
      },
    });
    gauge({
      name: 'apiary_messages_processed',
      help: 'DEPRECATED (removed in the next release): use apiary_messages_processed_total. Messages processed since start, all threads',
      collect() {
        this.set(system.messagesProcessed());
      },
    });
    gauge({
      name: 'apiary_threads',
      help: 'Worker threads running',
      collect() {
        this.set(system.threads?.liveThreads().length ?? 0);
      },
    });
    gauge({
      name: 'apiary_spare_threads',
      help: 'Spare worker threads waiting to replace a crashed one, by state (loaded: ready at once; loading)',
      labelNames: ['state'],
      collect() {
        const spares = system.threads?.spareCounts() ?? { loaded: 0, loading: 0 };
        this.set({ state: 'loaded' }, spares.loaded);
        this.set({ state: 'loading' }, spares.loading);
      },
    });
    gauge({
      name: 'apiary_health_state',
      help: 'Health per thread and for the node (thread="node"): 0 healthy, 1 degraded, 2 critical, 3 failed',
      labelNames: ['thread'],
      collect() {
        const h = system.health();
        this.reset();
        this.set({ thread: 'node' }, LEVEL[h.status]);
        for (const t of h.threads) this.set({ thread: String(t.thread) }, LEVEL[t.status]);
      },
    });
    gauge({
      name: 'apiary_event_loop_lag_seconds',
      help: 'Worst event-loop delay in the last heartbeat interval, per thread',
      labelNames: ['thread'],
      collect() {
        this.reset();
        for (const t of system.health().threads) this.set({ thread: String(t.thread) }, t.lagMs / 1000);
      },
    });
    const breakerState = gauge({
      name: 'apiary_breaker_state',
      help: 'Circuit breakers by name, from their creation: 0 closed, 1 half-open, 2 open (names are the breakers an app creates: bounded)',
      labelNames: ['name'],
    });
    gauge({
      name: 'apiary_degradation_level',
      help: 'Degradation level per controller: 0 FULL, 1 REDUCED, 2 MINIMAL, 3 EMERGENCY',
      labelNames: ['name'],
      collect() {
        for (const [name, level] of system.degradation) this.set({ name }, DEGRADATION[level]);
      },
    });
    gauge({
      name: 'apiary_cluster_tombstones',
      help: 'Downed incarnations this node remembers and refuses (quarantined), at most maxTombstones',
      collect() {
        this.set(system.cluster?.tombstoneCount ?? 0);
      },
    });
    gauge({
      name: 'apiary_cluster_members',
      help: 'Cluster members as this node sees them (itself included), by state; a node outside a cluster counts itself up',
      labelNames: ['state'],
      collect() {
        const counts: Record<string, number> = Object.fromEntries(MEMBER_STATES.map((s) => [s, 0]));
        for (const m of system.members()) if (m.state in counts) counts[m.state]!++;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });

    // ---- histograms merged over the threads ------------------------------------------------
    names.push('apiary_processing_duration_seconds', 'apiary_ask_duration_seconds');
    new ThreadMergedHistogram('apiary_processing_duration_seconds', 'Time receive took per message (sampled 1 in 8), all threads', registers, () => system.latencies().processing);
    new ThreadMergedHistogram('apiary_ask_duration_seconds', 'Round trip of answered asks, all threads', registers, () => system.latencies().ask);

    if (options.defaultMetrics ?? this.ownRegistry) {
      collectDefaultMetrics({ register: this.registry });
      // gauges named like counters (promtool rejects them); their per-type gauges stay: sum(nodejs_active_handles)
      for (const name of NON_CONFORMING_DEFAULTS) this.registry.removeSingleMetric(name);
    }

    this.sub = system.events$.subscribe((e) => {
      if (e.type === 'breaker-state') {
        breakerState.set({ name: e.name }, BREAKER[e.state]);
        // the event at a breaker's creation has previous === state: a series, not a transition
        if (e.previous !== e.state) breakerTransitions.inc({ state: e.state });
      } else if (e.type === 'task-state') tasks.inc({ state: e.state });
      else if (e.type === 'workflow-run') runs.inc({ state: e.state });
      else if (e.type === 'task') durableTasks.inc({ queue: e.queue, state: e.state });
      else if (e.type === 'restarted') restarts.inc();
      else if (e.type === 'escalated') escalations.inc();
      else if (e.type === 'thread-down') threadRestarts.inc();
    });
  }

  /** The content type of {@link render}'s text (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The registry's Prometheus text: apiary's metrics, and the app's if it is the app's registry. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Stops following events; apiary's metrics leave an app's registry (apiary's own is dropped whole). */
  close(): void {
    this.sub.unsubscribe();
    if (!this.ownRegistry) for (const name of this.names) this.registry.removeSingleMetric(name);
  }
}

/**
 * Apiary's metrics for `system` in a registry: its own (read `.registry`, merge it into the
 * app's with `Registry.merge([appRegistry, metrics.registry])`) or the app's (`registry`).
 * Create it before spawning: breakers created earlier are not seen until their next change.
 */
export function createMetrics(system: ActorSystem, options: MetricsOptions = {}): NodeMetrics {
  return new NodeMetrics(system, options);
}

/** Bucket bounds in seconds, as the exposition prints them (no float noise: 2.5 ms → 0.0025). */
const BUCKETS_S: readonly number[] = LATENCY_BUCKETS_MS.map((ms) => Number((ms / 1000).toPrecision(6)));

/**
 * A histogram whose buckets are the threads' fixed buckets merged at scrape time
 * (prom-client's own Histogram keeps observations of this thread only). A real Histogram to
 * the registry, so it renders, serialises to JSON and survives `Registry.merge` like any other.
 */
class ThreadMergedHistogram extends Histogram<'le'> {
  constructor(
    private readonly metricName: string,
    private readonly metricHelp: string,
    registers: Registry[],
    private readonly read: () => HistogramData,
  ) {
    super({ name: metricName, help: metricHelp, buckets: [...BUCKETS_S], registers });
  }

  /** The merged buckets, cumulative, as prom-client's registry reads a histogram. */
  override get(): ReturnType<Histogram<'le'>['get']> {
    const h = this.read();
    const bucket = `${this.metricName}_bucket`;
    const values: { labels: { le?: string | number }; value: number; metricName: string }[] = [];
    let cumulative = 0;
    BUCKETS_S.forEach((le, i) => {
      cumulative += h.counts[i] ?? 0;
      values.push({ labels: { le }, value: cumulative, metricName: bucket });
    });
    values.push({ labels: { le: '+Inf' }, value: h.count, metricName: bucket });
    values.push({ labels: {}, value: h.sumMs / 1000, metricName: `${this.metricName}_sum` });
    values.push({ labels: {}, value: h.count, metricName: `${this.metricName}_count` });
    const metric = { name: this.metricName, help: this.metricHelp, type: 'histogram', values, aggregator: 'sum' };
    return Promise.resolve(metric as unknown as Awaited<ReturnType<Histogram<'le'>['get']>>);
  }

  /** What the registry renders (prom-client prefers it to `get` for the text format; its own reads this thread's observations). */
  getForPromString(): ReturnType<Histogram<'le'>['get']> {
    return this.get();
  }
}

function walk(entries: TreeEntry[], visit: (e: TreeEntry) => void): void {
  for (const e of entries) {
    visit(e);
    if (e.children) walk(e.children, visit);
  }
}
