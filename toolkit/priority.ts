/**
 * Task priority: classes critical / high / medium / low, mapped onto mailbox priorities,
 * served starvation-free.
 *
 * A mailbox alone serves its levels strictly (most urgent first), so a sustained flood of
 * `high` would starve `low` for ever. The {@link PriorityQueueActor} sits in front of an
 * agent, keeps one queue per class and hands the agent at most `concurrency` tasks at a
 * time, choosing the class by smooth weighted round-robin over the classes that have work
 * (weights 8 / 4 / 2 / 1 by default). So every class with work gets at least
 * `weight / sum(all weights)` of the agent's task starts — low's documented minimum share is
 * 1/15 — and more when others are idle. Tasks reach the agent with the mapped mailbox
 * priority (critical→critical, high→high, medium→normal, low→low).
 * Owns: the per-class queues and the pick ({@link pickClass}, pure). Threads: one actor;
 * the agent may be anywhere. No time of its own.
 */
import { Actor } from '../actors/actor.js';
import type { ActorRef } from '../actors/actor-ref.js';
import type { DeferredReply } from '../actors/actor.js';
import type { Priority } from '../actors/mailbox.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import { check } from './abort.js';
import { DEFAULTS } from './defaults.js';
import { smoothWeighted } from './router-strategies.js';

export type TaskClass = 'critical' | 'high' | 'medium' | 'low';
export const TASK_CLASSES: readonly TaskClass[] = ['critical', 'high', 'medium', 'low'];

/** The mailbox priority a task class is sent with. */
export function mailboxPriority(c: TaskClass): Priority {
  return c === 'medium' ? 'normal' : c;
}

/** The least share of task starts a class with work is guaranteed: its weight over all weights. */
export function minimumShare(weights: Readonly<Record<TaskClass, number>>, c: TaskClass): number {
  return weights[c] / TASK_CLASSES.reduce((s, k) => s + weights[k], 0);
}

/**
 * Picks the class to serve next among those with work (`hasWork` by class index), by smooth
 * weighted round-robin; returns it and the next `currents` (pure).
 */
export function pickClass(currents: readonly number[], weights: readonly number[], hasWork: readonly boolean[]): { index: number; currents: number[] } | undefined {
  const idx = [0, 1, 2, 3].filter((i) => hasWork[i]);
  if (idx.length === 0) return undefined;
  const r = smoothWeighted(idx.map((i) => currents[i]!), idx.map((i) => weights[i]!));
  const next = [...currents];
  idx.forEach((i, j) => (next[i] = r.currents[j]!));
  return { index: idx[r.index]!, currents: next };
}

/** Constructor argument of {@link PriorityQueueActor}. */
export interface PriorityQueueArgs<M> {
  target: ActorRef<M, any>;
  /** Tasks handed to the target at once. Default 1. */
  concurrency?: number;
  weights?: Partial<Record<TaskClass, number>>;
  /** The class of a task (default: its `priority` field, else `medium`). */
  classOf?: (task: M) => TaskClass;
  /** Tasks waiting per class; beyond it an ask rejects `ERR_MAILBOX_FULL`. Default 100 000. */
  maxQueued?: number;
  /** Ask timeout toward the target, ms. Default 60 000. */
  taskTimeout?: number;
}

interface Queued<M> {
  task: M;
  reply: DeferredReply<unknown> | undefined;
}

/**
 * Queues tasks by class in front of `target` and runs them there starvation-free (see the
 * module header). An ask resolves with the target's answer; a tell's outcome is dropped.
 * `{ type: 'priority:stats' }` answers tasks started per class.
 */
export class PriorityQueueActor<M = unknown> extends Actor<M | { type: 'priority:stats' }, unknown> {
  private readonly queues: Queued<M>[][] = [[], [], [], []];
  private currents = [0, 0, 0, 0];
  private readonly weights: number[];
  private running = 0;
  private readonly started_ = [0, 0, 0, 0];

  constructor(private readonly args: PriorityQueueArgs<M>) {
    super();
    const w = { ...DEFAULTS.priority.weights, ...args.weights };
    this.weights = TASK_CLASSES.map((c) => w[c]);
    this.weights.forEach((x, i) => check(x > 0, `weights.${TASK_CLASSES[i]}`, 'must be > 0'));
  }

  receive(message: M | { type: 'priority:stats' }): unknown {
    if ((message as { type?: unknown } | null)?.type === 'priority:stats') {
      return Object.fromEntries(TASK_CLASSES.map((c, i) => [c, this.started_[i]]));
    }
    const task = message as M;
    const c = this.args.classOf?.(task) ?? classField(task);
    const i = TASK_CLASSES.indexOf(c);
    const reply = this.context.replyLater();
    if (this.queues[i]!.length >= (this.args.maxQueued ?? 100_000)) {
      reply?.reject(new ApiaryError(ErrorCodes.MAILBOX_FULL, `priority queue for ${c} is full`));
      return undefined;
    }
    this.queues[i]!.push({ task, reply });
    this.pump();
    return undefined;
  }

  private pump(): void {
    const limit = this.args.concurrency ?? 1;
    while (this.running < limit) {
      const pick = pickClass(this.currents, this.weights, this.queues.map((q) => q.length > 0));
      if (pick === undefined) return;
      this.currents = pick.currents;
      const { task, reply } = this.queues[pick.index]!.shift()!;
      this.started_[pick.index]!++;
      this.running++;
      const options = { priority: mailboxPriority(TASK_CLASSES[pick.index]!), timeout: this.args.taskTimeout ?? 60_000, ...(reply ? { signal: reply.signal } : {}) };
      this.args.target.ask(task, options).then(
        (v) => this.done(() => reply?.resolve(v)),
        (err: unknown) => this.done(() => reply?.reject(err)),
      );
    }
  }

  private done(settle: () => void): void {
    this.running--;
    settle();
    this.pump();
  }
}

function classField(task: unknown): TaskClass {
  const p = (task as { priority?: unknown } | null)?.priority;
  return typeof p === 'string' && (TASK_CLASSES as readonly string[]).includes(p) ? (p as TaskClass) : 'medium';
}
