/**
 * SpareWorkers: worker threads started ahead of need, so replacing a crashed thread costs
 * about one handshake instead of a whole worker boot (module loading is most of it).
 *
 * Owns: the spares (workers that loaded worker-host.js and wait for their `WorkerBoot`),
 * handing out a worker for a new thread (a spare when there is one, else a cold one), and
 * keeping the count up: a spare that dies while idle is replaced; spares that keep dying
 * before they are stable are retried with exponential backoff and, after
 * `SPARE_DEFAULTS.maxFailures` in a row, given up on (`spare-down` event with
 * `gaveUp: true`): threads are then replaced by cold starts, until a thread boots fine again.
 * Does not own: thread identity, wiring, the watchdog or crash handling of threads
 * (runtime/threads/thread-manager.ts); a spare has no index, no ports and no actors until it is taken.
 * Time: the host clock (load timeout, backoff). Main thread only.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { Host } from '../../actors/host.js';
import type { TimerHandle } from '../../actors/foundation/clock.js';
import { WORKER_LOADED } from './control-plane.js';

/** Spare upkeep defaults (backoff as Akka's restartWithBackoff, without jitter). */
export const SPARE_DEFAULTS = {
  /** Spares that die in a row, each before it was stable, before giving up on spares. */
  maxFailures: 5,
  /** Wait before replacing the n-th failed spare in a row: min·2^(n-1), capped at max. */
  minBackoffMs: 100,
  maxBackoffMs: 5000,
  /** A spare loaded for this long is stable: its death is a plain replacement, not a failure. */
  stableMs: 5000,
  /** A spare that has not loaded its modules by then is terminated (a failure). */
  loadTimeoutMs: 30_000,
} as const;

interface Spare {
  worker: Worker;
  loaded: boolean;
  loadedAt: number;
  lastError: Error | undefined;
  timedOut: boolean;
  loadTimer: TimerHandle | undefined;
  /** Removes this pool's listeners and timer (when taken, or dead). */
  detach: () => void;
}

/** How many spares are waiting: `loaded` ones can be promoted at once, `loading` ones soon. */
export interface SpareCounts {
  loaded: number;
  loading: number;
}

export class SpareWorkers {
  private readonly idle: Spare[] = [];
  private failures = 0;
  private gaveUp = false;
  private retryTimer: TimerHandle | undefined;
  private stopped = false;
  /** Spares handed out as threads since start. */
  promoted = 0;

  /**
   * @param target spares to keep (0: none; every thread starts cold)
   * @param workerOptions how every worker is made, spare or cold (resource limits, workerData)
   */
  constructor(
    private readonly host: Host,
    private readonly url: URL,
    readonly target: number,
    private readonly workerOptions: WorkerOptions = {},
  ) {}

  /**
   * A worker to become a new thread: a loaded spare, else a loading one, else a cold start.
   * The caller owns it from here (listeners, boot message, termination); the pool does not
   * replace it until {@link fill} is called.
   */
  take(): Worker {
    // a spare with an error is on its way out (its 'exit' is still to come): leave it
    let i = this.idle.findIndex((s) => s.loaded && s.lastError === undefined);
    if (i < 0) i = this.idle.findIndex((s) => s.lastError === undefined);
    const spare = i < 0 ? undefined : this.idle.splice(i, 1)[0];
    if (spare === undefined) return this.newWorker();
    spare.detach();
    this.promoted++;
    return spare.worker;
  }

  /**
   * Starts spares up to the target, unless stopped, waiting out a backoff, or given up.
   * `proven`: a thread just booted fine, so workers can boot: a failure streak ends and
   * spares are tried again after giving up.
   */
  fill(proven = false): void {
    if (proven && this.retryTimer === undefined) {
      this.failures = 0;
      this.gaveUp = false;
    }
    if (this.stopped || this.gaveUp || this.retryTimer !== undefined) return;
    while (this.idle.length < this.target) this.idle.push(this.launch());
  }

  /** Spares waiting now (a taken spare is no longer counted; a dead one never is). */
  counts(): SpareCounts {
    const loaded = this.idle.filter((s) => s.loaded).length;
    return { loaded, loading: this.idle.length - loaded };
  }

  /** Terminates every spare; none is started afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.host.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const spares = this.idle.splice(0);
    await Promise.all(
      spares.map((s) => {
        s.detach();
        return s.worker.terminate();
      }),
    );
  }

  private newWorker(): Worker {
    return new Worker(this.url, this.workerOptions);
  }

  private launch(): Spare {
    const worker = this.newWorker();
    const clock = this.host.clock;
    const spare: Spare = { worker, loaded: false, loadedAt: 0, lastError: undefined, timedOut: false, loadTimer: undefined, detach: () => {} };
    const onMessage = (msg: unknown): void => {
      if (msg !== WORKER_LOADED) return;
      spare.loaded = true;
      spare.loadedAt = clock.now();
      clock.clearTimeout(spare.loadTimer);
    };
    // Always listen: an unhandled 'error' on a Worker would take the whole process down.
    const onError = (err: Error): void => {
      spare.lastError = err;
    };
    const onExit = (code: number): void => this.died(spare, code);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    spare.loadTimer = clock.setTimeout(() => {
      spare.timedOut = true;
      void worker.terminate();
    }, SPARE_DEFAULTS.loadTimeoutMs);
    spare.detach = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      clock.clearTimeout(spare.loadTimer);
    };
    return spare;
  }

  private died(spare: Spare, code: number): void {
    const i = this.idle.indexOf(spare);
    if (i >= 0) this.idle.splice(i, 1);
    spare.detach();
    if (this.stopped) return;
    const now = this.host.clock.now();
    const stable = spare.loaded && now - spare.loadedAt >= SPARE_DEFAULTS.stableMs;
    this.failures = stable ? 0 : this.failures + 1;
    const reason = spare.timedOut
      ? `did not load within ${SPARE_DEFAULTS.loadTimeoutMs} ms`
      : spare.lastError
        ? `${spare.lastError.name}: ${spare.lastError.message}`
        : `exited with code ${code}`;
    if (this.failures >= SPARE_DEFAULTS.maxFailures) {
      this.gaveUp = true;
      this.host.emit({ type: 'spare-down', reason, failures: this.failures, retryInMs: undefined, gaveUp: true, at: now });
      return;
    }
    const wait = this.failures === 0 ? 0 : Math.min(SPARE_DEFAULTS.maxBackoffMs, SPARE_DEFAULTS.minBackoffMs * 2 ** (this.failures - 1));
    this.host.emit({ type: 'spare-down', reason, failures: this.failures, retryInMs: wait, gaveUp: false, at: now });
    if (wait === 0) return this.fill();
    this.retryTimer = this.host.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.fill();
    }, wait);
  }
}
