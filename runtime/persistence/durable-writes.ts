/**
 * DurableWrites: what the two persistent actor kinds (persistent-actor.ts, event-sourced;
 * durable-state-actor.ts, Orleans-style state) share — the rule that a message is finished
 * only when its writes are durable, and that a failed write ends the incarnation.
 *
 * Owns: the writes in flight of one actor instance; wrapping its `receive` so that the reply
 * is sent and the next message starts only once every write made while handling the message
 * settled (even one the actor forgot to await); wrapping `started` so that recovery runs
 * before the actor's own `started` and before its first message; the failure that poisons
 * the instance (a later write rejects at once, without touching the store).
 * Does not own: what is written (the actors), the store (store.ts), restart policy (the
 * supervisor: a failed write makes `receive` reject, or the actor exit, and its parent
 * decides).
 * Threads: the actor's thread. Time: none.
 */
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import type { ActorContext } from '../../actors/actor.js';
import { errorReason } from '../../actors/exit-reason.js';
import type { JournalWriteKind, SystemEvent } from '../../actors/events.js';

type JournalWriteEvent = Extract<SystemEvent, { type: 'journal-write' }>;

/** The wrapped entry points of one actor instance: what the cell calls. */
export interface GuardedActor {
  receive(message: unknown): unknown;
  started?(): void | Promise<void>;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Tells the node a write of `persistenceId` is durable: a `journal-write` event on `events$`,
 * counted in `apiary_journal_writes_total{kind}` (actors/host.ts). `from`/`to`: the seqs
 * appended, the snapshot's seq, or the state's version.
 */
export function journaled(context: ActorContext, persistenceId: string, kind: JournalWriteKind, from?: number, to?: number): void {
  const event: JournalWriteEvent = { type: 'journal-write', path: context.path, persistenceId, kind, at: context.clock.now() };
  if (from !== undefined) event.from = from;
  if (to !== undefined) event.to = to;
  context.publish(event);
}

/** Is `err` the store's refusal of a stale writer? */
export function isFenced(err: unknown): boolean {
  return err instanceof ApiaryError && err.code === ErrorCodes.PERSISTENCE_FENCED;
}

/**
 * A store error as the actor fails with it: a fencing refusal stays `ERR_PERSISTENCE_FENCED`
 * (a newer incarnation owns the id: this one must stop, never retry); anything else becomes
 * `ERR_PERSIST_FAILED` with the store's error as `cause` (a restart replays and goes on).
 */
export function persistError(pid: string, what: string, err: unknown): ApiaryError {
  if (isFenced(err)) return err as ApiaryError;
  return new ApiaryError(ErrorCodes.PERSIST_FAILED, `${pid}: ${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

export class DurableWrites {
  /** The write failure that ended this incarnation, if any. */
  failure: unknown;
  /** Writes tracked and not yet settled. */
  private pending = 0;
  /** Writes tracked so far (to tell whether a message wrote). */
  private tracked = 0;
  /** Called when `pending` drops to 0 (the end of a message waiting for its writes). */
  private drained: (() => void) | undefined;
  /** A message is being handled (its end will report a failure). */
  private inMessage = false;

  constructor(private readonly context: () => ActorContext) {}

  /**
   * Replaces the instance's `receive` and `started` (own properties, shadowing its methods)
   * with versions that keep the durability rules; `recover` runs before the actor's own
   * `started`. Called once, from the persistent actor's constructor.
   */
  install(actor: GuardedActor, recover: () => Promise<void>): void {
    const receive = actor.receive;
    const started = actor.started;
    actor.receive = (message: unknown) => this.handle(actor, receive, message);
    actor.started = async () => {
      await recover();
      if (typeof started === 'function') await started.call(actor);
    };
  }

  /** Tracks a write: the message being handled finishes only after it settles. */
  track<T>(write: Promise<T>): Promise<T> {
    this.pending++;
    this.tracked++;
    write.then(this.settled, this.settled);
    return write;
  }

  private readonly settled = (): void => {
    if (--this.pending === 0 && this.drained !== undefined) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
  };

  /**
   * Records the failure that ends this incarnation. Outside a message (a write nobody waited
   * for) the actor exits with it at once; inside one, that message's `receive` rejects with it.
   */
  fail(err: unknown): unknown {
    if (this.failure === undefined) {
      this.failure = err;
      if (!this.inMessage) this.context().stop(errorReason(err));
    }
    return this.failure;
  }

  /** Rejects at once if a write failed before: a poisoned incarnation writes nothing more. */
  check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private handle(actor: GuardedActor, receive: (m: unknown) => unknown, message: unknown): unknown {
    this.check();
    const before = this.tracked;
    this.inMessage = true;
    let out: unknown;
    try {
      out = receive.call(actor, message);
    } catch (err) {
      this.inMessage = false;
      throw err;
    }
    // a synchronous receive that wrote nothing: nothing to wait for
    if (!isThenable(out) && this.tracked === before) {
      this.inMessage = false;
      return out;
    }
    return this.finish(out);
  }

  /** The reply of a message that wrote: its value, once every write it made settled. */
  private async finish(out: unknown): Promise<unknown> {
    try {
      const value = await out;
      if (this.pending > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      if (this.failure !== undefined) throw this.failure;
      return value;
    } finally {
      this.inMessage = false;
    }
  }
}
