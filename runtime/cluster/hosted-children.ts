/**
 * HostedChildren: the actors one peer node spawned on this node — on the main thread or on
 * a worker thread — and the only actors whose lifecycle that peer may drive.
 *
 * Owns: creating them (a peer's `spawn` request: `thread` 0 → this thread, `auto` → the
 * least-loaded worker, or this thread when the node has none, `n` → worker `n`, an error if
 * there is no such worker), the permission check (lifecycle requests and kill / resume /
 * exit-now orders reach only actors this peer spawned, by thread and id), relaying them to a
 * worker's cell over its thread link, sending the cells' exit reports to the peer as `exit`
 * system frames, telling the peer `lost` when a worker that hosted one of them dies (the
 * peer's handle then exits `thread-crash` and a restart creates a new cell), and terminating
 * all of them when the peer goes down.
 * Does not own: the wire (transport/node-session.ts) or the check of the spawn frame
 * (transport/frame-checks.ts); module loading rules are the caller's.
 * Threads: thread 0 of the node (where the sessions live); workers are reached through
 * their peers in this thread's routes. Order: requests and orders to one worker cell go
 * over one thread link, so they keep the peer's order, and its exit reports come back over
 * the same link.
 */
import { fileURLToPath } from 'node:url';
import type { ActorCell } from '../../actors/actor-cell.js';
import type { ActorClass } from '../../actors/actor.js';
import type { ExitReason } from '../../actors/exit-reason.js';
import type { Host } from '../../actors/host.js';
import type { MailboxOptions } from '../../actors/mailbox.js';
import type { ReqPayload, ResPayload, SpawnRequest, SysPayload } from '../../transport/frames.js';
import type { HostedActors, HostedOrder } from '../../transport/hosted-actors.js';
import type { PlacedChild } from '../../transport/peer.js';
import type { PeerRoutes } from '../../transport/peer-routes.js';
import { lifecycleRequest } from '../../transport/thread-peer.js';
import { loadActorClass } from '../threads/actor-module.js';
import { ApiaryError, ErrorCodes, serializeError } from '../../actors/foundation/errors.js';
import type { ThreadManager } from '../threads/thread-manager.js';

/** How hosted actors report to the peer that spawned them. */
export interface PeerReports {
  sendSys(thread: number, id: number, payload: SysPayload): void;
}

/** What a peer asked to run here (already checked and loaded). */
export interface HostedSpawn {
  actor: ActorClass;
  args: unknown;
  mailbox: MailboxOptions | undefined;
  path: string;
  thread: number | 'auto';
}

/** A peer's actor on a worker thread of this node, as thread 0 tracks it. */
class WorkerCell implements PlacedChild {
  constructor(
    private readonly owner: HostedChildren,
    readonly thread: number,
    readonly id: number,
  ) {}

  reported(exit: { incarnation: number; reason: ExitReason; resumable: boolean }): void {
    this.owner.peer.sendSys(this.thread, this.id, { k: 'exit', incarnation: exit.incarnation, reason: exit.reason, resumable: exit.resumable });
  }

  lost(): void {
    this.owner.lost(this);
  }
}

export class HostedChildren implements HostedActors {
  /** Cells on this thread, by id. */
  private readonly local = new Map<number, ActorCell>();
  /** Cells on worker threads, by `thread:id`. */
  private readonly workers = new Map<string, WorkerCell>();
  private closed = false;

  constructor(
    private readonly host: Host,
    private readonly routes: PeerRoutes,
    private readonly threads: ThreadManager | undefined,
    readonly peer: PeerReports,
  ) {}

  /** How many actors the peer has here (for tests and the tree). */
  get size(): number {
    return this.local.size + this.workers.size;
  }

  /** The actors the peer has here: where each runs, and (on this thread) its path. */
  list(): { thread: number; id: number; path?: string }[] {
    const out: { thread: number; id: number; path?: string }[] = [];
    for (const cell of this.local.values()) out.push({ thread: this.host.thread, id: cell.id, path: cell.path });
    for (const w of this.workers.values()) out.push({ thread: w.thread, id: w.id });
    return out;
  }

  /**
   * A peer's spawn request: loads the class (a `file:` module on this machine's disk only)
   * and creates the actor; answers with its thread and id, or the error.
   */
  async fromPeer(req: SpawnRequest): Promise<ResPayload> {
    try {
      if (!req.module.startsWith('file:')) throw new Error(`remote spawn needs a file: module URL, not ${req.module}`);
      fileURLToPath(req.module);
      // bounded (ERR_MODULE_TIMEOUT), so the peer's spawn never waits on a module that never loads
      const within = this.threads ? { ms: this.threads.createTimeoutMs, clock: this.host.clock } : undefined;
      const actor = await loadActorClass({ module: req.module, exportName: req.exportName }, within);
      const mailbox = (req.mailbox ?? undefined) as MailboxOptions | undefined;
      return { ok: true, ...(await this.spawn({ actor, args: req.args, mailbox, path: req.path, thread: req.thread })) };
    } catch (err) {
      return { ok: false, error: serializeError(err) };
    }
  }

  /**
   * Creates (does not start) the actor where `req.thread` says; resolves with its thread and
   * id. Rejects `ERR_INVALID_ARGUMENT` for a worker index this node does not have.
   */
  async spawn(req: HostedSpawn): Promise<{ thread: number; id: number }> {
    if (this.closed) throw new ApiaryError(ErrorCodes.NODE_DOWN, 'the peer is down');
    const threads = this.threads !== undefined && this.threads.count > 0 ? this.threads : undefined;
    if (req.thread === 0 || (req.thread === 'auto' && threads === undefined)) return this.spawnHere(req);
    if (threads === undefined) {
      throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `no worker thread ${String(req.thread)} (this node has none)`, { field: 'thread' });
    }
    const thread = await threads.place(req.thread);
    const id = await threads.create(thread, {
      actor: req.actor,
      args: req.args,
      mailbox: req.mailbox,
      path: req.path,
      parent: { thread: this.host.thread, id: 0 },
    });
    if (this.closed) {
      // the peer went down while the cell was being made: nobody will drive it
      threads.released(thread);
      void this.routes.thread(thread)?.endpoint.request(thread, id, { k: 'terminate', reason: 'node-down' });
      return { thread, id };
    }
    const entry = new WorkerCell(this, thread, id);
    this.workers.set(`${thread}:${id}`, entry);
    this.routes.thread(thread)?.children.set(`${thread}:${id}`, entry);
    return { thread, id };
  }

  private spawnHere(req: HostedSpawn): { thread: number; id: number } {
    const cell = this.host.createCell(req.actor, { args: req.args, mailbox: req.mailbox }, {
      path: req.path,
      remoteParent: {
        report: (c, reason, resumable) => this.peer.sendSys(this.host.thread, c.id, { k: 'exit', incarnation: c.incarnation, reason, resumable }),
      },
    });
    this.local.set(cell.id, cell);
    cell.onTermination(() => this.local.delete(cell.id));
    return { thread: this.host.thread, id: cell.id };
  }

  /** A lifecycle request for an actor the peer spawned; undefined if it did not spawn (or no longer has) `thread`/`id`. */
  request(thread: number, id: number, p: ReqPayload): Promise<ResPayload> | undefined {
    if (thread === this.host.thread) return this.local.has(id) ? lifecycleRequest(this.host, id, p) : undefined;
    const entry = this.workers.get(`${thread}:${id}`);
    const worker = this.routes.thread(thread);
    if (entry === undefined || worker === undefined) return undefined;
    return worker.endpoint.request(thread, id, p).then((res) => {
      // a terminated cell is gone for good; no more orders for it
      if (p.k === 'terminate') this.drop(entry);
      return res;
    });
  }

  /** A kill / resume / exit-now order; false if the peer did not spawn `thread`/`id`. */
  order(thread: number, id: number, p: HostedOrder): boolean {
    if (thread === this.host.thread) {
      const cell = this.local.get(id);
      if (cell === undefined) return false;
      if (p.k === 'kill') cell.kill(p.reason, p.final);
      else if (p.k === 'resume') cell.resume();
      else cell.exitNow(p.reason);
      return true;
    }
    const entry = this.workers.get(`${thread}:${id}`);
    const worker = this.routes.thread(thread);
    if (entry === undefined || worker === undefined) return false;
    worker.endpoint.sendSys(thread, id, p);
    if (p.k === 'kill' && p.final) this.drop(entry);
    return true;
  }

  /** @internal The worker of `entry` died: the peer's handle exits `thread-crash`. */
  lost(entry: WorkerCell): void {
    if (this.drop(entry) && !this.closed) this.peer.sendSys(entry.thread, entry.id, { k: 'lost', reason: 'thread-crash' });
  }

  /** Forgets `entry`; false if it was forgotten already. */
  private drop(entry: WorkerCell): boolean {
    const key = `${entry.thread}:${entry.id}`;
    if (this.workers.get(key) !== entry) return false;
    this.workers.delete(key);
    const children = this.routes.thread(entry.thread)?.children;
    if (children?.get(key) === entry) children.delete(key);
    this.threads?.released(entry.thread);
    return true;
  }

  /** The peer is down: every actor it spawned here is terminated (reason `node-down`). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const cell of [...this.local.values()]) void cell.terminate('node-down');
    this.local.clear();
    for (const entry of [...this.workers.values()]) {
      this.drop(entry);
      void this.routes.thread(entry.thread)?.endpoint.request(entry.thread, entry.id, { k: 'terminate', reason: 'node-down' });
    }
  }
}
