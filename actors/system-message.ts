/**
 * The vocabulary of a cell's system queue: lifecycle requests, exit reports to a parent,
 * supervisor control requests — and what each becomes when its cell is already dead.
 * These run before any user message.
 */
import type { ChildHandle } from './child-handle.js';
import type { ExitReason } from './exit-reason.js';
import { ApiaryError, ErrorCodes } from './foundation/errors.js';

/**
 * - `new`: created, never started · `starting`: `started` hook running · `running`
 * - `stopping`: a stop is in progress · `suspended`: exited, waiting for its parent's decision
 * - `restarting`: no instance, waiting to be started again (e.g. backoff) · `dead`: gone for good
 */
export type CellStatus = 'new' | 'starting' | 'running' | 'stopping' | 'suspended' | 'restarting' | 'dead';

/** An exit report a child sends its parent. */
export interface ChildExit {
  kind: 'child-exit';
  cell: ChildHandle;
  incarnation: number;
  reason: ExitReason;
  /** True if the instance is still there (it threw), so `resume` is possible. */
  resumable: boolean;
}

/** Messages of the system queue; they always run before user messages. */
export type SystemMessage =
  | { kind: 'exit'; reason: ExitReason }
  | { kind: 'stop'; reason: ExitReason; done: (reason: ExitReason) => void }
  | { kind: 'prepare-restart'; reason: ExitReason; done: () => void }
  | { kind: 'resume' }
  | ChildExit
  | { kind: 'control'; op: unknown; reply: (err: unknown, value?: unknown) => void };

/** Implemented by actors that supervise children (the Supervisor). */
export interface ParentBehaviour {
  handleSystem(msg: ChildExit | { kind: 'control'; op: unknown; reply: (err: unknown, value?: unknown) => void }): void | Promise<void>;
  /** Its children, in start order (those on other threads or nodes included). */
  children(): Iterable<ChildHandle>;
}

export const PARENT_BEHAVIOUR: unique symbol = Symbol('apiary.parent-behaviour');


export function isParentBehaviour(x: unknown): x is { [PARENT_BEHAVIOUR]: ParentBehaviour } {
  return x !== undefined && x !== null && typeof (x as Record<symbol, unknown>)[PARENT_BEHAVIOUR] === 'object';
}

/** Answers a system message that reached a dead cell. */
export function settleAfterDeath(msg: SystemMessage, reason: ExitReason, path: string): void {
  switch (msg.kind) {
    case 'stop':
      msg.done(reason);
      return;
    case 'prepare-restart':
      msg.done();
      return;
    case 'control':
      msg.reply(new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${path} is stopped`));
      return;
    default:
      return;
  }
}
