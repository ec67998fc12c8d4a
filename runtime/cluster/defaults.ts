/**
 * Cluster defaults, in one object. Heartbeats and the detector follow Akka's
 * PhiAccrualFailureDetector (threshold 8, min std-dev 100 ms) with a shorter interval and
 * pause, so a silent peer on a LAN is suspected in ~1.5 s, and a closed link whose reconnect
 * is refused at once. Downing follows Akka's Split Brain Resolver (keep-majority), healing
 * re-dials seeds and lost members, gossip is bounded (README § Cluster says each in words).
 */
export const CLUSTER_DEFAULTS = {
  heartbeatMs: 200,
  failureDetector: { threshold: 8, minStdDevMs: 100, acceptablePauseMs: 1000, windowSize: 100 },
  /**
   * The set of unreachable members must stay unchanged this long before the downing
   * strategy acts (Akka's `stable-after`); with `downing: 'off'`, a member unreachable this
   * long is downed by each node on its own.
   */
  downAfterMs: 10_000,
  /**
   * What to do with members that stay unreachable: `keep-majority` (the side with more than
   * half of the known members downs the others, the smaller side downs itself; an even split
   * keeps the side with the lowest name), `static-quorum` (a side of at least `quorumSize`
   * members keeps), `keep-oldest` (the side with the oldest member keeps), `off` (each node
   * downs whoever it cannot reach after `downAfterMs`: both sides of a partition go on).
   */
  downing: 'keep-majority',
  /**
   * The side that keeps waits this much longer than `downAfterMs` before it downs the others,
   * so the side that downs itself has stopped its failover work before it runs again here.
   */
  downRemovalMarginMs: 2000,
  /** `static-quorum`: members a side needs to keep running (0: more than half of the known members). */
  quorumSize: 0,
  removeAfterMs: 10_000,
  gossipMs: 1000,
  reconnect: { minMs: 100, maxMs: 2000, randomFactor: 0.2 },
  /**
   * Healing: seeds, and the URLs of members that went down or were removed, are dialled
   * again while no member is up there — a lost member's URL with a backoff from `minMs`
   * doubling to `maxMs`, a seed with `reconnect`'s (± `reconnect.randomFactor`); a lost
   * member's URL is forgotten after `forgetAfterMs` (seeds never are).
   */
  rejoin: { minMs: 500, maxMs: 10_000, forgetAfterMs: 60 * 60_000 },
  /** Members kept in the table; members heard of by gossip past it are ignored. */
  maxMembers: 256,
  /** Links opened per second to members only heard of by gossip (burst as large). */
  dialsPerSecond: 10,
  /** Downed incarnations remembered (one per name: the newest), and for how long, ms. */
  maxTombstones: 256,
  tombstoneMs: 24 * 60 * 60_000,
  highWaterBytes: 4 * 1024 * 1024,
  maxQueuedBytes: 64 * 1024 * 1024,
  /**
   * Refused handshakes kept for /health (entries: one per kind and place), and the least
   * time between two log lines about the same entry, ms.
   */
  refusals: { limit: 20, repeatLogMs: 60_000 },
} as const;
