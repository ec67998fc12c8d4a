/**
 * ChildHandle: what a parent (a supervisor) sees of a child — a local cell, or a cell on
 * another thread driven over its link (runtime/threads/remote-child.ts).
 *
 * Owns nothing; it is the contract the supervisor codes against, so supervision logic is
 * the same wherever the child runs.
 */
import type { CellStatus } from './actor-cell.js';
import type { ActorRef } from './actor-ref.js';
import type { ExitReason } from './exit-reason.js';
import type { Stoppable } from './shutdown.js';

export interface ChildHandle extends Stoppable {
  /** Current ref. A child restarted in place keeps it; one restarted after its thread died gets a new one. */
  readonly ref: ActorRef;
  readonly path: string;
  readonly status: CellStatus;
  readonly incarnation: number;
  /** Clock time of the current incarnation's start (a local cell keeps whole ms, rounded down). */
  readonly startedAt: number;
  readonly thread: number;
  readonly node: string;
  /** User messages waiting (last known, for a child on another thread). */
  readonly mailboxSize: number;
  restarts: number;
  stashLimit: number;
  /** The supervisor's bookkeeping for this child (opaque to the handle). */
  supervision: unknown;
  /** Starts a new incarnation: undefined when done synchronously, else a promise; throws/rejects `ERR_START_FAILED`. */
  startNow(): Promise<void> | undefined;
  /** Lets a failed child go on with its next message, state intact. */
  resume(): void;
  /** Stops at once when nothing could make a graceful stop wait; false otherwise. */
  terminateNow(reason: ExitReason): boolean;
  /**
   * Readies a restart at once (the instance dropped, status `restarting`) when nothing could
   * make the restart-stop wait; false otherwise (use `prepareRestart`).
   */
  prepareRestartNow(reason: ExitReason): boolean;
  /** Marks the child dead for good without a graceful stop (after a failed start). */
  finalize(reason: ExitReason): void;
}
