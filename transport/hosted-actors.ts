/**
 * What a node session needs from the actors its peer spawned on this node: the permission
 * check and the relay for the peer's lifecycle requests and orders (implemented by
 * runtime/cluster/hosted-children.ts, on the main thread and the worker threads).
 * Does not own: creating them or their exits' way back.
 */
import type { ReqPayload, ResPayload, SysPayload } from './frames.js';

/** A kill / resume / exit-now order from the peer for an actor it spawned here. */
export type HostedOrder = Extract<SysPayload, { k: 'kill' | 'resume' | 'exit-now' }>;

/**
 * The actors the peer spawned on this node (runtime/cluster/hosted-children.ts): the only ones whose
 * lifecycle it may drive, on this thread or on a worker thread.
 */
export interface HostedActors {
  /** Relays a lifecycle request; undefined if the peer did not spawn `thread`/`id` here. */
  request(thread: number, id: number, p: ReqPayload): Promise<ResPayload> | undefined;
  /** Relays an order; false if the peer did not spawn `thread`/`id` here. */
  order(thread: number, id: number, p: HostedOrder): boolean;
  /** The peer is down: they are terminated (`node-down`). */
  close(): void;
}

/** Refuses everything: a session nobody may spawn through. */
export const NOTHING_HOSTED: HostedActors = { request: () => undefined, order: () => false, close() {} };
