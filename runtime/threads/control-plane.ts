/**
 * The control plane between the main thread and each worker host: the boot handshake on
 * `parentPort` (the worker says {@link WORKER_LOADED}, the main thread answers with one
 * {@link BootMessage}), then comlink RPC over a MessagePort of its own (spawn, stop, kill,
 * inspect, link, shutdown). This is the only file that imports comlink. The data plane
 * (messages, exits, watches, lifecycle requests) is the wire protocol of transport/, on each
 * thread link's endpoint.
 * Why comlink stays here: these calls are few, slow-path and not actor messages — they need
 * a MessagePort transferred (`link`), answers that are whole objects (stats, tree), and a
 * worker that has no actors yet (`create` loads the module first) — and comlink gives them
 * typed request/response over a port of their own, so none of it shares the data plane's
 * batches or its ordering.
 */
import * as Comlink from 'comlink';
import nodeAdapter from 'comlink/dist/umd/node-adapter.js';
import type { MessagePort } from 'node:worker_threads';
import type { ExitReason } from '../../actors/exit-reason.js';
import type { MailboxOptions } from '../../actors/mailbox.js';
import type { SerializedError } from '../../actors/foundation/errors.js';
import type { ActorModuleRef } from './actor-module.js';
import type { TreeEntry } from '../../supervisor/tree.js';
import type { HistogramData } from '../../actors/foundation/latency-histogram.js';
import type { WorkerBoot } from './worker-host.js';

// The adapter is a CommonJS module whose export *is* the function.
const nodeEndpoint = ((nodeAdapter as unknown as { default?: unknown }).default ?? nodeAdapter) as unknown as (
  port: unknown,
) => Comlink.Endpoint;

/** What a worker posts on `parentPort` once its modules are loaded; then it waits for its boot. */
export const WORKER_LOADED = 'apiary:loaded';

/** Gives a loaded worker its identity (sent once, its ports in the transfer list). */
export interface BootMessage {
  apiaryBoot: WorkerBoot;
}

export interface CreateRequest extends ActorModuleRef {
  args: unknown;
  mailbox: MailboxOptions | undefined;
  path: string;
  /** Who this actor reports its exits to: its supervisor, or (id 0) the main thread itself. */
  parent: { thread: number; id: number };
  /** How long loading the module may take on the worker; past it the create answers `ERR_MODULE_TIMEOUT`. */
  timeoutMs: number;
}

export type CreateResult = { ok: true; id: number } | { ok: false; error: SerializedError };

export interface ThreadStats {
  actors: number;
  /** User messages waiting, summed over the thread's actors. */
  mailbox: number;
  /** Messages processed on the thread since it started. */
  processed: number;
  /** Sampled `receive` durations and ask round trips on the thread. */
  processing: HistogramData;
  askLatency: HistogramData;
  /** `[id, depth]` of the actors with the deepest mailboxes (non-empty only, at most 1000). */
  depths: [number, number][];
  /** Dead letters on the thread since it started, `[reason, count]`. */
  deadLetters: [string, number][];
  /** Durable journal writes of persistent actors on the thread since it started, `[kind, count]`. */
  journalWrites: [string, number][];
}

/** What a worker host offers the main thread. */
export interface WorkerApi {
  ping(): string;
  create(req: CreateRequest): Promise<CreateResult>;
  stopActor(id: number, shutdown: number | 'infinity' | 'brutal-kill'): Promise<ExitReason>;
  kill(id: number, reason: ExitReason): boolean;
  link(peer: number, port: MessagePort): void;
  peerDown(peer: number): void;
  stats(): ThreadStats;
  tree(): TreeEntry[];
  shutdown(): Promise<void>;
}

export type RemoteWorkerApi = Comlink.Remote<WorkerApi>;

export function exposeWorkerApi(api: WorkerApi, port: MessagePort): void {
  Comlink.expose(api, nodeEndpoint(port));
}

export function connectWorkerApi(port: MessagePort): RemoteWorkerApi {
  return Comlink.wrap<WorkerApi>(nodeEndpoint(port));
}

/** Marks a port to be transferred (not cloned) in a control call. */
export function transferPort(port: MessagePort): MessagePort {
  return Comlink.transfer(port, [port as never]);
}

/** Releases the proxy's port so it no longer keeps the process alive. */
export function releaseWorkerApi(api: RemoteWorkerApi): void {
  try {
    api[Comlink.releaseProxy]();
  } catch {
    // already released or the port is closed
  }
}
