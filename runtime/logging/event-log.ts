/**
 * What a node logs about itself: `events$` and `members$` turned into log lines, in one place.
 *
 * Owns: which events make a line, at which level, with which message and fields — each
 * happening logged once:
 * - supervision (`[supervisor]`): a restart decision (info, with the exit reason), a delayed
 *   restart (info), a bystander restarted along with it (info), a supervisor giving up
 *   (warn when it escalates to its parent, error when a top-level one stops: nothing restarts
 *   it), a child a supervisor stops or does not restart after a crash (info);
 * - actors (`[actors]`): a top-level actor without supervisor failing (error);
 * - threads (`[threads]`): a worker thread dying (warn, with its reason), its replacement
 *   (info), a spare worker dying (warn; error when spares are given up);
 * - cluster (`[cluster]`): member up (info), unreachable and down (warn), removed (info),
 *   a link closed for a malformed frame (warn) — refused handshakes are logged where they
 *   are seen (runtime/cluster/cluster.ts), as no event carries them;
 * - health, breakers, degradation (`[health]`, `[toolkit]`): worse is warn, better is info;
 * - everything else (started, stopped, first boots, dead letters, tasks, joining): debug.
 * Every line has `component` and `event` (a stable name for machines) plus the event's data.
 * Does not own: the format (logger.ts) or the events (actors/events.ts, membership.ts).
 * Threads: the system's thread (0). Time: none of its own (events carry theirs; lines get
 * the logger's timestamp). A line that cannot be written is dropped, never thrown at the node.
 */
import type { Observable, Subscription } from 'rxjs';
import type { SystemEvent } from '../../actors/events.js';
import { describeReason, type ExitReason } from '../../actors/exit-reason.js';
import type { MemberEvent } from '../../transport/membership.js';
import type { Logger } from './logger.js';

/** Where the lines come from: a system's two streams. */
export interface EventSources {
  events$: Observable<SystemEvent>;
  members$: Observable<MemberEvent>;
}

type Health = 'healthy' | 'degraded' | 'critical' | 'failed';
const HEALTH_RANK: Record<Health, number> = { healthy: 0, degraded: 1, critical: 2, failed: 3 };
const DEGRADATION_RANK = { FULL: 0, REDUCED: 1, MINIMAL: 2, EMERGENCY: 3 } as const;

/** The parent path of `/a/b/c` (`/a/b`); '' for a top-level path. */
function parentOf(path: string): string {
  return path.slice(0, Math.max(0, path.lastIndexOf('/')));
}

function isTopLevel(path: string): boolean {
  return path.lastIndexOf('/') === 0;
}

/**
 * Logs `sources` on `log` until the returned subscription is ended (or the streams complete).
 */
export function logEvents(log: Logger, sources: EventSources): Subscription {
  const supervisor = log.child({ component: 'supervisor' });
  const actors = log.child({ component: 'actors' });
  const threads = log.child({ component: 'threads' });
  const cluster = log.child({ component: 'cluster' });
  const health = log.child({ component: 'health' });
  const toolkit = log.child({ component: 'toolkit' });
  /** The child each supervisor last decided to restart: later `restarted` of others are bystanders. */
  const restarting = new Map<string, string>();
  /** Why a supervisor is about to give up (the decision comes before its `escalated`). */
  const givingUp = new Map<string, { child: string; directive: 'escalate' | 'shutdown'; reason: ExitReason }>();
  /** Top-level supervisors whose giving up was logged: their own `failed` would say it twice. */
  const gaveUp = new Set<string>();

  const onEvent = (e: SystemEvent): void => {
    switch (e.type) {
      case 'supervisor-decision': {
        const reason = describeReason(e.reason);
        const fields = { event: `decision-${e.directive}`, supervisor: e.path, path: e.child, reason };
        if (e.directive === 'restart') {
          restarting.set(e.path, e.child);
          supervisor.info(`${e.child} exited (${reason}): restarting`, { ...fields, event: 'restart' });
        } else if (e.directive === 'escalate' || e.directive === 'shutdown') {
          givingUp.set(e.path, { child: e.child, directive: e.directive, reason: e.reason });
          supervisor.debug(`${e.child} exited (${reason}): ${e.path} gives up`, fields);
        } else if (e.directive === 'resume') supervisor.info(`${e.child} failed (${reason}): resuming`, fields);
        else if (e.directive === 'stop') supervisor.info(`${e.child} exited (${reason}): stopped, as its supervisor decides`, fields);
        else if (reason === 'normal' || reason === 'shutdown') supervisor.debug(`${e.child} exited (${reason}): not restarted`, fields);
        else supervisor.info(`${e.child} exited (${reason}): not restarted (temporary or transient child)`, fields);
        return;
      }
      case 'restart-scheduled':
        supervisor.info(`${e.path} restarts in ${Math.round(e.delay)} ms (backoff, attempt ${e.attempt})`, {
          event: 'restart-scheduled',
          path: e.path,
          delayMs: Math.round(e.delay),
          attempt: e.attempt,
        });
        return;
      case 'restarted': {
        const failed = restarting.get(parentOf(e.path));
        if (failed === undefined || failed === e.path) supervisor.debug(`${e.path} restarted (restart ${e.restarts})`, { event: 'restarted', path: e.path, restarts: e.restarts });
        else supervisor.info(`${e.path} restarted along with ${failed}`, { event: 'restarted', path: e.path, restarts: e.restarts, with: failed });
        return;
      }
      case 'escalated': {
        const why = givingUp.get(e.path);
        givingUp.delete(e.path);
        restarting.delete(e.path);
        const cause =
          why === undefined
            ? `(${describeReason(e.reason)})`
            : why.directive === 'shutdown'
              ? `after ${why.child} exited (${describeReason(why.reason)}): too many restarts`
              : `because ${why.child} exited (${describeReason(why.reason)}) and escalates`;
        const fields = { event: 'gave-up', path: e.path, reason: describeReason(e.reason), ...(why === undefined ? {} : { child: why.child }) };
        if (isTopLevel(e.path)) {
          gaveUp.add(e.path);
          supervisor.error(`${e.path} gave up ${cause}; it is top-level, so its tree stays stopped`, fields);
        } else supervisor.warn(`${e.path} gave up ${cause}: escalating to ${parentOf(e.path)}`, fields);
        return;
      }
      case 'failed': {
        const reason = describeReason(e.reason);
        if (e.path.startsWith('/node-link/')) {
          cluster.warn(`link to node ${e.path.slice('/node-link/'.length)} closed: ${reason}`, { event: 'link-failed', path: e.path, reason });
        } else if (e.path.startsWith('/thread-link/')) {
          threads.warn(`${e.path} failed: ${reason}`, { event: 'link-failed', path: e.path, reason });
        } else if (isTopLevel(e.path) && !gaveUp.delete(e.path)) {
          actors.error(`${e.path} failed (${reason}); it has no supervisor, so it stays stopped`, { event: 'failed', path: e.path, reason });
        } else actors.debug(`${e.path} failed (${reason})`, { event: 'failed', path: e.path, reason });
        return;
      }
      case 'started':
        actors.debug(`${e.path} started`, { event: 'started', path: e.path });
        return;
      case 'stopped':
        actors.debug(`${e.path} stopped (${describeReason(e.reason)})`, { event: 'stopped', path: e.path, reason: describeReason(e.reason) });
        return;
      case 'thread-down':
        threads.warn(`worker thread ${e.thread} died: ${e.reason}`, { event: 'thread-down', thread: e.thread, reason: e.reason });
        return;
      case 'thread-up':
        if (e.generation <= 1) threads.debug(`worker thread ${e.thread} up`, { event: 'thread-up', thread: e.thread, generation: e.generation });
        else threads.info(`worker thread ${e.thread} replaced (generation ${e.generation})`, { event: 'thread-replaced', thread: e.thread, generation: e.generation });
        return;
      case 'spare-down': {
        const fields = { event: 'spare-down', reason: e.reason, failures: e.failures, ...(e.retryInMs === undefined ? {} : { retryInMs: e.retryInMs }) };
        if (e.gaveUp) threads.error(`spare worker thread died (${e.reason}), ${e.failures} in a row: no spares until a thread boots fine`, fields);
        else threads.warn(`spare worker thread died (${e.reason}); the next one starts in ${Math.round(e.retryInMs ?? 0)} ms`, fields);
        return;
      }
      case 'health': {
        const fields = { event: 'health', status: e.status, previous: e.previous, ...(e.thread === undefined ? {} : { thread: e.thread }) };
        if (e.thread !== undefined) health.debug(`thread ${e.thread} ${e.previous} → ${e.status}`, fields);
        else if (HEALTH_RANK[e.status] > HEALTH_RANK[e.previous]) health.warn(`node ${e.previous} → ${e.status}`, fields);
        else health.info(`node ${e.previous} → ${e.status}`, fields);
        return;
      }
      case 'breaker-state': {
        const fields = { event: 'breaker', name: e.name, state: e.state, previous: e.previous };
        // a breaker tells its initial state once at creation (previous === state): not a change
        if (e.state === e.previous) toolkit.debug(`circuit ${e.name} created (${e.state})`, fields);
        else if (e.state === 'open') toolkit.warn(`circuit ${e.name} ${e.previous} → open`, fields);
        else toolkit.info(`circuit ${e.name} ${e.previous} → ${e.state}`, fields);
        return;
      }
      case 'degradation-level': {
        const fields = { event: 'degradation', name: e.name, level: e.level, previous: e.previous };
        if (DEGRADATION_RANK[e.level] > DEGRADATION_RANK[e.previous]) toolkit.warn(`${e.name} degraded ${e.previous} → ${e.level}`, fields);
        else toolkit.info(`${e.name} recovered ${e.previous} → ${e.level}`, fields);
        return;
      }
      case 'task-state':
        toolkit.debug(`task ${e.workflow}/${e.task} ${e.state}`, { event: 'task', workflow: e.workflow, task: e.task, state: e.state, attempt: e.attempt });
        return;
      case 'workflow-run': {
        const fields = { event: 'workflow-run', runId: e.runId, definition: e.definition, state: e.state, ...(e.reason === undefined ? {} : { reason: e.reason }) };
        if (e.state === 'suspended') toolkit.warn(`workflow run ${e.runId} (${e.definition}) suspended here: ${e.reason ?? 'stopped'}`, fields);
        else if (e.state === 'failed') toolkit.warn(`workflow run ${e.runId} (${e.definition}) failed`, fields);
        else if (e.state === 'resumed') toolkit.info(`workflow run ${e.runId} (${e.definition}) resumed`, fields);
        else toolkit.debug(`workflow run ${e.runId} (${e.definition}) ${e.state}`, fields);
        return;
      }
      case 'dead-letter':
        actors.debug(`dead letter to ${e.recipient} (${e.reason})`, { event: 'dead-letter', recipient: e.recipient, reason: e.reason, messageType: e.messageType });
        return;
    }
  };

  const onMember = (m: MemberEvent): void => {
    const fields = { event: `member-${m.state}`, member: m.node, incarnation: m.incarnation, url: m.url, ...(m.previous === undefined ? {} : { previous: m.previous }) };
    const where = m.url === '' ? `incarnation ${m.incarnation}` : `incarnation ${m.incarnation}, ${m.url}`;
    switch (m.state) {
      case 'joining':
        return cluster.debug(`member ${m.node} joining (${where})`, fields);
      case 'up':
        return cluster.info(`member ${m.node} up (${where})`, fields);
      case 'unreachable':
        return cluster.warn(`member ${m.node} unreachable (${where})`, fields);
      case 'down':
        return cluster.warn(`member ${m.node} down (${where})`, fields);
      case 'removed':
        return cluster.info(`member ${m.node} removed (${where})`, fields);
    }
  };

  const sub = sources.events$.subscribe((e) => guarded(() => onEvent(e)));
  sub.add(sources.members$.subscribe((m) => guarded(() => onMember(m))));
  return sub;
}

/** Runs `write`; a logger that throws (stdout closed) loses the line, never the node. */
function guarded(write: () => void): void {
  try {
    write();
  } catch {
    // nowhere left to report it
  }
}
