/**
 * Prometheus metrics of a node (prom-client; this is the only file that imports it).
 *
 * Owns: the `apiary_` metric names, fed from `events$` (restarts, escalations, dead letters,
 * thread restarts) and read from the tree and the threads at scrape time (actors by
 * status, mailbox depth, messages processed). Labels are bounded: no per-actor labels.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import type { TreeEntry } from '../../supervisor/tree.js';
import type { ActorSystem } from '../node/actor-system.js';
import { LATENCY_BUCKETS_MS, type HistogramData } from '../../actors/foundation/latency-histogram.js';
import { HANDSHAKE_REFUSALS } from '../../transport/node-link.js';

const LEVEL = { healthy: 0, degraded: 1, critical: 2, failed: 3 } as const;

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly sub: Subscription;

  constructor(private readonly system: ActorSystem) {
    const registers = [this.registry];
    const restarts = new Counter({ name: 'apiary_restarts_total', help: 'Actor restarts by their supervisors', registers });
    const escalations = new Counter({ name: 'apiary_escalations_total', help: 'Supervisors that gave up or escalated', registers });
    const deadLetters = new Counter({
      name: 'apiary_dead_letters_total',
      help: 'Messages that could not be delivered, by reason',
      labelNames: ['reason'],
      registers,
    });
    const threadRestarts = new Counter({ name: 'apiary_thread_restarts_total', help: 'Worker threads replaced after a crash', registers });
    new Gauge({
      name: 'apiary_actors',
      help: 'Actors in the supervisor tree, by status',
      labelNames: ['status'],
      registers,
      collect() {
        const counts = { running: 0, restarting: 0, stopped: 0 };
        walk(system.tree().children, (e) => counts[e.status]++);
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'apiary_mailbox_depth',
      help: 'User messages waiting in mailboxes of the tree (actors on workers: as of their last report)',
      registers,
      collect() {
        let depth = 0;
        walk(system.tree().children, (e) => (depth += e.mailbox));
        this.set(depth);
      },
    });
    new Gauge({
      name: 'apiary_messages_processed',
      help: 'Messages processed since start, all threads (main exact, workers as of their last report)',
      registers,
      collect() {
        this.set(system.messagesProcessed());
      },
    });
    new Gauge({
      name: 'apiary_threads',
      help: 'Worker threads running',
      registers,
      collect() {
        this.set(system.threads?.liveThreads().length ?? 0);
      },
    });
    new Gauge({
      name: 'apiary_spare_threads',
      help: 'Spare worker threads waiting to replace a crashed one, by state (loaded: ready at once; loading)',
      labelNames: ['state'],
      registers,
      collect() {
        const spares = system.threads?.spareCounts() ?? { loaded: 0, loading: 0 };
        this.set({ state: 'loaded' }, spares.loaded);
        this.set({ state: 'loading' }, spares.loading);
      },
    });
    new Gauge({
      name: 'apiary_health_state',
      help: 'Health per thread and for the node (thread="node"): 0 healthy, 1 degraded, 2 critical, 3 failed',
      labelNames: ['thread'],
      registers,
      collect() {
        const h = system.health();
        this.set({ thread: 'node' }, LEVEL[h.status]);
        for (const t of h.threads) this.set({ thread: String(t.thread) }, LEVEL[t.status]);
      },
    });
    new Gauge({
      name: 'apiary_event_loop_lag_ms',
      help: 'Worst event-loop delay in the last heartbeat interval, per thread',
      labelNames: ['thread'],
      registers,
      collect() {
        for (const t of system.health().threads) this.set({ thread: String(t.thread) }, t.lagMs);
      },
    });
    const BREAKER = { closed: 0, 'half-open': 1, open: 2 } as const;
    const DEGRADATION = { FULL: 0, REDUCED: 1, MINIMAL: 2, EMERGENCY: 3 } as const;
    const breakerState = new Gauge({
      name: 'apiary_breaker_state',
      help: 'Circuit breakers by name: 0 closed, 1 half-open, 2 open (names are the breakers an app creates: bounded)',
      labelNames: ['name'],
      registers,
    });
    const breakerTransitions = new Counter({ name: 'apiary_breaker_transitions_total', help: 'Circuit breaker state changes, by new state', labelNames: ['state'], registers });
    new Gauge({
      name: 'apiary_degradation_level',
      help: 'Degradation level per controller: 0 FULL, 1 REDUCED, 2 MINIMAL, 3 EMERGENCY',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, level] of system.degradation) this.set({ name }, DEGRADATION[level]);
      },
    });
    new Counter({
      name: 'apiary_handshake_refusals_total',
      help: 'Node link handshakes refused since start, either side, by reason (bad-secret, name-taken, protocol, timeout, malformed, closed)',
      labelNames: ['reason'],
      registers,
      collect() {
        // counted by the cluster (runtime/cluster/refusals.ts), refusals before this registry included
        const counts = system.cluster?.refusals.counts();
        this.reset();
        for (const reason of HANDSHAKE_REFUSALS) this.inc({ reason }, counts?.[reason] ?? 0);
      },
    });
    const tasks = new Counter({ name: 'apiary_workflow_tasks_total', help: 'Workflow task state changes, by state', labelNames: ['state'], registers });
    this.sub = system.events$.subscribe((e) => {
      if (e.type === 'breaker-state') {
        breakerState.set({ name: e.name }, BREAKER[e.state]);
        breakerTransitions.inc({ state: e.state });
      } else if (e.type === 'task-state') tasks.inc({ state: e.state });
      else if (e.type === 'restarted') restarts.inc();
      else if (e.type === 'escalated') escalations.inc();
      else if (e.type === 'dead-letter') deadLetters.inc({ reason: e.reason });
      else if (e.type === 'thread-down') threadRestarts.inc();
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    const { processing, ask } = this.system.latencies();
    return (
      (await this.registry.metrics()) +
      histogramText('apiary_processing_duration_seconds', 'Time receive took per message (sampled 1 in 8), all threads', processing) +
      histogramText('apiary_ask_duration_seconds', 'Round trip of answered asks, all threads', ask)
    );
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

/**
 * Prometheus text for a histogram merged from the threads' fixed buckets (prom-client keeps
 * per-process observations, so thread-merged buckets are rendered here).
 */
function histogramText(name: string, help: string, h: HistogramData): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
  let cumulative = 0;
  LATENCY_BUCKETS_MS.forEach((le, i) => {
    cumulative += h.counts[i] ?? 0;
    lines.push(`${name}_bucket{le="${le / 1000}"} ${cumulative}`);
  });
  lines.push(`${name}_bucket{le="+Inf"} ${h.count}`, `${name}_sum ${h.sumMs / 1000}`, `${name}_count ${h.count}`);
  return `\n${lines.join('\n')}\n`;
}

function walk(entries: TreeEntry[], visit: (e: TreeEntry) => void): void {
  for (const e of entries) {
    visit(e);
    if (e.children) walk(e.children, visit);
  }
}
