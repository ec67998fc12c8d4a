/**
 * The entry point of a worker thread: one Host, its links to the other threads, and the
 * control-plane API the main thread drives over comlink.
 *
 * Owns: loading actor modules (each load bounded by the create request's timeout; the app's
 * module loaders, e.g. tsx, registered here first: runtime/threads/module-hooks.ts),
 * creating cells on request, reporting exits of children whose supervisor is on another
 * thread, forwarding events to the main thread, and the progress counter the main thread's
 * watchdog reads (a SharedArrayBuffer slot this thread bumps from a timer; a blocked event
 * loop stops bumping it).
 * Boots in two phases: loading this module and its imports needs no identity, so a worker
 * can be started ahead of need (a spare, runtime/threads/spare-worker.ts) and wait at the top-level
 * `await` below; its identity (thread index, generation, ports) arrives as the first message
 * on `parentPort`, for a spare and a cold start alike.
 * Runs as compiled JavaScript (dist/runtime/worker-host.js).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { ExitReason } from '../../actors/exit-reason.js';
import { Host } from '../../actors/host.js';
import { stopWithin } from '../../actors/shutdown.js';
import { snapshotCell } from '../../supervisor/tree.js';
import { threadSpinner, type LowLatencyOption } from '../../transport/spinner.js';
import { PeerRoutes } from '../../transport/peer-routes.js';
import { ThreadPeer } from '../../transport/thread-peer.js';
import { threadCodec } from './thread-codec.js';
import { loadActorClass } from './actor-module.js';
import { applyWorkerModuleHooks, type WorkerModuleHook } from './module-hooks.js';
import { RealClock } from '../../actors/foundation/clock.js';
import { startHeartbeats } from '../observability/heartbeat.js';
import { exposeWorkerApi, WORKER_LOADED, type BootMessage, type CreateRequest, type CreateResult, type WorkerApi } from './control-plane.js';
import { serializeError } from '../../actors/foundation/errors.js';
import type { Store, StoreSpec } from '../persistence/store.js';

/** What every worker is made with (`workerData`), before it has an identity. */
export interface WorkerData {
  /** ThreadOptions.moduleHooks: registered before any actor module is loaded. */
  moduleHooks: WorkerModuleHook[];
}

/** What the main thread hands a new worker (as a `BootMessage`). */
export interface WorkerBoot {
  thread: number;
  generation: number;
  node: string;
  incarnation: number;
  mainPort: MessagePort;
  controlPort: MessagePort;
  peers: { thread: number; port: MessagePort }[];
  progress: SharedArrayBuffer;
  progressIntervalMs: number;
  heartbeatMs: number;
  maxMessageBytes: number;
  throughput?: number;
  turnBudget?: number;
  lowLatency?: LowLatencyOption;
  askPollMicros?: number;
  /**
   * The node's persistence store, as a spec this thread opens for its own actors (an LMDB
   * directory is shared between the threads of a process; a Redis store gets a connection of
   * its own). Absent: no store here. (Hook for issue 15, persist branch.)
   */
  store?: StoreSpec;
}

/** Phase two: says "loaded", then waits for the first message, this worker's identity. */
function receiveBoot(): Promise<WorkerBoot> {
  const port = parentPort;
  if (port === null) throw new Error('worker-host.js runs only as a worker thread');
  return new Promise((resolve, reject) => {
    port.once('message', (msg: BootMessage | undefined) => {
      if (msg?.apiaryBoot === undefined) reject(new Error('worker-host: the first message must be a WorkerBoot'));
      else resolve(msg.apiaryBoot);
    });
    port.postMessage(WORKER_LOADED);
  });
}

// before any actor module is imported here: a module that failed to load stays failed
applyWorkerModuleHooks((workerData as WorkerData | undefined)?.moduleHooks ?? []);
const boot = await receiveBoot();
const clock = new RealClock();
/**
 * This thread's store, opened from the boot's spec (loaded only then: a node without a
 * store never loads the store modules here). An open that failed is the error every
 * persistent actor here fails to start with.
 */
const store = await (async (): Promise<() => Store | undefined> => {
  if (boot.store === undefined) return () => undefined;
  try {
    const { openStore } = await import('../persistence/open-store.js');
    const opened = await openStore(boot.store);
    return () => opened;
  } catch (err) {
    return () => {
      throw err;
    };
  }
})();
/**
 * This thread's routes: a peer per other thread of the node (thread 0 and the workers already
 * up, from the boot message; later ones through `link`). Actors on other nodes are reached
 * through thread 0, which holds the node links; this thread's events go there too.
 */
let routes!: PeerRoutes;
const host = new Host({
  node: boot.node,
  incarnation: boot.incarnation,
  thread: boot.thread,
  clock,
  // ids of generation g start at g·2³², so refs into a crashed predecessor never resolve here
  firstId: boot.generation * 2 ** 32 + 1,
  throughput: boot.throughput,
  turnBudget: boot.turnBudget,
  store,
  connect: (h) => {
    const spinner = threadSpinner(h.dispatcher, boot, () => {
      for (const p of routes.threadPeers()) p.endpoint.flush();
    });
    routes = new PeerRoutes(h, { spinner });
    return { routes, forwardEvent: (event) => routes.thread(0)?.endpoint.sendEvent(event) };
  },
});

function addLink(peer: number, port: MessagePort): void {
  routes.linkThread(peer, new ThreadPeer(host, routes, peer, port, threadCodec(host, boot), undefined));
}
addLink(0, boot.mainPort);
for (const p of boot.peers) addLink(p.thread, p.port);

// Watchdog progress: bumped from a timer, so it stops when the event loop is blocked.
const progress = new Int32Array(boot.progress);
const tick = (): void => {
  Atomics.add(progress, boot.thread, 1);
  clock.setTimeout(tick, boot.progressIntervalMs);
};
tick();

const api: WorkerApi = {
  ping: () => 'ok',

  async create(req: CreateRequest): Promise<CreateResult> {
    try {
      const actor = await loadActorClass(req, { ms: req.timeoutMs, clock });
      const parent = req.parent;
      // every cell made here answers to the thread that asked for it (its supervisor, or the
      // main thread for a top-level actor), so none is top-level on this thread
      const cell = host.createCell(actor, { args: req.args, mailbox: req.mailbox }, {
        path: req.path,
        topLevel: false,
        remoteParent: {
          report: (c, reason, resumable) =>
            routes.thread(parent.thread)?.endpoint.sendSys(host.thread, c.id, { k: 'exit', incarnation: c.incarnation, reason, resumable }),
        },
      });
      return { ok: true, id: cell.id };
    } catch (err) {
      return { ok: false, error: serializeError(err) };
    }
  },

  async stopActor(id, shutdown): Promise<ExitReason> {
    const cell = host.cell(id);
    if (cell === undefined) return 'noproc';
    return stopWithin(cell, 'shutdown', shutdown, clock);
  },

  kill(id: number, reason: ExitReason): boolean {
    const cell = host.cell(id);
    if (cell === undefined) return false;
    cell.exitNow(reason);
    return true;
  },

  link(peer: number, port: MessagePort): void {
    addLink(peer, port);
  },

  peerDown(peer: number): void {
    routes.threadDown(peer);
  },

  stats() {
    let mailbox = 0;
    const depths: [number, number][] = [];
    for (const c of host.allCells()) {
      const depth = c.mailboxSize;
      if (depth === 0) continue;
      mailbox += depth;
      depths.push([c.id, depth]);
    }
    if (depths.length > 1000) depths.sort((a, b) => b[1] - a[1]).length = 1000;
    return {
      actors: host.size,
      mailbox,
      processed: host.processed,
      depths,
      processing: host.processing.data(),
      askLatency: host.asks.latency.data(),
      deadLetters: [...host.deadLetterCounts],
      journalWrites: [...host.journalWriteCounts],
    };
  },

  tree() {
    return [...host.allCells()].map((c) => snapshotCell(c, c.path.slice(c.path.lastIndexOf('/') + 1), clock.now()));
  },

  /** Stops what is still running here (newest first); the main thread stopped the trees already. */
  async shutdown(): Promise<void> {
    for (const cell of [...host.allCells()].reverse()) await stopWithin(cell, 'shutdown', 5000, clock);
    for (const p of routes.threadPeers()) p.endpoint.flush();
  },
};

startHeartbeats(
  boot.thread,
  clock,
  boot.heartbeatMs,
  () => {
    let mailbox = 0;
    for (const c of host.allCells()) mailbox += c.mailboxSize;
    return { actors: host.size, mailbox };
  },
  (hb) => routes.thread(0)?.endpoint.sendHeartbeat(hb),
);

exposeWorkerApi(api, boot.controlPort);
