/**
 * LifecycleCell: a cell's incarnations and its death, as its parent or host drives them.
 *
 * Owns: starting an incarnation (constructing the instance, the `started` hook, the
 * `started` event), graceful stop and restart-stop requests, resuming a failed actor,
 * brutal kills and admin exits (abandoning the instance and what is in flight for it),
 * stopping context children, and the final death: dead letters for the queue, `terminated`
 * to watchers, termination callbacks, the `stopped` event.
 * Does not own: choosing between restart and stop (the parent), timing graceful stops
 * (shutdown.ts), or running the system messages these requests queue
 * (cell-system-queue.ts).
 * Threads: touched only by its own thread. Time: only through the host's clock.
 */
import { ApiaryError, ErrorCodes } from './foundation/errors.js';
import { constructActor } from './actor.js';
import { CellBase, isThenable, type LifecycleRequest } from './cell-base.js';
import { SystemQueueCell } from './cell-system-queue.js';
import type { ExitReason } from './exit-reason.js';
import { stopWithin } from './shutdown.js';
import { settleAfterDeath } from './system-message.js';
import { TerminatedMessage } from './watches.js';

/** Default ms a context-spawned child gets to stop before it is killed. */
const CONTEXT_CHILD_SHUTDOWN = 5000;

const RESOLVED: Promise<void> = Promise.resolve();

export abstract class LifecycleCell extends SystemQueueCell {
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
      const instance = constructActor(this.cell, this.actorClass, this.args);
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
    const now = this.host.clock.now();
    // whole ms: a small integer lives in the cell itself, a fraction would be one more heap
    // object per actor; its readers (tree uptime, backoff's resetAfter) work in whole ms
    this.startedAt = Math.floor(now);
    if (this.host.observed && !this.internal) this.host.emit({ type: 'started', path: this.path, incarnation: this.incarnation, at: now });
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
    if (this.busy || (this.mb?.systemSize ?? 0) > 0 || (this.contextChildren?.length ?? 0) > 0) return false;
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
  private abandonInstance(): LifecycleRequest | undefined {
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
    const mb = this.mb;
    if (mb === undefined || mb.systemSize === 0) return;
    const q = mb.system;
    for (const msg of q.drain()) {
      if (msg.kind === 'prepare-restart') msg.done();
      else if (msg.kind !== 'exit' && msg.kind !== 'resume') q.push(msg);
    }
  }

  protected stopContextChildren(): void | Promise<void> {
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
    this.host.cellDied(this.cell);
    if (this.parent?.contextChildren) {
      const i = this.parent.contextChildren.indexOf(this.cell);
      if (i >= 0) this.parent.contextChildren.splice(i, 1);
    }
    const mb = this.mb;
    if (mb !== undefined && mb.hasUser) for (const env of mb.drainUser()) {
      if (env.msg instanceof TerminatedMessage) continue;
      this.deadLetter(env, 'stopped');
    }
    if (mb !== undefined && mb.systemSize > 0) for (const sys of mb.system.drain()) settleAfterDeath(sys, reason, this.path);
    if (this.host.observed && !this.internal) this.host.emit({ type: 'stopped', path: this.path, reason, at: this.host.clock.now() });
    this.watchSet?.died(
      this.ref,
      reason,
      (watcher) => this.host.sendTerminated(watcher, this.ref, reason),
      (ref) => {
        const target = ref.target;
        if (target instanceof CellBase) target.removeLocalWatcher(this);
        else target.removeWatcher?.(this.cell);
      },
    );
  }

  /** Calls `cb` once with the final exit reason (at once if already dead). */
  onTermination(cb: (reason: ExitReason) => void): void {
    if (this.status === 'dead') return cb(this.finalReason ?? 'noproc');
    this.watches.onTermination(cb);
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
