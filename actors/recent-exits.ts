/**
 * RecentExits: why the last actors that died on one thread died, by id.
 *
 * A watch can reach a thread after the actor it names died there: it travelled another way
 * than the message that stopped it (from a worker of another node through that node's main
 * thread, while the stop came straight from the main thread). A watch made on the actor's own
 * thread finds the dead cell and its final reason; a watch from elsewhere finds only an id.
 * This keeps the reasons of the last `capacity` deaths so such a watch hears the real reason
 * too; an id older than that (or never seen) is `noproc`, as a monitor of a dead process in OTP.
 *
 * Owns: a fixed ring of ids and reasons. Recording a death is two writes (no allocation);
 * looking one up scans the ring, which only a watch of an actor that is gone does.
 * Threads: one per host, touched by its thread only.
 */
import type { ExitReason } from './exit-reason.js';

export class RecentExits {
  private readonly ids: Float64Array;
  private readonly reasons: (ExitReason | undefined)[];
  private next = 0;

  /** Keeps the reasons of the last `capacity` deaths (at least 1). */
  constructor(capacity: number) {
    const n = Math.max(1, Math.floor(capacity));
    this.ids = new Float64Array(n);
    this.reasons = new Array<ExitReason | undefined>(n).fill(undefined);
  }

  /** Actor `id` died with `reason`. */
  record(id: number, reason: ExitReason): void {
    const i = this.next;
    this.ids[i] = id;
    this.reasons[i] = reason;
    this.next = i + 1 === this.ids.length ? 0 : i + 1;
  }

  /** Why actor `id` died, if it is among the last deaths; undefined otherwise. */
  reasonOf(id: number): ExitReason | undefined {
    const n = this.ids.length;
    for (let k = 1; k <= n; k++) {
      const i = (this.next - k + n) % n;
      const reason = this.reasons[i];
      if (reason === undefined) return undefined; // the ring was never filled this far
      if (this.ids[i] === id) return reason;
    }
    return undefined;
  }
}
