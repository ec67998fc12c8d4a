/**
 * ThreadManager: the worker threads of one node, seen from the main thread.
 *
 * Owns: starting worker hosts and wiring a MessagePort between every pair of threads
 * (a full mesh, so each pair's messages keep their order without a hop through main),
 * placement (explicit index or least loaded), and crash handling: a worker that dies
 * (uncaught error, out of memory, `process.exit`, the watchdog of runtime/threads/watchdog.ts
 * terminating a blocked one) has its actors exit
 * with `thread-crash` on every thread that knew them, and is replaced by a fresh worker
 * under the same index (a new generation, so stale refs never reach new actors) — a
 * pre-started spare worker when there is one (runtime/threads/spare-worker.ts), promoted by sending
 * it the dead thread's identity, else a cold start. No wait on a worker is open-ended: a boot
 * is bounded by `bootTimeoutMs`, a spawn waiting for a worker to come (back) up likewise, a
 * create (module load included) by `createTimeoutMs`, and a worker that dies mid-call fails
 * the call at once (comlink itself would never answer it).
 * Time: the host clock (watchdog checks, boot and create timeouts).
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { ActorClass } from '../../actors/actor.js';
import type { Host } from '../../actors/host.js';
import type { TimerHandle } from '../../actors/foundation/clock.js';
import { threadCodec } from './thread-codec.js';
import { moduleHooksOf, spareThreadsOf, THREAD_DEFAULTS, threadTimeoutsOf, type ThreadOptions } from './thread-options.js';
import { Watchdog } from './watchdog.js';
import { SpareWorkers, type SpareCounts } from './spare-worker.js';
import { errorFrom } from '../../transport/frames.js';
import type { PeerRoutes } from '../../transport/peer-routes.js';
import { ThreadPeer, type NodeSinks } from '../../transport/thread-peer.js';
import { actorModuleOf } from './actor-module.js';
import {
  connectWorkerApi,
  releaseWorkerApi,
  type BootMessage,
  type CreateResult,
  transferPort,
  type RemoteWorkerApi,
  type ThreadStats,
} from './control-plane.js';
import { ApiaryError, ErrorCodes } from '../../actors/foundation/errors.js';
import { RemoteChild } from '../node/remote-child.js';
import { HEARTBEAT_DEFAULTS } from '../observability/heartbeat.js';
import type { HistogramData } from '../../actors/foundation/latency-histogram.js';
import type { WorkerBoot, WorkerData } from './worker-host.js';
import type { StoreSpec } from '../persistence/store.js';
import type { MailboxOptions } from '../../actors/mailbox.js';

interface Slot {
  thread: number;
  generation: number;
  worker: Worker;
  api: RemoteWorkerApi;
  ready: boolean;
  /** Exit expected (shutdown) rather than a crash. */
  leaving: boolean;
  lastError: Error | undefined;
  /** Terminated by the watchdog. */
  blocked: boolean;
  /** Actors placed here by this node and not yet known dead. */
  actors: number;
  /** Messages waiting on this thread, as of the last stats poll. */
  mailbox: number;
  /** Messages processed by this thread, as of the last stats poll. */
  processed: number;
  /** Dead letters on this thread by reason, as of the last stats poll. */
  deadLetters: [string, number][];
  /** Journal writes on this thread by kind, as of the last stats poll. */
  journalWrites: [string, number][];
  histograms: { processing: HistogramData; askLatency: HistogramData } | undefined;
  whenReady: Promise<void>;
  /** Fails `whenReady` if the thread dies before it answers. */
  failBoot: (err: Error) => void;
  /** Control calls waiting for this thread's answer: each is failed if the thread dies first. */
  calls: Set<(err: Error) => void>;
}

const WORKER_URL = new URL('./worker-host.js', import.meta.url);

export class ThreadManager {
  readonly count: number;
  private readonly slots: (Slot | undefined)[] = [];
  private readonly watchdog: Watchdog;
  private stopping = false;
  /** Threads replaced after a crash, since start. */
  threadRestarts = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly spares: SpareWorkers;
  /** Every first boot is done; from now on a boot replaces a dead thread. */
  private started = false;
  /** See ThreadOptions.bootTimeoutMs / createTimeoutMs. */
  readonly bootTimeoutMs: number;
  readonly createTimeoutMs: number;
  /** Why each thread index last went down (for spawns that time out waiting for it). */
  private readonly downReasons: string[] = [];

  /**
   * `routes` are thread 0's (each worker is linked there as a peer); `sinks` take what the
   * workers report (heartbeats); `threadDown` hears of every worker that died (the cluster
   * ends the watches that crossed through it).
   */
  constructor(
    private readonly host: Host,
    private readonly routes: PeerRoutes,
    private readonly options: ThreadOptions,
    private readonly sinks: NodeSinks,
    private readonly threadDown: (thread: number) => void = () => {},
  ) {
    this.count = Math.max(0, Math.floor(options.threads ?? availableParallelism()));
    ({ bootTimeoutMs: this.bootTimeoutMs, createTimeoutMs: this.createTimeoutMs } = threadTimeoutsOf(options));
    this.watchdog = new Watchdog(host.clock, this.count, options.watchdogMs ?? THREAD_DEFAULTS.watchdogMs, (thread) => {
      const slot = this.slots[thread];
      if (slot?.ready !== true || slot.blocked) return;
      slot.blocked = true;
      void slot.worker.terminate();
    });
    const workerData: WorkerData = { moduleHooks: moduleHooksOf(options) };
    this.spares = new SpareWorkers(host, WORKER_URL, this.count === 0 ? 0 : spareThreadsOf(options), { resourceLimits: options.resourceLimits, workerData });
  }

  /** Starts every worker and links them; resolves when all answer (spares start afterwards). */
  async start(): Promise<void> {
    for (let t = 1; t <= this.count; t++) await this.boot(t);
    this.started = true;
    this.watchdog.start();
    this.armStats();
    this.spares.fill(true);
  }

  /** Spare workers waiting to replace a dead thread (see ThreadOptions.spareThreads). */
  spareCounts(): SpareCounts {
    return this.spares.counts();
  }

  /** Dead threads replaced by promoting a spare, since start. */
  get sparesPromoted(): number {
    return this.spares.promoted;
  }

  private statsTimer: TimerHandle | undefined;

  /** Polls each worker's mailbox depths: placement weighs them, the tree shows them. */
  private armStats(): void {
    const poll = async (): Promise<void> => {
      if (this.stopping) return;
      for (const slot of this.slots) {
        if (!slot?.ready) continue;
        try {
          const stats = await slot.api.stats();
          slot.mailbox = stats.mailbox;
          slot.processed = stats.processed;
          slot.deadLetters = stats.deadLetters;
          slot.journalWrites = stats.journalWrites;
          slot.histograms = { processing: stats.processing, askLatency: stats.askLatency };
          const depth = new Map(stats.depths);
          for (const child of this.routes.thread(slot.thread)?.children.values() ?? []) {
            if (child instanceof RemoteChild) child.mailboxSize = depth.get(child.remoteId) ?? 0;
          }
        } catch {
          // the thread went away meanwhile
        }
      }
      if (!this.stopping) this.statsTimer = this.host.clock.setTimeout(() => void poll(), THREAD_DEFAULTS.statsIntervalMs);
    };
    this.statsTimer = this.host.clock.setTimeout(() => void poll(), THREAD_DEFAULTS.statsIntervalMs);
  }

  /** Boots run one at a time, so each new thread links to every thread already there, once. */
  private bootChain: Promise<void> = Promise.resolve();

  /**
   * A live thread for `placement`: the given index (waiting while it is being replaced), or
   * the worker with the fewest actors placed by this node. Waits at most `bootTimeoutMs` for
   * a thread to come (back) up, then rejects `ERR_WORKER_TIMEOUT` with the last reason it went down.
   */
  async place(placement: number | 'auto'): Promise<number> {
    if (placement !== 'auto') {
      if (placement < 1 || placement > this.count) {
        throw new ApiaryError(ErrorCodes.INVALID_ARGUMENT, `no worker thread ${placement} (this node has ${this.count})`, {
          field: 'thread',
        });
      }
      const slot = this.slots[placement];
      if (slot === undefined || !slot.ready) await this.untilReady(placement);
      return placement;
    }
    const deadline = this.host.clock.now() + this.bootTimeoutMs;
    for (;;) {
      // least loaded: waiting messages plus actors (a backlog weighs as much as an actor per message)
      let best: Slot | undefined;
      for (const s of this.slots) if (s && s.ready && (!best || s.actors + s.mailbox < best.actors + best.mailbox)) best = s;
      if (best) return best.thread;
      if (this.stopping || this.count === 0) throw new ApiaryError(ErrorCodes.THREAD_GONE, 'no worker thread is running');
      await this.nextThreadUp(deadline, () => {
        const why = this.downReasons.map((r, t) => (r ? `thread ${t}: ${r}` : '')).filter(Boolean);
        return `no worker thread came up within ${this.bootTimeoutMs} ms${why.length > 0 ? ` (last down: ${why.join('; ')})` : ''}`;
      });
    }
  }

  private async untilReady(thread: number): Promise<void> {
    const deadline = this.host.clock.now() + this.bootTimeoutMs;
    for (;;) {
      const slot = this.slots[thread];
      if (slot?.ready) return;
      if (this.stopping) throw new ApiaryError(ErrorCodes.THREAD_GONE, `thread ${thread} is gone`);
      await this.nextThreadUp(deadline, () => {
        const why = this.downReasons[thread];
        return `worker thread ${thread} did not come back up within ${this.bootTimeoutMs} ms${why ? ` (it went down: ${why})` : ''}`;
      });
    }
  }

  /** Resolves when some thread comes up (or the manager stops); rejects `ERR_WORKER_TIMEOUT` at `deadline`. */
  private nextThreadUp(deadline: number, why: () => string): Promise<void> {
    const clock = this.host.clock;
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        clock.clearTimeout(timer);
        resolve();
      };
      const timer = clock.setTimeout(() => {
        const i = this.waiting.indexOf(wake);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new ApiaryError(ErrorCodes.WORKER_TIMEOUT, why()));
      }, deadline - clock.now());
      this.waiting.push(wake);
    });
  }

  /**
   * Creates (does not start) an actor on `thread`; returns its id there. Never waits longer
   * than about `createTimeoutMs`: rejects `ERR_ENTRY_MODULE` (class in the app's entry module,
   * at once), `ERR_MODULE_NOT_FOUND`, `ERR_MODULE_TIMEOUT` (its module did not finish loading,
   * here or on the worker), `ERR_THREAD_GONE` (the worker died meanwhile) or
   * `ERR_WORKER_TIMEOUT` (the worker did not answer); nothing is left running on the worker.
   */
  async create(
    thread: number,
    req: { actor: ActorClass; args: unknown; mailbox: MailboxOptions | undefined; path: string; parent: { thread: number; id: number } },
  ): Promise<number> {
    const where = await actorModuleOf(req.actor, { ms: this.createTimeoutMs, clock: this.host.clock });
    const slot = this.slots[thread];
    if (slot === undefined || !slot.ready) throw new ApiaryError(ErrorCodes.THREAD_GONE, `thread ${thread} is gone`);
    const call: Promise<CreateResult> = slot.api.create({ ...where, args: req.args, mailbox: req.mailbox, path: req.path, parent: req.parent, timeoutMs: this.createTimeoutMs });
    const res = await this.answer(slot, call, `create ${where.exportName} from ${where.module}`, THREAD_DEFAULTS.createAnswerGraceMs + this.createTimeoutMs, (late) => {
      // answered after we gave up: that actor has no handle, so it must not run
      if (late.ok) slot.api.stopActor(late.id, 'brutal-kill').catch(() => {});
    });
    if (!res.ok) throw errorFrom(res.error);
    slot.actors++;
    return res.id;
  }

  /**
   * `call`'s answer from `slot`'s worker, or a rejection: `ERR_THREAD_GONE` when the thread
   * dies first (comlink never answers a call to a dead port), `ERR_WORKER_TIMEOUT` after `ms`.
   * An answer that comes after the timeout goes to `late`.
   */
  private answer<T>(slot: Slot, call: Promise<T>, what: string, ms: number, late: (value: T) => void): Promise<T> {
    const clock = this.host.clock;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        slot.calls.delete(fail);
        clock.clearTimeout(timer);
        reject(err);
      };
      const timer = clock.setTimeout(
        () => fail(new ApiaryError(ErrorCodes.WORKER_TIMEOUT, `thread ${slot.thread} did not answer (${what}) within ${ms} ms`)),
        ms,
      );
      slot.calls.add(fail);
      call.then(
        (value) => {
          if (settled) return late(value);
          settled = true;
          slot.calls.delete(fail);
          clock.clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
      );
    });
  }

  /** An actor placed on `thread` died for good. */
  released(thread: number): void {
    const slot = this.slots[thread];
    if (slot && slot.actors > 0) slot.actors--;
  }

  /** Stats of every live worker thread. */
  async stats(): Promise<({ thread: number } & ThreadStats)[]> {
    const out: ({ thread: number } & ThreadStats)[] = [];
    for (const s of this.slots) {
      if (!s?.ready) continue;
      try {
        out.push({ thread: s.thread, ...(await s.api.stats()) });
      } catch {
        // thread went away meanwhile
      }
    }
    return out;
  }

  /** Messages processed by the workers: those that died, plus the live ones' last reports. */
  processed(): number {
    let n = this.processedByDead;
    for (const s of this.slots) if (s) n += s.processed;
    return n;
  }

  private processedByDead = 0;

  /**
   * Dead letters on the workers by reason: those of threads that died, plus the live ones'
   * last reports (≤ `statsIntervalMs` old).
   */
  deadLetters(): Map<string, number> {
    return this.counts(this.deadLettersByDead, (s) => s.deadLetters);
  }

  /** Journal writes on the workers by kind: those of threads that died, plus the live ones' last reports. */
  journalWrites(): Map<string, number> {
    return this.counts(this.journalWritesByDead, (s) => s.journalWrites);
  }

  private counts(byDead: Map<string, number>, of: (s: Slot) => [string, number][]): Map<string, number> {
    const out = new Map(byDead);
    for (const s of this.slots) if (s) for (const [key, n] of of(s)) out.set(key, (out.get(key) ?? 0) + n);
    return out;
  }

  private readonly deadLettersByDead = new Map<string, number>();
  private readonly journalWritesByDead = new Map<string, number>();

  /** The workers' latest histograms (live threads only). */
  histograms(): { processing: HistogramData; askLatency: HistogramData }[] {
    return this.slots.flatMap((s) => (s?.histograms ? [s.histograms] : []));
  }

  /** Each worker slot: its index and whether it runs (false while it is being replaced). */
  threadStates(): { thread: number; up: boolean; generation: number }[] {
    const out: { thread: number; up: boolean; generation: number }[] = [];
    for (let t = 1; t <= this.count; t++) {
      const s = this.slots[t];
      out.push({ thread: t, up: s?.ready === true, generation: s?.generation ?? 0 });
    }
    return out;
  }

  /** Live worker thread indices. */
  liveThreads(): number[] {
    return this.slots.filter((s): s is Slot => s?.ready === true).map((s) => s.thread);
  }

  /** Kills worker `thread` as the watchdog would (for tests and admin). */
  terminateThread(thread: number): void {
    void this.slots[thread]?.worker.terminate();
  }

  private boot(thread: number): Promise<void> {
    const run = this.bootChain.then(() => this.bootNow(thread));
    this.bootChain = run.catch(() => {});
    return run;
  }

  private bootNow(thread: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    const previous = this.slots[thread];
    const generation = (previous?.generation ?? 0) + 1;
    const main = new MessageChannel();
    const control = new MessageChannel();
    const peers: { thread: number; port: MessagePort }[] = [];
    const peerLinks: { slot: Slot; port: MessagePort }[] = [];
    for (const other of this.slots) {
      if (other === undefined || other.thread === thread || !other.ready) continue;
      const ch = new MessageChannel();
      peers.push({ thread: other.thread, port: ch.port2 });
      peerLinks.push({ slot: other, port: ch.port1 });
    }
    const boot: WorkerBoot = {
      thread,
      generation,
      node: this.host.node,
      incarnation: this.host.incarnation,
      mainPort: main.port2,
      controlPort: control.port2,
      peers,
      progress: this.watchdog.buffer,
      progressIntervalMs: THREAD_DEFAULTS.progressIntervalMs,
      heartbeatMs: this.options.heartbeatMs ?? HEARTBEAT_DEFAULTS.heartbeatMs,
      maxMessageBytes: this.options.maxMessageBytes ?? THREAD_DEFAULTS.maxMessageBytes,
      throughput: this.host.dispatcher.throughput,
      turnBudget: this.host.dispatcher.turnBudget,
      lowLatency: this.options.lowLatency,
      askPollMicros: this.options.askPollMicros,
      store: workerStoreSpec(this.host.store()),
    };
    const worker = this.spares.take();
    const message: BootMessage = { apiaryBoot: boot };
    worker.postMessage(message, [main.port2, control.port2, ...peers.map((p) => p.port)]);
    const api = connectWorkerApi(control.port1);
    const slot: Slot = {
      thread,
      generation,
      worker,
      api,
      ready: false,
      leaving: false,
      lastError: undefined,
      blocked: false,
      actors: 0,
      mailbox: 0,
      processed: 0,
      deadLetters: [],
      journalWrites: [],
      histograms: undefined,
      whenReady: Promise.resolve(),
      failBoot: () => {},
      calls: new Set(),
    };
    this.slots[thread] = slot;
    // Always listen: an unhandled 'error' on a Worker would take the whole process down.
    worker.on('error', (err) => (slot.lastError = err));
    worker.on('exit', (code) => this.onExit(slot, code));
    this.routes.linkThread(thread, new ThreadPeer(this.host, this.routes, thread, main.port1, threadCodec(this.host, this.options), this.sinks));
    const died = new Promise<never>((_, reject) => (slot.failBoot = reject));
    died.catch(() => {});
    // a worker that never answers (stuck loading a module, say) would hold every later boot
    // behind it: it is terminated, and its exit is handled as a crash
    const bootTimer = this.host.clock.setTimeout(() => {
      if (slot.ready || slot.leaving || this.slots[thread] !== slot) return;
      slot.lastError = new ApiaryError(ErrorCodes.WORKER_TIMEOUT, `worker thread ${thread} did not answer within ${this.bootTimeoutMs} ms (bootTimeoutMs)`);
      slot.failBoot(slot.lastError);
      void worker.terminate();
    }, this.bootTimeoutMs);
    slot.whenReady = (async () => {
      try {
        await Promise.race([api.ping(), died]);
      } finally {
        this.host.clock.clearTimeout(bootTimer);
      }
      for (const { slot: other, port } of peerLinks) {
        try {
          await other.api.link(thread, transferPort(port));
        } catch {
          // that peer died meanwhile; its own replacement links to us
        }
      }
      if (this.slots[thread] !== slot || slot.leaving) return;
      slot.ready = true;
      this.watchdog.watch(thread);
      this.host.emit({ type: 'thread-up', thread, generation, at: this.host.clock.now() });
      const waiting = this.waiting.splice(0);
      for (const w of waiting) w();
    })();
    // replace a spare taken for this thread once it runs (not meanwhile: both would compete
    // for the same cores); a failed boot lets the spare backoff decide
    if (this.started) slot.whenReady.then(() => this.spares.fill(true), () => this.spares.fill());
    return slot.whenReady;
  }

  private onExit(slot: Slot, code: number): void {
    if (this.slots[slot.thread] !== slot) return;
    const wasReady = slot.ready;
    slot.ready = false;
    this.watchdog.unwatch(slot.thread);
    slot.failBoot(new ApiaryError(ErrorCodes.THREAD_GONE, `thread ${slot.thread} died while starting (code ${code})${slot.lastError ? `: ${slot.lastError.message}` : ''}`));
    const why = slot.blocked
      ? `blocked longer than ${this.watchdog.limitMs} ms (watchdog)`
      : slot.lastError
        ? `${slot.lastError.name}: ${slot.lastError.message}${codeOf(slot.lastError)}`
        : `exited with code ${code}`;
    const gone = new ApiaryError(ErrorCodes.THREAD_GONE, `thread ${slot.thread} died before it answered: ${why}`);
    for (const fail of [...slot.calls]) fail(gone);
    releaseWorkerApi(slot.api);
    if (slot.leaving || this.stopping) return;
    this.downReasons[slot.thread] = why;
    this.processedByDead += slot.processed;
    slot.processed = 0;
    for (const [reason, n] of slot.deadLetters) this.deadLettersByDead.set(reason, (this.deadLettersByDead.get(reason) ?? 0) + n);
    for (const [kind, n] of slot.journalWrites) this.journalWritesByDead.set(kind, (this.journalWritesByDead.get(kind) ?? 0) + n);
    slot.deadLetters = [];
    slot.journalWrites = [];
    this.host.emit({ type: 'thread-down', thread: slot.thread, reason: why, at: this.host.clock.now() });
    this.routes.threadDown(slot.thread);
    this.threadDown(slot.thread);
    for (const other of this.slots) {
      if (other && other !== slot && other.ready) other.api.peerDown(slot.thread).catch(() => {});
    }
    this.threadRestarts++;
    // A thread that dies before it ever answered would die again at once: back off.
    this.crashStreak[slot.thread] = wasReady ? 0 : (this.crashStreak[slot.thread] ?? 0) + 1;
    const wait = Math.min(5000, 100 * 2 ** (this.crashStreak[slot.thread] ?? 0)) - 100;
    const replace = () => {
      if (this.stopping) return;
      this.boot(slot.thread).catch(() => {
        // the replacement died while starting; its own exit handler takes it from here
      });
    };
    if (wait <= 0) replace();
    else this.host.clock.setTimeout(replace, wait);
  }

  private readonly crashStreak: number[] = [];

  /** Stops the workers: each stops what still runs on it, then the thread ends. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.watchdog.stop();
    this.host.clock.clearTimeout(this.statsTimer);
    const waiting = this.waiting.splice(0);
    for (const w of waiting) w();
    const spares = this.spares.stop();
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot === undefined) return;
        slot.leaving = true;
        if (slot.ready) {
          await Promise.race([slot.api.shutdown().catch(() => {}), delay(this.host, 5000)]);
        }
        releaseWorkerApi(slot.api);
        await slot.worker.terminate();
        this.routes.threadDown(slot.thread);
      }),
    );
    await spares;
  }
}

function codeOf(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? ` (${code})` : '';
}

function delay(host: Host, ms: number): Promise<void> {
  return new Promise((resolve) => host.clock.setTimeout(resolve, ms));
}

export type { ThreadOptions };

/**
 * The spec a worker thread opens the node's store from: that of thread 0's store, unless it
 * lives only in thread 0's memory (a MemoryStore: a worker's own would be another store).
 * (Hook for issue 15, persist branch.)
 */
function workerStoreSpec(store: object | undefined): StoreSpec | undefined {
  const spec = (store as { spec?: StoreSpec } | undefined)?.spec;
  return spec === undefined || spec.kind === 'memory' ? undefined : spec;
}
