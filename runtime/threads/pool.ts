/**
 * Pools: stateless, CPU-bound jobs on piscina worker threads, behind an ActorRef.
 *
 * Owns: the only import of piscina. A pool ref treats every message as one job for the
 * pool module's default export: `ask` resolves with the job's result (a job that throws
 * rejects that ask only, `ERR_ACTOR_FAILED` with the error as cause), `tell` runs it and
 * drops the result. A full queue (`maxQueue`) refuses the job: an ask rejects
 * `ERR_MAILBOX_FULL`, a tell becomes a dead letter. Jobs are plain data (checked at the
 * sender, as for any message that leaves the thread).
 * Stateful actors do not belong here: they live on the runtime's own threads.
 */
import { Piscina } from 'piscina';
import type { RefTarget } from '../../actors/actor-ref.js';
import { ActorRef } from '../../actors/actor-ref.js';
import type { AskRegistry } from '../../actors/ask.js';
import type { Host } from '../../actors/host.js';
import type { Envelope } from '../../actors/mailbox.js';
import { assertPlainData } from '../../transport/codec.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';

export interface PoolOptions {
  /** Default 1. */
  minThreads?: number;
  /** Default: the number of cores. */
  maxThreads?: number;
  /** Jobs waiting beyond the running ones; more are refused. Default 10 000. */
  maxQueue?: number;
  /** Jobs run at once per pool thread (for jobs that await I/O). Default 1. */
  concurrentTasksPerWorker?: number;
  /** Registers the pool under this name. */
  name?: string;
}

export const POOL_DEFAULTS = { minThreads: 1, maxQueue: 10_000, concurrentTasksPerWorker: 1 } as const;

class PoolTarget implements RefTarget {
  closed = false;

  constructor(
    private readonly host: Host,
    readonly piscina: Piscina,
    private readonly path: string,
    private readonly maxQueue: number,
  ) {}

  get asks(): AskRegistry {
    return this.host.asks;
  }

  get dead(): boolean {
    return this.closed;
  }

  deliver(env: Envelope): boolean {
    if (this.closed) return this.refuse(env, ErrorCodes.ACTOR_STOPPED, 'stopped');
    try {
      assertPlainData(env.msg, 'job');
    } catch (err) {
      if (env.ask !== 0) {
        env.replyTo!.reject(env.ask, err);
        return false;
      }
      throw err;
    }
    if (this.piscina.queueSize >= this.maxQueue) return this.refuse(env, ErrorCodes.MAILBOX_FULL, 'mailbox-full');
    this.piscina.run(env.msg).then(
      (value: unknown) => {
        if (env.ask !== 0) env.replyTo!.resolve(env.ask, value);
      },
      (err: unknown) => {
        if (env.ask !== 0) {
          env.replyTo!.reject(env.ask, new ApiaryError(ErrorCodes.ACTOR_FAILED, `job on pool ${this.path} failed`, { cause: err }));
        } else {
          this.host.emit({ type: 'failed', path: this.path, reason: { error: { name: 'Error', message: String((err as Error)?.message ?? err) } }, at: this.host.clock.now() });
        }
      },
    );
    return true;
  }

  private refuse(env: Envelope, code: typeof ErrorCodes.MAILBOX_FULL | typeof ErrorCodes.ACTOR_STOPPED, reason: 'mailbox-full' | 'stopped'): false {
    if (env.ask !== 0) env.replyTo!.reject(env.ask, new ApiaryError(code, `pool ${this.path} refused the job: ${reason}`));
    this.host.deadLetter(this.path, env, reason);
    return false;
  }
}

export interface Pool {
  ref: ActorRef;
  close(): Promise<void>;
}

/** Starts a piscina pool for `module` (URL or path of a module whose default export handles one job). */
export function startPool(host: Host, module: string | URL, options: PoolOptions, path: string): Pool {
  const maxQueue = options.maxQueue ?? POOL_DEFAULTS.maxQueue;
  const piscina = new Piscina({
    filename: module instanceof URL ? module.href : module,
    minThreads: options.minThreads ?? POOL_DEFAULTS.minThreads,
    ...(options.maxThreads !== undefined ? { maxThreads: options.maxThreads } : {}),
    concurrentTasksPerWorker: options.concurrentTasksPerWorker ?? POOL_DEFAULTS.concurrentTasksPerWorker,
  });
  const target = new PoolTarget(host, piscina, path, maxQueue);
  const ref = new ActorRef({ node: host.node, incarnation: host.incarnation, thread: host.thread, id: host.allocId() }, path, target);
  return {
    ref,
    async close() {
      target.closed = true;
      await piscina.destroy();
    },
  };
}
