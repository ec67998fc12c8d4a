/**
 * Cluster defaults. Heartbeats and the detector follow Akka's PhiAccrualFailureDetector
 * (threshold 8, min std-dev 100 ms) with a shorter interval and pause, so a silent peer on a
 * LAN is suspected in ~1.5 s, and a closed link whose reconnect is refused at once.
 */
export const CLUSTER_DEFAULTS = {
  heartbeatMs: 200,
  failureDetector: { threshold: 8, minStdDevMs: 100, acceptablePauseMs: 1000, windowSize: 100 },
  /** Unreachable this long → down (Akka leaves this to a downing provider; 10 s here). */
  downAfterMs: 10_000,
  removeAfterMs: 10_000,
  gossipMs: 1000,
  reconnect: { minMs: 100, maxMs: 2000, randomFactor: 0.2 },
  highWaterBytes: 4 * 1024 * 1024,
  maxQueuedBytes: 64 * 1024 * 1024,
  /**
   * Refused handshakes kept for /health (entries: one per kind and place), and the least
   * time between two log lines about the same entry, ms.
   */
  refusals: { limit: 20, repeatLogMs: 60_000 },
} as const;
