/**
 * RemoteChild: a supervisor's handle on a child that runs on a worker thread.
 *
 * Owns: driving the child's lifecycle over the thread link (start, terminate,
 * restart-stop, kill, resume — ordered with the child's exit reports on the same link),
 * mirroring its status for the supervisor and the tree, and turning the death of its thread
 * into an exit with reason `thread-crash`. After a thread crash the next start creates a
 * fresh cell on a live thread (the old ref is dead; the handle's `ref` is the new one).
 * Also used, without a supervisor, for top-level actors spawned onto a worker thread.
 */
import type { ActorCell, CellStatus } from '../actors/actor-cell.js';
import type { ActorRef } from '../actors/actor-ref.js';
import type { ChildHandle } from '../actors/child-handle.js';
import type { ExitReason } from '../actors/exit-reason.js';
import type { Host, RemoteChildEntry, RemoteSpawnRequest } from '../actors/host.js';
import type { ResPayload } from '../transport/frames.js';
import { errorFrom, type ThreadLink } from '../transport/thread-link.js';
import { ApiaryError, ErrorCodes } from './errors.js';
import type { ThreadManager } from './threads.js';

export class RemoteChild implements ChildHandle, RemoteChildEntry {
  status: CellStatus = 'new';
  incarnation = 0;
  startedAt = 0;
  restarts = 0;
  stashLimit = Infinity;
  supervision: unknown;
  mailboxSize = 0;
  thread = -1;
  private id = 0;
  private currentRef: ActorRef | undefined;
  /** Incarnations of cells on threads that died, so the count keeps growing across them. */
  private incarnationBase = 0;
  private needsCell = true;
  /** Called once the actor is dead for good (top-level bookkeeping). */
  onDead: (() => void) | undefined;

  constructor(
    private readonly threads: ThreadManager,
    private readonly host: Host,
    private readonly req: Omit<RemoteSpawnRequest, 'parent'> & { parent: ActorCell | undefined },
    readonly path: string,
  ) {}

  get node(): string {
    return this.host.node;
  }

  get ref(): ActorRef {
    if (this.currentRef === undefined) throw new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} has not started`);
    return this.currentRef;
  }

  /** The actor's id on its thread. */
  get remoteId(): number {
    return this.id;
  }

  private link(): ThreadLink | undefined {
    return this.needsCell ? undefined : this.host.links[this.thread];
  }

  startNow(): Promise<void> {
    return this.startAsync();
  }

  private async startAsync(): Promise<void> {
    if (this.status === 'dead') throw new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} is stopped`);
    if (this.needsCell) await this.createCell();
    this.status = 'starting';
    const link = this.link();
    const res: ResPayload = link
      ? await link.request(this.id, { k: 'start' })
      : { ok: false, error: { name: 'ApiaryError', message: `thread ${this.thread} is gone`, code: ErrorCodes.THREAD_GONE } };
    if (!res.ok) {
      if (this.status === 'starting') this.status = 'restarting';
      const cause = errorFrom(res.error);
      throw new ApiaryError(ErrorCodes.START_FAILED, `${this.path} failed to start: ${cause.message}`, { cause });
    }
    this.incarnation = this.incarnationBase + (res.incarnation ?? 1);
    this.startedAt = this.host.clock.now();
    this.status = 'running';
  }

  private async createCell(): Promise<void> {
    const thread = await this.threads.place(this.req.thread);
    const parent = this.req.parent;
    const id = await this.threads.create(thread, {
      actor: this.req.actor,
      args: this.req.options.args,
      mailbox: this.req.options.mailbox,
      path: this.path,
      parent: { thread: this.host.thread, id: parent === undefined ? 0 : parent.id },
    });
    this.host.remoteChildren.delete(`${this.thread}:${this.id}`);
    this.unregisterName();
    this.thread = thread;
    this.id = id;
    this.currentRef = this.host.resolveRef({ node: this.host.node, incarnation: this.host.incarnation, thread, id }, this.path);
    this.host.remoteChildren.set(`${thread}:${id}`, this);
    this.needsCell = false;
    // a name names the current actor; it lives in this thread's registry
    const name = this.req.options.name;
    if (name !== undefined) this.host.registry.register(name, this.currentRef);
  }

  async terminate(reason: ExitReason): Promise<ExitReason> {
    const link = this.link();
    if (link === undefined || this.status === 'dead') {
      this.died();
      return this.needsCell ? 'thread-crash' : reason;
    }
    this.status = 'stopping';
    const res = await link.request(this.id, { k: 'terminate', reason });
    this.died();
    return res.ok ? (res.reason ?? reason) : 'thread-crash';
  }

  async prepareRestart(reason: ExitReason): Promise<void> {
    const link = this.link();
    if (link !== undefined) {
      this.status = 'stopping';
      await link.request(this.id, { k: 'prepare-restart', reason });
    }
    if (this.status !== 'dead') this.status = 'restarting';
  }

  kill(reason: ExitReason, final: boolean): void {
    this.link()?.sendSys(this.id, { k: 'kill', reason, final });
    if (final) this.died();
    else if (this.status !== 'dead') this.status = 'restarting';
  }

  resume(): void {
    this.link()?.sendSys(this.id, { k: 'resume' });
    if (this.status === 'suspended') this.status = 'running';
  }

  terminateNow(): boolean {
    return false;
  }

  finalize(reason: ExitReason): void {
    this.kill(reason, true);
  }

  /** Makes the child exit abnormally where it runs (admin kill). */
  exitNow(reason: ExitReason): void {
    this.link()?.sendSys(this.id, { k: 'exit-now', reason });
  }

  /** The child exited on its thread; its supervisor decides (a top-level actor just stops). */
  reported(exit: { incarnation: number; reason: ExitReason; resumable: boolean }): void {
    if (this.status === 'dead') return;
    this.status = 'suspended';
    this.incarnation = this.incarnationBase + exit.incarnation;
    this.toParent(exit.reason, exit.resumable);
  }

  /** The child's thread died: it exits with `thread-crash`; its next start makes a new cell. */
  threadDied(): void {
    this.needsCell = true;
    this.incarnationBase = this.incarnation;
    this.host.remoteChildren.delete(`${this.thread}:${this.id}`);
    if (this.status === 'dead' || this.status === 'suspended' || this.status === 'restarting') return;
    this.status = 'suspended';
    this.host.emit({ type: 'failed', path: this.path, reason: 'thread-crash', at: this.host.clock.now() });
    this.toParent('thread-crash', false);
  }

  private toParent(reason: ExitReason, resumable: boolean): void {
    const parent = this.req.parent;
    if (parent !== undefined && parent.status !== 'dead') {
      parent.enqueueSystem({ kind: 'child-exit', cell: this, incarnation: this.incarnation, reason, resumable });
    } else if (this.needsCell) {
      this.died();
      this.host.emit({ type: 'stopped', path: this.path, reason, at: this.host.clock.now() });
    } else {
      void this.terminate(reason);
    }
  }

  private unregisterName(): void {
    const name = this.req.options.name;
    if (name !== undefined && this.currentRef !== undefined) this.host.registry.unregister(name, this.currentRef);
  }

  private died(): void {
    if (this.status === 'dead') return;
    this.unregisterName();
    this.status = 'dead';
    this.host.remoteChildren.delete(`${this.thread}:${this.id}`);
    this.threads.released(this.thread);
    this.onDead?.();
  }
}
