/**
 * LocalTaskStore: the task store of one process — every record and the claim indexes in
 * memory, each change written through to a {@link TaskPersistence} (LMDB: lmdb-task-store.ts;
 * none: memory only, for tests). One process owns a local store: two processes on one LMDB
 * directory would each claim the same tasks (use Redis for competing consumers on several nodes).
 *
 * Owns: the records, the idempotency index and the per-queue indexes — ready (priority, then
 * submission order), delayed (by runAt) and leases (by end) — as lazy heaps (min-heap.ts).
 * Does not own: what a change means (task-queue.ts) or the file format (the persistence).
 * Durability: `insert`, `commit`, `purge`, `remove` resolve after the persistence wrote them
 * (writes of one event-loop turn share one commit); `claim` does not wait (its lease lives in
 * memory; after a crash the task is queued again). A task found running at open was held by a
 * process that is gone: it is claimable at once (attempts + 1), without waiting for its lease.
 * Reads see a change as soon as it is made (before its commit, which its writer awaits).
 * Threads: the thread that made it. Time: callers pass `now`.
 */
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { MinHeap } from './min-heap.js';
import { priorityRank, TASK_STATES, type Task, type TaskState } from './task.js';
import type { Claimed, ClaimRequest, CommitGuard, CommitRefusal, TaskFilter, TaskStore } from './task-store.js';

/** Where a local store writes through to; every promise resolves once durable. */
export interface TaskPersistence {
  /** Every stored task (at open), any order. */
  load(): Iterable<Task>;
  put(task: Task): Promise<void>;
  delete(id: string): Promise<void>;
  close(): Promise<void>;
}

interface Held {
  task: Task;
  version: number;
}

interface QueueIndex {
  ready: MinHeap;
  delayed: MinHeap;
  leases: MinHeap;
}

/** The ready heap's key: every rank-0 task before any rank-1 one, then by seq. */
const RANK_SPAN = 1e13;

export class LocalTaskStore implements TaskStore {
  private readonly tasks = new Map<string, Held>();
  private readonly keys = new Map<string, string>();
  private readonly queues = new Map<string, QueueIndex>();
  /** Tasks by state, per queue. */
  private readonly tallies = new Map<string, Record<TaskState, number>>();
  /** Writes of a task not yet durable (an idempotent resubmit waits for the first one's). */
  private readonly pending = new Map<string, Promise<void>>();
  private seq = 0;
  private closed = false;

  constructor(
    readonly kind: string,
    private readonly persistence?: TaskPersistence,
  ) {
    if (persistence === undefined) return;
    const loaded = [...persistence.load()].sort((a, b) => a.seq - b.seq);
    for (const task of loaded) {
      this.seq = Math.max(this.seq, task.seq);
      // one process owns a local store: a task running when it was opened was held by a process
      // that is gone (a crash, a kill -9) — its lease counts as run out, so it is claimable at once
      this.place(task.state === 'running' && task.lease !== undefined ? { ...task, lease: { ...task.lease, until: 0 } } : task);
    }
  }

  async insert(task: Task): Promise<{ task: Task; created: boolean }> {
    this.open();
    if (task.idempotencyKey !== undefined) {
      const id = this.keys.get(keyOf(task.queue, task.idempotencyKey));
      const first = id === undefined ? undefined : this.tasks.get(id);
      if (first !== undefined) {
        await this.pending.get(first.task.id);
        return { task: { ...first.task }, created: false };
      }
    }
    const stored = { ...task, seq: ++this.seq };
    this.place(stored);
    try {
      await this.write(stored);
    } catch (err) {
      // not accepted: forget it, so a resubmit with its key writes it again
      if (this.tasks.get(stored.id)?.task === stored) this.forget(stored);
      throw err;
    }
    return { task: { ...stored }, created: true };
  }

  async get(id: string): Promise<Task | undefined> {
    this.open();
    const held = this.tasks.get(id);
    return held === undefined ? undefined : { ...held.task };
  }

  async claim(queue: string, req: ClaimRequest): Promise<Claimed[]> {
    this.open();
    const q = this.queues.get(queue);
    if (q === undefined) return [];
    const { now } = req;
    for (let e = q.delayed.peek(); e !== undefined && e.key <= now; e = q.delayed.peek()) {
      q.delayed.pop();
      const held = this.live(e.id, e.version);
      if (held?.task.state === 'queued') q.ready.push({ key: readyKey(held.task), id: e.id, version: e.version });
    }
    for (let e = q.leases.peek(); e !== undefined && e.key <= now; e = q.leases.peek()) {
      q.leases.pop();
      const held = this.live(e.id, e.version);
      if (held?.task.state === 'running') q.ready.push({ key: readyKey(held.task), id: e.id, version: e.version });
    }
    const out: Claimed[] = [];
    while (out.length < req.max) {
      const e = q.ready.pop();
      if (e === undefined) break;
      const held = this.live(e.id, e.version);
      if (held === undefined) continue;
      const t = held.task;
      const due = t.state === 'queued' ? t.runAt <= now : t.state === 'running' && t.lease !== undefined && t.lease.until <= now;
      if (!due) continue;
      const next: Task = {
        ...t,
        state: 'running',
        attempts: t.attempts + 1,
        lease: { owner: req.owner, token: req.token(), until: req.until },
        startedAt: t.startedAt ?? now,
        updatedAt: now,
      };
      this.place(next);
      // not awaited: a lease lost in a crash only makes the task run again (at-least-once)
      this.write(next).catch(() => undefined);
      out.push({ task: { ...next }, previous: t.state });
    }
    return out;
  }

  async commit(next: Task, guard: CommitGuard): Promise<CommitRefusal | undefined> {
    this.open();
    const held = this.tasks.get(next.id);
    if (held === undefined) return 'missing';
    const cur = held.task;
    if ('token' in guard) {
      if (cur.state !== 'running' || cur.lease?.token !== guard.token) return 'lease';
    } else if (!guard.states.includes(cur.state)) return 'state';
    const stored = { ...next, seq: cur.seq };
    this.place(stored);
    await this.write(stored);
    return undefined;
  }

  async list(filter: TaskFilter, limit: number): Promise<Task[]> {
    this.open();
    const out: Task[] = [];
    for (const { task } of this.tasks.values()) {
      if (out.length >= limit) break;
      if (matches(task, filter)) out.push({ ...task });
    }
    return out;
  }

  async purge(filter: TaskFilter): Promise<number> {
    this.open();
    const gone = [...this.tasks.values()].filter((h) => matches(h.task, filter)).map((h) => h.task.id);
    await Promise.all(gone.map((id) => this.delete(id)));
    return gone.length;
  }

  async remove(id: string): Promise<boolean> {
    this.open();
    if (!this.tasks.has(id)) return false;
    await this.delete(id);
    return true;
  }

  async counts(queue?: string): Promise<Record<TaskState, number>> {
    this.open();
    const out = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
    for (const [q, tally] of this.tallies) if (queue === undefined || q === queue) for (const s of TASK_STATES) out[s] += tally[s];
    return out;
  }

  private tally(queue: string): Record<TaskState, number> {
    let t = this.tallies.get(queue);
    if (t === undefined) this.tallies.set(queue, (t = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>));
    return t;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.pending.values());
    await this.persistence?.close();
  }

  /** Holds `task` as the current record and indexes it by its state. */
  private place(task: Task): void {
    const prev = this.tasks.get(task.id);
    const version = (prev?.version ?? 0) + 1;
    this.tasks.set(task.id, { task, version });
    if (prev !== undefined) this.tally(prev.task.queue)[prev.task.state]--;
    this.tally(task.queue)[task.state]++;
    if (task.idempotencyKey !== undefined) this.keys.set(keyOf(task.queue, task.idempotencyKey), task.id);
    const q = this.index(task.queue);
    if (task.state === 'queued') {
      if (task.runAt <= task.updatedAt) q.ready.push({ key: readyKey(task), id: task.id, version });
      else q.delayed.push({ key: task.runAt, id: task.id, version });
    } else if (task.state === 'running' && task.lease !== undefined) q.leases.push({ key: task.lease.until, id: task.id, version });
  }

  private async delete(id: string): Promise<void> {
    const held = this.tasks.get(id);
    if (held === undefined) return;
    this.forget(held.task);
    if (this.persistence !== undefined) await this.persistence.delete(id);
  }

  /** Drops the task from memory (its heap entries go stale). */
  private forget(t: Task): void {
    this.tasks.delete(t.id);
    this.tally(t.queue)[t.state]--;
    if (t.idempotencyKey !== undefined && this.keys.get(keyOf(t.queue, t.idempotencyKey)) === t.id) this.keys.delete(keyOf(t.queue, t.idempotencyKey));
  }

  private live(id: string, version: number): Held | undefined {
    const held = this.tasks.get(id);
    return held !== undefined && held.version === version ? held : undefined;
  }

  private index(queue: string): QueueIndex {
    let q = this.queues.get(queue);
    if (q === undefined) {
      q = { ready: new MinHeap(), delayed: new MinHeap(), leases: new MinHeap() };
      this.queues.set(queue, q);
    }
    return q;
  }

  private write(task: Task): Promise<void> {
    if (this.persistence === undefined) return Promise.resolve();
    const p = this.persistence.put(task);
    this.pending.set(task.id, p);
    const done = () => {
      if (this.pending.get(task.id) === p) this.pending.delete(task.id);
    };
    p.then(done, done);
    return p;
  }

  private open(): void {
    if (this.closed) throw new ApiaryError(ErrorCodes.STORE_UNAVAILABLE, `the ${this.kind} task store is closed`);
  }
}

function keyOf(queue: string, key: string): string {
  return `${queue}\u0000${key}`;
}

function readyKey(t: Task): number {
  return priorityRank(t.priority) * RANK_SPAN + t.seq;
}

/** True when `t` is meant by the filter. */
export function matches(t: Task, f: TaskFilter): boolean {
  return (f.queue === undefined || t.queue === f.queue) && (f.states === undefined || f.states.includes(t.state)) && (f.before === undefined || t.updatedAt < f.before);
}

/** A task store in this thread's memory (tests; nothing survives the process). */
export function createMemoryTaskStore(): TaskStore {
  return new LocalTaskStore('memory');
}
