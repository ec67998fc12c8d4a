/**
 * ActorCell: one actor on its thread — its mailbox, its current instance, and the state
 * machine of its life.
 *
 * The cell outlives restarts: a supervisor replaces the *instance*, so the ref stays valid
 * and queued messages survive (Akka's restart semantics). One class owns the status and
 * every change of it (`transition`), and the one way an instance is let go of
 * (`dropInstance`); what is not about the life of the actor is composed in, each owning its
 * own state: watches (watches.ts), cancelled asks and deferred replies (ask-cancels.ts),
 * timers of the incarnation (incarnation-timers.ts), context children
 * (context-children.ts). The actor sees none of this: its `context` is a CellContext
 * (actor-context.ts) that forwards to the few methods meant for it.
 *
 * Status: `new` → `starting` → `running` ⇄ `suspended` (exited, waiting for its parent's
 * decision) → `stopping` → `restarting` (no instance; waits to be started again) or `dead`
 * (for good; nothing leaves it). See CellStatus in system-message.ts.
 *
 * Owns: delivery into the mailbox (bounds, the stash limit while not running, dead letters);
 * the run loop the dispatcher calls (system queue first, then user messages while running;
 * `receive` sync or async, one at a time, replies, sampled processing time); system
 * messages (exit, stop, prepare-restart, resume; child exits and controls handed to a parent
 * behaviour, the Supervisor); lifecycle hooks (`started`, `stopping`, `beforeRestart` —
 * errors of the last two are `failed` events, never thrown); reporting an exit to the
 * parent (local, on another thread or node, or none: then the cell just stops); brutal
 * kills and admin exits; the final death (dead letters for the queue, `terminated` to
 * watchers, termination callbacks, the `stopped` event).
 * Keeps an idle actor small (a million of them are mostly GC work, which follows the
 * objects that survive): the mailbox is made on the first message, seldom-used state lives
 * in one CellExtras made on first write, id and path live in the ref, the context is made on
 * first read.
 * Does not own: choosing between restart and stop (the parent), timing graceful stops
 * (shutdown.ts), or reaching other threads (the ref's target does).
 * Threads: touched only by its own thread. Time: only through the host's clock.
 */
import { ApiaryError, ErrorCodes } from './foundation/errors.js';
import { constructActor, type Actor, type ActorClass, type DeferredReply, type SpawnOptions } from './actor.js';
import { ActorRef, type RefTarget } from './actor-ref.js';
import type { AskRegistry } from './ask.js';
import { Cancels, NEVER_ABORTED } from './ask-cancels.js';
import type { ChildHandle } from './child-handle.js';
import { ContextChildren } from './context-children.js';
import type { Runnable } from './dispatcher.js';
import type { DeadLetterReason } from './events.js';
import { errorReason, type ExitReason } from './exit-reason.js';
import type { Host } from './host.js';
import { IncarnationTimers } from './incarnation-timers.js';
import { Mailbox, type AskReplyTo, type Envelope } from './mailbox.js';
import { isParentBehaviour, PARENT_BEHAVIOUR, settleAfterDeath, type CellStatus, type SystemMessage } from './system-message.js';
import { TerminatedMessage, Watches, type LocalWatcher } from './watches.js';

export { PARENT_BEHAVIOUR } from './system-message.js';
export type { CellStatus, ChildExit, ParentBehaviour, SystemMessage } from './system-message.js';

/** One message in this many (a power of two) has its processing time measured. */
export const PROCESSING_SAMPLE = 8;

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/** How a cell whose parent lives on another thread or node reports its exits (over the link). */
export interface RemoteParent {
  report(cell: ActorCell, reason: ExitReason, resumable: boolean): void;
}

/** Where a new cell sits and who it answers to; fixed when it is made. */
export interface CellInit {
  /** undefined: the default `<parent path>/$<id>`, made when first read. */
  path?: string;
  /** Its parent on this thread (a supervisor or a context parent); none for a top-level actor. */
  parent?: ActorCell;
  /** Its registered name, if any (the host registers it). */
  name?: string;
  mailbox?: SpawnOptions['mailbox'];
  /** Its parent lives on another thread or node: exits are reported through this. */
  remoteParent?: RemoteParent;
  /** A runtime-internal actor: no lifecycle events, not in the tree, not addressable by peers. */
  internal?: boolean;
  /** An internal actor other nodes may address (by its registered name): a runtime service such as the topics scope. */
  service?: boolean;
  /** False: parentless here, yet not a top-level actor of this thread (see Host.createCell). */
  topLevel?: boolean;
}

/** A stop or restart-stop being carried out. */
type LifecycleRequest = Extract<SystemMessage, { kind: 'stop' | 'prepare-restart' }>;

/** A step with nothing to do after it. */
const NOTHING = (): void => {};
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The state most cells never use, in one object made on first write: an idle actor
 * carries none of it (a million idle actors are a million objects fewer to copy in GC).
 */
class CellExtras {
  name: string | undefined = undefined;
  internal = false;
  /** Internal, but peers may address it (see {@link ActorCell.peerAddressable}). */
  service = false;
  offTopLevel = false;
  remoteParent: RemoteParent | undefined = undefined;
  restarts = 0;
  stashLimit = Infinity;
  watches: Watches | undefined = undefined;
  lifecycle: LifecycleRequest | undefined = undefined;
  timers: IncarnationTimers | undefined = undefined;
  children: ContextChildren | undefined = undefined;
  cancels: Cancels | undefined = undefined;
}

export class ActorCell implements Runnable, RefTarget, ChildHandle, LocalWatcher {
  /** Set by the dispatcher while the cell sits in its run queue. */
  scheduled = false;
  private state: CellStatus = 'new';
  /** A message, hook or parent duty is in flight; nothing else runs until it settles. */
  private busy = false;
  /** Bumped whenever the instance is let go of; stale async results compare it. */
  private token = 0;
  private current: Actor | undefined;
  incarnation = 0;
  /** The supervisor's bookkeeping for this child (opaque here). */
  supervision: unknown;
  /** Clock time (whole ms, rounded down) the current incarnation started. */
  startedAt = 0;
  finalReason: ExitReason | undefined;
  readonly ref: ActorRef;
  /** The sender of the message being processed. */
  sender: ActorRef | undefined;
  /** The mailbox once a message arrived (see {@link mailbox}); undefined while idle. */
  private mb: Mailbox<SystemMessage> | undefined;
  /** The message whose async `receive` is running (its ask is rejected if the instance is let go). */
  private inFlight: Envelope | undefined;
  /** The message whose synchronous part of `receive` is running. */
  private running: Envelope | undefined;
  /** The abort controller of the message being processed, made when `signal` is first read. */
  private messageAbort: AbortController | undefined;
  /** Seldom-used state, made on first write. */
  private extras: CellExtras | undefined;
  readonly parent: ActorCell | undefined;

  constructor(
    readonly host: Host,
    readonly actorClass: ActorClass,
    readonly args: unknown,
    id: number,
    init: CellInit,
  ) {
    this.parent = init.parent;
    if (init.name !== undefined) this.more.name = init.name;
    if (init.internal === true) this.more.internal = true;
    if (init.service === true) this.more.service = true;
    if (init.topLevel === false) this.more.offTopLevel = true;
    if (init.remoteParent !== undefined) this.more.remoteParent = init.remoteParent;
    // a bounded or otherwise configured mailbox is made now, with the options as given
    if (init.mailbox !== undefined) this.mb = new Mailbox<SystemMessage>(init.mailbox);
    this.ref = new ActorRef({ node: host.node, incarnation: host.incarnation, thread: host.thread, id }, init.path, this);
  }

  // ---- what it is -----------------------------------------------------------------------

  get status(): CellStatus {
    return this.state;
  }

  /** The current instance (undefined while restarting, suspended without one, or dead). */
  get instance(): Actor | undefined {
    return this.current;
  }

  /** Id on this thread (kept in the ref, not twice). */
  get id(): number {
    return this.ref.id;
  }

  /** Tree path (kept in the ref, not twice). */
  get path(): string {
    return this.ref.path;
  }

  /** The default path of an unnamed actor, for its ref (which asks only when it is first read). */
  derivePath(): string {
    const parent = this.parent;
    return parent === undefined ? `/$${this.id}` : `${parent.path}/$${this.id}`;
  }

  get thread(): number {
    return this.host.thread;
  }

  get node(): string {
    return this.host.node;
  }

  /** The registered name, if any. */
  get name(): string | undefined {
    return this.extras?.name;
  }

  /** A runtime-internal actor: no lifecycle events, not in the tree. */
  get internal(): boolean {
    return this.extras !== undefined && this.extras.internal;
  }

  /** Other nodes may send to it and look it up: a user actor, or an internal runtime service. */
  get peerAddressable(): boolean {
    const x = this.extras;
    return x === undefined || !x.internal || x.service;
  }

  /** Its parent lives on another thread or node: exits are reported through this. */
  get remoteParent(): RemoteParent | undefined {
    return this.extras?.remoteParent;
  }

  /** One of this thread's top-level actors: no parent here, not internal, not made for another thread. */
  get topLevel(): boolean {
    const x = this.extras;
    return this.parent === undefined && (x === undefined || (!x.internal && !x.offTopLevel));
  }

  /** Restarts of this cell, kept by its supervisor. */
  get restarts(): number {
    return this.extras === undefined ? 0 : this.extras.restarts;
  }
  set restarts(v: number) {
    this.more.restarts = v;
  }

  /** While not running, at most this many user messages are kept (the rest are dead letters). */
  get stashLimit(): number {
    return this.extras === undefined ? Infinity : this.extras.stashLimit;
  }
  set stashLimit(v: number) {
    this.more.stashLimit = v;
  }

  /** Children made with `context.spawn`, in start order (undefined: never had one). */
  get contextChildren(): ContextChildren | undefined {
    return this.extras?.children;
  }

  /**
   * The system and user queues. A default (unbounded) mailbox is made on first use: an
   * actor that never gets a message never has one. Reads that must not allocate look at `mb`.
   */
  get mailbox(): Mailbox<SystemMessage> {
    return (this.mb ??= new Mailbox<SystemMessage>());
  }

  /** User messages waiting. */
  get mailboxSize(): number {
    return this.mb === undefined ? 0 : this.mb.size;
  }

  private get more(): CellExtras {
    return (this.extras ??= new CellExtras());
  }

  private get watches(): Watches {
    return (this.more.watches ??= new Watches());
  }

  // ---- the state machine ------------------------------------------------------------------

  /**
   * The one place the status changes. Nothing leaves `dead`: returns false (and changes
   * nothing) for a dead cell.
   */
  private transition(to: CellStatus): boolean {
    if (this.state === 'dead') return false;
    this.state = to;
    return true;
  }

  /**
   * Lets go of the current instance and everything bound to it: its async results are
   * ignored from now on (the token moves), its timers are cancelled, the cell is no longer busy.
   */
  private dropInstance(): void {
    this.token++;
    this.current = undefined;
    this.busy = false;
    this.messageAbort = undefined;
    const timers = this.extras?.timers;
    if (timers !== undefined) timers.cancelAll();
  }

  // ---- delivery (RefTarget) ---------------------------------------------------------------

  get asks(): AskRegistry {
    return this.host.asks;
  }

  get dead(): boolean {
    return this.state === 'dead';
  }

  deliver(env: Envelope): boolean {
    const status = this.state;
    if (status === 'dead') {
      this.deadLetter(env, 'stopped');
      return false;
    }
    const mailbox = this.mailbox;
    const limit = status === 'running' || status === 'starting' || status === 'new' ? mailbox.capacity : Math.min(mailbox.capacity, this.stashLimit);
    const dropped = mailbox.enqueue(env, limit);
    if (dropped !== undefined) {
      const reason: DeadLetterReason =
        limit < mailbox.capacity && mailbox.size >= limit
          ? 'restarting-stash-full'
          : mailbox.overflow === 'reject'
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

  /** Queues a `terminated` message for `ref` (which this actor watches); never dropped. */
  notifyTerminated(ref: ActorRef, reason: ExitReason): void {
    if (this.state === 'dead') return;
    this.mailbox.enqueueUnbounded({ msg: new TerminatedMessage(ref, reason), sender: undefined, ask: 0, priority: 2 });
    if (this.state === 'running' && !this.busy) this.host.dispatcher.schedule(this);
  }

  /** Queues a system message; it runs before any user message. A dead cell settles it at once. */
  enqueueSystem(msg: SystemMessage): void {
    if (this.state === 'dead') {
      settleAfterDeath(msg, this.finalReason ?? 'noproc', this.path);
      return;
    }
    this.mailbox.system.push(msg);
    if (!this.busy) this.host.dispatcher.schedule(this);
  }

  private deadLetter(env: Envelope, reason: DeadLetterReason): void {
    if (env.ask !== 0) {
      const code = reason === 'stopped' ? ErrorCodes.ACTOR_STOPPED : ErrorCodes.MAILBOX_FULL;
      env.replyTo!.reject(env.ask, new ApiaryError(code, `message to ${this.path} not delivered: ${reason}`));
    }
    this.host.deadLetter(this.path, env, reason);
  }

  // ---- cancelled asks ---------------------------------------------------------------------

  /** The asker (on this thread) abandoned ask `id`. */
  cancel(id: number): void {
    this.cancelAsk(this.host.asks, id);
  }

  /**
   * Ask `id` answered through `replyTo` was cancelled by its asker: a message in progress
   * has its signal aborted, a deferred reply its `signal`, a queued one is skipped.
   */
  cancelAsk(replyTo: AskReplyTo, id: number): void {
    if (this.state === 'dead') return;
    const env = this.running ?? this.inFlight;
    if (env !== undefined && env.ask === id && env.replyTo === replyTo) {
      (this.messageAbort ??= new AbortController()).abort();
      return;
    }
    (this.more.cancels ??= new Cancels()).cancel(replyTo, id);
  }

  // ---- running (Runnable) -----------------------------------------------------------------

  get runnable(): boolean {
    const mb = this.mb;
    return !this.busy && mb !== undefined && (mb.systemSize > 0 || (this.state === 'running' && mb.hasUser));
  }

  run(budget: number): number {
    const mb = this.mb;
    if (mb === undefined) return 0; // nothing was ever queued
    let n = 0;
    while (n < budget && !this.busy) {
      const sys = mb.systemSize > 0 ? mb.system.shift() : undefined;
      if (sys !== undefined) {
        n++;
        this.handleSystem(sys);
        continue;
      }
      if (this.state !== 'running') break;
      const env = mb.dequeue();
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
    const cancels = this.extras?.cancels;
    if (cancels !== undefined && env.ask !== 0 && cancels.skip(env)) return; // its asker gave up
    this.sender = env.sender as ActorRef | undefined;
    const host = this.host;
    // time one message in PROCESSING_SAMPLE: enough for the histogram, cheap for the hot path
    const t0 = (++host.processed & (PROCESSING_SAMPLE - 1)) === 0 ? host.clock.now() : -1;
    let result: unknown;
    this.running = env;
    this.messageAbort = undefined;
    try {
      result = this.current!.receive(msg);
    } catch (err) {
      this.running = undefined;
      this.receiveFailed(err, env);
      return;
    }
    this.running = undefined;
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
    if (this.host.observed) this.host.emit({ type: 'failed', path: this.path, reason, at: this.host.clock.now() });
    this.exited(reason, true);
  }

  // ---- system messages --------------------------------------------------------------------

  private handleSystem(msg: SystemMessage): void {
    switch (msg.kind) {
      case 'exit':
        // the parent decides which hook runs: `beforeRestart` if it restarts this actor,
        // `stopping` if it stops it (an actor without a supervisor just stops)
        if (this.state !== 'running') return;
        this.exited(msg.reason, false, true);
        return;
      case 'stop':
        if (this.state === 'dead') return msg.done(this.finalReason ?? 'noproc');
        this.transition('stopping');
        this.more.lifecycle = msg;
        this.step(this.extras?.children?.stopAll(this.host.clock), () =>
          this.step(this.callHook('stopping', msg.reason), () => {
            this.more.lifecycle = undefined;
            this.finalize(msg.reason);
            msg.done(msg.reason);
          }),
        );
        return;
      case 'prepare-restart':
        if (this.state === 'dead') return msg.done();
        this.transition('stopping');
        this.more.lifecycle = msg;
        this.step(this.extras?.children?.stopAll(this.host.clock), () =>
          this.step(this.callHook('beforeRestart', msg.reason), () => {
            this.more.lifecycle = undefined;
            this.dropInstance();
            this.transition('restarting');
            msg.done();
          }),
        );
        return;
      case 'resume':
        if (this.state === 'suspended' && this.current !== undefined) this.transition('running');
        return;
      case 'child-exit':
      case 'control': {
        const behaviour = this.current;
        if (isParentBehaviour(behaviour)) {
          let out: void | Promise<void>;
          try {
            out = behaviour[PARENT_BEHAVIOUR].handleSystem(msg);
          } catch (err) {
            this.parentDutyFailed(err);
            return;
          }
          // a duty done at once (the common case) needs no continuation
          if (isThenable(out)) this.step(out, NOTHING, (err) => this.parentDutyFailed(err));
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
    if (this.host.observed) this.host.emit({ type: 'failed', path: this.path, reason, at: this.host.clock.now() });
    this.exited(reason, false);
  }

  /**
   * Runs `value` (sync or a promise) and then `next` — or `failed` if the promise rejects —
   * keeping the cell busy meanwhile. A settlement from an earlier incarnation does nothing.
   */
  private step(value: unknown, next: () => void, failed: (err: unknown) => void = next): void {
    if (!isThenable(value)) return next();
    this.busy = true;
    const token = this.token;
    const settle = (then: () => void): void => {
      if (token !== this.token) return;
      this.busy = false;
      then();
      this.wake();
    };
    value.then(
      () => settle(next),
      (err: unknown) => settle(() => failed(err)),
    );
  }

  /** Calls a lifecycle hook; its errors are reported as `failed` events, never thrown. */
  private callHook(hook: 'stopping' | 'beforeRestart', reason: ExitReason): void | Promise<void> {
    const instance = this.current;
    const fn = instance?.[hook];
    if (typeof fn !== 'function') return;
    const report = (err: unknown) => this.host.emit({ type: 'failed', path: this.path, reason: errorReason(err), at: this.host.clock.now() });
    try {
      const out = fn.call(instance, reason);
      if (isThenable(out)) return Promise.resolve(out).then(undefined, report);
    } catch (err) {
      report(err);
    }
  }

  /**
   * The instance exited or failed: ask the parent what to do, or stop for good.
   * `resumable`: the instance may go on (it threw). `keepInstance`: it stays for the hook the
   * parent's decision calls (`beforeRestart` on a restart, `stopping` on a stop).
   */
  private exited(reason: ExitReason, resumable: boolean, keepInstance = resumable): void {
    this.transition('suspended');
    if (!keepInstance) this.dropInstance();
    else if (!resumable) this.extras?.timers?.cancelAll(); // its timers end with the incarnation
    const parent = this.parent;
    const remoteParent = this.remoteParent;
    if (remoteParent !== undefined) {
      remoteParent.report(this, reason, resumable);
    } else if (parent !== undefined && parent.state !== 'dead' && isParentBehaviour(parent.current)) {
      parent.enqueueSystem({ kind: 'child-exit', cell: this, incarnation: this.incarnation, reason, resumable });
    } else {
      this.enqueueSystem({ kind: 'stop', reason, done: NOTHING });
    }
  }

  // ---- lifecycle, as the parent or host drives it ------------------------------------------

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
    if (this.state === 'dead') throw new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} is stopped`);
    this.purgeLifecycleMessages();
    this.incarnation++;
    const token = ++this.token;
    this.transition('starting');
    this.busy = true;
    let out: unknown;
    try {
      const instance = constructActor(this, this.actorClass, this.args);
      this.current = instance;
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
    this.transition('running');
    const now = this.host.clock.now();
    // whole ms: a small integer lives in the cell itself, a fraction would be one more heap
    // object per actor; its readers (tree uptime, backoff's resetAfter) work in whole ms
    this.startedAt = Math.floor(now);
    if (this.host.observed && !this.internal) this.host.emit({ type: 'started', path: this.path, incarnation: this.incarnation, at: now });
    this.wake();
  }

  private startFailed(token: number, err: unknown): ApiaryError {
    if (token === this.token) {
      this.dropInstance();
      this.transition('restarting');
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
    if (this.state === 'dead') return true;
    if (this.busy || (this.mb?.systemSize ?? 0) > 0 || (this.extras?.children?.size ?? 0) > 0) return false;
    if (typeof this.current?.stopping === 'function') return false;
    this.finalize(reason);
    return true;
  }

  /**
   * Readies a restart at once if nothing could make a restart-stop wait — no message in
   * flight, no queued system message, no children, no `beforeRestart` hook — and returns
   * true (the instance is dropped, the cell is `restarting`, its mailbox intact); otherwise
   * does nothing and returns false (use {@link prepareRestart}).
   */
  prepareRestartNow(_reason: ExitReason): boolean {
    if (this.state === 'dead') return false;
    if (this.busy || (this.mb?.systemSize ?? 0) > 0 || (this.extras?.children?.size ?? 0) > 0) return false;
    if (typeof this.current?.beforeRestart === 'function') return false;
    this.dropInstance();
    this.transition('restarting');
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

  /** Exits with `reason` after the current message (`context.stop`): its parent decides. */
  stop(reason: ExitReason): void {
    this.enqueueSystem({ kind: 'exit', reason });
  }

  /**
   * Brutal kill: abandons the instance at once (its pending promise is ignored). With
   * `final` the cell dies; otherwise it waits, `restarting`, with its mailbox intact.
   */
  kill(reason: ExitReason, final: boolean): void {
    if (this.state === 'dead') return;
    const interrupted = this.abandonInstance();
    if (final || interrupted?.kind === 'stop') {
      this.finalize(reason);
    } else {
      this.transition('restarting');
      this.wake();
    }
    if (interrupted?.kind === 'stop') interrupted.done(reason);
    else if (interrupted?.kind === 'prepare-restart') interrupted.done();
  }

  /** Makes the actor exit abnormally now, as if `receive` had thrown: its parent decides. */
  exitNow(reason: ExitReason): void {
    if (this.state === 'dead') return;
    const interrupted = this.abandonInstance();
    if (this.host.observed) this.host.emit({ type: 'failed', path: this.path, reason, at: this.host.clock.now() });
    if (interrupted?.kind === 'stop') {
      // it was being stopped anyway: the kill just ends the wait
      this.finalize(reason);
      interrupted.done(reason);
    } else if (interrupted?.kind === 'prepare-restart') {
      this.transition('restarting');
      interrupted.done();
    } else {
      this.exited(reason, false);
    }
  }

  /**
   * Drops the instance and everything in flight for it — the ask being answered is rejected,
   * context children are killed, and so are a supervisor's children, last started first (OTP:
   * a supervisor killed, or restarted with `brutal_kill`, takes its linked children with it —
   * none is left running outside the tree) — and returns the stop it interrupted, if any.
   */
  private abandonInstance(): LifecycleRequest | undefined {
    const behaviour = this.current;
    if (isParentBehaviour(behaviour)) {
      for (const child of [...behaviour[PARENT_BEHAVIOUR].children()].reverse()) child.kill('killed', true);
    }
    const extras = this.extras;
    const interrupted = extras?.lifecycle;
    if (extras !== undefined) extras.lifecycle = undefined;
    const message = this.inFlight;
    this.inFlight = undefined;
    if (message !== undefined && message.ask !== 0) {
      message.replyTo!.reject(message.ask, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} was killed while handling this message`));
    }
    this.purgeLifecycleMessages();
    this.dropInstance();
    extras?.children?.killAll();
    return interrupted;
  }

  /**
   * Drops queued lifecycle requests that belong to the instance being replaced or abandoned
   * (a pending `prepare-restart` is settled, a stale `exit`/`resume` discarded); final stops
   * and parent duties stay queued.
   */
  private purgeLifecycleMessages(): void {
    const mb = this.mb;
    if (mb === undefined || mb.systemSize === 0) return;
    const q = mb.system;
    for (const msg of q.drain()) {
      if (msg.kind === 'prepare-restart') msg.done();
      else if (msg.kind !== 'exit' && msg.kind !== 'resume') q.push(msg);
    }
  }

  /** Dies for good: dead letters for the queue, `terminated` to watchers, `stopped` event. */
  finalize(reason: ExitReason): void {
    if (!this.transition('dead')) return;
    this.finalReason = reason;
    this.dropInstance();
    this.host.cellDied(this);
    this.parent?.extras?.children?.remove(this);
    const mb = this.mb;
    if (mb !== undefined && mb.hasUser) {
      for (const env of mb.drainUser()) {
        if (env.msg instanceof TerminatedMessage) continue;
        this.deadLetter(env, 'stopped');
      }
    }
    if (mb !== undefined && mb.systemSize > 0) for (const sys of mb.system.drain()) settleAfterDeath(sys, reason, this.path);
    if (this.host.observed && !this.internal) this.host.emit({ type: 'stopped', path: this.path, reason, at: this.host.clock.now() });
    this.extras?.watches?.died(
      this.ref,
      reason,
      (watcher) => this.host.sendTerminated(watcher, this.ref, reason),
      (ref) => {
        const target = ref.target;
        if (target instanceof ActorCell) target.removeLocalWatcher(this);
        else target.removeWatcher?.(this);
      },
    );
  }

  /** Calls `cb` once with the final exit reason (at once if already dead). */
  onTermination(cb: (reason: ExitReason) => void): void {
    if (this.state === 'dead') return cb(this.finalReason ?? 'noproc');
    this.watches.onTermination(cb);
  }

  // ---- watches ----------------------------------------------------------------------------

  /** This actor watches `ref`: one `terminated` when it dies (at once if it is dead). */
  watch(ref: ActorRef): void {
    if (ref.equals(this.ref) || !this.watches.watch(ref)) return;
    const target = ref.target;
    if (target instanceof ActorCell) {
      if (target.state === 'dead') this.notifyTerminated(ref, target.finalReason ?? 'noproc');
      else target.addLocalWatcher(this);
    } else if (target.addWatcher !== undefined) {
      target.addWatcher(this);
    } else if (target.dead) {
      this.notifyTerminated(ref, 'noproc');
    }
  }

  /** Stops watching `ref`; a `terminated` not yet processed is discarded. */
  unwatch(ref: ActorRef): void {
    if (!this.extras?.watches?.unwatch(ref)) return;
    const target = ref.target;
    if (target instanceof ActorCell) target.removeLocalWatcher(this);
    else target.removeWatcher?.(this);
  }

  /** Another local cell starts watching this one. */
  addLocalWatcher(watcher: LocalWatcher): void {
    this.watches.addWatcher(watcher);
  }

  /** A local watcher unwatched this cell, or died. */
  removeLocalWatcher(watcher: LocalWatcher): void {
    this.extras?.watches?.removeWatcher(watcher);
  }

  /** A watcher on another thread or node; told at once if this actor is already dead. */
  addRemoteWatcher(watcher: ActorRef): void {
    if (this.state === 'dead') return this.host.sendTerminated(watcher, this.ref, this.finalReason ?? 'noproc');
    this.watches.addRemoteWatcher(watcher);
  }

  removeRemoteWatcher(watcher: ActorRef): void {
    this.extras?.watches?.removeRemoteWatcher(watcher);
  }

  // ---- what the actor's context offers (actor-context.ts) ----------------------------------

  /** Starts a child bound to this actor (stopped before it stops or restarts). */
  spawnChild(actor: ActorClass, options?: SpawnOptions): Promise<ActorRef> {
    if (this.state === 'dead' || this.state === 'stopping') {
      return Promise.reject(new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} is stopping; cannot spawn`));
    }
    const child = this.host.createCell(actor, options, { parent: this });
    (this.more.children ??= new ContextChildren()).add(child);
    return this.host.startCell(child);
  }

  /** Tells `message` to this actor after `ms`; cancelled when the incarnation ends. */
  scheduleOnce(ms: number, message: unknown): () => void {
    return (this.more.timers ??= new IncarnationTimers(this.host.clock)).schedule(this.ref, ms, message);
  }

  /** The signal of the message being processed (a never-aborting one outside a message). */
  messageSignal(): AbortSignal {
    if (this.running === undefined && this.inFlight === undefined) return NEVER_ABORTED;
    return (this.messageAbort ??= new AbortController()).signal;
  }

  /** Takes over the answer to the ask being processed (see ActorContext.replyLater). */
  replyLater<R = unknown>(): DeferredReply<R> | undefined {
    const env = this.running ?? this.inFlight;
    if (env === undefined || env.ask === 0) return undefined;
    const id = env.ask;
    const replyTo = env.replyTo!;
    env.ask = 0; // the cell no longer answers it
    const aborted = this.messageAbort?.signal.aborted === true;
    return (this.more.cancels ??= new Cancels()).defer<R>(replyTo, id, aborted);
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
