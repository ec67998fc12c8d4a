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
import type { ActorCell, CellStatus } from '../../actors/actor-cell.js';
import type { ActorRef } from '../../actors/actor-ref.js';
import type { ChildHandle } from '../../actors/child-handle.js';
import type { ExitReason } from '../../actors/exit-reason.js';
import type { Host, RemoteChildEntry, RemoteSpawnRequest } from '../../actors/host.js';
import type { ReqPayload, ResPayload } from '../../transport/frames.js';
import { errorFrom } from '../../transport/thread-link.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import type { ThreadManager } from './thread-manager.js';

/** How a handle reaches its child's cell: lifecycle requests and one-way orders, in order with its exit reports. */
export interface ChildChannel {
  request(payload: ReqPayload): Promise<ResPayload>;
  sendSys(payload: { k: 'kill'; reason: ExitReason; final: boolean } | { k: 'resume' } | { k: 'exit-now'; reason: ExitReason }): void;
}

export class RemoteChild implements ChildHandle, RemoteChildEntry {
  status: CellStatus = 'new';
  incarnation = 0;
  startedAt = 0;
  restarts = 0;
  stashLimit = Infinity;
  supervision: unknown;
  mailboxSize = 0;
  thread = -1;
  protected id = 0;
  protected currentRef: ActorRef | undefined;
  /** Incarnations of cells on threads (or nodes) that died, so the count keeps growing across them. */
  private incarnationBase = 0;
  protected needsCell = true;
  /** Called once the actor is dead for good (top-level bookkeeping). */
  onDead: (() => void) | undefined;

  constructor(
    private readonly threads: ThreadManager | undefined,
    protected readonly host: Host,
    protected readonly req: Omit<RemoteSpawnRequest, 'parent'> & { parent: ActorCell | undefined },
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

  /** The way to the current cell, or undefined if there is none (not created, or its thread died). */
  protected channel(): ChildChannel | undefined {
    const link = this.needsCell ? undefined : this.host.links[this.thread];
    if (link === undefined) return undefined;
    const id = this.id;
    return { request: (p) => link.request(id, p), sendSys: (p) => link.sendSys(id, p) };
  }

  /** Why there is no channel (for start failures). */
  protected unreachable(): ResPayload {
    return { ok: false, error: { name: 'ApiaryError', message: `thread ${this.thread} is gone`, code: ErrorCodes.THREAD_GONE } };
  }

  startNow(): Promise<void> {
    return this.startAsync();
  }

  private async startAsync(): Promise<void> {
    if (this.status === 'dead') throw new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} is stopped`);
    if (this.needsCell) await this.createCell();
    this.status = 'starting';
    const channel = this.channel();
    const res: ResPayload = channel ? await channel.request({ k: 'start' }) : this.unreachable();
    if (!res.ok) {
      if (this.status === 'starting') this.status = 'restarting';
      const cause = errorFrom(res.error);
      throw new ApiaryError(ErrorCodes.START_FAILED, `${this.path} failed to start: ${cause.message}`, { cause });
    }
    this.incarnation = this.incarnationBase + (res.incarnation ?? 1);
    this.startedAt = this.host.clock.now();
    // The new incarnation may already have crashed on its first message: its exit report can
    // overtake this answer (they leave the worker in either order). It then stays suspended,
    // as `reported` left it, so its supervisor takes the report as current, not stale.
    if (this.status === 'starting') this.status = 'running';
  }

  /** Creates a cell for the next incarnation (a new actor with a new ref) where the placement says. */
  protected async createCell(): Promise<void> {
    const threads = this.threads!;
    const thread = await threads.place(this.req.thread);
    const parent = this.req.parent;
    const id = await threads.create(thread, {
      actor: this.req.actor,
      args: this.req.options.args,
      mailbox: this.req.options.mailbox,
      path: this.path,
      parent: { thread: this.host.thread, id: parent === undefined ? 0 : parent.id },
    });
    this.host.remoteChildren.delete(`${this.thread}:${this.id}`);
    this.thread = thread;
    this.id = id;
    this.adopt(this.host.resolveRef({ node: this.host.node, incarnation: this.host.incarnation, thread, id }, this.path));
    this.host.remoteChildren.set(`${thread}:${id}`, this);
  }

  /** Makes `ref` the current actor (and its name's holder). */
  protected adopt(ref: ActorRef): void {
    this.unregisterName();
    this.currentRef = ref;
    this.needsCell = false;
    // a name names the current actor; it lives in this thread's registry
    const name = this.req.options.name;
    if (name !== undefined) this.host.registry.register(name, ref);
  }

  async terminate(reason: ExitReason): Promise<ExitReason> {
    const channel = this.channel();
    if (channel === undefined || this.status === 'dead') {
      this.died();
      return this.needsCell ? this.lostReason : reason;
    }
    this.status = 'stopping';
    const res = await channel.request({ k: 'terminate', reason });
    this.died();
    return res.ok ? (res.reason ?? reason) : this.lostReason;
  }

  async prepareRestart(reason: ExitReason): Promise<void> {
    const channel = this.channel();
    if (channel !== undefined) {
      this.status = 'stopping';
      await channel.request({ k: 'prepare-restart', reason });
    }
    if (this.status !== 'dead') this.status = 'restarting';
  }

  kill(reason: ExitReason, final: boolean): void {
    this.channel()?.sendSys({ k: 'kill', reason, final });
    if (final) this.died();
    else if (this.status !== 'dead') this.status = 'restarting';
  }

  resume(): void {
    this.channel()?.sendSys({ k: 'resume' });
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
    this.channel()?.sendSys({ k: 'exit-now', reason });
  }

  /** The child exited on its thread; its supervisor decides (a top-level actor just stops). */
  reported(exit: { incarnation: number; reason: ExitReason; resumable: boolean }): void {
    if (this.status === 'dead') return;
    this.status = 'suspended';
    this.incarnation = this.incarnationBase + exit.incarnation;
    this.toParent(exit.reason, exit.resumable);
  }

  private lostReason: 'thread-crash' | 'node-down' = 'thread-crash';

  /**
   * The child's thread died (`thread-crash`) or its node went down (`node-down`): it exits
   * with that reason; its next start makes a new cell where the placement says.
   */
  threadDied(reason: 'thread-crash' | 'node-down' = 'thread-crash'): void {
    this.needsCell = true;
    this.lostReason = reason;
    this.incarnationBase = this.incarnation;
    this.forget();
    if (this.status === 'dead' || this.status === 'suspended' || this.status === 'restarting') return;
    this.status = 'suspended';
    this.host.emit({ type: 'failed', path: this.path, reason, at: this.host.clock.now() });
    this.toParent(reason, false);
  }

  /** Drops the bookkeeping that routes the current cell's exit reports here. */
  protected forget(): void {
    this.host.remoteChildren.delete(`${this.thread}:${this.id}`);
  }

  /** The placement no longer holds the child (for thread load accounting). */
  protected release(): void {
    this.threads?.released(this.thread);
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
    this.forget();
    this.release();
    this.onDead?.();
  }
}
