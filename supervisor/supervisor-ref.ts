/**
 * SupervisorRef: an ActorRef with OTP's supervisor API (start_child, terminate_child…).
 *
 * Every call is a request on the supervisor's system queue, handled in order with its exit
 * handling, so it never races a restart. A call to a stopped supervisor rejects
 * `ERR_ACTOR_STOPPED`.
 */
import { ActorCell } from '../actors/actor-cell.js';
import { ActorRef } from '../actors/actor-ref.js';
import { ApiaryError, ErrorCodes } from '../actors/foundation/errors.js';
import type { ChildSpec } from './child-spec.js';
import type { ChildCounts, ChildInfo } from './child-table.js';
import type { ControlOp } from './supervisor.js';

export class SupervisorRef extends ActorRef<never, void> {
  /** Wraps the ref of a supervisor actor. */
  static of(ref: ActorRef<any, any>): SupervisorRef {
    return ref instanceof SupervisorRef ? ref : new SupervisorRef(ref.address, ref.path, ref.target);
  }

  /**
   * Adds and starts a child (OTP `start_child/2`). For `simple-one-for-one`, pass the
   * constructor argument for the template instead of a spec. Rejects `ERR_DUPLICATE_CHILD_ID`,
   * `ERR_INVALID_SPEC`, or `ERR_START_FAILED` (the child is then not added).
   */
  startChild(specOrArgs: ChildSpec | unknown): Promise<ActorRef> {
    return this.control({ op: 'start-child', spec: specOrArgs }) as Promise<ActorRef>;
  }

  /**
   * Stops a child within its `shutdown`; its spec stays (unless temporary or dynamic). Rejects
   * `ERR_NO_SUCH_CHILD` for an unknown id or a live actor that is not its child; for
   * `simple-one-for-one`, the ref of a child already gone resolves (OTP's `ok` for a dead pid).
   * A child waiting to be tried again after a failed start is terminated, which ends the tries.
   */
  terminateChild(id: string | ActorRef<any, any>): Promise<void> {
    return this.control({ op: 'terminate-child', id: id as string | ActorRef }) as Promise<void>;
  }

  /** Starts a terminated child again from its spec. Rejects `ERR_CHILD_RUNNING` if it runs. */
  restartChild(id: string): Promise<ActorRef> {
    return this.control({ op: 'restart-child', id }) as Promise<ActorRef>;
  }

  /** Forgets a terminated child's spec. Rejects `ERR_CHILD_RUNNING` if it runs. */
  deleteChild(id: string): Promise<void> {
    return this.control({ op: 'delete-child', id }) as Promise<void>;
  }

  /** The children in start order (OTP `which_children/1`). */
  whichChildren(): Promise<ChildInfo[]> {
    return this.control({ op: 'which-children' }) as Promise<ChildInfo[]>;
  }

  /**
   * OTP `count_children/1`: `active` counts the children running now (not one waiting to be
   * restarted); for `simple-one-for-one`, `specs` is 1 (the template) and `workers` or
   * `supervisors` count every dynamic child.
   */
  countChildren(): Promise<ChildCounts> {
    return this.control({ op: 'count-children' }) as Promise<ChildCounts>;
  }

  private control(op: ControlOp): Promise<unknown> {
    const target = this.target;
    if (!(target instanceof ActorCell)) {
      return Promise.reject(new ApiaryError(ErrorCodes.UNSUPPORTED, 'supervisor control of a remote supervisor is not supported yet'));
    }
    return new Promise((resolve, reject) => {
      target.enqueueSystem({ kind: 'control', op, reply: (err, value) => (err ? reject(err) : resolve(value)) });
    });
  }
}
