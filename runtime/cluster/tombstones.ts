/**
 * Tombstones: the node incarnations downed somewhere in the cluster — finished for good.
 *
 * Owns: one entry per node name, the newest incarnation downed under it (an incarnation is
 * the node's start time, so every older one is finished too), with the time it was learnt
 * here; the question "is this incarnation quarantined?"; bounds (at most `limit` names, the
 * one learnt longest ago pushed out first; an entry expires `ttlMs` after it was learnt);
 * and the entries as gossip (`state: 'down'`), so a downing spreads to every member.
 * Does not own: what a quarantined incarnation meets (runtime/cluster/cluster.ts refuses its
 * handshake with the reason `quarantined`, and a node that finds itself here rejoins).
 * Threads: thread 0. Time: `now` from the caller's clock.
 */
import type { GossipMember } from '../../transport/frames.js';

interface Tombstone {
  incarnation: number;
  url: string;
  /** Clock time it was learnt here, ms. */
  at: number;
}

export class Tombstones {
  private readonly byNode = new Map<string, Tombstone>();

  constructor(
    private readonly limit: number,
    private readonly ttlMs: number,
  ) {}

  /**
   * Records that `node`@`incarnation` is down. False if that was known already (an older or
   * equal incarnation of the name is never recorded over a newer one).
   */
  add(node: string, incarnation: number, url: string, now: number): boolean {
    const known = this.byNode.get(node);
    if (known !== undefined && known.incarnation >= incarnation) return false;
    this.byNode.delete(node);
    this.byNode.set(node, { incarnation, url, at: now });
    if (this.byNode.size > this.limit) this.byNode.delete(this.byNode.keys().next().value!);
    return true;
  }

  /** True if `node`@`incarnation` (or a newer incarnation of it) was downed: it may not come back. */
  quarantined(node: string, incarnation: number): boolean {
    const t = this.byNode.get(node);
    return t !== undefined && incarnation <= t.incarnation;
  }

  /** Drops the entries older than the time to live. */
  expire(now: number): void {
    for (const [node, t] of this.byNode) if (now - t.at >= this.ttlMs) this.byNode.delete(node);
  }

  get size(): number {
    return this.byNode.size;
  }

  /** The entries as gossip members in state `down`, the most recently learnt first, at most `max`. */
  gossip(max: number): GossipMember[] {
    const out: GossipMember[] = [];
    for (const [node, t] of [...this.byNode].reverse()) {
      if (out.length >= max) break;
      out.push({ node, incarnation: t.incarnation, url: t.url, state: 'down' });
    }
    return out;
  }
}
