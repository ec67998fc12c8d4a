/**
 * WireAsks: asks sent over one link under link-local wire ids.
 *
 * Owns: wire id → where the answer goes (the asker's reply route and its own ask id), and
 * the reverse, so a cancel from the asker finds its wire id without a scan. Bounded: past
 * `max` asks in flight the oldest is forgotten (its answer, if it ever comes, is dropped and
 * the asker's own timeout settles it).
 * Threads: one per link, touched by its thread only.
 */
import type { AskReplyTo } from '../actors/mailbox.js';

export interface WireAsk {
  replyTo: AskReplyTo;
  ask: number;
}

export class WireAsks {
  private readonly byWire = new Map<number, WireAsk>();
  private readonly byAsker = new Map<AskReplyTo, Map<number, number>>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.byWire.size;
  }

  add(wire: number, replyTo: AskReplyTo, ask: number): void {
    this.byWire.set(wire, { replyTo, ask });
    let wires = this.byAsker.get(replyTo);
    if (wires === undefined) this.byAsker.set(replyTo, (wires = new Map()));
    wires.set(ask, wire);
    if (this.byWire.size > this.max) this.take(this.byWire.keys().next().value!);
  }

  /** The ask sent as `wire`, forgotten; undefined if unknown (answered, cancelled, evicted). */
  take(wire: number): WireAsk | undefined {
    const entry = this.byWire.get(wire);
    if (entry === undefined) return undefined;
    this.byWire.delete(wire);
    this.forgetAsker(entry.replyTo, entry.ask);
    return entry;
  }

  /** The wire id of the asker's ask `ask` (answered through `replyTo`), forgotten; undefined if unknown. */
  takeByAsker(replyTo: AskReplyTo, ask: number): number | undefined {
    const wire = this.byAsker.get(replyTo)?.get(ask);
    if (wire !== undefined) this.take(wire);
    return wire;
  }

  /** Every ask still open, forgotten (the link is gone). */
  drain(): WireAsk[] {
    const all = [...this.byWire.values()];
    this.byWire.clear();
    this.byAsker.clear();
    return all;
  }

  private forgetAsker(replyTo: AskReplyTo, ask: number): void {
    const wires = this.byAsker.get(replyTo);
    if (wires === undefined) return;
    wires.delete(ask);
    if (wires.size === 0) this.byAsker.delete(replyTo);
  }
}
