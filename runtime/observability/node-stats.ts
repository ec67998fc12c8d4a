/**
 * A node's vital numbers as one plain snapshot — what `system.metrics$` emits and alert
 * rules read. Counters come from `events$` (dead letters: from every thread's counts), the
 * rest from the tree, threads and health.
 */
import type { Subscription } from 'rxjs';
import type { TreeEntry } from '../../supervisor/tree.js';
import type { ActorSystem } from '../node/actor-system.js';

export interface MetricsSnapshot {
  node: string;
  /** Clock time of the snapshot, ms. */
  at: number;
  messagesProcessed: number;
  mailboxDepth: number;
  actorsRunning: number;
  actorsRestarting: number;
  actorsStopped: number;
  /** Counters since start. */
  restarts: number;
  escalations: number;
  /** Dead letters on every thread (workers as of their last report). */
  deadLetters: number;
  threadRestarts: number;
  /** 0 healthy, 1 degraded, 2 critical, 3 failed. */
  healthLevel: number;
  threads: number;
}

const LEVEL = { healthy: 0, degraded: 1, critical: 2, failed: 3 } as const;

export class NodeStats {
  private restarts = 0;
  private escalations = 0;
  private threadRestarts = 0;
  private readonly sub: Subscription;

  constructor(private readonly system: ActorSystem) {
    this.sub = system.events$.subscribe((e) => {
      if (e.type === 'restarted') this.restarts++;
      else if (e.type === 'escalated') this.escalations++;
      else if (e.type === 'thread-down') this.threadRestarts++;
    });
  }

  snapshot(): MetricsSnapshot {
    let running = 0;
    let restarting = 0;
    let stopped = 0;
    let mailbox = 0;
    const walk = (entries: TreeEntry[]): void => {
      for (const e of entries) {
        if (e.status === 'running') running++;
        else if (e.status === 'restarting') restarting++;
        else stopped++;
        mailbox += e.mailbox;
        if (e.children) walk(e.children);
      }
    };
    walk(this.system.tree().children);
    return {
      node: this.system.name,
      at: this.system.clock.now(),
      messagesProcessed: this.system.messagesProcessed(),
      mailboxDepth: mailbox,
      actorsRunning: running,
      actorsRestarting: restarting,
      actorsStopped: stopped,
      restarts: this.restarts,
      escalations: this.escalations,
      deadLetters: sum(this.system.deadLetterCounts().values()),
      threadRestarts: this.threadRestarts,
      healthLevel: LEVEL[this.system.health().status],
      threads: this.system.threads?.liveThreads().length ?? 0,
    };
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

function sum(values: Iterable<number>): number {
  let n = 0;
  for (const v of values) n += v;
  return n;
}
