/**
 * PortCarrier: carries one thread link's batches over a MessagePort — or, in low-latency
 * mode, through a shared ring beside it (low-latency-lane.ts), the port staying the fallback
 * and the doorbell.
 *
 * Owns: posting batches (small ones cloned, larger ones transferred, never copied twice),
 * handing inbound batches to the endpoint, and closing the port. A port never holds data
 * back, so its `bufferedAmount` is 0 (what a slow receiver costs is bounded by its
 * mailboxes, not here).
 * Threads: one per link end, on that end's thread. The port is unref'd: a link never keeps
 * a thread alive on its own.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Carrier } from './endpoint.js';
import { LowLatencyLane, postBatch, type LaneOwner } from './low-latency-lane.js';
import type { Spinner } from './spinner.js';

export class PortCarrier implements Carrier {
  /** The low-latency path, when the mode is on for this thread. */
  readonly lane: LowLatencyLane | undefined;
  readonly bufferedAmount = 0;

  constructor(
    private readonly port: MessagePort,
    owner: LaneOwner,
    spinner: Spinner | undefined,
  ) {
    const lane = (this.lane = spinner === undefined ? undefined : new LowLatencyLane(owner, port, spinner, spinner.ringBytes));
    if (lane !== undefined) port.on('message', (data: unknown) => lane.onPortMessage(data));
    else port.on('message', (data: Uint8Array) => owner.receiveBatch(data, true));
    port.unref();
  }

  send(batch: Uint8Array): boolean {
    if (this.lane !== undefined) this.lane.send(batch);
    else postBatch(this.port, batch);
    return true;
  }

  close(): void {
    this.lane?.close();
    this.port.close();
  }
}
