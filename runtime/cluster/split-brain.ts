/**
 * The split-brain resolver: what this node does about members it cannot reach, so that in a
 * partition at most one side keeps running failover work (Akka's Split Brain Resolver).
 *
 * Owns: the decision ({@link decideDowning}, a pure function of the strategy and this
 * node's view) and when it is taken ({@link SplitBrainResolver}: once the view — who is
 * reachable, who is not — has not changed for `stableAfterMs`; the side that keeps acts
 * `marginMs` later than the side that downs itself, so the latter has stopped its failover
 * work first). Every node decides on its own from its own view; the strategies are chosen
 * so that two sides seeing each other as unreachable take opposite decisions.
 * Does not own: what downing means (runtime/cluster/cluster.ts closes the sessions, spreads
 * the tombstones, rejoins) or failure detection (phi-accrual.ts).
 * Threads: thread 0. Time: passed in (the cluster's clock).
 */

/** See CLUSTER_DEFAULTS.downing. */
export type DowningStrategy = 'keep-majority' | 'static-quorum' | 'keep-oldest' | 'off';

export const DOWNING_STRATEGIES: readonly DowningStrategy[] = ['keep-majority', 'static-quorum', 'keep-oldest', 'off'];

/** A member as the resolver sees it: this node, or one it has a handshake with (up or unreachable). */
export interface ViewMember {
  node: string;
  /** Its start time: the smallest is the oldest (keep-oldest). */
  incarnation: number;
  reachable: boolean;
}

/** `down-unreachable`: this side keeps, the others are downed; `down-self`: this node leaves; `none`: nothing to do. */
export type DowningDecision = 'down-unreachable' | 'down-self' | 'none';

/**
 * The decision for a view (this node included, reachable). Nothing to do while every member
 * is reachable, or with `off`.
 * - keep-majority: the side with more than half of the members keeps; on an even split the
 *   side holding the member with the lowest name keeps.
 * - static-quorum: a side of at least `quorumSize` members keeps (0: more than half).
 * - keep-oldest: the side with the oldest member (smallest incarnation, then name) keeps —
 *   unless that member is alone on its side, which then downs itself (Akka's down-if-alone).
 */
export function decideDowning(strategy: DowningStrategy, view: readonly ViewMember[], quorumSize = 0): DowningDecision {
  const reachable = view.filter((m) => m.reachable).length;
  const unreachable = view.length - reachable;
  if (unreachable === 0 || strategy === 'off') return 'none';
  switch (strategy) {
    case 'keep-majority': {
      if (reachable !== unreachable) return reachable > unreachable ? 'down-unreachable' : 'down-self';
      const lowest = [...view].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))[0]!;
      return lowest.reachable ? 'down-unreachable' : 'down-self';
    }
    case 'static-quorum': {
      const quorum = quorumSize > 0 ? quorumSize : Math.floor(view.length / 2) + 1;
      return reachable >= quorum ? 'down-unreachable' : 'down-self';
    }
    case 'keep-oldest': {
      const oldest = [...view].sort((a, b) => a.incarnation - b.incarnation || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))[0]!;
      if (oldest.reachable) return reachable === 1 && view.length > 2 ? 'down-self' : 'down-unreachable';
      return unreachable === 1 && view.length > 2 ? 'down-unreachable' : 'down-self';
    }
  }
}

export interface ResolverOptions {
  strategy: DowningStrategy;
  /** The view must stay unchanged this long before anything is decided, ms. */
  stableAfterMs: number;
  /** The keeping side waits this much longer, ms. */
  marginMs: number;
  quorumSize?: number;
}

/**
 * When to decide: watches the view tick by tick and answers with a decision once it has
 * been stable long enough (`none` otherwise). `reset` forgets the stability (after this
 * node's own stall: its view is stale).
 */
export class SplitBrainResolver {
  private signature = '';
  private stableSince: number;

  constructor(
    private readonly options: ResolverOptions,
    now: number,
  ) {
    this.stableSince = now;
  }

  /** The decision due at `now` for `view` (this node included). */
  check(view: readonly ViewMember[], now: number): DowningDecision {
    const signature = view
      .map((m) => `${m.node}@${m.incarnation}:${m.reachable ? 1 : 0}`)
      .sort()
      .join(',');
    if (signature !== this.signature) {
      this.signature = signature;
      this.stableSince = now;
      return 'none';
    }
    const decision = decideDowning(this.options.strategy, view, this.options.quorumSize);
    if (decision === 'none') return 'none';
    const stable = now - this.stableSince;
    const due = this.options.stableAfterMs + (decision === 'down-unreachable' ? this.options.marginMs : 0);
    return stable >= due ? decision : 'none';
  }

  /** Starts the stable period over (the view changed in a way the signature cannot see, or is stale). */
  reset(now: number): void {
    this.signature = '';
    this.stableSince = now;
  }
}
