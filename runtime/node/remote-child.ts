/**
 * RemoteChild: a supervisor's handle on a child that runs somewhere else — on a worker
 * thread of this node, or on another node — whatever the distance; a Placement says where.
 *
 * Owns: driving the child's lifecycle over the endpoint of the peer it runs on (start,
 * terminate, restart-stop, kill, resume — ordered with the child's exit reports, which come
 * back over the same link), mirroring its status for the supervisor and the tree, and
 * turning the loss of what it ran on into an exit: `thread-crash` when its thread died,
 * `node-down` when its node went down. After such a loss the next start places a fresh cell
 * (the old ref is dead; the handle's `ref` is the new one), where the placement says.
 * Also used, without a supervisor, for top-level actors spawned onto a worker thread or
 * another node.
 * Threads: thread 0, where supervisors and the peers' endpoints live.
 */
import type { ActorCell, CellStatus } from '../../actors/actor-cell.js';
import type { ActorRef } from '../../actors/actor-ref.js';
import type { ActorClass, SpawnOptions } from '../../actors/actor.js';
import type { ChildHandle } from '../../actors/child-handle.js';
import type { ExitReason } from '../../actors/exit-reason.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import type { Host } from '../../actors/host.js';
import { errorFrom, type ResPayload, type SysPayload } from '../../transport/frames.js';
import type { LostReason, Peer, PlacedChild } from '../../transport/peer.js';

/** What to run, under whom, at which path. */
export interface RemoteChildRequest {
  actor: ActorClass;
  options: SpawnOptions;
  /** Its supervisor on this thread; none for a top-level actor. */
  parent: ActorCell | undefined;
  /** A worker thread index or `auto` (see SpawnOptions.thread / ChildSpec.thread). */
  thread: number | 'auto';
}

/** Where a cell was made: the peer that reaches it and its address there. */
export interface PlacedCell {
  peer: Peer;
  node: string;
  incarnation: number;
  thread: number;
  id: number;
}

/** Where a remote child's cells are made. */
export interface Placement {
  /** The node it is meant for (before it is placed), for the tree. */
  readonly node: string;
  /** How its actors end when what they run on is lost. */
  readonly lostReason: LostReason;
  /**
   * Makes (does not start) a cell for the next incarnation; rejects with why it could not
   * (no live thread, no node up, the class cannot be loaded there).
   */
  place(req: RemoteChildRequest, path: string): Promise<PlacedCell>;
  /** A cell placed by `place` is gone for good (load accounting). */
  release(cell: PlacedCell): void;
}

type Order = Extract<SysPayload, { k: 'kill' | 'resume' | 'exit-now' }>;

export class RemoteChild implements ChildHandle, PlacedChild {
  status: CellStatus = 'new';
  incarnation = 0;
  startedAt = 0;
  restarts = 0;
  stashLimit = Infinity;
  supervision: unknown;
  /** User messages waiting there (as of the last report; threads only). */
  mailboxSize = 0;
  /** The current cell, or undefined when the next start must place one. */
  private cell: PlacedCell | undefined;
  private currentRef: ActorRef | undefined;
  /** Incarnations of cells lost with their thread or node, so the count keeps growing across them. */
  private incarnationBase = 0;
  private lostReason: LostReason;
  /** Called once the actor is dead for good (top-level bookkeeping). */
  onDead: (() => void) | undefined;

  constructor(
    private readonly host: Host,
    private readonly placement: Placement,
    private readonly req: RemoteChildRequest,
    readonly path: string,
  ) {
    this.lostReason = placement.lostReason;
  }

  get node(): string {
    return this.cell?.node ?? this.placement.node;
  }

  get thread(): number {
    return this.cell?.thread ?? -1;
  }

  /** The actor's id where it runs (0 before it was placed). */
  get remoteId(): number {
    return this.cell?.id ?? 0;
  }

  get ref(): ActorRef {
    if (this.currentRef === undefined) throw new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} has not started`);
    return this.currentRef;
  }

  private request(payload: Parameters<Peer['endpoint']['request']>[2]): Promise<ResPayload> {
    const cell = this.cell;
    if (cell === undefined || cell.peer.endpoint.closed) return Promise.resolve(this.unreachable());
    return cell.peer.endpoint.request(cell.thread, cell.id, payload);
  }

  private order(payload: Order): void {
    const cell = this.cell;
    if (cell !== undefined && !cell.peer.endpoint.closed) cell.peer.endpoint.sendSys(cell.thread, cell.id, payload);
  }

  private unreachable(): ResPayload {
    const message = this.lostReason === 'node-down' ? `node ${this.node} is down` : `thread ${this.thread} is gone`;
    return { ok: false, error: { name: 'ApiaryError', message, code: this.lostReason === 'node-down' ? ErrorCodes.NODE_DOWN : ErrorCodes.THREAD_GONE } };
  }

  startNow(): Promise<void> {
    return this.startAsync();
  }

  private async startAsync(): Promise<void> {
    if (this.status === 'dead') throw new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} is stopped`);
    if (this.cell === undefined) await this.placeCell();
    this.status = 'starting';
    const res = await this.request({ k: 'start' });
    if (!res.ok) {
      if (this.status === 'starting') this.status = 'restarting';
      const cause = errorFrom(res.error);
      throw new ApiaryError(ErrorCodes.START_FAILED, `${this.path} failed to start: ${cause.message}`, { cause });
    }
    this.incarnation = this.incarnationBase + (res.incarnation ?? 1);
    this.startedAt = this.host.clock.now();
    // The new incarnation may already have crashed on its first message: its exit report can
    // overtake this answer (they leave in either order). It then stays suspended, as
    // `reported` left it, so its supervisor takes the report as current, not stale.
    if (this.status === 'starting') this.status = 'running';
  }

  /** Places a cell for the next incarnation (a new actor with a new ref) and makes it current. */
  private async placeCell(): Promise<void> {
    const cell = await this.placement.place(this.req, this.path);
    this.forget();
    this.cell = cell;
    cell.peer.children.set(`${cell.thread}:${cell.id}`, this);
    this.unregisterName();
    this.currentRef = this.host.resolveRef({ node: cell.node, incarnation: cell.incarnation, thread: cell.thread, id: cell.id }, this.path);
    // a name names the current actor; it lives in this thread's registry
    const name = this.req.options.name;
    if (name !== undefined) this.host.registry.register(name, this.currentRef);
  }

  async terminate(reason: ExitReason): Promise<ExitReason> {
    if (this.cell === undefined || this.cell.peer.endpoint.closed || this.status === 'dead') {
      const lost = this.cell === undefined;
      this.died();
      return lost ? this.lostReason : reason;
    }
    this.status = 'stopping';
    const res = await this.request({ k: 'terminate', reason });
    this.died();
    return res.ok ? (res.reason ?? reason) : this.lostReason;
  }

  async prepareRestart(reason: ExitReason): Promise<void> {
    if (this.cell !== undefined && !this.cell.peer.endpoint.closed) {
      this.status = 'stopping';
      await this.request({ k: 'prepare-restart', reason });
    }
    if (this.status !== 'dead') this.status = 'restarting';
  }

  kill(reason: ExitReason, final: boolean): void {
    this.order({ k: 'kill', reason, final });
    if (final) this.died();
    else if (this.status !== 'dead') this.status = 'restarting';
  }

  resume(): void {
    this.order({ k: 'resume' });
    if (this.status === 'suspended') this.status = 'running';
  }

  terminateNow(): boolean {
    return false;
  }

  prepareRestartNow(): boolean {
    return false;
  }

  finalize(reason: ExitReason): void {
    this.kill(reason, true);
  }

  /** Makes the child exit abnormally where it runs (admin kill). */
  exitNow(reason: ExitReason): void {
    this.order({ k: 'exit-now', reason });
  }

  /** The child exited where it runs; its supervisor decides (a top-level actor just stops). */
  reported(exit: { incarnation: number; reason: ExitReason; resumable: boolean }): void {
    if (this.status === 'dead') return;
    this.status = 'suspended';
    this.incarnation = this.incarnationBase + exit.incarnation;
    this.toParent(exit.reason, exit.resumable);
  }

  /**
   * What the child ran on is lost (`thread-crash`: its thread died; `node-down`: its node
   * went down): it exits with that reason; its next start places a new cell.
   */
  lost(reason: LostReason): void {
    this.forget();
    this.cell = undefined;
    this.lostReason = reason;
    this.incarnationBase = this.incarnation;
    if (this.status === 'dead' || this.status === 'suspended' || this.status === 'restarting') return;
    this.status = 'suspended';
    this.host.emit({ type: 'failed', path: this.path, reason, at: this.host.clock.now() });
    this.toParent(reason, false);
  }

  /** Drops the bookkeeping that routes the current cell's exit reports here. */
  private forget(): void {
    const cell = this.cell;
    if (cell !== undefined && cell.peer.children.get(`${cell.thread}:${cell.id}`) === this) cell.peer.children.delete(`${cell.thread}:${cell.id}`);
  }

  private toParent(reason: ExitReason, resumable: boolean): void {
    const parent = this.req.parent;
    if (parent !== undefined && parent.status !== 'dead') {
      parent.enqueueSystem({ kind: 'child-exit', cell: this, incarnation: this.incarnation, reason, resumable });
    } else if (this.cell === undefined) {
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
    const cell = this.cell;
    this.forget();
    if (cell !== undefined) this.placement.release(cell);
    this.onDead?.();
  }
}
