/**
 * ActorCell: one actor's mailbox, current instance and lifecycle on its thread.
 *
 * Owns: running messages one at a time (async `receive` included), the system/user queue
 * order, lifecycle hooks, watch bookkeeping, dead letters on death, and reporting exits
 * to the parent. The cell outlives restarts: a supervisor replaces the *instance*, so the
 * ref stays valid and queued messages survive (Akka's restart semantics).
 * Does not own: deciding what to do when the actor exits (its parent decides) or timing
 * graceful stops (see shutdown.ts).
 * Threads: touched only by its own thread. Time: only through the host's clock.
 */
import { ApiaryError, ErrorCodes } from '../runtime/errors.js';
import {
  type Actor,
  type ActorClass,
  type ActorContext,
  type ArgsOfClass,
  type RefOf,
  type SpawnOptions,
  withConstructionContext,
} from './actor.js';
import { ActorRef, type RefTarget } from './actor-ref.js';
import type { AskRegistry } from './ask.js';
import type { Runnable } from './dispatcher.js';
import { errorReason, type ExitReason } from './exit-reason.js';
import type { DeadLetterReason } from './events.js';
import { Mailbox, type AskReplyTo, type Envelope } from './mailbox.js';
import type { DeferredReply } from './actor.js';
import type { SystemEvent } from './events.js';
import type { Host } from './host.js';
import { stopWithin } from './shutdown.js';
import type { ChildHandle } from './child-handle.js';
import { TerminatedMessage, Watches } from './watches.js';
import {
  isParentBehaviour,
  PARENT_BEHAVIOUR,
  settleAfterDeath,
  type CellStatus,
  type SystemMessage,
} from './system-message.js';

export { PARENT_BEHAVIOUR } from './system-message.js';
export type { CellStatus, ChildExit, ParentBehaviour, SystemMessage } from './system-message.js';
import type { TimerHandle } from '../runtime/clock.js';

/** Default ms a context-spawned child gets to stop before it is killed. */
const CONTEXT_CHILD_SHUTDOWN = 5000;

const RESOLVED: Promise<void> = Promise.resolve();

/** One message in this many (a power of two) has its processing time measured. */
export const PROCESSING_SAMPLE = 8;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

export class ActorCell implements ActorContext, Runnable, RefTarget, ChildHandle {
  scheduled = false;
  status: CellStatus = 'new';
  /** A message, hook or parent duty is in flight; nothing else runs until it settles. */
  private busy = false;
  /** Bumped whenever the instance is replaced or abandoned; stale async results compare it. */
  private token = 0;
  instance: Actor | undefined;
  incarnation = 0;
  /** A runtime-internal actor: no lifecycle events, not in the tree. */
  internal = false;
  /** The supervisor's bookkeeping for this child (opaque here). */
  supervision: unknown;
  /** Restarts of this cell, kept by its supervisor. */
  restarts = 0;
  /** While not running, at most this many user messages are kept (the rest are dead letters). */
  stashLimit = Infinity;
  startedAt = 0;
  finalReason: ExitReason | undefined;
  readonly mailbox: Mailbox<SystemMessage>;
  readonly ref: ActorRef;
  sender: ActorRef | undefined;
  /** Set when the parent lives on another thread: exits are reported over the link. */
  remoteParent: { report(cell: ActorCell, reason: ExitReason, resumable: boolean): void } | undefined;
  /** Watch bookkeeping, allocated on first use. */
  private watchSet: Watches | undefined;
  /** The stop or restart-stop being carried out, so a kill can complete it. */
  private lifecycle: Extract<SystemMessage, { kind: 'stop' | 'prepare-restart' }> | undefined;
  /** The message whose async `receive` is running (its ask is rejected if the instance is abandoned). */
  private inFlight: Envelope | undefined;
  /** Timers of the current incarnation (see scheduleOnce). */
  private timers: Set<TimerHandle> | undefined;
  /** Children made with `context.spawn`, in start order. */
  contextChildren: ActorCell[] | undefined;
  /** The message whose synchronous part of `receive` is running. */
  private current: Envelope | undefined;
  /** The abort controller of the message being processed, made when `signal` is first read. */
  private messageAbort: AbortController | undefined;
  /** Asks cancelled by their askers: queued ones (skipped) and deferred replies (aborted), by reply route. */
  private cancels: Cancels | undefined;

  constructor(
    readonly host: Host,
    readonly actorClass: ActorClass,
    readonly args: unknown,
    readonly path: string,
    readonly id: number,
    readonly parent: ActorCell | undefined,
    readonly name: string | undefined,
    options: SpawnOptions | undefined,
  ) {
    this.mailbox = new Mailbox<SystemMessage>(options?.mailbox);
    this.ref = new ActorRef({ node: host.node, incarnation: host.incarnation, thread: host.thread, id }, path, this);
  }

  // ---- RefTarget -------------------------------------------------------------------

  get asks(): AskRegistry {
    return this.host.asks;
  }

  get dead(): boolean {
    return this.status === 'dead';
  }

  deliver(env: Envelope): boolean {
    const status = this.status;
    if (status === 'dead') {
      this.deadLetter(env, 'stopped');
      return false;
    }
    const limit = status === 'running' || status === 'starting' || status === 'new'
      ? this.mailbox.capacity
      : Math.min(this.mailbox.capacity, this.stashLimit);
    const dropped = this.mailbox.enqueue(env, limit);
    if (dropped !== undefined) {
      const reason: DeadLetterReason =
        limit < this.mailbox.capacity && this.mailbox.size >= limit
          ? 'restarting-stash-full'
          : this.mailbox.overflow === 'reject'
            ? 'mailbox-full'
            : dropped === env
              ? 'dropped-newest'
              : 'dropped-oldest';
      this.deadLetter(dropped, reason);
      if (dropped === env) return false;
    }
    if (status === 'running' && !this.busy && !this.scheduled) this.host.dispatcher.schedule(this);
    return true;
  }

  /** The asker (on this thread) abandoned ask `id`. */
  cancel(id: number): void {
    this.cancelAsk(this.host.asks, id);
  }

  /**
   * Ask `id` answered through `replyTo` was cancelled by its asker: a message in progress
   * has its signal aborted, a deferred reply its `signal`, a queued one is skipped.
   */
  cancelAsk(replyTo: AskReplyTo, id: number): void {
    if (this.status === 'dead') return;
    const env = this.current ?? this.inFlight;
    if (env !== undefined && env.ask === id && env.replyTo === replyTo) {
      (this.messageAbort ??= new AbortController()).abort();
      return;
    }
    (this.cancels ??= new Cancels()).cancel(replyTo, id);
  }

  // ---- Runnable ----------------------------------------------------------------------

  get runnable(): boolean {
    return !this.busy && (this.mailbox.systemSize > 0 || (this.status === 'running' && this.mailbox.hasUser));
  }

  run(budget: number): number {
    let n = 0;
    while (n < budget && !this.busy) {
      const sys = this.mailbox.systemSize > 0 ? this.mailbox.system.shift() : undefined;
      if (sys !== undefined) {
        n++;
        this.handleSystem(sys);
        continue;
      }
      if (this.status !== 'running') break;
      const env = this.mailbox.dequeue();
      if (env === undefined) break;
      n++;
      this.invoke(env);
    }
    return n;
  }

  private wake(): void {
    if (this.runnable) this.host.dispatcher.schedule(this);
  }

  private invoke(env: Envelope): void {
    const msg = env.msg;
    if (msg instanceof TerminatedMessage && !this.watches.takeNotice(msg)) return; // unwatched meanwhile: discard
    if (this.cancels !== undefined && env.ask !== 0 && this.cancels.skip(env)) return; // its asker gave up
    this.sender = env.sender as ActorRef | undefined;
    const host = this.host;
    // time one message in PROCESSING_SAMPLE: enough for the histogram, cheap for the hot path
    const t0 = (++host.processed & (PROCESSING_SAMPLE - 1)) === 0 ? host.clock.now() : -1;
    let result: unknown;
    this.current = env;
    this.messageAbort = undefined;
    try {
      result = this.instance!.receive(msg);
    } catch (err) {
      this.current = undefined;
      this.receiveFailed(err, env);
      return;
    }
    this.current = undefined;
    if (isThenable(result)) {
      this.busy = true;
      this.inFlight = env;
      const token = this.token;
      result.then(
        (value) => {
          if (token !== this.token) return;
          if (t0 >= 0) host.processing.observe(host.clock.now() - t0);
          this.busy = false;
          this.inFlight = undefined;
          this.messageAbort = undefined;
          if (env.ask !== 0) env.replyTo!.resolve(env.ask, value);
          this.wake();
        },
        (err: unknown) => {
          if (token !== this.token) return;
          this.busy = false;
          this.inFlight = undefined;
          this.messageAbort = undefined;
          this.receiveFailed(err, env);
          this.wake();
        },
      );
    } else {
      if (t0 >= 0) host.processing.observe(host.clock.now() - t0);
      if (env.ask !== 0) env.replyTo!.resolve(env.ask, result);
    }
  }

  private receiveFailed(err: unknown, env: Envelope): void {
    if (env.ask !== 0) {
      env.replyTo!.reject(env.ask, new ApiaryError(ErrorCodes.ACTOR_FAILED, `${this.path} failed handling this message`, { cause: err }));
    }
    const reason = errorReason(err);
    this.host.emit({ type: 'failed', path: this.path, reason, at: this.host.clock.now() });
    this.exited(reason, true);
  }

  /** The instance is gone or failed: ask the parent what to do, or stop for good. */
  /**
   * `resumable`: the instance may go on (it threw). `keepInstance`: it stays for the hook the
   * parent's decision calls (`beforeRestart` on a restart, `stopping` on a stop).
   */
  private exited(reason: ExitReason, resumable: boolean, keepInstance = resumable): void {
    this.status = 'suspended';
    if (!resumable) this.cancelTimers();
    if (!keepInstance) this.instance = undefined;
    const parent = this.parent;
    if (this.remoteParent !== undefined) {
      this.remoteParent.report(this, reason, resumable);
    } else if (parent !== undefined && parent.status !== 'dead' && isParentBehaviour(parent.instance)) {
      parent.enqueueSystem({ kind: 'child-exit', cell: this, incarnation: this.incarnation, reason, resumable });
    } else {
      this.enqueueSystem({ kind: 'stop', reason, done: () => {} });
    }
  }

  // ---- system queue --------------------------------------------------------------------

  enqueueSystem(msg: SystemMessage): void {
    if (this.status === 'dead') {
      settleAfterDeath(msg, this.finalReason ?? 'noproc', this.path);
      return;
    }
    this.mailbox.system.push(msg);
    if (!this.busy) this.host.dispatcher.schedule(this);
  }

  private handleSystem(msg: SystemMessage): void {
    switch (msg.kind) {
      case 'exit':
        // the parent decides which hook runs: `beforeRestart` if it restarts this actor,
        // `stopping` if it stops it (an actor without a supervisor just stops)
        if (this.status !== 'running') return;
        this.exited(msg.reason, false, true);
        return;
      case 'stop':
        if (this.status === 'dead') return msg.done(this.finalReason ?? 'noproc');
        this.status = 'stopping';
        this.lifecycle = msg;
        this.step(this.stopContextChildren(), () =>
          this.step(this.callHook('stopping', msg.reason), () => {
            this.lifecycle = undefined;
            this.finalize(msg.reason);
            msg.done(msg.reason);
          }),
        );
        return;
      case 'prepare-restart':
        if (this.status === 'dead') return msg.done();
        this.status = 'stopping';
        this.lifecycle = msg;
        this.step(this.stopContextChildren(), () =>
          this.step(this.callHook('beforeRestart', msg.reason), () => {
            this.lifecycle = undefined;
            this.instance = undefined;
            this.cancelTimers();
            this.token++;
            this.status = 'restarting';
            msg.done();
          }),
        );
        return;
      case 'resume':
        if (this.status === 'suspended' && this.instance !== undefined) this.status = 'running';
        return;
      case 'child-exit':
      case 'control': {
        const behaviour = this.instance;
        if (isParentBehaviour(behaviour)) {
          let out: void | Promise<void>;
          try {
            out = behaviour[PARENT_BEHAVIOUR].handleSystem(msg);
          } catch (err) {
            this.parentDutyFailed(err);
            return;
          }
          if (isThenable(out)) {
            this.busy = true;
            const token = this.token;
            out.then(
              () => {
                if (token !== this.token) return;
                this.busy = false;
                this.wake();
              },
              (err: unknown) => {
                if (token !== this.token) return;
                this.busy = false;
                this.parentDutyFailed(err);
                this.wake();
              },
            );
          }
        } else if (msg.kind === 'child-exit') {
          void msg.cell.terminate(msg.reason);
        } else {
          msg.reply(new ApiaryError(ErrorCodes.UNSUPPORTED, `${this.path} is not a supervisor`));
        }
        return;
      }
    }
  }

  private parentDutyFailed(err: unknown): void {
    const reason = errorReason(err);
    this.host.emit({ type: 'failed', path: this.path, reason, at: this.host.clock.now() });
    this.exited(reason, false);
  }

  /** Runs `value` (sync or a promise) and then `next`, keeping the cell busy meanwhile. */
  private step(value: void | Promise<void>, next: () => void): void {
    if (!isThenable(value)) return next();
    this.busy = true;
    const token = this.token;
    value.then(
      () => {
        if (token !== this.token) return;
        this.busy = false;
        next();
        this.wake();
      },
      () => {
        if (token !== this.token) return;
        this.busy = false;
        next();
        this.wake();
      },
    );
  }

  /** Calls a lifecycle hook; its errors are reported as `failed` events, never thrown. */
  private callHook(hook: 'stopping' | 'beforeRestart', reason: ExitReason): void | Promise<void> {
    const instance = this.instance;
    const fn = instance?.[hook];
    if (typeof fn !== 'function') return;
    const report = (err: unknown) =>
      this.host.emit({ type: 'failed', path: this.path, reason: errorReason(err), at: this.host.clock.now() });
    try {
      const out = fn.call(instance, reason);
      if (isThenable(out)) return Promise.resolve(out).then(undefined, report);
    } catch (err) {
      report(err);
    }
  }

  // ---- lifecycle driven by the parent / host -------------------------------------------

  /**
   * Starts a new incarnation: constructs the instance and runs `started`. Resolves when it
   * runs; rejects `ERR_START_FAILED` (cause: the error) and leaves the cell `restarting`.
   */
  start(): Promise<void> {
    try {
      return this.startNow() ?? RESOLVED;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Like {@link start}, without a promise when it can be helped: returns undefined when the
   * incarnation started synchronously, a promise when `started` is async, and throws
   * `ERR_START_FAILED` when construction or a synchronous `started` threw.
   */
  startNow(): Promise<void> | undefined {
    if (this.status === 'dead') throw new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} is stopped`);
    this.purgeLifecycleMessages();
    this.incarnation++;
    const token = ++this.token;
    this.status = 'starting';
    this.busy = true;
    let out: unknown;
    try {
      const instance = withConstructionContext(this, () => new this.actorClass(this.args));
      this.instance = instance;
      out = instance.started?.();
    } catch (err) {
      throw this.startFailed(token, err);
    }
    if (isThenable(out)) {
      return Promise.resolve(out).then(
        () => this.startSucceeded(token),
        (err: unknown) => {
          throw this.startFailed(token, err);
        },
      );
    }
    this.startSucceeded(token);
    return undefined;
  }

  private startSucceeded(token: number): void {
    if (token !== this.token) throw new ApiaryError(ErrorCodes.START_FAILED, `${this.path} was stopped while starting`);
    this.busy = false;
    this.status = 'running';
    this.startedAt = this.host.clock.now();
    if (this.host.observed && !this.internal) this.host.emit({ type: 'started', path: this.path, incarnation: this.incarnation, at: this.startedAt });
    this.wake();
  }

  private startFailed(token: number, err: unknown): ApiaryError {
    if (token === this.token) {
      this.instance = undefined;
      this.busy = false;
      this.status = 'restarting';
      this.wake();
    }
    return new ApiaryError(ErrorCodes.START_FAILED, `${this.path} failed to start: ${errMessage(err)}`, { cause: err });
  }

  /**
   * Stops at once if nothing could make a graceful stop wait — no message in flight, no
   * queued system message, no children, no `stopping` hook — and returns true; otherwise
   * does nothing and returns false (use {@link terminate}).
   */
  terminateNow(reason: ExitReason): boolean {
    if (this.status === 'dead') return true;
    if (this.busy || this.mailbox.systemSize > 0 || (this.contextChildren?.length ?? 0) > 0) return false;
    if (typeof this.instance?.stopping === 'function') return false;
    this.finalize(reason);
    return true;
  }

  /** Graceful final stop: after the current message, stop children, run `stopping`, die. */
  terminate(reason: ExitReason): Promise<ExitReason> {
    return new Promise((resolve) => this.enqueueSystem({ kind: 'stop', reason, done: resolve }));
  }

  /** Graceful stop for a restart: after the current message, run `beforeRestart`; the cell stays. */
  prepareRestart(reason: ExitReason): Promise<void> {
    return new Promise((resolve) => this.enqueueSystem({ kind: 'prepare-restart', reason, done: resolve }));
  }

  /** Lets a suspended (failed) actor go on with its next message, state intact. */
  resume(): void {
    this.enqueueSystem({ kind: 'resume' });
  }

  /**
   * Brutal kill: abandons the instance at once (its pending promise is ignored). With
   * `final` the cell dies; otherwise it waits, `restarting`, with its mailbox intact.
   */
  kill(reason: ExitReason, final: boolean): void {
    if (this.status === 'dead') return;
    const inFlight = this.abandonInstance();
    if (final || inFlight?.kind === 'stop') {
      this.finalize(reason);
    } else {
      this.status = 'restarting';
      this.wake();
    }
    if (inFlight?.kind === 'stop') inFlight.done(reason);
    else if (inFlight?.kind === 'prepare-restart') inFlight.done();
  }

  /** Drops the instance and everything in flight for it; returns the stop it interrupted. */
  private abandonInstance(): ActorCell['lifecycle'] {
    const inFlight = this.lifecycle;
    this.lifecycle = undefined;
    const message = this.inFlight;
    this.inFlight = undefined;
    if (message !== undefined && message.ask !== 0) {
      message.replyTo!.reject(message.ask, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} was killed while handling this message`));
    }
    this.purgeLifecycleMessages();
    this.cancelTimers();
    this.token++;
    this.instance = undefined;
    this.busy = false;
    if (this.contextChildren) for (const c of [...this.contextChildren].reverse()) c.kill('shutdown', true);
    return inFlight;
  }

  /** Makes the actor exit abnormally now, as if `receive` had thrown: its parent decides. */
  exitNow(reason: ExitReason): void {
    if (this.status === 'dead') return;
    const inFlight = this.abandonInstance();
    this.host.emit({ type: 'failed', path: this.path, reason, at: this.host.clock.now() });
    if (inFlight?.kind === 'stop') {
      // it was being stopped anyway: the kill just ends the wait
      this.finalize(reason);
      inFlight.done(reason);
    } else if (inFlight?.kind === 'prepare-restart') {
      this.status = 'restarting';
      inFlight.done();
    } else {
      this.exited(reason, false);
    }
  }

  /**
   * Drops queued lifecycle requests that belong to the instance being replaced or abandoned
   * (a pending `prepare-restart` is settled, a stale `exit`/`resume` discarded); final stops
   * and parent duties stay queued.
   */
  private purgeLifecycleMessages(): void {
    if (this.mailbox.systemSize === 0) return;
    const q = this.mailbox.system;
    for (const msg of q.drain()) {
      if (msg.kind === 'prepare-restart') msg.done();
      else if (msg.kind !== 'exit' && msg.kind !== 'resume') q.push(msg);
    }
  }

  private stopContextChildren(): void | Promise<void> {
    const children = this.contextChildren;
    if (!children || children.length === 0) return;
    return (async () => {
      for (const child of [...children].reverse()) {
        await stopWithin(child, 'shutdown', CONTEXT_CHILD_SHUTDOWN, this.host.clock);
      }
    })();
  }

  /** Dies for good: dead letters for the queue, `terminated` to watchers, `stopped` event. */
  finalize(reason: ExitReason): void {
    if (this.status === 'dead') return;
    this.status = 'dead';
    this.finalReason = reason;
    this.cancelTimers();
    this.token++;
    this.instance = undefined;
    this.busy = false;
    this.host.cellDied(this);
    if (this.parent?.contextChildren) {
      const i = this.parent.contextChildren.indexOf(this);
      if (i >= 0) this.parent.contextChildren.splice(i, 1);
    }
    if (this.mailbox.hasUser) for (const env of this.mailbox.drainUser()) {
      if (env.msg instanceof TerminatedMessage) continue;
      this.deadLetter(env, 'stopped');
    }
    if (this.mailbox.systemSize > 0) for (const sys of this.mailbox.system.drain()) settleAfterDeath(sys, reason, this.path);
    if (this.host.observed && !this.internal) this.host.emit({ type: 'stopped', path: this.path, reason, at: this.host.clock.now() });
    this.watchSet?.died(
      this.ref,
      reason,
      (watcher) => this.host.sendTerminated(watcher, this.ref, reason),
      (ref) => {
        const target = ref.target;
        if (target instanceof ActorCell) target.watchSet?.removeWatcher(this);
        else target.removeWatcher?.(this);
      },
    );
  }

  /** Calls `cb` once with the final exit reason (at once if already dead). */
  onTermination(cb: (reason: ExitReason) => void): void {
    if (this.status === 'dead') return cb(this.finalReason ?? 'noproc');
    this.watches.onTermination(cb);
  }

  private get watches(): Watches {
    return (this.watchSet ??= new Watches());
  }

  /** Queues a `terminated` message for `ref` (which this actor watches). */
  notifyTerminated(ref: ActorRef, reason: ExitReason): void {
    if (this.status === 'dead') return;
    this.mailbox.enqueueUnbounded({ msg: new TerminatedMessage(ref, reason), sender: undefined, ask: 0, priority: 2 });
    if (this.status === 'running' && !this.busy) this.host.dispatcher.schedule(this);
  }

  private deadLetter(env: Envelope, reason: DeadLetterReason): void {
    if (env.ask !== 0) {
      const code = reason === 'stopped' ? ErrorCodes.ACTOR_STOPPED : ErrorCodes.MAILBOX_FULL;
      env.replyTo!.reject(env.ask, new ApiaryError(code, `message to ${this.path} not delivered: ${reason}`));
    }
    this.host.deadLetter(this.path, env, reason);
  }

  // ---- ActorContext ----------------------------------------------------------------------

  get self(): ActorRef {
    return this.ref;
  }

  get clock() {
    return this.host.clock;
  }

  spawn<C extends ActorClass>(actor: C, options?: SpawnOptions<ArgsOfClass<C>>): Promise<RefOf<InstanceType<C>>> {
    if (this.status === 'dead' || this.status === 'stopping') {
      return Promise.reject(new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} is stopping; cannot spawn`));
    }
    const child = this.host.createCell(actor, options, this);
    (this.contextChildren ??= []).push(child);
    return this.host.startCell(child) as Promise<RefOf<InstanceType<C>>>;
  }

  watch(ref: ActorRef): void {
    if (ref.equals(this.ref) || !this.watches.watch(ref)) return;
    const target = ref.target;
    if (target instanceof ActorCell) {
      if (target.status === 'dead') this.notifyTerminated(ref, target.finalReason ?? 'noproc');
      else target.watches.addWatcher(this);
    } else if (target.addWatcher !== undefined) {
      target.addWatcher(this);
    } else if (target.dead) {
      this.notifyTerminated(ref, 'noproc');
    }
  }

  unwatch(ref: ActorRef): void {
    if (!this.watchSet?.unwatch(ref)) return;
    const target = ref.target;
    if (target instanceof ActorCell) target.watchSet?.removeWatcher(this);
    else target.removeWatcher?.(this);
  }

  /** A watcher on another thread; told at once if this actor is already dead. */
  addRemoteWatcher(watcher: ActorRef): void {
    if (this.status === 'dead') return this.host.sendTerminated(watcher, this.ref, this.finalReason ?? 'noproc');
    this.watches.addRemoteWatcher(watcher);
  }

  removeRemoteWatcher(watcher: ActorRef): void {
    this.watchSet?.removeRemoteWatcher(watcher);
  }

  stop(reason: ExitReason = 'normal'): void {
    this.enqueueSystem({ kind: 'exit', reason });
  }

  scheduleOnce(ms: number, message: unknown): () => void {
    const timers = (this.timers ??= new Set());
    const handle = this.host.clock.setTimeout(() => {
      timers.delete(handle);
      this.ref.tell(message);
    }, ms);
    timers.add(handle);
    return () => {
      if (timers.delete(handle)) this.host.clock.clearTimeout(handle);
    };
  }

  /** Cancels the timers of the incarnation that is ending. */
  private cancelTimers(): void {
    const timers = this.timers;
    if (timers === undefined) return;
    this.timers = undefined;
    for (const t of timers) this.host.clock.clearTimeout(t);
  }

  lookup<M = unknown, R = unknown>(name: string): ActorRef<M, R> | undefined {
    return this.host.registry.lookup(name) as ActorRef<M, R> | undefined;
  }

  get signal(): AbortSignal {
    if (this.current === undefined && this.inFlight === undefined) return NEVER_ABORTED;
    return (this.messageAbort ??= new AbortController()).signal;
  }

  replyLater<R = unknown>(): DeferredReply<R> | undefined {
    const env = this.current ?? this.inFlight;
    if (env === undefined || env.ask === 0) return undefined;
    const id = env.ask;
    const replyTo = env.replyTo!;
    env.ask = 0; // the cell no longer answers it
    const aborted = this.messageAbort?.signal.aborted === true;
    return (this.cancels ??= new Cancels()).defer<R>(replyTo, id, aborted);
  }

  publish(event: SystemEvent): void {
    this.host.emit(event);
  }

  /** User messages waiting. */
  get mailboxSize(): number {
    return this.mailbox.size;
  }

  get thread(): number {
    return this.host.thread;
  }

  get node(): string {
    return this.host.node;
  }
}

const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/**
 * Cancelled asks of one cell: ids of queued messages to skip, and deferred replies whose
 * signal a cancel aborts. Allocated on the first cancel or `replyLater`, so plain actors
 * carry none of it.
 */
class Cancels {
  private readonly skipped = new Map<AskReplyTo, Set<number>>();
  private readonly deferred = new Map<AskReplyTo, Map<number, AbortController | null>>();

  cancel(replyTo: AskReplyTo, id: number): void {
    const waiting = this.deferred.get(replyTo);
    if (waiting?.has(id)) {
      const ctl = waiting.get(id) ?? new AbortController();
      waiting.set(id, ctl);
      ctl.abort();
      return;
    }
    let set = this.skipped.get(replyTo);
    if (set === undefined) this.skipped.set(replyTo, (set = new Set()));
    if (set.size < 10_000) set.add(id);
  }

  /** True (and forgotten) if this queued ask was cancelled. */
  skip(env: Envelope): boolean {
    const set = this.skipped.get(env.replyTo!);
    if (set === undefined || !set.delete(env.ask)) return false;
    if (set.size === 0) this.skipped.delete(env.replyTo!);
    return true;
  }

  defer<R>(replyTo: AskReplyTo, id: number, aborted: boolean): DeferredReply<R> {
    let waiting = this.deferred.get(replyTo);
    if (waiting === undefined) this.deferred.set(replyTo, (waiting = new Map()));
    const map = waiting;
    let ctl: AbortController | null = null;
    if (aborted) (ctl = new AbortController()).abort();
    map.set(id, ctl);
    let settled = false;
    const done = (): boolean => {
      if (settled) return false;
      settled = true;
      map.delete(id);
      if (map.size === 0) this.deferred.delete(replyTo);
      return true;
    };
    return {
      resolve: (value) => {
        if (done()) replyTo.resolve(id, value);
      },
      reject: (err) => {
        if (done()) replyTo.reject(id, err);
      },
      get signal() {
        if (settled) return NEVER_ABORTED;
        let c = map.get(id);
        if (c === undefined || c === null) map.set(id, (c = new AbortController()));
        return c.signal;
      },
    };
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
