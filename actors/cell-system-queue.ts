/**
 * SystemQueueCell: what a cell does with its system messages, and how it reports an exit.
 *
 * Owns: queueing system messages (they run before any user message), carrying out `exit`,
 * `stop`, `prepare-restart` and `resume`, handing `child-exit` and `control` to a parent
 * behaviour (the Supervisor), calling the `stopping`/`beforeRestart` hooks (their errors
 * become `failed` events), and reporting an exit to the parent — local, on another
 * thread, or none (then the cell just stops).
 * Does not own: deciding what an exit leads to (the parent) or the final death
 * (cell-lifecycle.ts).
 * Threads: touched only by its own thread. Time: only through the host's clock.
 */
import { ApiaryError, ErrorCodes } from './foundation/errors.js';
import { isThenable } from './cell-base.js';
import { DispatchCell } from './cell-dispatch.js';
import { errorReason, type ExitReason } from './exit-reason.js';
import { isParentBehaviour, PARENT_BEHAVIOUR, settleAfterDeath, type SystemMessage } from './system-message.js';

/** A step with nothing to do after it. */
const NOTHING = (): void => {};

export abstract class SystemQueueCell extends DispatchCell {
  /** The instance is gone or failed: ask the parent what to do, or stop for good. */
  /**
   * `resumable`: the instance may go on (it threw). `keepInstance`: it stays for the hook the
   * parent's decision calls (`beforeRestart` on a restart, `stopping` on a stop).
   */
  protected exited(reason: ExitReason, resumable: boolean, keepInstance = resumable): void {
    this.status = 'suspended';
    if (!resumable) this.cancelTimers();
    if (!keepInstance) this.instance = undefined;
    const parent = this.parent;
    if (this.remoteParent !== undefined) {
      this.remoteParent.report(this.cell, reason, resumable);
    } else if (parent !== undefined && parent.status !== 'dead' && isParentBehaviour(parent.instance)) {
      parent.enqueueSystem({ kind: 'child-exit', cell: this.cell, incarnation: this.incarnation, reason, resumable });
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

  protected handleSystem(msg: SystemMessage): void {
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
          this.step(out, NOTHING, (err) => this.parentDutyFailed(err));
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
}
