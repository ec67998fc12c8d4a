/**
 * ActorSystem: one apiary node as its users see it.
 *
 * Owns: spawning top-level actors and supervisors, stopping everything in reverse start
 * order, the tree snapshot, kills, names and `events$`. Does not own: message delivery
 * (actors/) or restart policy (supervisor/).
 * Threads: runs on the thread that creates it (worker threads come with the threads issue).
 * Time: the injected clock (default: the real one).
 */
import type { Observable } from 'rxjs';
import type { ActorClass, ArgsOfClass, RefOf, SpawnOptions } from '../actors/actor.js';
import { ActorCell } from '../actors/actor-cell.js';
import { ActorRef } from '../actors/actor-ref.js';
import type { DispatcherOptions } from '../actors/dispatcher.js';
import type { SystemEvent } from '../actors/events.js';
import type { ExitReason } from '../actors/exit-reason.js';
import { Host } from '../actors/host.js';
import { isSupervisorSpec, type SupervisorSpec } from '../supervisor/child-spec.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { SupervisorRef } from '../supervisor/supervisor-ref.js';
import { snapshotCell, type TreeSnapshot } from '../supervisor/tree.js';
import { stopWithin, type Shutdown } from '../actors/shutdown.js';
import { RealClock, type Clock } from './clock.js';
import { DEFAULTS } from './defaults.js';
import { ApiaryError, ErrorCodes } from './errors.js';

export interface ActorSystemOptions extends DispatcherOptions {
  /** Node name, shown in refs, the tree and logs. Default `apiary`. */
  name?: string;
  /** Default: the real clock. Tests pass a `ManualClock`. */
  clock?: Clock;
  /** This node's incarnation (set by the cluster layer); default 1. */
  incarnation?: number;
}

export interface SystemSpawnOptions<Args = unknown> extends SpawnOptions<Args> {
  /** ms a top-level actor gets to stop on `system.stop()` before it is killed; default 5000 (`infinity` for supervisors). */
  shutdown?: Shutdown;
}

export class ActorSystem {
  readonly name: string;
  readonly clock: Clock;
  /** @internal */
  readonly host: Host;
  /** Lifecycle events: started, stopped, failed, restarted, escalated, supervisor-decision, dead-letter. */
  readonly events$: Observable<SystemEvent>;
  private stopping: Promise<void> | undefined;
  private readonly shutdowns = new WeakMap<ActorCell, Shutdown>();

  constructor(options: ActorSystemOptions = {}) {
    this.name = options.name ?? DEFAULTS.nodeName;
    this.clock = options.clock ?? new RealClock();
    this.host = new Host({ ...options, node: this.name, incarnation: options.incarnation ?? 1, thread: 0, clock: this.clock });
    this.events$ = this.host.events$;
  }

  /**
   * Starts a top-level actor, or a supervisor tree from `supervisor({...})`. Resolves once
   * its `started` hook (for a supervisor: every child, in order) has run; rejects
   * `ERR_START_FAILED` if that throws, `ERR_NAME_TAKEN` if the name is in use,
   * `ERR_SYSTEM_STOPPED` after `stop()`.
   */
  spawn(spec: SupervisorSpec, options?: SystemSpawnOptions<never>): Promise<SupervisorRef>;
  spawn<C extends ActorClass>(actor: C, options?: SystemSpawnOptions<ArgsOfClass<C>>): Promise<RefOf<InstanceType<C>>>;
  async spawn(actor: ActorClass | SupervisorSpec, options: SystemSpawnOptions = {}): Promise<ActorRef<any, any>> {
    if (this.stopping) throw new ApiaryError(ErrorCodes.SYSTEM_STOPPED, 'the actor system is stopped');
    const isSup = isSupervisorSpec(actor);
    const cell = this.host.createCell(isSup ? Supervisor : actor, isSup ? { ...options, args: actor } : options);
    this.shutdowns.set(cell, options.shutdown ?? (isSup ? 'infinity' : 5000));
    const ref = await this.host.startCell(cell);
    return isSup ? SupervisorRef.of(ref) : ref;
  }

  /** The ref registered under `name`, or undefined. */
  lookup<M = unknown, R = unknown>(name: string): ActorRef<M, R> | undefined {
    return this.host.registry.lookup(name) as ActorRef<M, R> | undefined;
  }

  /** Registers `ref` under `name`; throws `ERR_NAME_TAKEN`. Released when the actor dies. */
  register(name: string, ref: ActorRef<any, any>): void {
    this.host.registry.register(name, ref);
    const target = ref.target as Partial<ActorCell>;
    target.onTermination?.(() => this.host.registry.unregister(name, ref));
  }

  /** The ref of the live actor at a tree path (e.g. `/app/reports/ingest`), or undefined. */
  at<M = unknown, R = unknown>(path: string): ActorRef<M, R> | undefined {
    return this.host.cellAt(path)?.ref as ActorRef<M, R> | undefined;
  }

  /**
   * Makes an actor exit abnormally at once, as OTP's `exit(Pid, kill)`: its current
   * message is abandoned and its supervisor applies its strategy. Returns false if no live
   * actor matches.
   */
  kill(target: ActorRef<any, any> | string, reason: ExitReason = 'killed'): boolean {
    const cell = typeof target === 'string' ? this.host.cellAt(target) : this.cellOf(target);
    if (cell === undefined || cell.status === 'dead') return false;
    cell.exitNow(reason);
    return true;
  }

  /** Resolves with the exit reason when `ref` dies for good (at once if it is dead). */
  watch(ref: ActorRef<any, any>): Promise<ExitReason> {
    const cell = this.cellOf(ref);
    if (cell === undefined) return Promise.resolve('noproc');
    return new Promise((resolve) => cell.onTermination(resolve));
  }

  /** Stops one top-level actor (or tree) within its shutdown; resolves with its exit reason. */
  stopActor(ref: ActorRef<any, any>): Promise<ExitReason> {
    const cell = this.cellOf(ref);
    if (cell === undefined) return Promise.resolve('noproc');
    return stopWithin(cell, 'shutdown', this.shutdowns.get(cell) ?? 5000, this.clock);
  }

  /** The supervisor tree of this node: the `/tree` JSON of DESIGN §4. */
  tree(): TreeSnapshot {
    return { node: this.name, children: [...this.host.topLevel].map((c) => snapshotCell(c, c.path.slice(1))) };
  }

  /** Resolves when no actor has a message it could process now (timers and pending I/O aside). */
  whenIdle(): Promise<void> {
    return this.host.dispatcher.whenIdle();
  }

  /**
   * Stops every top-level actor in reverse spawn order (each tree stops its children in
   * reverse start order), rejects open asks `ERR_SYSTEM_STOPPED`, completes `events$`.
   * Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const cell of [...this.host.topLevel].reverse()) {
        await stopWithin(cell, 'shutdown', this.shutdowns.get(cell) ?? 5000, this.clock);
      }
      this.host.asks.rejectAll(new ApiaryError(ErrorCodes.SYSTEM_STOPPED, 'the actor system stopped'));
      this.host.close();
    })();
    return this.stopping;
  }

  private cellOf(ref: ActorRef<any, any>): ActorCell | undefined {
    const target = ref.target;
    return target instanceof ActorCell && target.host === this.host ? target : undefined;
  }
}
