/**
 * DeadTarget: where messages to an actor that is known to be gone go — an id no longer on
 * this thread, or an address nothing routes to. Every tell is a dead letter (`stopped`),
 * every ask rejects `ERR_ACTOR_STOPPED` at once, a watch gets `noproc` at once.
 * Threads: used on the thread that made it.
 */
import { ActorRef, type RefTarget } from './actor-ref.js';
import type { Address } from './address.js';
import type { AskRegistry } from './ask.js';
import { ApiaryError, ErrorCodes } from './foundation/errors.js';
import type { Host } from './host.js';
import type { Envelope } from './mailbox.js';

export class DeadTarget implements RefTarget {
  readonly ref: ActorRef;

  constructor(
    private readonly host: Host,
    address: Address,
    private readonly path: string,
  ) {
    this.ref = new ActorRef(address, path, this);
  }

  get asks(): AskRegistry {
    return this.host.asks;
  }

  get dead(): boolean {
    return true;
  }

  deliver(env: Envelope): boolean {
    if (env.ask !== 0) env.replyTo!.reject(env.ask, new ApiaryError(ErrorCodes.ACTOR_STOPPED, `${this.path} is not running`));
    this.host.deadLetter(this.path, env, 'stopped');
    return false;
  }
}
