/**
 * The lifecycle vocabulary published on `system.events$`.
 *
 * Every event is plain data (paths, not object graphs) with `at` from the system clock,
 * so it can be logged, sent to the CLI or across threads as is.
 */
import type { ExitReason } from './exit-reason.js';

/** What a supervisor decided for a child that exited. */
export type Directive = 'restart' | 'resume' | 'stop' | 'escalate' | 'ignore' | 'shutdown';

export type SystemEvent =
  | { type: 'started'; path: string; incarnation: number; at: number }
  | { type: 'stopped'; path: string; reason: ExitReason; at: number }
  | { type: 'failed'; path: string; reason: ExitReason; at: number }
  | { type: 'restarted'; path: string; incarnation: number; restarts: number; at: number }
  | { type: 'restart-scheduled'; path: string; delay: number; attempt: number; at: number }
  | { type: 'escalated'; path: string; reason: ExitReason; at: number }
  | {
      type: 'supervisor-decision';
      path: string;
      child: string;
      directive: Directive;
      reason: ExitReason;
      at: number;
    }
  | { type: 'thread-up'; thread: number; generation: number; at: number }
  | {
      type: 'health';
      /** The thread whose state changed, or undefined for the node. */
      thread: number | undefined;
      status: 'healthy' | 'degraded' | 'critical' | 'failed';
      previous: 'healthy' | 'degraded' | 'critical' | 'failed';
      at: number;
    }
  | { type: 'thread-down'; thread: number; reason: string; at: number }
  | {
      /**
       * A spare worker (started ahead of need, see `spareThreads`) died before it was used.
       * `failures`: spares lost in a row before they were stable; `retryInMs`: when the next
       * spare starts (0: at once); `gaveUp`: no more spares until a thread boots fine again
       * (crashed threads are replaced by cold starts meanwhile).
       */
      type: 'spare-down';
      reason: string;
      failures: number;
      retryInMs: number | undefined;
      gaveUp: boolean;
      at: number;
    }
  | { type: 'breaker-state'; name: string; state: 'closed' | 'open' | 'half-open'; previous: 'closed' | 'open' | 'half-open'; at: number }
  | {
      type: 'degradation-level';
      name: string;
      level: 'FULL' | 'REDUCED' | 'MINIMAL' | 'EMERGENCY';
      previous: 'FULL' | 'REDUCED' | 'MINIMAL' | 'EMERGENCY';
      at: number;
    }
  | {
      type: 'task-state';
      workflow: string;
      task: string;
      state: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
      attempt: number;
      at: number;
    }
  | {
      /**
       * A durable workflow run changed state (toolkit/durable-workflow.ts): `started` (new,
       * durable), `resumed` (taken up from its journal), `completed` | `failed` | `cancelled`
       * (finished, durable), `suspended` (this engine stopped driving it — stopped, fenced by
       * another coordinator, a store failure, or it cannot be resumed: `reason` is the code;
       * the run stays unfinished in the store).
       */
      type: 'workflow-run';
      runId: string;
      definition: string;
      state: 'started' | 'resumed' | 'completed' | 'failed' | 'cancelled' | 'suspended';
      reason?: string;
      at: number;
    }
  | {
      /**
       * A durable task changed state (runtime/tasks): submitted (`previous` undefined), claimed
       * (`running`; from `running` when its lease had run out), done, failed, dead, or queued again
       * (a retry). Only the node that made the change publishes it.
       */
      type: 'task';
      queue: string;
      id: string;
      state: 'queued' | 'running' | 'done' | 'failed' | 'dead';
      previous: 'queued' | 'running' | 'done' | 'failed' | 'dead' | undefined;
      attempts: number;
      at: number;
    }
  | {
      /**
       * The node's config was reloaded (SIGHUP or an edit of its file): `applied` lists what
       * changed live (`logLevel`, `alerts.rules`, `rateLimits.NAME`, …); `needsRestart` what
       * changed but was left as it runs until the next start.
       */
      type: 'config-reloaded';
      file: string | undefined;
      applied: string[];
      needsRestart: string[];
      at: number;
    }
  | {
      /** A config reload found bad fields and changed nothing; `errors`: one line per field. */
      type: 'config-rejected';
      file: string | undefined;
      errors: string[];
      at: number;
    }
  | {
      type: 'dead-letter';
      sender: string | undefined;
      recipient: string;
      messageType: string;
      reason: DeadLetterReason;
      at: number;
    }
  | {
      /**
       * A persistent actor's write became durable (runtime/persistence): `events` (seq `from`
       * to `to` appended), `snapshot` (the state after seq `to`), `state` (a durable state saved
       * as version `to`), `state-cleared`. Counted on every thread
       * (`apiary_journal_writes_total{kind}`); from a worker thread forwarded at most
       * `DEFAULTS.journalEventsPerSecond` a second (the rest only counted).
       */
      type: 'journal-write';
      path: string;
      persistenceId: string;
      kind: JournalWriteKind;
      from?: number;
      to?: number;
      at: number;
    };

/** What a persistent actor wrote (see the `journal-write` event). */
export type JournalWriteKind = 'events' | 'snapshot' | 'state' | 'state-cleared';

/** Why a message could not be delivered. */
export type DeadLetterReason =
  | 'stopped'
  | 'mailbox-full'
  | 'dropped-newest'
  | 'dropped-oldest'
  | 'restarting-stash-full'
  | 'unknown-actor'
  /** The recipient's node is down, gone, or was replaced by a new incarnation. */
  | 'node-down'
  /**
   * The link to the recipient's thread or node holds as much as it may (flow control: the
   * receiver is behind, or the peer does not read); for an ask's answer, the answer was
   * dropped and the asker times out.
   */
  | 'link-overflow'
  /** A peer node addressed a runtime-internal actor (only user actors are reachable). */
  | 'not-addressable';

export type SystemEventType = SystemEvent['type'];

/** The `type` of a message for dead-letter reports: its `type` field, class name or typeof. */
export function messageTypeOf(msg: unknown): string {
  if (msg === null) return 'null';
  if (typeof msg === 'object') {
    const t = (msg as { type?: unknown }).type;
    if (typeof t === 'string') return t;
    const ctor = (msg as object).constructor;
    return ctor && ctor !== Object ? ctor.name : 'object';
  }
  return typeof msg;
}
